/**
 * JWT_JWKS_URL failing: each way a real loopback key server can fail ends in `unavailable` (503) with its own
 * log-safe cause, never a quoted body, key, query or userinfo; a key set that publishes private keys is refused.
 */
import { deepStrictEqual, notDeepStrictEqual, strictEqual } from 'node:assert/strict';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { exportJWK } from 'jose';
import { callerIdentity } from '../../shared/auth/caller-identity.js';
import { AuthUnavailableError } from '../../shared/auth/errors.js';
import { type KeySourceFailure, type VerifierOptions, verifyJwt } from '../../shared/auth/jwt-verifier.js';
import type { JwtConfig } from '../../shared/config.js';
import { AUDIENCE, ISSUER, jwks, makeKey, sign, type TestKey } from '../fixtures/jwt.js';

/** Text that must never reach a verification result, whatever the key server sends. */
const MARKER = 'SECRET-MARKER-7f3a';

let key: TestKey;
let privateJwk: Record<string, unknown>;
const fetches = new Map<string, number>();

const HUGE = `{"keys":[],"pad":"${MARKER}${'x'.repeat(300 * 1024)}"}`;
const HTML = `<html><body>${MARKER}</body></html>`;
const NOT_JWKS = `{"${MARKER}":1}`;
const NO_KEYS = '{"keys":[]}';
const bytes = (body: string) => Buffer.byteLength(body);

const routes: Record<string, (res: ServerResponse) => void> = {
  '/redirect': (res) => res.writeHead(302, { location: `/keys?${MARKER}` }).end(),
  '/missing': (res) =>
    res.writeHead(404, { 'content-type': 'text/html; charset=utf-8' }).end(`<h1>${MARKER}</h1>`),
  '/huge': (res) =>
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': bytes(HUGE) }).end(HUGE),
  '/huge-chunked': (res) => {
    // Written in pieces after the head, so the response is chunked: no Content-Length to refuse it by.
    res.writeHead(200, { 'content-type': 'application/json' });
    res.flushHeaders();
    for (let at = 0; at < HUGE.length; at += 16 * 1024) res.write(HUGE.slice(at, at + 16 * 1024));
    res.end();
  },
  '/html': (res) => res.writeHead(200, { 'content-type': 'text/html' }).end(HTML),
  '/not-jwks': (res) => res.writeHead(200, { 'content-type': 'application/json' }).end(NOT_JWKS),
  '/no-keys': (res) => res.writeHead(200, { 'content-type': 'application/json' }).end(NO_KEYS),
  '/private': (res) =>
    res
      .writeHead(200, { 'content-type': 'application/jwk-set+json' })
      .end(JSON.stringify({ keys: [key.publicJwk, { ...privateJwk, kid: 'leaked' }] })),
  '/shared-secret': (res) =>
    res.writeHead(200, { 'content-type': 'application/json' }).end(
      JSON.stringify({
        keys: [key.publicJwk, { kty: 'oct', k: Buffer.from(MARKER).toString('base64url') }],
      }),
    ),
  '/hang': () => undefined,
  '/keys': (res) => res.writeHead(200, { 'content-type': 'application/json' }).end(jwks(key)),
};

const server = createServer((req, res) => {
  const path = new URL(req.url ?? '/', 'http://x').pathname;
  fetches.set(path, (fetches.get(path) ?? 0) + 1);
  (routes[path] ?? ((r: ServerResponse) => r.writeHead(500).end()))(res);
});
let base = '';
let closedPort = 0;

before(async () => {
  key = await makeKey('RS256', 'source-1');
  privateJwk = { ...(await exportJWK(key.privateKey)), alg: 'RS256' };
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  // A port nothing listens on: bound, then released.
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  closedPort = (probe.address() as AddressInfo).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
});
after(() => {
  server.closeAllConnections();
  server.close();
});

const config = (url: string): JwtConfig => ({
  jwks: { kind: 'url', url },
  issuer: ISSUER,
  audience: AUDIENCE,
  spaceClaim: undefined,
  allowNoSpace: false,
  clockLeewayS: 30,
});

/** Each case its own URL (a query keeps key sets apart), so no backoff carries over from another test. */
let run = 0;
async function failureAt(path: string, options: VerifierOptions = {}): Promise<KeySourceFailure> {
  run += 1;
  const url = path.startsWith('http') ? path : `${base}${path}?run=${run}&token=${MARKER}`;
  const result = await verifyJwt(await sign(key), config(url), options);
  if (result.ok || result.kind !== 'unavailable')
    throw new Error(`expected unavailable, got ${JSON.stringify(result)}`);
  return result.failure;
}

describe('JWT_JWKS_URL failures keep their cause', () => {
  const cases: Array<[string, string, KeySourceFailure]> = [
    ['a redirect (never followed)', '/redirect', { reason: 'redirect', status: 302 }],
    ['a 404 HTML page', '/missing', { reason: 'status', status: 404, contentType: 'text/html' }],
    ['a declared 300 KB body', '/huge', { reason: 'too-large', bytes: bytes(HUGE) }],
    [
      'an HTML page with status 200',
      '/html',
      { reason: 'not-json', contentType: 'text/html', bytes: bytes(HTML) },
    ],
    [
      'JSON that is not a JWKS',
      '/not-jwks',
      { reason: 'not-jwks', contentType: 'application/json', bytes: bytes(NOT_JWKS) },
    ],
    [
      'a JWKS with no keys',
      '/no-keys',
      { reason: 'not-jwks', contentType: 'application/json', bytes: bytes(NO_KEYS) },
    ],
    ['a JWKS holding a private RSA key', '/private', { reason: 'private-keys', privateKeys: 1 }],
    ['a JWKS holding a shared secret (oct)', '/shared-secret', { reason: 'private-keys', privateKeys: 1 }],
  ];
  for (const [what, path, expected] of cases) {
    it(`names ${what}`, async () => {
      deepStrictEqual(await failureAt(path), expected);
    });
  }

  it('names a body over 256 KiB sent without Content-Length, having read no more than the limit and a chunk', async () => {
    const failure = await failureAt('/huge-chunked');
    strictEqual(failure.reason, 'too-large');
    strictEqual(
      (failure.bytes ?? 0) > 256 * 1024 && (failure.bytes ?? 0) < 300 * 1024,
      true,
      String(failure.bytes),
    );
  });

  it('names a timeout, and a refused connection by its socket code', async () => {
    deepStrictEqual(await failureAt('/hang', { fetchTimeoutMs: 150 }), { reason: 'timeout', timeoutMs: 150 });
    deepStrictEqual(await failureAt(`http://127.0.0.1:${closedPort}/keys`), {
      reason: 'network',
      errorCode: 'ECONNREFUSED',
    });
  });

  it('gives each of the failures the attack run found identical a different record', async () => {
    const records = await Promise.all(
      ['/redirect', '/missing', '/huge', '/html', '/private'].map(async (path) =>
        JSON.stringify(await failureAt(path)),
      ),
    );
    strictEqual(new Set(records).size, records.length, records.join('\n'));
  });

  it('never quotes the body, a key, the query or the userinfo', async () => {
    const seen: string[] = [];
    for (const path of [
      '/redirect',
      '/missing',
      '/huge',
      '/html',
      '/not-jwks',
      '/private',
      '/shared-secret',
    ]) {
      seen.push(JSON.stringify(await failureAt(path)));
    }
    const withUserinfo = `http://user:${MARKER}@127.0.0.1:${closedPort}/keys?${MARKER}`;
    seen.push(JSON.stringify(await failureAt(withUserinfo)));
    for (const record of seen) {
      strictEqual(record.includes(MARKER), false, record);
      for (const member of ['d', 'p', 'q', 'dp', 'dq', 'qi']) {
        const secret = String(privateJwk[member]);
        strictEqual(record.includes(secret.slice(0, 16)), false, `${member} in ${record}`);
      }
    }
  });

  it('trusts no key of a set that publishes a private one, not even the public key beside it', async () => {
    const result = await verifyJwt(await sign(key), config(`${base}/private?trust=${run}`));
    deepStrictEqual(result, {
      ok: false,
      kind: 'unavailable',
      failure: { reason: 'private-keys', privateKeys: 1 },
    });
  });

  it('while backing off, repeats the cause that started the backoff and marks that nothing was fetched', async (t) => {
    const url = `${base}/missing?backoff=1`;
    const first = await verifyJwt(await sign(key), config(url));
    const again = await verifyJwt(await sign({ ...key, kid: 'another' }), config(url));
    deepStrictEqual(
      [first, again],
      [
        {
          ok: false,
          kind: 'unavailable',
          failure: { reason: 'status', status: 404, contentType: 'text/html' },
        },
        {
          ok: false,
          kind: 'unavailable',
          failure: { reason: 'status', status: 404, contentType: 'text/html', backingOff: true },
        },
      ],
    );
    const fetched = fetches.get('/missing');
    const later = Date.now() + 5_001;
    t.mock.method(Date, 'now', () => later);
    notDeepStrictEqual((await verifyJwt(await sign(key), config(url))).ok, true);
    strictEqual(fetches.get('/missing'), (fetched ?? 0) + 1, 'fetched again once the backoff is over');
  });

  it('still verifies against a good key set at the same server', async () => {
    strictEqual((await verifyJwt(await sign(key), config(`${base}/keys`))).ok, true);
  });
});

describe('the FC edge hands the cause on', () => {
  /** Runs the caller-identity middleware alone on one HTTP request; returns what it threw. */
  async function edgeError(url: string, deadline: number): Promise<unknown> {
    const token = await sign(key);
    const request = {
      event: {
        kind: 'http',
        method: 'GET',
        rawPath: '/flows/a/preview-url',
        headers: new Map([['authorization', `Bearer ${token}`]]),
        query: new Map(),
        body: '',
        isBase64Encoded: false,
      },
      context: { deadline },
    };
    const before = callerIdentity(config(url), Date.now).before as (request: unknown) => Promise<void>;
    try {
      await before(request);
    } catch (error) {
      return error;
    }
    return undefined;
  }

  it('throws AuthUnavailableError carrying the verifier’s failure as plain data', async () => {
    const error = await edgeError(`${base}/private?edge=1`, Date.now() + 5_000);
    strictEqual(error instanceof AuthUnavailableError, true);
    deepStrictEqual((error as AuthUnavailableError).failure, { reason: 'private-keys', privateKeys: 1 });
    strictEqual((error as AuthUnavailableError).statusCode, 503);
  });

  it('names the invocation’s deadline when it comes before the keys', async () => {
    const error = await edgeError(`${base}/hang?edge=2`, Date.now() + 100);
    deepStrictEqual((error as AuthUnavailableError).failure, { reason: 'deadline' });
  });
});
