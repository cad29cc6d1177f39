/** The JWT_* settings: all or nothing, public keys only, and named failures. */
import { deepStrictEqual, strictEqual, throws } from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '../shared/config.js';
import { ConfigError } from '../shared/errors.js';

const JWKS = JSON.stringify({ keys: [{ kty: 'EC', crv: 'P-256', x: 'x', y: 'y', kid: 'k1' }] });
const base = { JWT_JWKS: JWKS, JWT_ISSUER: 'https://idp.example.com/', JWT_AUDIENCE: 'flow-preview' };

function fails(env: Record<string, string>, message: RegExp, quoted?: string): void {
  throws(
    () => loadConfig(env),
    (error: unknown) => {
      strictEqual(error instanceof ConfigError, true);
      strictEqual(message.test((error as ConfigError).message), true, (error as ConfigError).message);
      if (quoted !== undefined) strictEqual((error as ConfigError).detail.includes(quoted), false);
      return true;
    },
  );
}

describe('JWT_* configuration', () => {
  it('is absent when no JWKS is configured', () => {
    strictEqual('jwt' in loadConfig({}), false);
  });

  it('reads the inline JWKS, issuer, audience, verbatim space claim and defaults', () => {
    deepStrictEqual(loadConfig({ ...base, JWT_SPACE_CLAIM: 'https://example.com/claims/spaces' }).jwt, {
      jwks: { kind: 'inline', json: JWKS },
      issuer: 'https://idp.example.com/',
      audience: 'flow-preview',
      spaceClaim: 'https://example.com/claims/spaces',
      allowNoSpace: false,
      clockLeewayS: 30,
    });
  });

  it('reads JWT_JWKS_URL, JWT_ALLOW_NO_SPACE and JWT_CLOCK_LEEWAY_S', () => {
    const { JWT_JWKS: _inline, ...rest } = base;
    deepStrictEqual(
      loadConfig({
        ...rest,
        JWT_JWKS_URL: 'https://idp.example.com/.well-known/jwks.json',
        JWT_ALLOW_NO_SPACE: 'true',
        JWT_CLOCK_LEEWAY_S: '60',
      }).jwt,
      {
        jwks: { kind: 'url', url: 'https://idp.example.com/.well-known/jwks.json' },
        issuer: 'https://idp.example.com/',
        audience: 'flow-preview',
        spaceClaim: undefined,
        allowNoSpace: true,
        clockLeewayS: 60,
      },
    );
  });

  it('refuses a JWT_* setting without a JWKS, so binding is never silently off', () => {
    fails(
      { JWT_SPACE_CLAIM: 'spaces' },
      /^JWT_SPACE_CLAIM is set, but neither JWT_JWKS nor JWT_JWKS_URL is$/,
    );
    fails({ JWT_ISSUER: 'x' }, /^JWT_ISSUER is set/);
  });

  it('needs an issuer and an audience', () => {
    fails({ JWT_JWKS: JWKS, JWT_AUDIENCE: 'a' }, /^JWT_ISSUER is required when a JWKS is configured$/);
    fails({ JWT_JWKS: JWKS, JWT_ISSUER: 'i' }, /^JWT_AUDIENCE is required/);
  });

  it('refuses both key sources at once', () => {
    fails({ ...base, JWT_JWKS_URL: 'https://idp.example.com/jwks' }, /^JWT_JWKS_URL cannot be set together/);
  });

  it('refuses private or shared keys without quoting them, and anything that is not a JWKS', () => {
    const privateJwks = JSON.stringify({
      keys: [{ kty: 'RSA', n: 'n', e: 'AQAB', d: 'very-private-exponent' }],
    });
    fails({ ...base, JWT_JWKS: privateJwks }, /holds private key material/, 'very-private-exponent');
    fails(
      { ...base, JWT_JWKS: JSON.stringify({ keys: [{ kty: 'oct', k: 'shared-secret' }] }) },
      /public RSA, EC or OKP/,
      'shared-secret',
    );
    fails({ ...base, JWT_JWKS: '{"keys": []}' }, /non-empty "keys" array/);
    fails({ ...base, JWT_JWKS: 'not json' }, /is not JSON/);
  });

  it('needs https for JWT_JWKS_URL except on loopback', () => {
    const { JWT_JWKS: _inline, ...rest } = base;
    fails(
      { ...rest, JWT_JWKS_URL: 'http://idp.example.com/jwks' },
      /^JWT_JWKS_URL must be an https:\/\/ URL$/,
    );
    fails({ ...rest, JWT_JWKS_URL: 'https://user:pw@idp.example.com/jwks' }, /must not carry credentials/);
    strictEqual(loadConfig({ ...rest, JWT_JWKS_URL: 'http://127.0.0.1:8080/jwks' }).jwt?.jwks.kind, 'url');
  });

  it('bounds the clock leeway to 60 s and reads JWT_ALLOW_NO_SPACE strictly', () => {
    fails(
      { ...base, JWT_CLOCK_LEEWAY_S: '61' },
      /^JWT_CLOCK_LEEWAY_S must be a whole number of seconds from 0 to 60$/,
    );
    fails({ ...base, JWT_CLOCK_LEEWAY_S: '-1' }, /^JWT_CLOCK_LEEWAY_S/);
    fails({ ...base, JWT_ALLOW_NO_SPACE: 'yes' }, /^JWT_ALLOW_NO_SPACE must be 'true' or 'false'$/);
  });
});
