/**
 * withConfig and configLoader: every invocation gets the configuration of the environment as it is now, parsed
 * again only when a variable the configuration depends on has changed.
 */
import { deepStrictEqual, notStrictEqual, strictEqual, throws } from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Config, configLoader } from '../shared/config.js';
import { ConfigError } from '../shared/errors.js';
import { withConfig } from '../shared/fc/with-config.js';

/** Runs the middleware's `before` the way middy does and returns the config it handed the invocation. */
function invoke(middleware: ReturnType<typeof withConfig>): Config | undefined {
  const request = { context: {} as { config?: Config } };
  (middleware.before as (request: unknown) => void)(request);
  return request.context.config;
}

describe('withConfig', () => {
  it('hands every invocation the same config while the environment stays the same', () => {
    const env: Record<string, string | undefined> = { CAMS_ENDPOINT: 'http://127.0.0.1:9100' };
    const middleware = withConfig(configLoader(env));
    const first = invoke(middleware);
    deepStrictEqual(first?.camsEndpoint, { host: '127.0.0.1:9100', protocol: 'HTTP' });
    strictEqual(invoke(middleware), first);
    env['UNRELATED'] = 'x';
    strictEqual(invoke(middleware), first);
  });

  it('picks up a changed, added or removed variable on the next invocation', () => {
    const env: Record<string, string | undefined> = { CAMS_TIMEOUT_MS: '1000' };
    const middleware = withConfig(configLoader(env));
    strictEqual(invoke(middleware)?.camsTimeoutMs, 1000);
    env['CAMS_TIMEOUT_MS'] = '2000';
    strictEqual(invoke(middleware)?.camsTimeoutMs, 2000);
    env['CORS_ALLOWED_ORIGINS'] = 'https://app.example.com';
    deepStrictEqual(invoke(middleware)?.corsAllowedOrigins, new Set(['https://app.example.com']));
    env['ALIBABA_CLOUD_ACCESS_KEY_ID'] = 'id-1';
    env['ALIBABA_CLOUD_ACCESS_KEY_SECRET'] = 'secret-1';
    deepStrictEqual(invoke(middleware)?.envCredentials, { accessKeyId: 'id-1', accessKeySecret: 'secret-1' });
    delete env['CAMS_TIMEOUT_MS'];
    const latest = invoke(middleware);
    strictEqual(latest?.camsTimeoutMs, 5000);
    notStrictEqual(latest, undefined);
  });

  it('refuses a bad value on every invocation, and serves its fix', () => {
    const env: Record<string, string | undefined> = { CAMS_TIMEOUT_MS: 'abc' };
    const middleware = withConfig(configLoader(env));
    throws(() => invoke(middleware), ConfigError);
    throws(() => invoke(middleware), ConfigError);
    env['CAMS_TIMEOUT_MS'] = '300';
    strictEqual(invoke(middleware)?.camsTimeoutMs, 300);
    env['JWT_ISSUER'] = 'https://issuer.example.com';
    throws(() => invoke(middleware), /JWT_ISSUER is set, but neither JWT_JWKS nor JWT_JWKS_URL is/);
  });
});
