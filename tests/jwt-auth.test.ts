/**
 * Caller identity on the HTTP trigger: with JWT_* configured, only a valid bearer token gets past the edge, and a
 * token reaches only the spaces its claim grants. Every refusal is asserted whole and never calls CAMS.
 */
import { deepStrictEqual, match, strictEqual } from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, describe, it } from 'node:test';
import fc from 'fast-check';
import { handler } from '../functions/get-flow-preview-url/index.js';
import { useCamsSimulator } from './fixtures/cams.js';
import {
  asHttp,
  baseHeaders,
  captureLogs,
  directEvent,
  fcContext,
  httpEvent,
  setEnv,
} from './fixtures/fc.js';
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
} from './fixtures/jwt.js';

const ORIGIN = 'https://app.example.com';
const cams = useCamsSimulator({
  env: {
    CORS_ALLOWED_ORIGINS: ORIGIN,
    ALIBABA_CLOUD_ACCESS_KEY_ID: undefined,
    ALIBABA_CLOUD_ACCESS_KEY_SECRET: undefined,
    ALIBABA_CLOUD_SECURITY_TOKEN: undefined,
  },
});

let rsa: TestKey;
let ec: TestKey;
let stranger: TestKey;
before(async () => {
  [rsa, ec, stranger] = await Promise.all([
    makeKey('RS256', 'idp-rsa-1'),
    makeKey('ES256', 'idp-ec-1'),
    makeKey('RS256', 'attacker-1'),
  ]);
});

/** Applies JWT_* for one describe block (after the keys exist). */
function useJwtEnv(env: () => Record<string, string | undefined>): void {
  let restore = (): void => {};
  before(() => {
    restore = setEnv({
      JWT_JWKS: jwks(rsa, ec),
      JWT_JWKS_URL: undefined,
      JWT_ISSUER: ISSUER,
      JWT_AUDIENCE: AUDIENCE,
      JWT_SPACE_CLAIM: undefined,
      JWT_ALLOW_NO_SPACE: undefined,
      JWT_CLOCK_LEEWAY_S: undefined,
      ...env(),
    });
  });
  after(() => restore());
}

async function get(
  token: string | undefined,
  query: Record<string, string> = {},
  extra: Record<string, string> = {},
) {
  const headers: Record<string, string> = { Origin: ORIGIN, ...extra };
  if (token !== undefined) headers['Authorization'] = `Bearer ${token}`;
  return asHttp(await handler(httpEvent({ headers, query }), fcContext()));
}

const cors = {
  Vary: 'Origin, Authorization',
  'Access-Control-Allow-Origin': ORIGIN,
  'Access-Control-Expose-Headers': 'Retry-After, WWW-Authenticate, X-Cache, X-Request-Id',
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

const withoutBody = ({ body: _body, ...rest }: ReturnType<typeof asHttp>) => rest;

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
  useJwtEnv(() => ({}));

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
      () => sign({ ...stranger, kid: rsa.kid }),
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
    const response = asHttp(
      await handler(
        httpEvent({ headers: { Origin: ORIGIN, Authorization: `Basic ${await sign(rsa)}` } }),
        fcContext(),
      ),
    );
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
    const response = asHttp(
      await handler(
        httpEvent({ method: 'OPTIONS', headers: { Origin: ORIGIN, 'Access-Control-Request-Method': 'GET' } }),
        fcContext(),
      ),
    );
    strictEqual(response.statusCode, 204);
    strictEqual(response.headers['Access-Control-Allow-Origin'], ORIGIN);
    strictEqual(
      response.headers['Access-Control-Allow-Headers'],
      'Authorization, Cache-Control, Content-Type',
    );
  });

  it('keeps the token out of every log line and response, valid or not', async () => {
    const valid = await sign(rsa);
    const expired = await sign(rsa, { expiresIn: -3600 });
    const { result, lines } = await captureLogs(async () => [
      await get(valid),
      await get(expired),
      await get(`${valid}x`),
    ]);
    strictEqual(lines.length, 3);
    for (const text of [...lines, ...result.map((response) => response.body)]) {
      for (const token of [valid, expired]) {
        strictEqual(text.includes(token.split('.')[2] ?? ''), false, text);
        strictEqual(text.includes(token.split('.')[1] ?? ''), false, text);
      }
    }
    deepStrictEqual(
      lines.map((line) => JSON.parse(line).status),
      [200, 401, 401],
    );
  });

  it('leaves direct invocations alone: no token needed, any space may be named', async () => {
    const result = (await handler(
      directEvent({ flowId: 'welcome-flow', custSpaceId: 'cams-anyone' }),
      fcContext(),
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
  useJwtEnv(() => ({ JWT_SPACE_CLAIM: SPACE_CLAIM }));
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
    const withBody = asHttp(
      await handler(
        httpEvent({ headers: { Authorization: `Bearer ${tokenA}` }, body: '{"CustSpaceId":"cams-b"}' }),
        fcContext(),
      ),
    );
    strictEqual(withBody.statusCode, 400);
    const posted = asHttp(
      await handler(
        httpEvent({
          method: 'POST',
          headers: { Authorization: `Bearer ${tokenA}` },
          body: '{"custSpaceId":"cams-b"}',
        }),
        fcContext(),
      ),
    );
    strictEqual(posted.statusCode, 405);
    // Two Authorization headers differing only in case arrive joined: never a valid token.
    const tokenB = await token('cams-b');
    const twoTokens = asHttp(
      await handler(
        httpEvent({
          headers: { Authorization: `Bearer ${tokenA}`, authorization: `Bearer ${tokenB}` },
          query: { custSpaceId: 'cams-b' },
        }),
        fcContext(),
      ),
    );
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
  useJwtEnv(() => ({ JWT_SPACE_CLAIM: SPACE_CLAIM, JWT_ALLOW_NO_SPACE: 'true' }));

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

describe('JWT_JWKS_URL', () => {
  let served: string;
  let up = true;
  let hang = false;
  let fetches = 0;
  const server = createServer((req, res) => {
    fetches += 1;
    if (hang) return;
    if (req.url === '/redirect') {
      res.writeHead(302, { location: '/reuse' }).end();
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
  beforeEach(() => {
    served = jwks(rsa);
    up = true;
    hang = false;
    fetches = 0;
  });
  const useUrl = async (path: string, run: () => Promise<void>) => {
    const restore = setEnv({
      JWT_JWKS: undefined,
      JWT_JWKS_URL: `${base}${path}`,
      JWT_ISSUER: ISSUER,
      JWT_AUDIENCE: AUDIENCE,
    });
    try {
      await run();
    } finally {
      restore();
    }
  };

  it('fetches the keys once and reuses them across invocations', async () => {
    await useUrl('/reuse', async () => {
      strictEqual((await get(await sign(rsa))).statusCode, 200);
      strictEqual((await get(await sign(rsa))).statusCode, 200);
      strictEqual(fetches, 1);
    });
  });

  it('refetches on an unknown kid (keys rotated at the provider)', async (t) => {
    await useUrl('/rotate', async () => {
      strictEqual((await get(await sign(rsa))).statusCode, 200);
      served = jwks(rsa, ec);
      const later = Date.now() + 31_000; // past jose's 30 s cooldown between refetches
      t.mock.method(Date, 'now', () => later);
      strictEqual((await get(await sign(ec))).statusCode, 200);
      strictEqual(fetches, 2);
    });
  });

  it('fails closed with 503 AuthUnavailable when the keys cannot be fetched, and never calls CAMS', async () => {
    up = false;
    await useUrl('/down', async () => {
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
    });
    strictEqual(cams.calls.length, 0);
  });

  it('answers 503 with CORS by the invocation’s deadline when the key server does not answer', async () => {
    hang = true;
    await useUrl('/hang', async () => {
      const started = Date.now();
      // A 1 s function: the deadline is 800 ms in, well before the 3 s the key fetch may take.
      const response = asHttp(
        await handler(
          httpEvent({ headers: { Origin: ORIGIN, Authorization: `Bearer ${await sign(rsa)}` } }),
          fcContext({ function: { name: 'flow-preview', timeout: 1 } }),
        ),
      );
      const elapsed = Date.now() - started;
      deepStrictEqual([response.statusCode, response.headers['Access-Control-Allow-Origin']], [503, ORIGIN]);
      strictEqual(elapsed < 2500, true, `answered after ${elapsed} ms`);
    });
    strictEqual(cams.calls.length, 0);
  });

  it('does not refetch for tokens with random kids while its keys are fresh (jose’s 30 s cooldown)', async () => {
    await useUrl('/random-kids', async () => {
      strictEqual((await get(await sign(rsa))).statusCode, 200);
      for (let i = 0; i < 10; i += 1) {
        strictEqual((await get(await sign({ ...stranger, kid: `random-${i}` }))).statusCode, 401);
      }
      strictEqual(fetches, 1);
    });
  });

  it('after a failed fetch, answers 503 for a few seconds without fetching again, whatever the kid', async (t) => {
    up = false;
    await useUrl('/backoff', async () => {
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
    });
    strictEqual(cams.calls.length, 1);
  });

  it('keeps serving known keys while backing off after a failed refetch for an unknown kid', async (t) => {
    await useUrl('/refetch-fails', async () => {
      strictEqual((await get(await sign(rsa))).statusCode, 200);
      up = false;
      const later = Date.now() + 31_000; // past jose's cooldown, so an unknown kid refetches
      t.mock.method(Date, 'now', () => later);
      strictEqual((await get(await sign({ ...stranger, kid: 'random-a' }))).statusCode, 503);
      strictEqual((await get(await sign({ ...stranger, kid: 'random-b' }))).statusCode, 503);
      strictEqual((await get(await sign(rsa))).statusCode, 200);
      strictEqual(fetches, 2);
    });
  });

  it('fails closed without reading it all when the URL serves a body far larger than a key set', async () => {
    // Valid JSON with the right keys, padded to 4 MB: jose alone would read and accept it.
    served = `${jwks(rsa).slice(0, -1)},"pad":"${'x'.repeat(4 * 1024 * 1024)}"}`;
    await useUrl('/huge', async () => {
      strictEqual((await get(await sign(rsa))).statusCode, 503);
    });
    served = jwks(rsa);
    await useUrl('/huge-then-small', async () => {
      strictEqual((await get(await sign(rsa))).statusCode, 200);
    });
    strictEqual(cams.calls.length, 1);
  });

  it('does not follow a redirect from the key URL (fails closed)', async () => {
    await useUrl('/redirect', async () => {
      strictEqual((await get(await sign(rsa))).statusCode, 503);
    });
    strictEqual(fetches, 1);
  });

  it('fails closed when the URL serves something other than a JWKS', async () => {
    served = '{"not":"a jwks"}';
    await useUrl('/garbage', async () => {
      strictEqual((await get(await sign(rsa))).statusCode, 503);
    });
    strictEqual(cams.calls.length, 0);
  });
});

describe('browser caching with caller identity', () => {
  useJwtEnv(() => ({}));

  it('says Vary: Authorization, so a browser never reuses one caller’s answer for another', async () => {
    const response = await get(await sign(rsa));
    strictEqual(response.statusCode, 200);
    strictEqual(response.headers['Vary'], 'Origin, Authorization');
    match(response.headers['Cache-Control'] ?? '', /^private, max-age=\d+$/);
  });
});

describe('any Authorization header', () => {
  useJwtEnv(() => ({ JWT_SPACE_CLAIM: SPACE_CLAIM }));

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
        const { result, lines } = await captureLogs(async () =>
          asHttp(await handler(httpEvent({ headers: { Authorization: `${scheme}${value}` } }), fcContext())),
        );
        strictEqual(result.statusCode, 401, result.body);
        if (value.length >= 8) {
          strictEqual(lines.join('').includes(value), false);
          strictEqual(result.body.includes(value), false);
        }
      }),
      { numRuns: 300 },
    );
    strictEqual(cams.calls.length, 0);
  });
});
