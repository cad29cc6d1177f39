/**
 * Tokens without a `kid` during a key rotation: the key set holds two keys of the token's type, jose finds both
 * (`JWKSMultipleMatchingKeys`) and the verifier tries each, as jose documents. Whatever such a token holds, the
 * answer is 200 or 401, never 500 or 503; with JWT_JWKS inline and with JWT_JWKS_URL on a real loopback server.
 */
import { deepStrictEqual, strictEqual } from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { verifyJwt } from '../../shared/auth/jwt-verifier.js';
import type { Env, JwtConfig } from '../../shared/config.js';
import { useCamsOnFakeClock } from '../fixtures/cams.js';
import { useFunction } from '../fixtures/function.js';
import { AUDIENCE, ISSUER, jwks, makeKey, sign, type TestKey, tamper } from '../fixtures/jwt.js';

// One clock for the function and the simulator: the CAMS rate limits pass without waiting.
const { cams, fresh } = useCamsOnFakeClock();

/** The function with caller identity on (authentication only: these tests are about keys, not tenants). */
const withJwt = (keys: () => Env) =>
  useFunction(
    () => ({
      CAMS_ENDPOINT: cams.url,
      JWT_ISSUER: ISSUER,
      JWT_AUDIENCE: AUDIENCE,
      JWT_AUTHENTICATION_ONLY: 'true',
      ...keys(),
    }),
    fresh,
  );

let oldKey: TestKey;
let newKey: TestKey;
let rsaKey: TestKey;
let stranger: TestKey;
// The rotation in ES256 and one RSA key of another type beside it: jose matches candidates the same way for either
// type, and an RSA key pair takes a few hundred ms to make where an EC one takes a millisecond.
before(async () => {
  [oldKey, newKey, rsaKey, stranger] = await Promise.all([
    makeKey('ES256', 'rotation-old'),
    makeKey('ES256', 'rotation-new'),
    makeKey('RS256', 'rotation-rsa'),
    makeKey('ES256', 'stranger'),
  ]);
});

/** A token as an IdP that sets no `kid` signs it. */
const kidless = (key: TestKey, claims: Record<string, unknown> = {}) =>
  sign(key, { header: { kid: undefined }, claims });

const inline = (...keys: TestKey[]): JwtConfig => ({
  jwks: { kind: 'inline', json: jwks(...keys) },
  issuer: ISSUER,
  audience: AUDIENCE,
  spaceClaim: undefined,
  allowNoSpace: false,
  clockLeewayS: 30,
});

/** The publicJwk without its kid: some IdPs publish keys that carry none. */
const withoutKid = (key: TestKey): TestKey => {
  const { kid: _kid, ...publicJwk } = key.publicJwk;
  return { ...key, publicJwk };
};

describe('a token without kid against a key set with several matching keys', () => {
  it('is accepted when signed by either key of a rotation, and its claims come back', async () => {
    const config = inline(oldKey, newKey, rsaKey);
    for (const key of [oldKey, newKey]) {
      const result = await verifyJwt(await kidless(key, { who: key.kid }), config);
      strictEqual(result.ok, true, JSON.stringify(result));
      strictEqual(result.ok && result.claims['who'], key.kid);
    }
  });

  it('is accepted when the keys carry no kid either, or share one', async () => {
    const noKids = inline(withoutKid(oldKey), withoutKid(newKey));
    strictEqual((await verifyJwt(await kidless(newKey), noKids)).ok, true);
    const shared = inline(
      { ...oldKey, publicJwk: { ...oldKey.publicJwk, kid: 'same' } },
      {
        ...newKey,
        publicJwk: { ...newKey.publicJwk, kid: 'same' },
      },
    );
    strictEqual((await verifyJwt(await sign({ ...newKey, kid: 'same' }), shared)).ok, true);
  });

  const refusals: Array<[string, () => Promise<string>, string]> = [
    ['signed by a key the set does not hold', () => kidless(stranger), 'The token signature is invalid'],
    [
      'with a rewritten payload',
      async () => tamper(await kidless(newKey), { sub: 'someone-else' }),
      'The token signature is invalid',
    ],
    [
      'expired, though signed by a rotation key',
      () => sign(oldKey, { header: { kid: undefined }, expiresIn: -600 }),
      'The token has expired',
    ],
    [
      'for another audience',
      () => sign(newKey, { header: { kid: undefined }, audience: 'another-app' }),
      'The token was issued for another audience',
    ],
  ];
  for (const [what, token, message] of refusals) {
    it(`is refused as invalid (401), not an internal error, when ${what}`, async () => {
      const result = await verifyJwt(await token(), inline(oldKey, newKey));
      deepStrictEqual(result.ok === false && result.kind === 'invalid' ? result.message : result, message);
    });
  }

  it('is refused as invalid when more keys match than the verifier will try (8)', async () => {
    // EC keys: nine RSA key pairs would take most of a second to generate.
    const many = await Promise.all(Array.from({ length: 9 }, (_, i) => makeKey('ES256', `many-${i}`)));
    const last = many[8] as TestKey;
    const result = await verifyJwt(await kidless(last), inline(...many));
    deepStrictEqual(
      result.ok === false && result.kind === 'invalid' ? result.message : result,
      'The token names no key (kid) and too many keys could have signed it',
    );
    // Eight are tried: the last of them verifies.
    strictEqual((await verifyJwt(await kidless(last), inline(...many.slice(1)))).ok, true);
    // With a kid the same key is found at once.
    strictEqual((await verifyJwt(await sign(last), inline(...many))).ok, true);
  });
});

describe('kid-less tokens on the HTTP trigger', () => {
  describe('JWT_JWKS', () => {
    const fn = withJwt(() => ({ JWT_JWKS: jwks(oldKey, newKey) }));
    const get = async (token: string) => fn().http({ headers: { Authorization: `Bearer ${token}` } });

    it('answers 200 for a rotation key, 401 for a stranger, never 500', async () => {
      strictEqual((await get(await kidless(oldKey))).statusCode, 200);
      strictEqual((await get(await kidless(newKey))).statusCode, 200);
      const refused = await get(await kidless(stranger));
      deepStrictEqual(
        [refused.statusCode, refused.json],
        [401, { error: { code: 'Unauthorized', message: 'The token signature is invalid', status: 401 } }],
      );
      strictEqual(
        cams.calls.length,
        1,
        'the refused token never reaches CAMS; the second 200 is a cache hit',
      );
    });
  });

  describe('JWT_JWKS_URL', () => {
    let fetches = 0;
    const server = createServer((_req, res) => {
      fetches += 1;
      res.writeHead(200, { 'content-type': 'application/json' }).end(jwks(oldKey, newKey));
    });
    before(async () => {
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    });
    after(() => {
      server.closeAllConnections();
      server.close();
    });
    const fn = withJwt(() => ({
      JWT_JWKS_URL: `http://127.0.0.1:${(server.address() as AddressInfo).port}/kidless.json`,
    }));
    const get = async (token: string) => fn().http({ headers: { Authorization: `Bearer ${token}` } });

    it('answers 200 for a rotation key and 401 for a stranger, never 503, and fetches the keys once', async () => {
      strictEqual((await get(await kidless(newKey))).statusCode, 200);
      strictEqual((await get(await kidless(oldKey))).statusCode, 200);
      for (let i = 0; i < 3; i += 1) strictEqual((await get(await kidless(stranger))).statusCode, 401);
      // A refused kid-less token is the token's fault: no refetch, no backoff that would refuse the next caller.
      strictEqual((await get(await kidless(newKey))).statusCode, 200);
      strictEqual(fetches, 1);
    });
  });
});
