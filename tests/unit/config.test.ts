import { deepStrictEqual, ok, strictEqual, throws } from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_CAMS_TIMEOUT_MS, type Env, loadConfig, readConfig } from '../../shared/config.js';
import { ConfigError } from '../../shared/config-error.js';
import { baseHeaders, directEvent } from '../fixtures/fc.js';
import { buildFunction } from '../fixtures/function.js';

describe('loadConfig', () => {
  it('defaults to the documented CAMS endpoint over HTTPS, 5 s, and no CORS', () => {
    deepStrictEqual(loadConfig({}), {
      camsEndpoint: { host: 'cams.ap-southeast-1.aliyuncs.com', protocol: 'HTTPS' },
      camsTimeoutMs: DEFAULT_CAMS_TIMEOUT_MS,
      corsAllowedOrigins: new Set(),
      envCredentials: undefined,
      fleet: {
        redis: undefined,
        camsRateLimitPerSecond: 5,
        previewMaxAgeMs: 900_000,
        refreshIntervalMs: 60_000,
        failureTtlMs: 10_000,
        fairShare: true,
      },
    });
  });

  const endpoints: Array<[string, { host: string; protocol: 'HTTP' | 'HTTPS' }]> = [
    ['cams.cn-hangzhou.aliyuncs.com', { host: 'cams.cn-hangzhou.aliyuncs.com', protocol: 'HTTPS' }],
    ['127.0.0.1:9100', { host: '127.0.0.1:9100', protocol: 'HTTPS' }],
    ['http://127.0.0.1:9100', { host: '127.0.0.1:9100', protocol: 'HTTP' }],
    ['http://localhost:9100/', { host: 'localhost:9100', protocol: 'HTTP' }],
    ['https://cams.example.com', { host: 'cams.example.com', protocol: 'HTTPS' }],
    ['HTTPS://cams.example.com:8443', { host: 'cams.example.com:8443', protocol: 'HTTPS' }],
  ];
  for (const [value, expected] of endpoints) {
    it(`reads CAMS_ENDPOINT ${value}`, () => {
      deepStrictEqual(loadConfig({ CAMS_ENDPOINT: value }).camsEndpoint, expected);
    });
  }

  const badEndpoints: Array<[string, RegExp]> = [
    [
      'ftp://cams.example.com',
      /^CAMS_ENDPOINT must use http:\/\/ or https:\/\/, got 'ftp:\/\/cams.example.com'$/,
    ],
    ['https://cams.example.com/path', /^CAMS_ENDPOINT must not have a path, query or fragment/],
    ['cams.example.com/path', /^CAMS_ENDPOINT must be a host, host:port or an http\(s\):\/\/ URL/],
    ['host:99999', /^CAMS_ENDPOINT has a port outside 1–65535/],
    ['https://user:secret@cams.example.com', /^CAMS_ENDPOINT must not carry credentials$/],
    ['user:secret@cams.example.com', /^CAMS_ENDPOINT must be a host, host:port or an http\(s\):\/\/ URL$/],
  ];
  for (const [value, message] of badEndpoints) {
    it(`rejects CAMS_ENDPOINT ${value} with a message naming the variable`, () => {
      throws(
        () => loadConfig({ CAMS_ENDPOINT: value }),
        (error: unknown) =>
          error instanceof ConfigError && error.variable === 'CAMS_ENDPOINT' && message.test(error.detail),
      );
    });
  }

  it('reads CAMS_TIMEOUT_MS', () => {
    deepStrictEqual(loadConfig({ CAMS_TIMEOUT_MS: ' 2500 ' }).camsTimeoutMs, 2500);
  });

  for (const value of ['abc', '0', '-5', '1.5', '1e3', '99999999999']) {
    it(`rejects CAMS_TIMEOUT_MS '${value}'`, () => {
      throws(() => loadConfig({ CAMS_TIMEOUT_MS: value }), {
        name: 'ConfigError',
        message: 'CAMS_TIMEOUT_MS must be a positive integer (milliseconds)',
        detail: `CAMS_TIMEOUT_MS must be a positive integer (milliseconds), got '${value}'`,
      });
    });
  }

  it('reads CORS_ALLOWED_ORIGINS as a comma-separated list', () => {
    deepStrictEqual(
      loadConfig({ CORS_ALLOWED_ORIGINS: ' https://a.example.com, http://localhost:5173,,' })
        .corsAllowedOrigins,
      new Set(['https://a.example.com', 'http://localhost:5173']),
    );
  });

  for (const value of [
    'https://a.example.com/',
    'a.example.com',
    'https://A.example.com',
    'https://a.example.com/app',
  ]) {
    it(`rejects the CORS origin '${value}'`, () => {
      throws(
        () => loadConfig({ CORS_ALLOWED_ORIGINS: value }),
        (error: unknown) =>
          error instanceof ConfigError &&
          error.variable === 'CORS_ALLOWED_ORIGINS' &&
          error.detail.endsWith(`got '${value}'`) &&
          !error.message.includes(`'${value}'`),
      );
    });
  }

  it('takes env credentials only when both id and secret are set', () => {
    deepStrictEqual(loadConfig({ ALIBABA_CLOUD_ACCESS_KEY_ID: 'id' }).envCredentials, undefined);
    deepStrictEqual(
      loadConfig({ ALIBABA_CLOUD_ACCESS_KEY_ID: 'id', ALIBABA_CLOUD_ACCESS_KEY_SECRET: 's' }).envCredentials,
      { accessKeyId: 'id', accessKeySecret: 's' },
    );
    deepStrictEqual(
      loadConfig({
        ALIBABA_CLOUD_ACCESS_KEY_ID: 'id',
        ALIBABA_CLOUD_ACCESS_KEY_SECRET: 's',
        ALIBABA_CLOUD_SECURITY_TOKEN: 't',
      }).envCredentials,
      { accessKeyId: 'id', accessKeySecret: 's', securityToken: 't' },
    );
  });
});

describe('readConfig', () => {
  it('returns the configuration and the secrets the environment holds', () => {
    const result = readConfig({
      CAMS_TIMEOUT_MS: '300',
      ALIBABA_CLOUD_ACCESS_KEY_ID: 'env-key-id',
      ALIBABA_CLOUD_ACCESS_KEY_SECRET: 'env-key-secret',
      REDIS_URL: 'redis://default:redis-pass@127.0.0.1:6379',
    });
    ok(result.ok);
    strictEqual(result.config.camsTimeoutMs, 300);
    deepStrictEqual(new Set(result.secrets), new Set(['env-key-id', 'env-key-secret', 'redis-pass']));
  });

  it('never throws: a bad setting becomes the ConfigError, and the secrets are still known for the log', () => {
    const result = readConfig({ CAMS_TIMEOUT_MS: 'abc', ALIBABA_CLOUD_ACCESS_KEY_SECRET: 'env-key-secret' });
    ok(!result.ok);
    ok(result.error instanceof ConfigError);
    strictEqual(result.error.variable, 'CAMS_TIMEOUT_MS');
    deepStrictEqual(new Set(result.secrets), new Set(['env-key-secret']));
  });
});

describe('ConfigError.detail: what the log may quote', () => {
  it('quotes a short plain value of a variable that cannot hold a secret', () => {
    strictEqual(
      new ConfigError('CAMS_TIMEOUT_MS', 'must be a positive integer', 'ten seconds').detail,
      "CAMS_TIMEOUT_MS must be a positive integer, got 'ten seconds'",
    );
  });

  for (const variable of ['JWT_ISSUER', 'JWT_AUDIENCE', 'JWT_SPACE_CLAIM', 'REDIS_URL', 'ALIBABA_CLOUD_X']) {
    it(`never quotes a value of ${variable}, however plain`, () => {
      const error = new ConfigError(variable, 'is wrong', 'plain');
      strictEqual(error.detail, `${variable} is wrong`);
    });
  }

  const shaped: Array<[string, string]> = [
    ['a PEM block', '-----BEGIN PRIVATE KEY-----\nMIIEvQ\n-----END PRIVATE KEY-----'],
    ['a PEM marker alone', '-----BEGIN'],
    ['a JSON document', '{"kty":"EC","d":"x"}'],
    ['a long token-like run', 'abcdefghijklmnopqrstuvwxyz0123'],
    ['a URL with userinfo', 'https://user:pw@host.example.com'],
    ['a value longer than 40 characters', `${'word '.repeat(9)}words`],
  ];
  for (const [what, value] of shaped) {
    it(`never quotes ${what}, whatever variable it was pasted into`, () => {
      const error = new ConfigError('CAMS_ENDPOINT', 'is wrong', value);
      strictEqual(error.detail, 'CAMS_ENDPOINT is wrong');
    });
  }
});

describe('the handler reads its configuration once', () => {
  const error = (message: string) => ({ error: { code: 'ConfigInvalid', message, status: 500 } });

  it('keeps answering by the environment it was built from, although that object changes later', async () => {
    const env: Record<string, string | undefined> = { CORS_ALLOWED_ORIGINS: 'https://app.example.com' };
    const fn = buildFunction(env);
    // An invalid flow id: answered before CAMS, so the test needs none.
    const ask = (origin: string) =>
      fn.http({ path: '/flows/bad.id/preview-url', headers: { Origin: origin } });
    strictEqual(
      (await ask('https://app.example.com')).headers['Access-Control-Allow-Origin'],
      'https://app.example.com',
    );

    env['CORS_ALLOWED_ORIGINS'] = 'https://other.example.com';
    env['CAMS_TIMEOUT_MS'] = 'abc';
    const after = await ask('https://app.example.com');
    strictEqual(after.statusCode, 400);
    strictEqual(after.headers['Access-Control-Allow-Origin'], 'https://app.example.com');
    strictEqual((await ask('https://other.example.com')).headers['Access-Control-Allow-Origin'], undefined);
  });

  it('answers 500 ConfigInvalid on both event forms for a bad setting, and keeps doing so after a fix', async () => {
    const env: Record<string, string | undefined> = { CAMS_TIMEOUT_MS: 'abc' };
    const fn = buildFunction(env);
    env['CAMS_TIMEOUT_MS'] = '300';
    const body = error('CAMS_TIMEOUT_MS must be a positive integer (milliseconds)');
    for (let i = 0; i < 2; i += 1) {
      deepStrictEqual(await fn.invoke(directEvent({ flowId: 'welcome-flow' })), body);
      deepStrictEqual(await fn.http(), {
        statusCode: 500,
        headers: baseHeaders(),
        isBase64Encoded: false,
        body: JSON.stringify(body),
        json: body,
      });
    }
    deepStrictEqual(
      fn.logs().map((line) => [line.kind, line.status, line.outcome, line.error?.name, line.error?.message]),
      Array.from({ length: 2 }, () => [
        [
          'direct',
          500,
          'ConfigInvalid',
          'ConfigError',
          "CAMS_TIMEOUT_MS must be a positive integer (milliseconds), got 'abc'",
        ],
        [
          'http',
          500,
          'ConfigInvalid',
          'ConfigError',
          "CAMS_TIMEOUT_MS must be a positive integer (milliseconds), got 'abc'",
        ],
      ]).flat(),
    );
  });

  it('answers a JWT_* error as 500 ConfigInvalid on both event forms, without the value', async () => {
    const env: Env = {
      JWT_JWKS_URL: 'https://idp.example.com/jwks',
      JWT_ISSUER: 'https://idp.example.com/',
      JWT_SPACE_CLAIM: 'spaces',
    };
    const fn = buildFunction(env);
    const body = error('JWT_AUDIENCE is required when a JWKS is configured');
    deepStrictEqual(await fn.invoke(directEvent({ flowId: 'welcome-flow' })), body);
    deepStrictEqual((await fn.http()).json, body);
    for (const line of fn.logs())
      strictEqual(line.error?.message, 'JWT_AUDIENCE is required when a JWKS is configured');
  });
});
