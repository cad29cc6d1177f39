/**
 * Redaction that cannot be ordered, cut or skipped, as properties over generated secrets: secrets that overlap,
 * contain each other and sit at the truncation boundary, in any order, in raw and JSON-escaped form.
 */
import { deepStrictEqual, ok, strictEqual } from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { processSecrets } from '../../shared/config.js';
import { REDACTED, Redactor, redact, redactJson } from '../../shared/secrets.js';
import type { HttpEventInit } from '../fixtures/fc.js';
import { buildFunction, type FunctionUnderTest } from '../fixtures/function.js';
import { AUDIENCE, ISSUER, jwks, makeKey, SPACE_CLAIM } from '../fixtures/jwt.js';

/**
 * Secrets use only the letters a–d (a small alphabet forces overlaps and containment); filler uses none of them,
 * and neither does the marker. So "no a–d letter survives" means every character of every occurrence went.
 */
const SECRET_CHARS = /[a-d]/;
const secretArb = fc.string({ unit: fc.constantFrom('a', 'b', 'c', 'd'), minLength: 4, maxLength: 24 });
const fillerArb = fc.string({ unit: fc.constantFrom('X', 'Y', 'Z', ' ', '-', '"', ':'), maxLength: 12 });

/** Base secrets, plus secrets derived from them: contained in one, and straddling two (overlapping both). */
const secretSetArb = fc
  .tuple(
    fc.array(secretArb, { minLength: 1, maxLength: 4 }),
    fc.array(fc.tuple(fc.nat(), fc.nat(), fc.nat()), { maxLength: 4 }),
  )
  .map(([base, picks]) => {
    const secrets = [...base];
    for (const [i, j, cut] of picks) {
      const a = base[i % base.length] as string;
      const b = base[j % base.length] as string;
      const inner = a.slice(cut % (a.length - 3), (cut % (a.length - 3)) + 4 + (cut % 3));
      if (inner.length >= 4) secrets.push(inner);
      const straddle =
        a.slice(a.length - 2 - (cut % (a.length - 2))) + b.slice(0, 2 + (cut % (b.length - 1)));
      if (straddle.length >= 4) secrets.push(straddle);
    }
    return secrets;
  });

/** A line made of filler and occurrences of the secrets, back to back or apart, in any order. */
const lineArb = secretSetArb.chain((secrets) =>
  fc
    .array(fc.oneof(fillerArb, fc.constantFrom(...secrets)), { minLength: 1, maxLength: 12 })
    .map((parts) => ({ secrets, line: parts.join('') })),
);

const permutationArb = <T>(items: T[]) =>
  fc.shuffledSubarray(items, { minLength: items.length, maxLength: items.length });

describe('redaction (properties)', () => {
  it('leaves no character of any occurrence of any secret, however they overlap or nest', () => {
    fc.assert(
      fc.property(lineArb, ({ secrets, line }) => {
        const out = redact(line, secrets);
        ok(!SECRET_CHARS.test(out), `${JSON.stringify(line)} → ${JSON.stringify(out)}`);
      }),
      { numRuns: 2000 },
    );
  });

  it('gives the same line whatever the order of the secrets', () => {
    fc.assert(
      fc.property(
        lineArb.chain(({ secrets, line }) =>
          permutationArb(secrets).map((shuffled) => ({ secrets, shuffled, line })),
        ),
        ({ secrets, shuffled, line }) => {
          strictEqual(redact(line, shuffled), redact(line, secrets));
          strictEqual(redact(line, [...secrets].reverse()), redact(line, secrets));
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('keeps everything that is not a secret, in order', () => {
    fc.assert(
      fc.property(lineArb, ({ secrets, line }) => {
        const out = new Redactor(secrets).redact(line);
        strictEqual(out.split(REDACTED).join(''), line.replace(/[a-d]+/g, ''));
      }),
      { numRuns: 1000 },
    );
  });

  it('never lets a cut leave part of a secret: the whole text is redacted before it is shortened', () => {
    fc.assert(
      fc.property(
        secretSetArb,
        fillerArb,
        fillerArb,
        fc.nat(),
        fc.nat({ max: 30 }),
        (secrets, before, after, pick, into) => {
          const secret = secrets[pick % secrets.length] as string;
          const text = `${before}${secret}${after}`;
          // Cut anywhere from just before the secret to just past it: the boundary falls inside it.
          const max = Math.max(0, before.length + (into % (secret.length + 2)) - 1);
          const out = new Redactor(secrets).excerpt(text, max);
          ok(!SECRET_CHARS.test(out), `cut at ${max}: ${JSON.stringify(text)} → ${JSON.stringify(out)}`);
          ok(out.length <= max + 1, 'the excerpt is shortened to the bound (plus the ellipsis)');
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('removes the JSON-escaped form of secrets that hold quotes, backslashes and control characters', () => {
    const unit = fc.constantFrom('a', 'b', '"', '\\', '\n', '\r', '\u0001', 'é');
    fc.assert(
      fc.property(fc.string({ unit, minLength: 4, maxLength: 16 }), fillerArb, (secret, filler) => {
        const line = JSON.stringify({ message: `${filler}${secret}${filler}`, other: secret });
        const out = redactJson(line, [secret]);
        ok(!out.includes(secret));
        ok(!out.includes(JSON.stringify(secret).slice(1, -1)));
        // Still one parseable JSON line.
        JSON.parse(out);
      }),
      { numRuns: 1000 },
    );
  });
});

describe('redaction keeps a log line valid JSON', () => {
  it('when a secret is also digits or punctuation outside the strings (a password of digits)', () => {
    const unit = fc.constantFrom('1', '2', '0', '.', ',', ':', '}', '"');
    fc.assert(
      fc.property(
        fc.string({ unit, minLength: 4, maxLength: 8 }),
        fc.array(fc.integer({ min: 0, max: 99_999 }), { minLength: 1, maxLength: 4 }),
        (secret, numbers) => {
          // The secret's own digits among the numbers, so it does stand outside the strings.
          const own = Number(secret.replace(/[^0-9]/g, '').slice(0, 15) || '0');
          const fields = Object.fromEntries([own, ...numbers].map((n, i) => [`n${i}`, n + i / 10]));
          const line = JSON.stringify({ message: `said ${secret} once`, ...fields, status: 200 });
          const out = redactJson(line, [secret]);
          const parsed = JSON.parse(out) as Record<string, unknown>;
          strictEqual(parsed['message'], `said ${REDACTED} once`, out);
        },
      ),
      { numRuns: 2000 },
    );
    const line = JSON.stringify({ latencyMs: 1234.5, slotWaitMs: 660, status: 200 });
    for (const secret of ['1234', '660,', ':200}']) JSON.parse(redactJson(line, [secret]));
  });
});

describe('redaction (the cases that leaked)', () => {
  const accessKeyId = 'STS.NKeyId0001';
  const secret = `secret-with-${accessKeyId}-inside-0123456789`;

  it('redacts a secret that contains the AccessKeyId whichever comes first', () => {
    for (const order of [
      [accessKeyId, secret],
      [secret, accessKeyId],
    ]) {
      strictEqual(redact(`a ${secret} b ${accessKeyId} c`, order), `a ${REDACTED} b ${REDACTED} c`);
    }
  });

  it('redacts a 1 KB token before cutting to 100 characters, so no prefix of it is logged', () => {
    const token = `CAIS${'Qx7'.repeat(340)}`;
    const out = new Redactor([token]).excerpt(`got '${token}'`, 100);
    strictEqual(out, `got '${REDACTED}'`);
  });

  it('redacts a trailing-\\r secret and its trimmed form', () => {
    strictEqual(redact('x token-123 y token-123\r z', ['token-123\r']), `x ${REDACTED} y ${REDACTED} z`);
  });

  it('ignores values too short to be secrets', () => {
    strictEqual(redact('a bc def', ['bc', 'def']), 'a bc def');
  });
});

describe('the secrets the process knows', () => {
  it('reads the ALIBABA_CLOUD_* keys raw and the password in REDIS_URL, raw and decoded', () => {
    deepStrictEqual(
      processSecrets({
        ALIBABA_CLOUD_ACCESS_KEY_ID: 'id-0001\r',
        ALIBABA_CLOUD_ACCESS_KEY_SECRET: 'secret-0001',
        ALIBABA_CLOUD_SECURITY_TOKEN: '',
        REDIS_URL: 'rediss://default:p%40ss%2Fw0rd@r-abc.redis.rds.aliyuncs.com:6379/0',
        CAMS_TIMEOUT_MS: 'not a secret variable',
      }),
      ['id-0001\r', 'secret-0001', 'p%40ss%2Fw0rd', 'p@ss/w0rd'],
    );
  });

  it('finds the Redis password even in a URL the URL parser refuses, and nothing without one', () => {
    deepStrictEqual(processSecrets({ REDIS_URL: 'redis://:hunter2-pw@bad host:99999' }), ['hunter2-pw']);
    deepStrictEqual(processSecrets({ REDIS_URL: 'redis://r-abc:6379' }), []);
    deepStrictEqual(processSecrets({ REDIS_URL: 'redis://user@r-abc:6379' }), []);
  });
});

describe('a caller cannot rewrite its own log line', () => {
  // Caller identity on, so Authorization is read: it used to be redacted from the line as if it were a secret.
  let fn: FunctionUnderTest;
  const build = async () =>
    buildFunction({
      JWT_JWKS: jwks(await makeKey('ES256', 'k1')),
      JWT_ISSUER: ISSUER,
      JWT_AUDIENCE: AUDIENCE,
      JWT_SPACE_CLAIM: SPACE_CLAIM,
      // Never reached: no token here is valid.
      CAMS_ENDPOINT: 'http://127.0.0.1:9',
    });
  /** Every field a line of an answered HTTP request carries, whatever the answer. */
  const FIELDS = [
    'time',
    'level',
    'message',
    'requestId',
    'traceId',
    'kind',
    'status',
    'outcome',
    'latencyMs',
  ];

  /** Asks once and returns the one line written, checked: JSON, every field there, nothing blanked. */
  async function lineFor(init: HttpEventInit): Promise<Record<string, unknown>> {
    fn.lines.length = 0;
    const response = await fn.http(init);
    strictEqual(fn.lines.length, 1);
    const raw = fn.lines[0] ?? '';
    ok(raw.endsWith('\n') && !raw.slice(0, -1).includes('\n'), 'one line');
    const line = JSON.parse(raw) as Record<string, unknown>;
    for (const field of FIELDS) ok(field in line, `the line lost ${field}: ${raw}`);
    strictEqual(new Date(line['time'] as string).toISOString(), line['time'], raw);
    strictEqual(line['status'], response.statusCode);
    strictEqual(line['outcome'], (response.json as { error?: { code?: string } }).error?.code ?? 'OK');
    ok(!raw.includes(REDACTED), `a caller's value was redacted: ${raw}`);
    return line;
  }

  it('keeps the line whole for the Authorization values that rewrote it', async () => {
    fn = await build();
    for (const authorization of [
      'Bearer 2026',
      'Bearer status',
      '401,',
      'Bearer GetFlowPreviewUrl',
      'Bearer "',
    ]) {
      const line = await lineFor({ headers: { Authorization: authorization } });
      deepStrictEqual([line['status'], line['outcome']], [401, 'Unauthorized']);
    }
  });

  it('stays valid JSON with every field, whatever header and query values a caller sends', async () => {
    fn = await build();
    // A line as this function writes it: a caller's values cut from it are what could rewrite it.
    await fn.http({ headers: { Authorization: 'Bearer x' } });
    const template = `${fn.lines[0] ?? ''}\\"{}[],:0123456789 ${REDACTED}`;
    const piece = fc
      .tuple(fc.nat({ max: template.length }), fc.integer({ min: 1, max: 40 }))
      .map(([from, length]) => template.slice(from, from + length));
    const value = fc.oneof(
      piece,
      piece.map((p) => `Bearer ${p}`),
      fc.string({ maxLength: 60 }),
    );
    const headerName = fc.oneof(
      fc.constantFrom('Authorization', 'authorization', 'Origin', 'traceparent', 'Cache-Control', 'X-Any'),
      fc.string({ minLength: 1, maxLength: 20 }),
    );
    const queryName = fc.oneof(
      fc.constantFrom('custSpaceId', 'flow_action_payload', 'debug'),
      fc.string({ maxLength: 12 }),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.dictionary(headerName, value, { maxKeys: 4 }),
        fc.dictionary(queryName, value, { maxKeys: 3 }),
        fc.oneof(fc.constant('welcome-flow'), piece.map(encodeURIComponent)),
        async (headers, query, flowId) => {
          await lineFor({ path: `/flows/${flowId}/preview-url`, headers, query });
        },
      ),
      { numRuns: 500 },
    );
  });
});
