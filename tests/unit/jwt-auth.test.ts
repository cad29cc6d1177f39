/**
 * Caller identity on the HTTP trigger: with JWT_* configured, only a valid bearer token gets past the edge, and a
 * token reaches only the spaces its claim grants (or any space, when the operator chose authentication only). Every
 * refusal is asserted whole and never calls CAMS. Each test builds its instance from an environment object.
 */
import { deepStrictEqual, match, strictEqual } from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, describe, it } from 'node:test';
import fc from 'fast-check';
import type { Env } from '../../shared/config.js';
import { useCamsOnFakeClock } from '../fixtures/cams.js';
import { baseHeaders, directEvent, fcContext } from '../fixtures/fc.js';
import { buildFunction, type FunctionUnderTest, useFunction } from '../fixtures/function.js';
import {
  AUDIENCE,
  hs256WithPublicKey,
  ISSUER,
  jwks,
  makeKey,
  SPACE_CLAIM,
  sign,
  type TestKey,
  tamper,
  unsignedToken,
} from '../fixtures/jwt.js';

const ORIGIN = 'https://app.example.com';
// One clock for the function and the simulator: the CAMS rate limits pass without waiting. Tokens are signed and
// checked on the real time (jose reads Date.now), which this clock starts from.
const { cams, fresh } = useCamsOnFakeClock();

let rsa: TestKey;
let ec: TestKey;
let stranger: TestKey;
before(async () => {
  [rsa, ec, stranger] = await Promise.all([
    makeKey('RS256', 'idp-rsa-1'),
    makeKey('ES256', 'idp-ec-1'),
    makeKey('ES256', 'attacker-1'),
  ]);
});

/** The function's environment: the CAMS simulator, one allowed origin, the provider's keys inline, and `settings`. */
function jwtEnv(settings: Env = {}): Env {
  return {
    CAMS_ENDPOINT: cams.url,
    CORS_ALLOWED_ORIGINS: ORIGIN,
    JWT_JWKS: jwks(rsa, ec),
    JWT_ISSUER: ISSUER,
    JWT_AUDIENCE: AUDIENCE,
    ...settings,
  };
}

/** A fresh instance for each test of the describe block, with these JWT_* settings (read once the keys exist). */
const useJwtFunction = (settings: () => Env) => useFunction(() => jwtEnv(settings()), fresh);

/** Verification alone: the settings of the blocks that are about tokens, not tenants. */
const AUTHENTICATION_ONLY: Env = { JWT_AUTHENTICATION_ONLY: 'true' };

/** A GET from the allowed origin to `fn`, with `token` as the bearer token when given. */
const getFrom =
  (fn: () => FunctionUnderTest) =>
  async (
    token: string | undefined,
    query: Record<string, string> = {},
    extra: Record<string, string> = {},
  ) => {
    const headers: Record<string, string> = { Origin: ORIGIN, ...extra };
    if (token !== undefined) headers['Authorization'] = `Bearer ${token}`;
    return fn().http({ headers, query });
  };

const cors = {
  Vary: 'Origin, Authorization',
  'Access-Control-Allow-Origin': ORIGIN,
  'Access-Control-Expose-Headers': 'Retry-After, WWW-Authenticate, X-Cache, X-Request-Id, traceparent',
};

function unauthorized(message: string, invalidToken = true) {
  return {
    statusCode: 401,
    headers: {
      ...baseHeaders(),
      ...cors,
      'WWW-Authenticate': invalidToken
        ? 'Bearer realm="flow-preview", error="invalid_token"'
        : 'Bearer realm="flow-preview"',
    },
    isBase64Encoded: false,
    json: { error: { code: 'Unauthorized', message, status: 401 } },
  };
}

function refused(status: number, code: string, message: string) {
  return {
    statusCode: status,
    headers: { ...baseHeaders(), ...cors },
    isBase64Encoded: false,
    json: { error: { code, message, status } },
  };
}

const withoutBody = ({ body: _body, ...rest }: Awaited<ReturnType<FunctionUnderTest['http']>>) => rest;

const nowS = (): number => Math.floor(Date.now() / 1000);

/** An RS256 token signed as given, header and claims included: jose's signer refuses an unknown `crit`. */
async function signRaw(
  key: TestKey,
  header: Record<string, unknown>,
  claims: Record<string, unknown>,
): Promise<string> {
  const part = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');
  const payload = { sub: 'user-1', iss: ISSUER, aud: AUDIENCE, iat: nowS(), exp: nowS() + 3600, ...claims };
  const input = `${part({ alg: 'RS256', kid: key.kid, typ: 'JWT', ...header })}.${part(payload)}`;
  const signature = await crypto.subtle.sign('RSASSA-PKCS1-v1_5', key.privateKey, Buffer.from(input));
  return `${input}.${Buffer.from(signature).toString('base64url')}`;
}

describe('JWT verification on the HTTP trigger', () => {
  const fn = useJwtFunction(() => AUTHENTICATION_ONLY);
  const get = getFrom(fn);

  it('answers 200 for a valid RS256 token and for a valid ES256 token', async () => {
    for (const key of [rsa, ec]) {
      const response = await get(await sign(key));
      strictEqual(response.statusCode, 200, response.body);
      strictEqual((response.json as { flowId: string }).flowId, 'welcome-flow');
    }
    strictEqual(cams.calls.length, 1);
  });

  const refusals: Array<[string, () => Promise<string | undefined>, string, boolean?]> = [
    [
      'no Authorization header',
      async () => undefined,
      'This endpoint needs a token: send Authorization: Bearer <token>',
      false,
    ],
    [
      'an expired token (past the 30 s leeway)',
      () => sign(rsa, { expiresIn: -120 }),
      'The token has expired',
    ],
    [
      'a token not valid yet (nbf past the leeway)',
      () => sign(ec, { notBefore: 120 }),
      'The token is not valid yet',
    ],
    [
      'a token for another issuer',
      () => sign(rsa, { issuer: 'https://evil.example.com/' }),
      'The token was issued by another issuer',
    ],
    [
      'a token for another audience',
      () => sign(rsa, { audience: 'another-app' }),
      'The token was issued for another audience',
    ],
    ['a token signed by an unknown kid', () => sign(stranger), 'The token was not signed by a known key'],
    [
      'a token signed by another key under a known kid',
      () => sign({ ...stranger, kid: ec.kid }),
      'The token signature is invalid',
    ],
    ['alg: none', async () => unsignedToken(), 'The token is signed with an algorithm that is not accepted'],
    [
      'a tampered payload',
      async () =>
        tamper(await sign(rsa, { claims: { [SPACE_CLAIM]: 'cams-a' } }), { [SPACE_CLAIM]: 'cams-b' }),
      'The token signature is invalid',
    ],
    [
      'HS256 keyed with the public key',
      async () => hs256WithPublicKey(rsa),
      'The token is signed with an algorithm that is not accepted',
    ],
    [
      'a token without exp',
      () => sign(rsa, { expiresIn: null }),
      'The token has no expiry (exp); tokens without one are refused',
    ],
    [
      'an embedded jwk header carrying the attacker’s key',
      () => sign(stranger, { header: { jwk: stranger.publicJwk, kid: 'embedded' } }),
      'The token was not signed by a known key',
    ],
    ['a token that is not a JWT', async () => 'not-a-jwt', 'The token is malformed'],
    [
      'a token issued in the future (iat past the leeway)',
      () => signRaw(rsa, {}, { iat: nowS() + 120 }),
      'The token is not valid yet',
    ],
    [
      'a critical header parameter the function does not know',
      () => signRaw(rsa, { crit: ['x-tenant'], 'x-tenant': 'cams-b' }, {}),
      'The token has critical header parameters (crit)',
    ],
  ];
  for (const [what, token, message, invalidToken] of refusals) {
    it(`answers 401 Unauthorized with WWW-Authenticate and CORS for ${what}, and never calls CAMS`, async () => {
      const response = await get(await token());
      deepStrictEqual(withoutBody(response), unauthorized(message, invalidToken));
      strictEqual(cams.calls.length, 0);
    });
  }

  it('accepts a token issued within the clock leeway of now, signed the same way as the refused ones', async () => {
    strictEqual((await get(await signRaw(rsa, {}, { iat: nowS() + 20 }))).statusCode, 200);
  });

  it('accepts a token that expired within the 30 s clock leeway', async () => {
    strictEqual((await get(await sign(rsa, { expiresIn: -10 }))).statusCode, 200);
  });

  it('refuses another scheme than Bearer', async () => {
    const response = await fn().http({
      headers: { Origin: ORIGIN, Authorization: `Basic ${await sign(rsa)}` },
    });
    deepStrictEqual(withoutBody(response), unauthorized('The Authorization header must be "Bearer <token>"'));
  });

  it('never follows a jku header to fetch keys', async () => {
    let fetched = 0;
    const server = createServer((_req, res) => {
      fetched += 1;
      res.end(jwks(stranger));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const jku = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`;
    try {
      const response = await get(await sign(stranger, { header: { jku } }));
      deepStrictEqual(withoutBody(response), unauthorized('The token was not signed by a known key'));
      strictEqual(fetched, 0);
      strictEqual(cams.calls.length, 0);
    } finally {
      server.close();
    }
  });

  it('answers a CORS preflight without a token', async () => {
    const response = await fn().http({
      method: 'OPTIONS',
      headers: { Origin: ORIGIN, 'Access-Control-Request-Method': 'GET' },
    });
    strictEqual(response.statusCode, 204);
    strictEqual(response.headers['Access-Control-Allow-Origin'], ORIGIN);
    strictEqual(
      response.headers['Access-Control-Allow-Headers'],
      'Authorization, Cache-Control, Content-Type, traceparent',
    );
    strictEqual(cams.calls.length, 0);
  });

  it('keeps the token out of every log line and response, valid or not', async () => {
    const valid = await sign(rsa);
    const expired = await sign(rsa, { expiresIn: -3600 });
    const responses = [await get(valid), await get(expired), await get(`${valid}x`)];
    const { lines } = fn();
    strictEqual(lines.length, 3);
    for (const text of [...lines, ...responses.map((response) => response.body)]) {
      for (const token of [valid, expired]) {
        strictEqual(text.includes(token.split('.')[2] ?? ''), false, text);
        strictEqual(text.includes(token.split('.')[1] ?? ''), false, text);
      }
    }
    deepStrictEqual(
      fn()
        .logs()
        .map((line) => line.status),
      [200, 401, 401],
    );
  });

  it('leaves direct invocations alone: no token needed, any space may be named', async () => {
    const result = (await fn().invoke(
      directEvent({ flowId: 'welcome-flow', custSpaceId: 'cams-anyone' }),
    )) as {
      flowId: string;
    };
    strictEqual(result.flowId, 'welcome-flow');
    deepStrictEqual(
      cams.calls.map((call) => call.params['CustSpaceId']),
      ['cams-anyone'],
    );
  });
});

describe('tenant binding (JWT_SPACE_CLAIM)', () => {
  const fn = useJwtFunction(() => ({ JWT_SPACE_CLAIM: SPACE_CLAIM }));
  const get = getFrom(fn);
  const token = (spaces: unknown) =>
    sign(rsa, { claims: spaces === undefined ? {} : { [SPACE_CLAIM]: spaces } });
  const camsSpaces = () => cams.calls.map((call) => call.params['CustSpaceId']);

  it('serves the space the token grants when it is asked for', async () => {
    strictEqual((await get(await token('cams-a'), { custSpaceId: 'cams-a' })).statusCode, 200);
    strictEqual((await get(await token(['cams-a', 'cams-b']), { custSpaceId: 'cams-b' })).statusCode, 200);
    deepStrictEqual(camsSpaces(), ['cams-a', 'cams-b']);
  });

  it('uses the token’s only space when custSpaceId is omitted', async () => {
    strictEqual((await get(await token('cams-a'))).statusCode, 200);
    strictEqual((await get(await token(['cams-c']))).statusCode, 200);
    deepStrictEqual(camsSpaces(), ['cams-a', 'cams-c']);
  });

  it('answers 403 SpaceNotAllowed for a space the token does not grant', async () => {
    const tokenA = await token('cams-a');
    for (const custSpaceId of ['cams-b', 'CAMS-A', 'cams-a.', 'cams-a-']) {
      deepStrictEqual(
        withoutBody(await get(tokenA, { custSpaceId })),
        refused(403, 'SpaceNotAllowed', 'Your token does not grant access to this custSpaceId'),
      );
    }
    strictEqual(cams.calls.length, 0);
  });

  it('reads a string claim as one space, never a list', async () => {
    const response = await get(await token('cams-a,cams-b'), { custSpaceId: 'cams-a' });
    strictEqual(response.statusCode, 403);
    strictEqual(cams.calls.length, 0);
  });

  it('answers 400 CustSpaceIdRequired when the token grants several spaces and none is named', async () => {
    deepStrictEqual(
      withoutBody(await get(await token(['cams-a', 'cams-b']))),
      refused(400, 'CustSpaceIdRequired', 'Your token grants several spaces; name one with custSpaceId'),
    );
    strictEqual(cams.calls.length, 0);
  });

  it('keeps a token without the claim away from account-level flows and from every space', async () => {
    const noSpace = await token(undefined);
    deepStrictEqual(
      withoutBody(await get(noSpace)),
      refused(403, 'SpaceNotAllowed', 'Your token names no space; name a custSpaceId your token grants'),
    );
    strictEqual((await get(noSpace, { custSpaceId: 'cams-a' })).statusCode, 403);
    strictEqual(cams.calls.length, 0);
  });

  it('refuses a malformed space claim rather than reading it as no space', async () => {
    for (const claim of [42, ['cams-a', 7], '', {}]) {
      deepStrictEqual(
        withoutBody(await get(await token(claim), { custSpaceId: 'cams-a' })),
        refused(403, 'SpaceNotAllowed', 'Your token’s space claim is not a space id or a list of them'),
      );
    }
    strictEqual(cams.calls.length, 0);
  });

  it('counts a space the claim lists twice once, so an omitted custSpaceId is filled from it', async () => {
    strictEqual((await get(await token(['cams-a', 'cams-a']))).statusCode, 200);
    deepStrictEqual(camsSpaces(), ['cams-a']);
  });

  it('refuses a claimed space that is not a space id rather than sending it to CAMS', async () => {
    for (const claim of ['cams a', '../cams-b', ['cams-a/x'], 'cams-ａ', 'x'.repeat(65)]) {
      deepStrictEqual(
        withoutBody(await get(await token(claim))),
        refused(403, 'SpaceNotAllowed', 'Your token’s space claim is not a space id or a list of them'),
        JSON.stringify(claim),
      );
    }
    strictEqual(cams.calls.length, 0);
  });

  it('cannot be talked past by query casing, duplicates or a body', async () => {
    const tokenA = await token('cams-a');
    const tries: Array<[Record<string, string>, number]> = [
      [{ CustSpaceId: 'cams-b' }, 400],
      [{ custspaceid: 'cams-b' }, 400],
      [{ custSpaceId: 'cams-a,cams-b' }, 400], // FC joins a repeated parameter with commas
      [{ custSpaceId: 'cams-b', CustSpaceId: 'cams-a' }, 400],
    ];
    for (const [query, status] of tries)
      strictEqual((await get(tokenA, query)).statusCode, status, JSON.stringify(query));
    const withBody = await fn().http({
      headers: { Authorization: `Bearer ${tokenA}` },
      body: '{"CustSpaceId":"cams-b"}',
    });
    strictEqual(withBody.statusCode, 400);
    const posted = await fn().http({
      method: 'POST',
      headers: { Authorization: `Bearer ${tokenA}` },
      body: '{"custSpaceId":"cams-b"}',
    });
    strictEqual(posted.statusCode, 405);
    // Two Authorization headers differing only in case arrive joined: never a valid token.
    const tokenB = await token('cams-b');
    const twoTokens = await fn().http({
      headers: { Authorization: `Bearer ${tokenA}`, authorization: `Bearer ${tokenB}` },
      query: { custSpaceId: 'cams-b' },
    });
    strictEqual(twoTokens.statusCode, 401);
    strictEqual(cams.calls.length, 0);
  });

  it('never hands tenant B’s cached link to tenant A', async () => {
    const linkB = (await get(await token('cams-b'))).json as { previewUrl: string };
    strictEqual(cams.calls.length, 1);
    const tokenA = await token('cams-a');
    strictEqual((await get(tokenA, { custSpaceId: 'cams-b' })).statusCode, 403);
    const linkA = (await get(tokenA)).json as { previewUrl: string };
    strictEqual(cams.calls.length, 2, 'A’s request is not served from B’s cache entry');
    strictEqual(linkA.previewUrl === linkB.previewUrl, false);
    deepStrictEqual(camsSpaces(), ['cams-b', 'cams-a']);
  });

  it('a token that names a space cannot reach account-level flows by naming none', async () => {
    await get(await token('cams-a'));
    deepStrictEqual(camsSpaces(), ['cams-a']);
  });
});

describe('tenant binding with JWT_ALLOW_NO_SPACE=true', () => {
  const get = getFrom(useJwtFunction(() => ({ JWT_SPACE_CLAIM: SPACE_CLAIM, JWT_ALLOW_NO_SPACE: 'true' })));

  it('lets a token without the claim reach account-level flows, and still no space', async () => {
    const noSpace = await sign(rsa);
    strictEqual((await get(noSpace)).statusCode, 200);
    strictEqual((await get(noSpace, { custSpaceId: 'cams-a' })).statusCode, 403);
    deepStrictEqual(
      cams.calls.map((call) => call.params['CustSpaceId']),
      [undefined],
    );
  });
});

describe('caller identity without tenant binding', () => {
  const camsSpaces = () => cams.calls.map((call) => call.params['CustSpaceId']);

  it('fails closed: a JWKS with neither JWT_SPACE_CLAIM nor JWT_AUTHENTICATION_ONLY=true answers 500 ConfigInvalid, never calls CAMS', async () => {
    const message =
      "JWT_SPACE_CLAIM is required when a JWKS is configured (the claim naming the caller's space); set JWT_AUTHENTICATION_ONLY=true to verify callers without binding tenants";
    const body = { error: { code: 'ConfigInvalid', message, status: 500 } };
    const token = await sign(rsa, { claims: { [SPACE_CLAIM]: 'cams-a' } });
    for (const settings of [
      {},
      { JWT_AUTHENTICATION_ONLY: 'false' },
      { JWT_JWKS: undefined, JWT_JWKS_URL: 'https://idp.example.com/.well-known/jwks.json' },
    ]) {
      const fn = buildFunction(jwtEnv(settings), fresh());
      const what = JSON.stringify(settings);
      // A valid token, an absent one and a direct invocation: the same answer, as no tenant can be bound.
      for (const authorization of [`Bearer ${token}`, undefined]) {
        deepStrictEqual(
          await fn.http({
            headers: { Origin: ORIGIN, ...(authorization ? { Authorization: authorization } : {}) },
            query: { custSpaceId: 'cams-b' },
          }),
          {
            statusCode: 500,
            headers: baseHeaders(),
            isBase64Encoded: false,
            body: JSON.stringify(body),
            json: body,
          },
          what,
        );
      }
      deepStrictEqual(await fn.invoke(directEvent({ flowId: 'welcome-flow', custSpaceId: 'cams-b' })), body);
      deepStrictEqual(
        fn.logs().map((line) => [line.status, line.outcome, line.error?.name, line.error?.message]),
        Array(3).fill([500, 'ConfigInvalid', 'ConfigError', message]),
        what,
      );
    }
    strictEqual(cams.calls.length, 0);
  });

  describe('with JWT_AUTHENTICATION_ONLY=true', () => {
    const fn = useJwtFunction(() => AUTHENTICATION_ONLY);
    const get = getFrom(fn);

    it('still verifies every HTTP caller: no token, an expired one or a forged one gets 401 and no CAMS call', async () => {
      deepStrictEqual(
        withoutBody(await get(undefined, { custSpaceId: 'cams-a' })),
        unauthorized('This endpoint needs a token: send Authorization: Bearer <token>', false),
      );
      deepStrictEqual(
        withoutBody(await get(await sign(rsa, { expiresIn: -3600 }), { custSpaceId: 'cams-a' })),
        unauthorized('The token has expired'),
      );
      deepStrictEqual(
        withoutBody(await get(await sign(stranger), { custSpaceId: 'cams-a' })),
        unauthorized('The token was not signed by a known key'),
      );
      strictEqual(cams.calls.length, 0);
    });

    it('lets a verified caller name any space, whatever its token claims, or none', async () => {
      const claimsA = await sign(rsa, { claims: { [SPACE_CLAIM]: 'cams-a' } });
      strictEqual((await get(claimsA, { custSpaceId: 'cams-b' })).statusCode, 200);
      strictEqual((await get(claimsA)).statusCode, 200);
      strictEqual((await get(await sign(ec), { custSpaceId: 'cams-c' })).statusCode, 200);
      // What was asked for reaches CAMS as it was asked: the claim neither narrows nor fills it in.
      deepStrictEqual(camsSpaces(), ['cams-b', undefined, 'cams-c']);
    });
  });
});

describe('JWT_JWKS_URL', () => {
  /** Text the key server puts in its URLs and bodies: it must never reach a response or a log line. */
  const MARKER = 'jwks-url-marker-5d1c';
  let served: string;
  let up = true;
  let hang = false;
  let fetches = 0;
  const server = createServer((req, res) => {
    fetches += 1;
    if (hang) return;
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (path === '/redirect') {
      res.writeHead(302, { location: `/reuse?${MARKER}`, 'content-type': 'text/html' }).end(MARKER);
      return;
    }
    if (path === '/missing') {
      res.writeHead(404, { 'content-type': 'text/html; charset=utf-8' }).end(`<h1>${MARKER}</h1>`);
      return;
    }
    if (!up) {
      res.writeHead(500).end('down');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(served);
  });
  let base = '';
  before(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => {
    server.closeAllConnections();
    server.close();
  });
  let fn: FunctionUnderTest;
  beforeEach(() => {
    served = jwks(rsa);
    up = true;
    hang = false;
    fetches = 0;
  });
  const get = getFrom(() => fn);
  /**
   * Builds the instance this test asks: keys fetched from `path`. Each test its own path, as the verifier keeps a
   * URL's keys and its backoff for the process, as a warm instance does.
   */
  const keysAt = (path: string): void => {
    fn = buildFunction(
      jwtEnv({ JWT_JWKS: undefined, JWT_JWKS_URL: `${base}${path}`, ...AUTHENTICATION_ONLY }),
      fresh(),
    );
  };

  it('fetches the keys once and reuses them across invocations', async () => {
    keysAt('/reuse');
    strictEqual((await get(await sign(rsa))).statusCode, 200);
    strictEqual((await get(await sign(rsa))).statusCode, 200);
    strictEqual(fetches, 1);
  });

  it('refetches on an unknown kid (keys rotated at the provider)', async (t) => {
    keysAt('/rotate');
    strictEqual((await get(await sign(rsa))).statusCode, 200);
    served = jwks(rsa, ec);
    const later = Date.now() + 31_000; // past jose's 30 s cooldown between refetches
    t.mock.method(Date, 'now', () => later);
    strictEqual((await get(await sign(ec))).statusCode, 200);
    strictEqual(fetches, 2);
  });

  it('fails closed with 503 AuthUnavailable when the keys cannot be fetched, and never calls CAMS', async () => {
    up = false;
    keysAt('/down');
    deepStrictEqual(withoutBody(await get(await sign(rsa))), {
      statusCode: 503,
      headers: { ...baseHeaders(), ...cors, 'Retry-After': '5' },
      isBase64Encoded: false,
      json: {
        error: {
          code: 'AuthUnavailable',
          message: "The identity provider's signing keys could not be fetched; try again later",
          status: 503,
        },
      },
    });
    strictEqual(cams.calls.length, 0);
  });

  it('logs why the keys could not be used (error.detail.keySource), never the URL’s query nor a body', async () => {
    const causes: Array<[string, Record<string, unknown>]> = [
      ['/redirect', { reason: 'redirect', status: 302 }],
      ['/missing', { reason: 'status', status: 404, contentType: 'text/html' }],
    ];
    for (const [path, keySource] of causes) {
      keysAt(`${path}?key=${MARKER}`);
      const response = await get(await sign(rsa));
      strictEqual(response.statusCode, 503, path);
      deepStrictEqual(
        fn.logs().map((line) => [line.status, line.outcome, line.error]),
        [
          [
            503,
            'AuthUnavailable',
            {
              name: 'AuthUnavailableError',
              message: "The identity provider's signing keys could not be fetched; try again later",
              detail: { keySource },
            },
          ],
        ],
        path,
      );
      for (const text of [...fn.lines, response.body]) strictEqual(text.includes(MARKER), false, text);
    }
    strictEqual(fetches, 2, 'each URL was asked once; the redirect was not followed');
    strictEqual(cams.calls.length, 0);
  });

  it('answers 503 with CORS by the invocation’s deadline when the key server does not answer', async () => {
    hang = true;
    keysAt('/hang');
    const started = Date.now();
    // A 0.3 s budget (FC's are whole seconds; the margin rule is the same): the deadline is 100 ms in, well before
    // the 3 s the key fetch may take. The deadline is the handler's clock's; the wait for it is a real timer.
    const response = await fn.http(
      { headers: { Origin: ORIGIN, Authorization: `Bearer ${await sign(rsa)}` } },
      fcContext({ function: { name: 'flow-preview', timeout: 0.3 } }),
    );
    const elapsed = Date.now() - started;
    deepStrictEqual([response.statusCode, response.headers['Access-Control-Allow-Origin']], [503, ORIGIN]);
    strictEqual(elapsed < 2500, true, `answered after ${elapsed} ms`);
    deepStrictEqual(fn.logs()[0]?.error?.detail, { keySource: { reason: 'deadline' } });
    strictEqual(cams.calls.length, 0);
  });

  it('does not refetch for tokens with random kids while its keys are fresh (jose’s 30 s cooldown)', async () => {
    keysAt('/random-kids');
    strictEqual((await get(await sign(rsa))).statusCode, 200);
    for (let i = 0; i < 10; i += 1) {
      strictEqual((await get(await sign({ ...stranger, kid: `random-${i}` }))).statusCode, 401);
    }
    strictEqual(fetches, 1);
  });

  it('after a failed fetch, answers 503 for a few seconds without fetching again, whatever the kid', async (t) => {
    up = false;
    keysAt('/backoff');
    for (let i = 0; i < 10; i += 1) {
      strictEqual((await get(await sign({ ...stranger, kid: `random-${i}` }))).statusCode, 503);
    }
    strictEqual(fetches, 1);
    up = true;
    strictEqual((await get(await sign(rsa))).statusCode, 503, 'still backing off');
    const later = Date.now() + 5_001;
    t.mock.method(Date, 'now', () => later);
    strictEqual((await get(await sign(rsa))).statusCode, 200);
    strictEqual(fetches, 2);
    strictEqual(cams.calls.length, 1);
  });

  it('keeps serving known keys while backing off after a failed refetch for an unknown kid', async (t) => {
    keysAt('/refetch-fails');
    strictEqual((await get(await sign(rsa))).statusCode, 200);
    up = false;
    const later = Date.now() + 31_000; // past jose's cooldown, so an unknown kid refetches
    t.mock.method(Date, 'now', () => later);
    strictEqual((await get(await sign({ ...stranger, kid: 'random-a' }))).statusCode, 503);
    strictEqual((await get(await sign({ ...stranger, kid: 'random-b' }))).statusCode, 503);
    strictEqual((await get(await sign(rsa))).statusCode, 200);
    strictEqual(fetches, 2);
  });

  it('fails closed without reading it all when the URL serves a body far larger than a key set', async () => {
    // Valid JSON with the right keys, padded to 4 MB: jose alone would read and accept it.
    served = `${jwks(rsa).slice(0, -1)},"pad":"${'x'.repeat(4 * 1024 * 1024)}"}`;
    keysAt('/huge');
    strictEqual((await get(await sign(rsa))).statusCode, 503);
    served = jwks(rsa);
    keysAt('/huge-then-small');
    strictEqual((await get(await sign(rsa))).statusCode, 200);
    strictEqual(cams.calls.length, 1);
  });

  it('does not follow a redirect from the key URL (fails closed)', async () => {
    keysAt('/redirect');
    strictEqual((await get(await sign(rsa))).statusCode, 503);
    strictEqual(fetches, 1);
  });

  it('fails closed when the URL serves something other than a JWKS', async () => {
    served = '{"not":"a jwks"}';
    keysAt('/garbage');
    strictEqual((await get(await sign(rsa))).statusCode, 503);
    strictEqual(cams.calls.length, 0);
  });
});

describe('browser caching with caller identity', () => {
  const get = getFrom(useJwtFunction(() => AUTHENTICATION_ONLY));

  it('says Vary: Authorization, so a browser never reuses one caller’s answer for another', async () => {
    const response = await get(await sign(rsa));
    strictEqual(response.statusCode, 200);
    strictEqual(response.headers['Vary'], 'Origin, Authorization');
    match(response.headers['Cache-Control'] ?? '', /^private, max-age=\d+$/);
  });
});

describe('any Authorization header', () => {
  const fn = useJwtFunction(() => ({ JWT_SPACE_CLAIM: SPACE_CLAIM }));

  it('that is not a token the keys signed gets 401, never a CAMS call, never an echo in the log or body', async () => {
    const genuine = await sign(rsa, { claims: { [SPACE_CLAIM]: 'cams-a' } });
    const [header, payload] = genuine.split('.');
    const forged = fc.oneof(
      fc.string({ maxLength: 300 }),
      fc.base64String({ maxLength: 200 }).map((part) => `${header}.${part}.${part}`),
      fc.base64String({ maxLength: 200 }).map((part) => `${header}.${payload}.${part}`),
      fc.constantFrom(
        unsignedToken({ [SPACE_CLAIM]: 'cams-a' }),
        hs256WithPublicKey(rsa, { [SPACE_CLAIM]: 'cams-a' }),
      ),
    );
    await fc.assert(
      fc.asyncProperty(forged, fc.constantFrom('Bearer ', 'bearer ', ''), async (value, scheme) => {
        const seen = fn().lines.length;
        const response = await fn().http({ headers: { Authorization: `${scheme}${value}` } });
        const lines = fn().lines.slice(seen);
        strictEqual(response.statusCode, 401, response.body);
        strictEqual(lines.length, 1);
        if (value.length >= 8) {
          strictEqual(lines.join('').includes(value), false);
          strictEqual(response.body.includes(value), false);
        }
      }),
      { numRuns: 300 },
    );
    strictEqual(cams.calls.length, 0);
  });
});
