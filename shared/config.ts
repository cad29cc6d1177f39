/**
 * Every setting of the function, read and validated in one place. Nothing else reads `process.env`.
 */
import { ConfigError } from './errors.js';

export interface Endpoint {
  /** `host` or `host:port`, as openapi-client's `endpoint` takes it. */
  readonly host: string;
  readonly protocol: 'HTTP' | 'HTTPS';
}

export interface Credentials {
  readonly accessKeyId: string;
  readonly accessKeySecret: string;
  readonly securityToken?: string | undefined;
}

export interface Config {
  readonly camsEndpoint: Endpoint;
  /** Upper bound for one CAMS attempt, in ms. */
  readonly camsTimeoutMs: number;
  /** Origins allowed to call over CORS; `'*'` allows any. Empty: no cross-origin access. */
  readonly corsAllowedOrigins: ReadonlySet<string>;
  /** Credentials from `ALIBABA_CLOUD_*`, the fallback when the invocation context has none. */
  readonly envCredentials: Credentials | undefined;
  /** The fleet's shared state and CAMS budget (see `loadFleetConfig`). */
  readonly fleet: FleetConfig;
}

export const DEFAULT_CAMS_HOST = 'cams.ap-southeast-1.aliyuncs.com';
/** Below the function's own timeout (s.yaml sets 10 s), so a slow CAMS yields a 504, not a killed instance. */
export const DEFAULT_CAMS_TIMEOUT_MS = 5000;
const MAX_TIMER_MS = 2_147_483_647;

type Env = Readonly<Record<string, string | undefined>>;

/** Reads and validates the configuration; throws `ConfigError` naming the variable on a bad value. */
export function loadConfig(env: Env = process.env): Config {
  return {
    camsEndpoint: parseEndpoint('CAMS_ENDPOINT', env['CAMS_ENDPOINT'], DEFAULT_CAMS_HOST),
    camsTimeoutMs: parseTimeout(env['CAMS_TIMEOUT_MS']),
    corsAllowedOrigins: parseOrigins(env['CORS_ALLOWED_ORIGINS']),
    envCredentials: readEnvCredentials(env),
    fleet: loadFleetConfig(env),
  };
}

const HOST_PORT =
  /^(?<host>[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])(?::(?<port>\d{1,5}))?$/;

/**
 * Reads an OpenAPI endpoint setting: a host, `host:port`, or an `http(s)://` URL whose scheme picks the protocol
 * (a bare host means HTTPS). Empty means `defaultHost`. Throws `ConfigError` naming `variable`.
 */
export function parseEndpoint(variable: string, raw: string | undefined, defaultHost: string): Endpoint {
  const value = raw?.trim() ?? '';
  if (value === '') return { host: defaultHost, protocol: 'HTTPS' };
  const fail = (why: string): never => {
    throw new ConfigError(variable, why, value);
  };
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(value)?.[1]?.toLowerCase();
  if (scheme === undefined) {
    if (!HOST_PORT.test(value)) fail('must be a host, host:port or an http(s):// URL');
    checkPort(/:(\d+)$/.exec(value)?.[1], fail);
    return { host: value, protocol: 'HTTPS' };
  }
  if (scheme !== 'http' && scheme !== 'https') fail('must use http:// or https://');
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return fail('is not a valid URL');
  }
  if (url.username !== '' || url.password !== '') fail('must not carry credentials');
  if ((url.pathname !== '/' && url.pathname !== '') || url.search !== '' || url.hash !== '') {
    fail('must not have a path, query or fragment');
  }
  checkPort(url.port === '' ? undefined : url.port, fail);
  return { host: url.host, protocol: scheme === 'http' ? 'HTTP' : 'HTTPS' };
}

function checkPort(port: string | undefined, fail: (why: string) => never): void {
  if (port === undefined) return;
  const n = Number(port);
  if (!Number.isInteger(n) || n < 1 || n > 65535) fail('has a port outside 1–65535');
}

function parseTimeout(raw: string | undefined): number {
  const value = raw?.trim() ?? '';
  if (value === '') return DEFAULT_CAMS_TIMEOUT_MS;
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < 1 || n > MAX_TIMER_MS) {
    throw new ConfigError('CAMS_TIMEOUT_MS', 'must be a positive integer (milliseconds)', value);
  }
  return n;
}

function parseOrigins(raw: string | undefined): ReadonlySet<string> {
  const origins = new Set<string>();
  for (const part of (raw ?? '').split(',')) {
    const entry = part.trim();
    if (entry === '') continue;
    if (entry !== '*' && normalizedOrigin(entry) !== entry) {
      throw new ConfigError(
        'CORS_ALLOWED_ORIGINS',
        "entries must be '*' or origins like https://app.example.com (scheme://host[:port], lower case, no path)",
        entry,
      );
    }
    origins.add(entry);
  }
  return origins;
}

function normalizedOrigin(entry: string): string | undefined {
  try {
    const url = new URL(entry);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.origin : undefined;
  } catch {
    return undefined;
  }
}

function readEnvCredentials(env: Env): Credentials | undefined {
  const accessKeyId = env['ALIBABA_CLOUD_ACCESS_KEY_ID'];
  const accessKeySecret = env['ALIBABA_CLOUD_ACCESS_KEY_SECRET'];
  if (!accessKeyId || !accessKeySecret) return undefined;
  const securityToken = env['ALIBABA_CLOUD_SECURITY_TOKEN'];
  return securityToken ? { accessKeyId, accessKeySecret, securityToken } : { accessKeyId, accessKeySecret };
}

// ---- Fleet: shared store (Redis/Tair), CAMS rate limit, cache ages (issue 9) ----

export interface RedisConfig {
  /** `redis://[user:password@]host:port[/db]` or `rediss://` (TLS). Holds the password: never log it. */
  readonly url: string;
  /** Prepended to every key this function writes. */
  readonly keyPrefix: string;
  /** Upper bound of one Redis command, ms; past it the instance serves from memory. */
  readonly commandTimeoutMs: number;
}

export interface FleetConfig {
  /** Unset: every instance keeps its own cache and limiter in memory. */
  readonly redis: RedisConfig | undefined;
  /** The account's CAMS budget this function may use, calls per second (a headroom is kept below it). */
  readonly camsRateLimitPerSecond: number;
  /** A cached link is served at most this long after CAMS gave it, ms. */
  readonly previewMaxAgeMs: number;
  /** A refresh (`Cache-Control: no-cache`) fetches a new link at most once per key per this interval, ms. */
  readonly refreshIntervalMs: number;
}

export const DEFAULT_REDIS_KEY_PREFIX = 'flow-preview:';
export const DEFAULT_REDIS_COMMAND_TIMEOUT_MS = 250;
/** CAMS documents 5 GetFlowPreviewUrl calls per second per account. */
export const DEFAULT_CAMS_RATE_LIMIT_PER_SECOND = 5;
/**
 * 15 minutes: a role whose CAMS permission is revoked stops getting links within that time, and a flow costs at
 * most 96 CAMS calls a day, far below the quota (5/s is 432,000 a day).
 */
export const DEFAULT_PREVIEW_MAX_AGE_S = 900;
export const DEFAULT_REFRESH_INTERVAL_S = 60;

/** Reads the fleet settings; throws `ConfigError` naming the variable on a bad value. */
export function loadFleetConfig(env: Env = process.env): FleetConfig {
  return {
    redis: readRedis(env),
    camsRateLimitPerSecond: parseNumber(
      env,
      'CAMS_RATE_LIMIT_PER_SECOND',
      DEFAULT_CAMS_RATE_LIMIT_PER_SECOND,
      {
        min: 0.1,
        max: 1000,
        integer: false,
        what: 'a number of calls per second between 0.1 and 1000',
      },
    ),
    previewMaxAgeMs:
      1000 *
      parseNumber(env, 'PREVIEW_CACHE_MAX_AGE_S', DEFAULT_PREVIEW_MAX_AGE_S, {
        min: 1,
        max: 31 * 24 * 3600,
        integer: true,
        what: 'a whole number of seconds between 1 and 2678400',
      }),
    refreshIntervalMs:
      1000 *
      parseNumber(env, 'PREVIEW_REFRESH_INTERVAL_S', DEFAULT_REFRESH_INTERVAL_S, {
        min: 0,
        max: 24 * 3600,
        integer: true,
        what: 'a whole number of seconds between 0 and 86400',
      }),
  };
}

function readRedis(env: Env): RedisConfig | undefined {
  const url = env['REDIS_URL']?.trim() ?? '';
  if (url === '') return undefined;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ConfigError('REDIS_URL', 'is not a valid URL (redis://[user:password@]host:port[/db])', url);
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    throw new ConfigError('REDIS_URL', 'must start with redis:// or rediss:// (TLS)', url);
  }
  if (parsed.hostname === '') throw new ConfigError('REDIS_URL', 'must name a host', url);
  if (!/^\/?(\d{1,2})?$/.test(parsed.pathname) || parsed.search !== '' || parsed.hash !== '') {
    throw new ConfigError('REDIS_URL', 'may only end with a database number (/0 … /99)', url);
  }
  const keyPrefix = env['REDIS_KEY_PREFIX'] ?? DEFAULT_REDIS_KEY_PREFIX;
  // Braces would change the hash slot of every key (Tair cluster mode) and break the scripts' one-slot rule.
  if (!/^[A-Za-z0-9:_.\-/]{0,64}$/.test(keyPrefix)) {
    throw new ConfigError(
      'REDIS_KEY_PREFIX',
      'must be at most 64 characters of letters, digits and : _ . - /',
      keyPrefix,
    );
  }
  const commandTimeoutMs = parseNumber(env, 'REDIS_COMMAND_TIMEOUT_MS', DEFAULT_REDIS_COMMAND_TIMEOUT_MS, {
    min: 10,
    max: 5000,
    integer: true,
    what: 'a whole number of milliseconds between 10 and 5000',
  });
  return { url, keyPrefix, commandTimeoutMs };
}

function parseNumber(
  env: Env,
  variable: string,
  fallback: number,
  rule: { min: number; max: number; integer: boolean; what: string },
): number {
  const value = env[variable]?.trim() ?? '';
  if (value === '') return fallback;
  const n = Number(value);
  const shaped = rule.integer ? /^\d+$/.test(value) : /^\d+(\.\d+)?$/.test(value);
  if (!shaped || !Number.isFinite(n) || n < rule.min || n > rule.max) {
    throw new ConfigError(variable, `must be ${rule.what}`, value);
  }
  return n;
}
