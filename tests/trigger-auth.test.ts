/**
 * npm start's stand-in for the trigger's `jwt` auth (dev/trigger-auth.ts), called directly: how it refuses.
 */
import { deepStrictEqual } from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { describe, it } from 'node:test';
import { tokenGate } from '../dev/trigger-auth.js';
import { setEnv } from './fixtures/fc.js';
import { AUDIENCE, ISSUER, jwks, makeKey, sign } from './fixtures/jwt.js';

function gated(authorization: string) {
  const req = { method: 'GET', headers: { authorization } } as unknown as IncomingMessage;
  return tokenGate()({ req, target: { rawPath: '/', query: {}, queryPairs: [] }, body: Buffer.alloc(0) });
}

describe('npm start’s jwt trigger auth', () => {
  it('answers 503 AuthUnavailable with Retry-After, not 401 Unauthorized, when the key URL cannot be reached', async () => {
    const key = await makeKey('ES256', 'gate-1');
    const restore = setEnv({
      JWT_JWKS: undefined,
      JWT_JWKS_URL: 'http://127.0.0.1:9/jwks.json',
      JWT_ISSUER: ISSUER,
      JWT_AUDIENCE: AUDIENCE,
    });
    try {
      deepStrictEqual(await gated(`Bearer ${await sign(key)}`), {
        status: 503,
        code: 'AuthUnavailable',
        message: 'The signing keys could not be fetched',
        headers: { 'Retry-After': '5' },
      });
    } finally {
      restore();
    }
  });

  it('answers 401 Unauthorized with a challenge for a token the keys did not sign', async () => {
    const [key, stranger] = await Promise.all([makeKey('ES256', 'gate-2'), makeKey('ES256', 'gate-x')]);
    const restore = setEnv({
      JWT_JWKS: jwks(key),
      JWT_JWKS_URL: undefined,
      JWT_ISSUER: ISSUER,
      JWT_AUDIENCE: AUDIENCE,
    });
    try {
      deepStrictEqual(await gated(`Bearer ${await sign(stranger)}`), {
        status: 401,
        code: 'Unauthorized',
        message: 'The token was not signed by a known key',
        headers: { 'WWW-Authenticate': 'Bearer realm="flow-preview"' },
      });
    } finally {
      restore();
    }
  });
});
