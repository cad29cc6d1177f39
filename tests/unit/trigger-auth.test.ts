/**
 * npm start's stand-ins for the trigger's auth (dev/trigger-auth.ts): how the `jwt` gate refuses, called directly;
 * and the `function` gate behind a real local server, with its clock injected: one signed request is let in once.
 */

import { deepStrictEqual, strictEqual } from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { type IncomingMessage, request } from 'node:http';
import { after, before, beforeEach, describe, it } from 'node:test';
import { type LocalServer, startLocalServer } from '../../dev/local-server.js';
import { MAX_REQUEST_AGE_MS, signatureGate, tokenGate } from '../../dev/trigger-auth.js';
import { authorize } from '../../dev/v3-signature.js';
import { type Env, loadConfig } from '../../shared/config.js';
import { AUDIENCE, ISSUER, jwks, makeKey, SPACE_CLAIM, sign } from '../fixtures/jwt.js';

/** The gate as npm start builds it: from the function's JWT_* settings, read from an environment object. */
function gated(keys: Env, authorization: string) {
  const { jwt } = loadConfig({
    JWT_ISSUER: ISSUER,
    JWT_AUDIENCE: AUDIENCE,
    JWT_SPACE_CLAIM: SPACE_CLAIM,
    ...keys,
  });
  if (jwt === undefined) throw new Error('the test configures no JWKS');
  const req = { method: 'GET', headers: { authorization } } as unknown as IncomingMessage;
  return tokenGate(jwt)({ req, target: { rawPath: '/', query: {}, queryPairs: [] }, body: Buffer.alloc(0) });
}

describe('npm start’s jwt trigger auth', () => {
  it('answers 503 AuthUnavailable with Retry-After, not 401 Unauthorized, when the key URL cannot be reached', async () => {
    const key = await makeKey('ES256', 'gate-1');
    deepStrictEqual(
      await gated({ JWT_JWKS_URL: 'http://127.0.0.1:9/jwks.json' }, `Bearer ${await sign(key)}`),
      {
        status: 503,
        code: 'AuthUnavailable',
        message: 'The signing keys could not be fetched',
        headers: { 'Retry-After': '5' },
      },
    );
  });

  it('answers 401 Unauthorized with a challenge for a token the keys did not sign', async () => {
    const [key, stranger] = await Promise.all([makeKey('ES256', 'gate-2'), makeKey('ES256', 'gate-x')]);
    deepStrictEqual(await gated({ JWT_JWKS: jwks(key) }, `Bearer ${await sign(stranger)}`), {
      status: 401,
      code: 'Unauthorized',
      message: 'The token was not signed by a known key',
      headers: { 'WWW-Authenticate': 'Bearer realm="flow-preview"' },
    });
  });
});

const CALLER = {
  accessKeyId: 'STS.GateCaller',
  accessKeySecret: 'gate-caller-secret',
  securityToken: 'gate-sts',
};
const OTHER = { accessKeyId: 'LTAI.OtherCaller', accessKeySecret: 'other-caller-secret' };

/** The gate's clock: a whole second, as x-acs-date has no finer resolution. */
let clock = Date.parse('2026-11-25T06:00:00Z');
const MINUTE = 60_000;

interface SignOptions {
  readonly path?: string;
  /** ms relative to the gate's clock. */
  readonly dateOffsetMs?: number;
  /** `null`: no nonce header at all. */
  readonly nonce?: string | null;
  readonly caller?: { accessKeyId: string; accessKeySecret: string; securityToken?: string };
}

/** The headers of a V3-signed GET, as a caller's signer would send them (every x-acs-* header signed). */
function signedHeaders(port: number, options: SignOptions = {}): Record<string, string> {
  const caller = options.caller ?? CALLER;
  const path = options.path ?? '/flows/welcome-flow/preview-url';
  const url = new URL(path, `http://127.0.0.1:${port}`);
  const headers = new Map<string, string>([
    ['host', url.host],
    ['x-acs-date', new Date(clock + (options.dateOffsetMs ?? 0)).toISOString().replace(/\.\d{3}Z$/, 'Z')],
  ]);
  const nonce = options.nonce === undefined ? randomUUID() : options.nonce;
  if (nonce !== null) headers.set('x-acs-signature-nonce', nonce);
  if (caller.securityToken !== undefined) headers.set('x-acs-security-token', caller.securityToken);
  const signable = {
    method: 'GET',
    path: url.pathname,
    query: [...url.searchParams],
    headers,
    body: Buffer.alloc(0),
  };
  headers.set('authorization', authorize(signable, caller.accessKeyId, caller.accessKeySecret));
  return Object.fromEntries(headers);
}

/** Sends exactly these headers (no client adds or rewrites any); resolves with the status and the error code. */
function send(port: number, path: string, headers: Record<string, string>): Promise<[number, string]> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'GET', headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const code = res.statusCode === 200 ? 'OK' : ((JSON.parse(body) as { Code?: string }).Code ?? body);
        resolve([res.statusCode ?? 0, code]);
      });
    });
    req.on('error', reject);
    req.end();
  });
}

describe('npm start’s function trigger auth refuses replays', () => {
  let server: LocalServer;
  let served = 0;
  let capacity = 100_000;
  let gate = signatureGate([CALLER, OTHER], { now: () => clock });
  before(async () => {
    server = await startLocalServer({
      handler: async () => {
        served += 1;
        return { statusCode: 200, headers: {}, isBase64Encoded: false, body: 'ok' };
      },
      authorize: (request) => gate(request),
    });
  });
  after(() => server.close());
  beforeEach(() => {
    served = 0;
    gate = signatureGate([CALLER, OTHER], { now: () => clock, maxRememberedRequests: capacity });
  });
  const path = '/flows/welcome-flow/preview-url';

  it('lets one signed request in once: sent six times, five are refused and the function runs once', async () => {
    const headers = signedHeaders(server.port);
    const answers = [];
    for (let i = 0; i < 6; i += 1) answers.push(await send(server.port, path, headers));
    deepStrictEqual(answers, [[200, 'OK'], ...Array(5).fill([403, 'SignatureNonceUsed'])]);
    strictEqual(served, 1);
  });

  it('refuses the replay with unsigned headers added, and an added x-acs-* header on its own', async () => {
    const headers = signedHeaders(server.port);
    strictEqual((await send(server.port, path, headers))[0], 200);
    const added = {
      ...headers,
      'cache-control': 'no-cache',
      'x-forwarded-for': '10.0.0.1',
      origin: 'https://x',
    };
    deepStrictEqual(await send(server.port, path, added), [403, 'SignatureNonceUsed']);
    const fresh = signedHeaders(server.port);
    deepStrictEqual(await send(server.port, path, { ...fresh, 'x-acs-caller-hint': 'admin' }), [
      403,
      'IncompleteSignature',
    ]);
    strictEqual(served, 1);
  });

  it('recognises the replay of a request signed without a nonce by its signature', async () => {
    const headers = signedHeaders(server.port, { nonce: null });
    deepStrictEqual(await send(server.port, path, headers), [200, 'OK']);
    deepStrictEqual(await send(server.port, path, headers), [403, 'SignatureNonceUsed']);
    // Another request within the same second is another signature: let in.
    const other = '/flows/other-flow/preview-url';
    deepStrictEqual(
      await send(server.port, other, signedHeaders(server.port, { nonce: null, path: other })),
      [200, 'OK'],
    );
  });

  it('refuses a nonce used again on a different, validly signed request; nonces are per access key', async () => {
    const nonce = randomUUID();
    strictEqual((await send(server.port, path, signedHeaders(server.port, { nonce })))[0], 200);
    const other = '/flows/other-flow/preview-url';
    deepStrictEqual(await send(server.port, other, signedHeaders(server.port, { nonce, path: other })), [
      403,
      'SignatureNonceUsed',
    ]);
    deepStrictEqual(await send(server.port, path, signedHeaders(server.port, { nonce, caller: OTHER })), [
      200,
      'OK',
    ]);
  });

  it('accepts x-acs-date up to 15 minutes old and 60 s ahead; refuses 16 minutes old and 14 minutes ahead', async () => {
    const at = async (dateOffsetMs: number) =>
      send(server.port, path, signedHeaders(server.port, { dateOffsetMs }));
    deepStrictEqual(
      [
        await at(-14 * MINUTE),
        await at(-15 * MINUTE),
        await at(50_000),
        await at(-16 * MINUTE),
        await at(14 * MINUTE),
      ],
      [
        [200, 'OK'],
        [200, 'OK'],
        [200, 'OK'],
        [403, 'InvalidTimeStamp.Expired'],
        [403, 'InvalidTimeStamp.Expired'],
      ],
    );
  });

  it('remembers a request for as long as its date is accepted, and refuses it by its date after', async () => {
    const headers = signedHeaders(server.port);
    const start = clock;
    try {
      strictEqual((await send(server.port, path, headers))[0], 200);
      clock = start + MAX_REQUEST_AGE_MS; // the last instant the date check lets it in
      deepStrictEqual(await send(server.port, path, headers), [403, 'SignatureNonceUsed']);
      clock = start + MAX_REQUEST_AGE_MS + 1000;
      deepStrictEqual(await send(server.port, path, headers), [403, 'InvalidTimeStamp.Expired']);
    } finally {
      clock = start;
    }
  });

  it('when its memory is full of live requests, refuses new ones rather than forget one early', async () => {
    capacity = 2; // one request with a nonce: its signature and its nonce
    gate = signatureGate([CALLER, OTHER], { now: () => clock, maxRememberedRequests: capacity });
    const start = clock;
    try {
      const first = signedHeaders(server.port);
      strictEqual((await send(server.port, path, first))[0], 200);
      deepStrictEqual(await send(server.port, path, signedHeaders(server.port)), [503, 'ServiceUnavailable']);
      deepStrictEqual(await send(server.port, path, first), [403, 'SignatureNonceUsed']);
      clock = start + MAX_REQUEST_AGE_MS + 1000; // the first request's date has left the window
      deepStrictEqual(await send(server.port, path, signedHeaders(server.port)), [200, 'OK']);
    } finally {
      clock = start;
      capacity = 100_000;
    }
  });
});
