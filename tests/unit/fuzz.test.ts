/**
 * Input that cannot hurt it: over 10,000 generated events per run (random bytes, random JSON, random FC "v1"
 * structs with odd methods, paths, encodings, header sizes, base64 bodies, huge or nested values and
 * prototype-pollution keys, Meta's preview-link parameters with lone surrogates and deep nesting, and direct
 * payloads). The handler never throws, always answers a valid response with a
 * JSON body, never calls CAMS for an invalid input, and never echoes a secret, in a response or a log line.
 */
import { ok, strictEqual } from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { type CamsSimulator, startCamsSimulator } from '../../dev/cams-simulator.js';
import type { Env } from '../../shared/config.js';
import { decodeInvocation } from '../../shared/fc/event.js';
import { isRecord } from '../../shared/is-record.js';
import { PREVIEW_LINK_PARAMS } from '../../shared/preview/preview-link.js';
import { FakeClock } from '../fixtures/clock.js';
import { buildFunction, type FunctionUnderTest } from '../fixtures/function.js';

const ROLE = {
  accessKeyId: 'STS.FUZZ-AKID-5a1c9e',
  accessKeySecret: 'FUZZ-SECRET-0d4b7e2f91',
  securityToken: 'FUZZ-TOKEN-c83f5a6d',
};
const ENV_KEYS = { accessKeyId: 'FUZZ-ENV-AKID-77e1', accessKeySecret: 'FUZZ-ENV-SECRET-19ab' };
const SECRETS = [
  ...Object.values(ROLE),
  ...Object.values(ENV_KEYS),
  'AccessDeniedDetail',
  'EncodedDiagnosticMessage',
];
const RUNS = 10_000;

const segment = fc.oneof(
  fc.constantFrom(
    'welcome-flow',
    'denied-flow',
    'throttled-flow',
    '',
    '..',
    '%2F',
    '%zz',
    '%00',
    '__proto__',
  ),
  fc.stringMatching(/^[A-Za-z0-9_-]{1,70}$/),
  fc.string({ maxLength: 80 }),
  fc.string({ unit: 'binary', maxLength: 40 }).map(encodeURIComponent),
);
const path = fc.oneof(
  segment.map((s) => `/flows/${s}/preview-url`),
  fc
    .tuple(segment, fc.constantFrom('', '/', '//', '/x'))
    .map(([s, tail]) => `/flows/${s}/preview-url${tail}`),
  fc.string({ maxLength: 200 }).map((s) => `/${s}`),
  fc.constantFrom('/', '', '/flows', '/FLOWS/x/preview-url', `/flows/${'a'.repeat(5000)}/preview-url`),
);
const method = fc.oneof(
  fc.constantFrom(
    'GET',
    'OPTIONS',
    'POST',
    'HEAD',
    'DELETE',
    'get',
    'options',
    '',
    'CONNECT',
    'X'.repeat(300),
  ),
  fc.string({ maxLength: 12 }),
);
const pollution = fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty');
const headerName = fc.oneof(
  fc.constantFrom(
    'Origin',
    'origin',
    'ORIGIN',
    'Cache-Control',
    'Authorization',
    'Content-Type',
    'X-Fc-Request-Id',
  ),
  pollution,
  fc.string({ minLength: 1, maxLength: 40 }),
);
const headerValue = fc.oneof(
  fc.constantFrom(
    'https://app.example.com',
    'no-cache',
    'null',
    '',
    'https://evil.example.net,https://app.example.com',
  ),
  fc.string({ maxLength: 100 }),
  fc.nat({ max: 9000 }).map((n) => 'v'.repeat(n)),
);
const queryName = fc.oneof(
  fc.constantFrom('custSpaceId', 'CustSpaceId', 'flowId'),
  pollution,
  fc.string({ maxLength: 20 }),
);
const queryValue = fc.oneof(
  fc.stringMatching(/^[A-Za-z0-9_.-]{1,70}$/),
  fc.string({ maxLength: 80 }),
  fc.constantFrom('', 'a,b', 'cams-abc'),
);
const body = fc.oneof(
  fc.constant(''),
  fc.string({ maxLength: 200 }),
  fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes).toString('base64')),
  fc.constantFrom('====', '%%%', 'e30=', 'eyJmbG93SWQiOiJ4In0='),
);
const weird = fc.oneof(
  fc.constant(null),
  fc.integer(),
  fc.boolean(),
  fc.array(fc.string(), { maxLength: 3 }),
  fc.string(),
);
const nested = fc.nat({ max: 5000 }).map((depth) => `${'['.repeat(depth)}${']'.repeat(depth)}`);

/** Meta's preview parameters (and the link's own `token`, which a caller may not set), with values that probe them. */
const linkName = fc.constantFrom(...PREVIEW_LINK_PARAMS, 'token');
const linkValue = fc.oneof(
  fc.constantFrom('true', 'false', 'navigate', 'data_exchange', '{"screen":"A"}', '', '+15550001111'),
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  // Units around the surrogate range: lone halves, which encodeURIComponent cannot write.
  fc.string({
    unit: fc.integer({ min: 0xd7f0, max: 0xe010 }).map((c) => String.fromCharCode(c)),
    maxLength: 6,
  }),
  nested,
);
const linkParams = fc.dictionary(linkName, linkValue, { maxKeys: 5 });

const v1Event = fc
  .record({
    version: fc.oneof(fc.constant('v1'), weird),
    rawPath: fc.oneof(path, weird),
    body: fc.oneof(body, weird),
    isBase64Encoded: fc.oneof(fc.boolean(), weird),
    headers: fc.oneof(fc.dictionary(headerName, fc.oneof(headerValue, weird), { maxKeys: 8 }), weird),
    queryParameters: fc.oneof(fc.dictionary(queryName, fc.oneof(queryValue, weird), { maxKeys: 4 }), weird),
    requestContext: fc.oneof(
      fc.record({
        http: fc.oneof(fc.record({ method: fc.oneof(method, weird), path: fc.oneof(path, weird) }), weird),
      }),
      weird,
    ),
  })
  .map((event) => Buffer.from(JSON.stringify(event)));

/** Well-formed trigger events whose values vary: these reach CAMS when the ids are valid. */
const plausibleV1Event = fc
  .record({
    flowId: fc.oneof(fc.constantFrom('welcome-flow', 'survey-2026', 'denied-flow'), segment),
    method: fc.constantFrom('GET', 'GET', 'GET', 'OPTIONS', 'POST'),
    custSpaceId: fc.option(queryValue, { nil: undefined }),
    link: fc.option(linkParams, { nil: undefined }),
    headers: fc.dictionary(headerName, headerValue, { maxKeys: 4 }),
    base64: fc.boolean(),
  })
  .map(({ flowId, method, custSpaceId, link, headers, base64 }) => {
    const rawPath = `/flows/${flowId}/preview-url`;
    return Buffer.from(
      JSON.stringify({
        version: 'v1',
        rawPath,
        body: '',
        isBase64Encoded: base64,
        headers,
        queryParameters: { ...link, ...(custSpaceId === undefined ? {} : { custSpaceId }) },
        requestContext: { http: { method, path: rawPath } },
      }),
    );
  });

const directPayload = fc
  .dictionary(
    fc.oneof(
      fc.constantFrom('flowId', 'FlowId', 'custSpaceId', 'CustSpaceId', 'refresh', 'link'),
      pollution,
      fc.string({ maxLength: 12 }),
    ),
    fc.oneof(
      segment,
      queryValue,
      weird,
      fc.jsonValue({ maxDepth: 3 }),
      fc.dictionary(linkName, fc.oneof(linkValue, weird, fc.jsonValue({ maxDepth: 3 })), { maxKeys: 5 }),
    ),
    { maxKeys: 5 },
  )
  .map((payload) => Buffer.from(JSON.stringify(payload).replace('"constructor"', '"__proto__"')));

const anyEvent = fc.oneof(
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 500 }).map((bytes) => Buffer.from(bytes)) },
  {
    weight: 1,
    arbitrary: fc.jsonValue({ maxDepth: 4 }).map((value) => Buffer.from(JSON.stringify(value) ?? '')),
  },
  { weight: 1, arbitrary: nested.map((text) => Buffer.from(text)) },
  { weight: 4, arbitrary: v1Event },
  { weight: 3, arbitrary: plausibleV1Event },
  { weight: 3, arbitrary: directPayload },
);

let cams: CamsSimulator;
let env: Env;
const logLines: string[] = [];
// Back-offs (a throttled flow is retried until its deadline) pass at once; the simulator keeps real time.
const clock = new FakeClock({ start: Date.now() });

before(async () => {
  cams = await startCamsSimulator({ credentials: [ROLE, ENV_KEYS], rateLimitPerSecond: 0 });
  env = {
    CAMS_ENDPOINT: cams.url,
    CAMS_TIMEOUT_MS: '1000',
    // The simulator has no limit here; the function's own limiter (5/s by default) would only slow 10,000 events.
    CAMS_RATE_LIMIT_PER_SECOND: '1000',
    CORS_ALLOWED_ORIGINS: 'https://app.example.com',
    ALIBABA_CLOUD_ACCESS_KEY_ID: ENV_KEYS.accessKeyId,
    ALIBABA_CLOUD_ACCESS_KEY_SECRET: ENV_KEYS.accessKeySecret,
  };
});
after(async () => {
  await cams.stop();
});

/** The status an answer carries, and whether it is well-formed; throws when it is not. */
function check(event: Buffer, result: unknown): number {
  ok(isRecord(result), 'the answer is an object');
  const text = JSON.stringify(result);
  for (const secret of SECRETS) ok(!text.includes(secret), `the answer echoes ${secret}`);
  if (decodeInvocation(event).kind === 'http') {
    const { statusCode, headers, body, isBase64Encoded } = result as Record<string, unknown>;
    ok(Number.isInteger(statusCode) && (statusCode as number) >= 200 && (statusCode as number) < 600);
    strictEqual(isBase64Encoded, false);
    ok(isRecord(headers) && Object.values(headers).every((v) => typeof v === 'string'));
    strictEqual(headers['Content-Type'], 'application/json; charset=utf-8');
    strictEqual(headers['X-Content-Type-Options'], 'nosniff');
    ok(typeof body === 'string');
    if (statusCode === 204) strictEqual(body, '');
    else ok(isRecord(JSON.parse(body)), 'the body is a JSON object');
    return statusCode as number;
  }
  const error = (result as { error?: unknown }).error;
  if (error === undefined) {
    ok(typeof (result as Record<string, unknown>)['previewUrl'] === 'string');
    return 200;
  }
  ok(isRecord(error) && typeof error['code'] === 'string' && typeof error['message'] === 'string');
  return error['status'] as number;
}

describe('the handler under generated input', () => {
  it(`never throws, answers valid JSON, spares CAMS for invalid input and leaks nothing (${RUNS} events)`, async () => {
    let statuses = new Map<number, number>();
    const instance = () => buildFunction(env, { clock, onLine: (line) => logLines.push(line) });
    let fn: FunctionUnderTest | undefined;
    await fc.assert(
      fc.asyncProperty(anyEvent, fc.boolean(), async (event, withRoleKeys) => {
        // An empty cache for every event, so every valid request reaches CAMS: a new instance once one has kept a
        // link (only a 200 does).
        if (fn === undefined || fn.logs().some((line) => line.status === 200)) fn = instance();
        fn.lines.length = 0;
        const before = cams.calls.length;
        // A 1 s function: a throttled flow answers 429 at once instead of waiting for the next slot.
        const context = withRoleKeys
          ? { requestId: 'fuzz-1', credentials: ROLE, function: { timeout: 1 } }
          : { requestId: 'fuzz-1', function: { timeout: 1 } };
        const result = await fn.handler(event, context);
        const status = check(event, result);
        // One log line per invocation, valid JSON, saying what was answered.
        strictEqual(fn.lines.length, 1);
        const line = JSON.parse(fn.lines[0] ?? '') as Record<string, unknown>;
        strictEqual(line['status'], status);
        strictEqual(line['requestId'], 'fuzz-1');
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
        if (status === 400 || status === 404 || status === 405 || status === 204) {
          // A 404 can be CAMS's Unknown.ResourceOwnerId; only route 404s must leave CAMS alone.
          const fromCams = JSON.stringify(result).includes('Unknown.ResourceOwnerId');
          if (!fromCams) strictEqual(cams.calls.length, before, 'CAMS was called for an invalid input');
        }
      }),
      { numRuns: RUNS },
    );
    statuses = new Map([...statuses].sort(([a], [b]) => a - b));
    process.stdout.write(
      `# status histogram over ${RUNS} events: ${JSON.stringify(Object.fromEntries(statuses))}\n`,
    );
    process.stdout.write(`# CAMS calls: ${cams.calls.length}\n`);
    // The generators reach both sides: valid requests that reach CAMS, and every kind of refusal.
    for (const status of [200, 400, 404, 405])
      ok((statuses.get(status) ?? 0) > 0, `no ${status} was generated`);
    for (const line of logLines) {
      for (const secret of SECRETS) ok(!line.includes(secret), `a log line contains ${secret}`);
    }
  });
});
