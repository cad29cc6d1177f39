/** The JWT_* settings: all or nothing, public keys only, and named failures. */
import { deepStrictEqual, ok, strictEqual, throws } from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '../../shared/config.js';
import { ConfigError } from '../../shared/config-error.js';

const JWKS = JSON.stringify({ keys: [{ kty: 'EC', crv: 'P-256', x: 'x', y: 'y', kid: 'k1' }] });
const base = {
  JWT_JWKS: JWKS,
  JWT_ISSUER: 'https://idp.example.com/',
  JWT_AUDIENCE: 'flow-preview',
  JWT_SPACE_CLAIM: 'spaces',
};

/** Refused with `message`; no JWT_* value is ever quoted, not even in the log's detail. */
function fails(env: Record<string, string>, message: RegExp, quoted?: string): void {
  throws(
    () => loadConfig(env),
    (error: unknown) => {
      ok(error instanceof ConfigError);
      ok(message.test(error.message), error.message);
      strictEqual(error.detail, error.message);
      if (quoted !== undefined) strictEqual(error.detail.includes(quoted), false);
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
        spaceClaim: 'spaces',
        allowNoSpace: true,
        clockLeewayS: 60,
      },
    );
  });

  it('needs JWT_SPACE_CLAIM unless authentication alone is chosen explicitly (JWT_AUTHENTICATION_ONLY=true)', () => {
    const { JWT_SPACE_CLAIM: _claim, ...noClaim } = base;
    fails(noClaim, /^JWT_SPACE_CLAIM is required when a JWKS is configured/);
    fails({ ...noClaim, JWT_AUTHENTICATION_ONLY: 'false' }, /^JWT_SPACE_CLAIM is required/);
    strictEqual(loadConfig({ ...noClaim, JWT_AUTHENTICATION_ONLY: 'true' }).jwt?.spaceClaim, undefined);
    fails(
      { ...base, JWT_AUTHENTICATION_ONLY: 'true' },
      /^JWT_AUTHENTICATION_ONLY cannot be true while JWT_SPACE_CLAIM/,
    );
    fails(
      { ...noClaim, JWT_AUTHENTICATION_ONLY: 'yes' },
      /^JWT_AUTHENTICATION_ONLY must be 'true' or 'false'$/,
    );
    fails(
      { JWT_AUTHENTICATION_ONLY: 'true' },
      /^JWT_AUTHENTICATION_ONLY is set, but neither JWT_JWKS nor JWT_JWKS_URL is$/,
    );
  });

  it('refuses a space claim with surrounding spaces', () => {
    fails({ ...base, JWT_SPACE_CLAIM: ' spaces' }, /^JWT_SPACE_CLAIM must not start or end with spaces$/);
  });

  it('refuses a JWT_* setting without a JWKS, so binding is never silently off', () => {
    fails(
      { JWT_SPACE_CLAIM: 'spaces' },
      /^JWT_SPACE_CLAIM is set, but neither JWT_JWKS nor JWT_JWKS_URL is$/,
    );
    fails({ JWT_ISSUER: 'x' }, /^JWT_ISSUER is set/);
  });

  it('needs an issuer and an audience', () => {
    fails(
      { JWT_JWKS: JWKS, JWT_AUDIENCE: 'a', JWT_SPACE_CLAIM: 's' },
      /^JWT_ISSUER is required when a JWKS is configured$/,
    );
    fails({ JWT_JWKS: JWKS, JWT_ISSUER: 'i', JWT_SPACE_CLAIM: 's' }, /^JWT_AUDIENCE is required/);
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

  // Issue 17: an IdP private key pasted into the wrong setting was quoted (300 characters) in the ConfigInvalid line.
  const PEM =
    '-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIPrivateScalarPrivateScalar\n-----END EC PRIVATE KEY-----';
  const PRIVATE_JWK = JSON.stringify({
    kty: 'EC',
    crv: 'P-256',
    x: 'x',
    y: 'y',
    d: 'PrivateScalarPrivateScalar',
  });
  const PRIVATE_JWKS = JSON.stringify({ keys: [JSON.parse(PRIVATE_JWK)] });
  for (const variable of ['JWT_JWKS_URL', 'JWT_ISSUER', 'JWT_AUDIENCE', 'JWT_SPACE_CLAIM'] as const) {
    for (const [what, value] of [
      ['a PEM private key', PEM],
      ['a private JWK', PRIVATE_JWK],
      ['a private JWKS', PRIVATE_JWKS],
      ['a PEM block after spaces', `  ${PEM}`],
    ] as const) {
      it(`refuses ${what} pasted into ${variable} for its shape, without quoting it`, () => {
        const { JWT_JWKS: _inline, ...rest } = base;
        const env =
          variable === 'JWT_JWKS_URL' ? { ...rest, JWT_JWKS_URL: value } : { ...base, [variable]: value };
        // A claim name is used verbatim: its surrounding spaces are refused first (and not quoted either).
        const problem =
          variable === 'JWT_SPACE_CLAIM' && value !== value.trim()
            ? 'must not start or end with spaces'
            : 'holds what looks like key material \\(a PEM block or JSON\\); it is not shown';
        fails(env, new RegExp(`^${variable} ${problem}$`), 'PrivateScalar');
      });
    }
  }
});
