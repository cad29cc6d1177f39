import { deepStrictEqual, throws } from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_CAMS_TIMEOUT_MS, loadConfig } from '../shared/config.js';
import { ConfigError } from '../shared/errors.js';

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
        (error: unknown) => {
          return (
            error instanceof ConfigError && error.variable === 'CAMS_ENDPOINT' && message.test(error.detail)
          );
        },
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
        (error: unknown) => {
          return (
            error instanceof ConfigError &&
            error.variable === 'CORS_ALLOWED_ORIGINS' &&
            error.detail.endsWith(`got '${value}'`) &&
            !error.message.includes(`'${value}'`)
          );
        },
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
