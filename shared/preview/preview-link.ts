/**
 * Meta's web-preview parameters: a caller may ask for the preview link opened in interactive mode, with a first
 * action and its payload, a flow token, a phone number, or the debug panel. They are validated with the request
 * (a 400 before CAMS is called) and appended to the link the caller receives; getFlowPreview and its cache only ever see
 * the bare link CAMS returned.
 *
 * The contract is Meta's own text: Flows API reference, section "Visualizing and interacting with your Flow using the
 * Web Preview" (developers.facebook.com/docs/whatsapp/flows/reference/flowsapi), "The following parameters can be
 * added to the generated URL to configure the interactive Web Preview". Each rule below cites the line it comes
 * from; the rules marked OURS are stricter than Meta's text, and say why. docs/preview-link.md has the table.
 */

import { isRecord } from '../is-record.js';
import { InvalidRequestError } from './errors.js';

/** Query parameter name → value (unencoded), in Meta's table order; empty when the caller asked for none. */
export type PreviewLinkParams = ReadonlyArray<readonly [string, string]>;

/** Meta's table, in its order. The link's own `token` is not among them: a caller can never set it. */
export const PREVIEW_LINK_PARAMS: readonly string[] = [
  'interactive',
  'flow_token',
  'flow_action',
  'flow_action_payload',
  'phone_number',
  'debug',
];

/** OURS: Meta gives no lengths. Bounds keep a link (and a log of it) sane; FC caps path + query at 4 KB anyway. */
export const LINK_LIMITS = {
  flowTokenChars: 1024,
  phoneNumberChars: 64,
  debugChars: 64,
  /** The payload's JSON text, checked before it is parsed (issue 17, "size before parse"). */
  payloadChars: 2000,
  /** Arrays and objects inside one another: checked before parsing, so no parser or serialiser recurses deeply. */
  payloadDepth: 64,
} as const;

/** Meta: "flow_action navigate | data_exchange". */
const FLOW_ACTIONS = new Set(['navigate', 'data_exchange']);

/** The values as they arrive: strings from a query, JSON values from a direct payload's `link` object. */
interface Source {
  readonly kind: 'query' | 'json';
  /** `undefined` when absent (a JSON `null` counts as absent). */
  readonly get: (name: string) => unknown;
}

/** Validates Meta's parameters from an HTTP query (all strings, already percent-decoded by FC). */
export function linkParamsFromQuery(query: ReadonlyMap<string, string | undefined>): PreviewLinkParams {
  return readLinkParams({ kind: 'query', get: (name) => query.get(name) });
}

/** Validates Meta's parameters from a direct payload's `link` object (JSON types: booleans, strings, JSON). */
export function linkParamsFromJson(link: unknown): PreviewLinkParams {
  if (link === undefined || link === null) return [];
  if (!isRecord(link)) throw invalid('link must be an object like {"interactive": true}');
  const unknown = Object.keys(link).find((key) => !PREVIEW_LINK_PARAMS.includes(key));
  if (unknown !== undefined) {
    throw invalid(
      `Unknown link parameter ${JSON.stringify(unknown.slice(0, 40))}; use ${PREVIEW_LINK_PARAMS.join(', ')}`,
    );
  }
  return readLinkParams({
    kind: 'json',
    get: (name) => (Object.hasOwn(link, name) ? (link[name] ?? undefined) : undefined),
  });
}

function readLinkParams(source: Source): PreviewLinkParams {
  // Each value on its own first, in Meta's table order; then the rules that tie them together.
  const interactive = readInteractive(source);
  const flowToken = readText(source, 'flow_token', LINK_LIMITS.flowTokenChars);
  const flowAction = readFlowAction(source);
  const payload = readPayload(source);
  const phoneNumber = readText(source, 'phone_number', LINK_LIMITS.phoneNumberChars);
  const debug = readDebug(source);

  if (flowAction === 'data_exchange') {
    // Meta, flow_action: "data_exchange if it will make a request to the endpoint"; flow_token and phone_number
    // are each "Required for Flows with endpoint". An empty value is no token and no number: it counts as missing.
    if (!flowToken) throw invalid('flow_token is required when flow_action is data_exchange');
    // Meta, flow_action_payload: "Required if flow_action is navigate. Should be omitted otherwise."
    if (payload !== undefined)
      throw invalid('flow_action_payload must be omitted when flow_action is data_exchange');
    if (!phoneNumber) throw invalid('phone_number is required when flow_action is data_exchange');
  }
  // Meta, flow_action: "navigate if it won't (this will also require flow_action_payload to be provided)";
  // flow_action_payload: "Required if flow_action is navigate".
  if (flowAction === 'navigate' && payload === undefined) {
    throw invalid('flow_action_payload is required when flow_action is navigate');
  }
  // Meta is silent on flow_action's default in the preview, so a payload without flow_action is not refused (if the
  // default is navigate, Meta wants it); nor is flow_action, flow_token or phone_number without interactive=true.

  const params: Array<[string, string]> = [];
  if (interactive !== undefined) params.push(['interactive', interactive]);
  if (flowToken !== undefined) params.push(['flow_token', flowToken]);
  if (flowAction !== undefined) params.push(['flow_action', flowAction]);
  if (payload !== undefined) params.push(['flow_action_payload', payload]);
  if (phoneNumber !== undefined) params.push(['phone_number', phoneNumber]);
  if (debug !== undefined) params.push(['debug', debug]);
  return params;
}

/** Meta: "interactive boolean — If true, the preview will run in interactive mode. Defaults to false." */
function readInteractive(source: Source): string | undefined {
  const value = source.get('interactive');
  if (value === undefined) return undefined;
  if (source.kind === 'json' ? typeof value === 'boolean' : value === 'true' || value === 'false') {
    return String(value);
  }
  throw invalid('interactive must be true or false');
}

/** Meta: "flow_action navigate | data_exchange — First action when Flow starts." */
function readFlowAction(source: Source): string | undefined {
  const value = source.get('flow_action');
  if (value === undefined) return undefined;
  if (typeof value === 'string' && FLOW_ACTIONS.has(value)) return value;
  throw invalid('flow_action must be navigate or data_exchange');
}

/**
 * Meta: "debug string — Show actions in a separate panel while interacting with the preview. It will be ignored if
 * interactive is not true." A string, so any string is written as given (Meta's sample sends `true`); a JSON
 * boolean is written as `true`/`false`. Not refused without interactive=true: Meta ignores it there.
 */
function readDebug(source: Source): string | undefined {
  const value = source.get('debug');
  if (value === undefined) return undefined;
  if (typeof value === 'boolean') return String(value);
  if (typeof value !== 'string') throw invalid('debug must be a string or true/false');
  return checkText('debug', value, LINK_LIMITS.debugChars);
}

/**
 * Meta: "flow_token string — It will be sent as part of each request. You should always verify that token on your
 * server" and "phone_number string — Phone number that will be used to send the Flow". Both opaque strings: no
 * format or charset rule (Meta states none), only OUR length cap and well-formed Unicode.
 */
function readText(source: Source, name: string, maxChars: number): string | undefined {
  const value = source.get(name);
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw invalid(`${name} must be a string`);
  return checkText(name, value, maxChars);
}

function checkText(name: string, value: string, maxChars: number): string {
  if (value.length > maxChars) throw invalid(`${name} must be at most ${maxChars} characters`);
  // encodeURIComponent throws URIError on a lone surrogate: such a value cannot be written into a link at all.
  if (LONE_SURROGATE.test(value)) {
    throw invalid(`${name} is not well-formed Unicode (it holds a lone surrogate)`);
  }
  return value;
}

/** With the `u` flag a surrogate pair is one code point, so only an unpaired half matches. */
const LONE_SURROGATE = /\p{Cs}/u;

/**
 * Meta: "flow_action_payload string — Initial screen data in JSON format, escaped using encodeURIComponent." So the
 * value must be JSON text; its shape is not checked (Meta's preview table says only "JSON"; Sending a Flow's
 * `{"screen": …, "data": …}` is not restated there). From a query the caller's text is kept exactly as sent; in a
 * direct payload it may be that text (a string) or the JSON value itself (serialised with JSON.stringify).
 * OURS (issue 17): the size is checked before anything parses or serialises it, then the nesting depth, so a deeply
 * nested payload is a 400, never a stack overflow.
 */
function readPayload(source: Source): string | undefined {
  const value = source.get('flow_action_payload');
  if (value === undefined) return undefined;
  if (typeof value === 'string') {
    const text = checkText('flow_action_payload', value, LINK_LIMITS.payloadChars);
    if (jsonTextDepthExceeds(text, LINK_LIMITS.payloadDepth)) throw tooDeep();
    try {
      JSON.parse(text);
    } catch {
      throw invalid('flow_action_payload must be JSON text, like {"screen": "WELCOME", "data": {}}');
    }
    return text;
  }
  const measured = measureJson(value, LINK_LIMITS.payloadChars, LINK_LIMITS.payloadDepth);
  if (measured === 'too-deep') throw tooDeep();
  if (measured === 'too-long') throw payloadTooLong();
  const text = JSON.stringify(value);
  if (text.length > LINK_LIMITS.payloadChars) throw payloadTooLong();
  return text;
}

/** Whether JSON text nests arrays/objects deeper than `max`: one pass, no recursion, before any parse. */
function jsonTextDepthExceeds(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (inString) {
      if (char === '\\') i++;
      else if (char === '"') inString = false;
    } else if (char === '"') inString = true;
    else if (char === '[' || char === '{') {
      depth++;
      if (depth > max) return true;
    } else if (char === ']' || char === '}') depth--;
  }
  return false;
}

/**
 * A JSON value already parsed (a direct payload): walks it without recursion and stops as soon as it is too deep or
 * its JSON text would surely be longer than `maxChars` (a lower bound on the length, counted as it goes), so
 * JSON.stringify only ever sees a small, shallow value.
 */
function measureJson(value: unknown, maxChars: number, maxDepth: number): 'ok' | 'too-deep' | 'too-long' {
  const pending: Array<[unknown, number]> = [[value, 0]];
  let chars = 0;
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const [item, depth] = next;
    if (typeof item === 'string') chars += item.length + 2;
    else if (Array.isArray(item) || isRecord(item)) {
      if (depth + 1 > maxDepth) return 'too-deep';
      chars += 2;
      if (Array.isArray(item)) {
        for (const element of item) pending.push([element, depth + 1]);
      } else {
        for (const [key, element] of Object.entries(item)) {
          chars += key.length + 3;
          pending.push([element, depth + 1]);
        }
      }
    } else chars += 1;
    if (chars > maxChars) return 'too-long';
  }
  return 'ok';
}

function tooDeep(): InvalidRequestError {
  return invalid(`flow_action_payload must nest arrays and objects at most ${LINK_LIMITS.payloadDepth} deep`);
}

function payloadTooLong(): InvalidRequestError {
  return invalid(`flow_action_payload must be at most ${LINK_LIMITS.payloadChars} characters`);
}

/**
 * The link the caller receives: CAMS's link with the parameters appended as Meta's sample shows them, each value
 * written by encodeURIComponent (a space is `%20`, never `+`; Meta: "escaped using encodeURIComponent", sample
 * `…hello%20world%22%7D%7D&debug=true`). Everything CAMS wrote is kept byte for byte (its `token` above all, and a
 * `#fragment`), except that a parameter the caller sets replaces every one of the same name already in CAMS's link:
 * the caller asked for that value, and one name twice would leave Meta's page to pick one.
 */
export function applyLinkParams(previewUrl: string, params: PreviewLinkParams): string {
  if (params.length === 0) return previewUrl;
  const hashAt = previewUrl.indexOf('#');
  const beforeHash = hashAt === -1 ? previewUrl : previewUrl.slice(0, hashAt);
  const fragment = hashAt === -1 ? '' : previewUrl.slice(hashAt);
  const queryAt = beforeHash.indexOf('?');
  const base = queryAt === -1 ? beforeHash : beforeHash.slice(0, queryAt);
  const query = queryAt === -1 ? '' : beforeHash.slice(queryAt + 1);
  const names = new Set(params.map(([name]) => name));
  // A pair's name read as Meta's page would read it (URLSearchParams), so `%69nteractive` counts as `interactive`.
  const kept = query === '' ? [] : query.split('&').filter((pair) => !names.has(pairName(pair)));
  const added = params.map(([name, value]) => `${name}=${encodeURIComponent(value)}`);
  return `${base}?${[...kept, ...added].join('&')}${fragment}`;
}

function pairName(pair: string): string {
  for (const name of new URLSearchParams(pair).keys()) return name;
  return '';
}

function invalid(message: string): InvalidRequestError {
  return new InvalidRequestError('InvalidRequest', message);
}
