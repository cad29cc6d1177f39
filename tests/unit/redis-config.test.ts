/** The fleet settings: REDIS_URL and friends, validated once, with named failures that never quote a password. */
import { deepStrictEqual, ok, strictEqual, throws } from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Env, type FleetConfig, loadConfig } from '../../shared/config.js';
import { ConfigError } from '../../shared/config-error.js';

const loadFleetConfig = (env: Env): FleetConfig => loadConfig(env).fleet;

describe('loadConfig(env).fleet', () => {
  it('defaults to memory, 5 calls/s, a 15-minute max age and a 60 s refresh interval', () => {
    deepStrictEqual(loadFleetConfig({}), {
      redis: undefined,
      camsRateLimitPerSecond: 5,
      previewMaxAgeMs: 900_000,
      refreshIntervalMs: 60_000,
      failureTtlMs: 10_000,
      fairShare: true,
    });
  });

  it('reads a Redis URL with a password, a prefix and a command timeout', () => {
    deepStrictEqual(
      loadFleetConfig({
        REDIS_URL: ' rediss://flow:s3cret@r-abc.redis.rds.aliyuncs.com:6380/2 ',
        REDIS_KEY_PREFIX: 'prod/flow-preview:',
        REDIS_COMMAND_TIMEOUT_MS: '300',
        CAMS_RATE_LIMIT_PER_SECOND: '2.5',
      }),
      {
        redis: {
          url: 'rediss://flow:s3cret@r-abc.redis.rds.aliyuncs.com:6380/2',
          keyPrefix: 'prod/flow-preview:',
          commandTimeoutMs: 300,
        },
        camsRateLimitPerSecond: 2.5,
        previewMaxAgeMs: 900_000,
        refreshIntervalMs: 60_000,
        failureTtlMs: 10_000,
        fairShare: true,
      },
    );
  });

  const bad: Array<[Record<string, string>, RegExp]> = [
    [{ REDIS_URL: 'http://cache:6379' }, /^REDIS_URL must start with redis:\/\/ or rediss:\/\/ \(TLS\)$/],
    [{ REDIS_URL: 'redis://cache:6379/db?x=1' }, /^REDIS_URL may only end with a database number/],
    [{ REDIS_URL: 'cache:6379' }, /^REDIS_URL must start with redis:\/\//],
    [{ REDIS_URL: 'redis://c', REDIS_KEY_PREFIX: 'a{b}' }, /^REDIS_KEY_PREFIX must be at most 64 characters/],
    [
      { REDIS_URL: 'redis://c', REDIS_COMMAND_TIMEOUT_MS: '5' },
      /^REDIS_COMMAND_TIMEOUT_MS must be a whole number/,
    ],
    [{ CAMS_RATE_LIMIT_PER_SECOND: '0' }, /^CAMS_RATE_LIMIT_PER_SECOND must be a number of calls per second/],
    [{ CAMS_RATE_LIMIT_PER_SECOND: 'five' }, /^CAMS_RATE_LIMIT_PER_SECOND must be/],
    [{ PREVIEW_CACHE_MAX_AGE_S: '0' }, /^PREVIEW_CACHE_MAX_AGE_S must be a whole number of seconds/],
    [{ PREVIEW_REFRESH_INTERVAL_S: '-1' }, /^PREVIEW_REFRESH_INTERVAL_S must be a whole number of seconds/],
  ];
  for (const [env, message] of bad) {
    it(`refuses ${JSON.stringify(env)} with a named error`, () => {
      throws(
        () => loadFleetConfig(env),
        (error: unknown) => error instanceof ConfigError && message.test(error.detail),
      );
    });
  }

  it('never quotes a REDIS_URL in the log detail, with or without a password', () => {
    for (const url of ['http://cache:6379', 'redis://cache:6379/db?x=1', 'redis://:pw@', 'not a url']) {
      throws(
        () => loadFleetConfig({ REDIS_URL: url }),
        (error: unknown) =>
          error instanceof ConfigError && error.detail === error.message && !error.detail.includes(url),
      );
    }
  });

  it('never quotes a URL that carries a password, not even in the log detail', () => {
    const error = (() => {
      try {
        loadFleetConfig({ REDIS_URL: 'http://user:hunter2-secret@cache:6379' });
      } catch (caught) {
        return caught;
      }
      return undefined;
    })();
    ok(error instanceof ConfigError);
    strictEqual(error.message, 'REDIS_URL must start with redis:// or rediss:// (TLS)');
    ok(!error.detail.includes('hunter2'));
    ok(!error.detail.includes('cache:6379'));
  });
});
