/**
 * Secrets and their removal from log lines. The lowest layer: the FC edge, the CAMS client and the stores all use it.
 *
 * Redaction cannot be ordered, cut or skipped: every occurrence of every secret (and of its JSON-escaped and
 * trimmed forms) is found in the original text first, overlapping and nested occurrences are merged, and each
 * merged span is replaced once — so no order of secrets lets a piece through. Anything that shortens text for a log
 * line does it through `Redactor.excerpt`, which redacts the whole text before it cuts.
 */

/** A credential set, as FC's context or the config holds it. */
export interface SecretSource {
  readonly accessKeyId?: unknown;
  readonly accessKeySecret?: unknown;
  readonly securityToken?: unknown;
}

export const REDACTED = '[REDACTED]';

/** Shorter values would redact ordinary words; no key, secret, token or password is this short. */
const MIN_SECRET_LENGTH = 4;

/** The values of a credential set worth redacting from a log line, whatever their type turned out to be. */
export function secretValues(credentials: SecretSource | undefined): string[] {
  const { accessKeyId, accessKeySecret, securityToken } = credentials ?? {};
  return [accessKeyId, accessKeySecret, securityToken].filter(
    (value): value is string => typeof value === 'string' && value.length >= MIN_SECRET_LENGTH,
  );
}

/** Removes secrets from text; built once per log line from every secret the process and the invocation know. */
export class Redactor {
  /** Every form to look for, longest first (the merge makes order irrelevant; longest first is the tiebreak). */
  private readonly forms: readonly string[];
  /** The forms that can stand in JSON text: the escaped ones (a form with nothing to escape is its own). */
  private readonly jsonForms: readonly string[];

  constructor(secrets: Iterable<string>) {
    const forms = new Set<string>();
    const escaped = new Set<string>();
    for (const secret of secrets) {
      if (typeof secret !== 'string') continue;
      for (const form of [secret, secret.trim()]) {
        if (form.length < MIN_SECRET_LENGTH) continue;
        forms.add(form);
        forms.add(JSON.stringify(form).slice(1, -1));
        escaped.add(JSON.stringify(form).slice(1, -1));
      }
    }
    this.forms = [...forms].sort((a, b) => b.length - a.length);
    this.jsonForms = [...escaped].sort((a, b) => b.length - a.length);
  }

  /** Removes every occurrence of every secret (raw, trimmed or JSON-escaped) from plain text. */
  redact(text: string): string {
    return this.replace(text, this.spans(text, this.forms));
  }

  /**
   * Removes secrets from a line of JSON (as `JSON.stringify` writes it) and keeps it valid JSON. Inside JSON text a
   * secret can only stand in its escaped form, so only escaped forms are sought, and only where they begin and end
   * on whole characters of the text: a match that starts or ends inside an escape sequence (`\"`, `\u0001`) is
   * not the secret, and replacing it would cut the escape in half. Secrets are strings, so only matches inside a
   * string count: digits of a number or the punctuation between fields (a password of digits) are left alone.
   */
  redactJson(line: string): string {
    const spans = this.spans(line, this.jsonForms);
    // Nearly every line holds no secret by now: the escape map is only worth building for one that does.
    if (spans.length === 0) return line;
    const starts = escapeBoundaries(line);
    return this.replace(
      line,
      spans.filter(([from, to]) => starts[from] === 1 && starts[to] === 1),
    );
  }

  private spans(text: string, forms: readonly string[]): Array<[number, number]> {
    const spans: Array<[number, number]> = [];
    for (const form of forms) {
      // Every occurrence, overlapping ones included ("aaa" occurs twice in "aaaa").
      for (let at = text.indexOf(form); at !== -1; at = text.indexOf(form, at + 1)) {
        spans.push([at, at + form.length]);
      }
    }
    return spans;
  }

  private replace(text: string, spans: Array<[number, number]>): string {
    if (spans.length === 0) return text;
    spans.sort((a, b) => a[0] - b[0]);
    let out = '';
    let copied = 0;
    let [start, end] = spans[0] as [number, number];
    for (const [from, to] of spans) {
      if (from <= end) {
        // Overlapping, nested or touching: one span, one marker.
        end = Math.max(end, to);
        continue;
      }
      out += `${text.slice(copied, start)}${REDACTED}`;
      copied = end;
      start = from;
      end = to;
    }
    out += `${text.slice(copied, start)}${REDACTED}${text.slice(end)}`;
    return out;
  }

  /** At most `max` characters of `text`, redacted first: a cut can never leave part of a secret behind. */
  excerpt(text: string, max: number): string {
    const clean = this.redact(text);
    return clean.length <= max ? clean : `${clean.slice(0, max)}…`;
  }
}

/**
 * 1 where a character or a whole escape sequence inside a string of JSON text starts, and at each string's closing
 * quote (where a match may end), else 0.
 */
function escapeBoundaries(text: string): Uint8Array {
  const starts = new Uint8Array(text.length + 1);
  let inString = false;
  let at = 0;
  while (at < text.length) {
    const char = text[at];
    if (inString) starts[at] = 1;
    if (char === '"') inString = !inString;
    at += char !== '\\' ? 1 : text[at + 1] === 'u' ? 6 : 2;
  }
  return starts;
}

/** Redacts `secrets` from a line of JSON, keeping it valid JSON (see `Redactor.redactJson`). */
export function redactJson(line: string, secrets: Iterable<string>): string {
  return new Redactor(secrets).redactJson(line);
}

/** Redacts `secrets` from plain text (see `Redactor`). */
export function redact(line: string, secrets: Iterable<string>): string {
  return new Redactor(secrets).redact(line);
}
