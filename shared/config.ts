/**
 * Every setting of the function, read and validated in one place, once per instance: FC never changes an
 * instance's environment while it lives, so the entry point reads it at module load (`readConfig(process.env)`) and
 * builds the handler from the result. Nothing else reads `process.env`.
 */
import { ConfigError } from './config-error.js';
import { isRecord } from './is-record.js';

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
  /** Caller identity for HTTP requests (`JWT_*`); absent when no JWKS is configured. */
  readonly jwt?: JwtConfig;
  /** The fleet's shared state and CAMS budget (see `loadFleetConfig`). */
  readonly fleet: FleetConfig;
}

export const DEFAULT_CAMS_HOST = 'cams.ap-southeast-1.aliyuncs.com';
/** Below the function's own timeout (s.yaml sets 10 s), so a slow CAMS yields a 504, not a killed instance. */
export const DEFAULT_CAMS_TIMEOUT_MS = 5000;
const MAX_TIMER_MS = 2_147_483_647;

export type Env = Readonly<Record<string, string | undefined>>;

/** Reads and validates the configuration; throws `ConfigError` naming the variable on a bad value. */
export function loadConfig(env: Env): Config {
  return {
    camsEndpoint: parseEndpoint('CAMS_ENDPOINT', env['CAMS_ENDPOINT'], DEFAULT_CAMS_HOST),
    camsTimeoutMs: parseTimeout(env['CAMS_TIMEOUT_MS']),
    corsAllowedOrigins: parseOrigins(env['CORS_ALLOWED_ORIGINS']),
    envCredentials: readEnvCredentials(env),
    ...readJwtConfig(env),
    fleet: readFleetConfig(env),
  };
}

/**
 * What an instance starts from: the configuration, or the reason it cannot run (answered to every invocation as a
 * 500 `ConfigInvalid`); and either way the secrets the environment holds, so the log can redact them.
 */
export type ConfigResult =
  | { readonly ok: true; readonly config: Config; readonly secrets: readonly string[] }
  | { readonly ok: false; readonly error: ConfigError; readonly secrets: readonly string[] };

/** `loadConfig` that never throws: a bad setting becomes the instance's `ConfigError`. */
export function readConfig(env: Env): ConfigResult {
  const secrets = processSecrets(env);
  try {
    const config = loadConfig(env);
    return { ok: true, config, secrets: [...secrets, ...credentialValues(config.envCredentials)] };
  } catch (error) {
    if (error instanceof ConfigError) return { ok: false, error, secrets };
    throw error;
  }
}

function credentialValues(credentials: Credentials | undefined): string[] {
  if (credentials === undefined) return [];
  const { accessKeyId, accessKeySecret, securityToken } = credentials;
  return securityToken === undefined
    ? [accessKeyId, accessKeySecret]
    : [accessKeyId, accessKeySecret, securityToken];
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

// ---- Caller identity (JWT_*) -------------------------------------------------------------------------------

/** Where the verification keys come from: the JWKS itself (as the trigger config holds it), or a URL. */
export type JwksSource =
  | { readonly kind: 'inline'; readonly json: string }
  | { readonly kind: 'url'; readonly url: string };

export interface JwtConfig {
  readonly jwks: JwksSource;
  readonly issuer: string;
  readonly audience: string;
  /**
   * The top-level claim holding the caller's space(s), used verbatim; undefined only when the operator chose
   * authentication alone (`JWT_AUTHENTICATION_ONLY=true`): callers are verified, but no tenant is bound.
   */
  readonly spaceClaim: string | undefined;
  /** Whether a token naming no space may reach account-level flows (no custSpaceId). */
  readonly allowNoSpace: boolean;
  /** Clock tolerance for `exp` / `nbf`, seconds (0–60). */
  readonly clockLeewayS: number;
}

export const DEFAULT_JWT_CLOCK_LEEWAY_S = 30;
const MAX_JWT_CLOCK_LEEWAY_S = 60;
const JWT_SETTINGS = [
  'JWT_JWKS',
  'JWT_JWKS_URL',
  'JWT_ISSUER',
  'JWT_AUDIENCE',
  'JWT_SPACE_CLAIM',
  'JWT_ALLOW_NO_SPACE',
  'JWT_CLOCK_LEEWAY_S',
  'JWT_AUTHENTICATION_ONLY',
] as const;

/**
 * The JWT block: all or nothing. With neither JWKS setting, any other JWT_* setting is an error rather than
 * silently ignored (an operator who set JWT_SPACE_CLAIM believes tenants are bound).
 */
function readJwtConfig(env: Env): { jwt?: JwtConfig } {
  const value = (name: (typeof JWT_SETTINGS)[number]): string => env[name]?.trim() ?? '';
  const inline = value('JWT_JWKS');
  const url = value('JWT_JWKS_URL');
  if (inline === '' && url === '') {
    const stray = JWT_SETTINGS.find((name) => value(name) !== '');
    if (stray !== undefined) {
      throw new ConfigError(stray, 'is set, but neither JWT_JWKS nor JWT_JWKS_URL is');
    }
    return {};
  }
  if (inline !== '' && url !== '') {
    throw new ConfigError('JWT_JWKS_URL', 'cannot be set together with JWT_JWKS; choose one');
  }
  if (url !== '') refuseKeyShaped('JWT_JWKS_URL', url);
  const jwks: JwksSource = inline !== '' ? { kind: 'inline', json: checkJwks(inline) } : parseJwksUrl(url);
  const required = (name: 'JWT_ISSUER' | 'JWT_AUDIENCE'): string => {
    const setting = value(name);
    if (setting === '') throw new ConfigError(name, 'is required when a JWKS is configured');
    refuseKeyShaped(name, setting);
    return setting;
  };
  const allowNoSpace = value('JWT_ALLOW_NO_SPACE');
  if (allowNoSpace !== '' && allowNoSpace !== 'true' && allowNoSpace !== 'false') {
    throw new ConfigError('JWT_ALLOW_NO_SPACE', "must be 'true' or 'false'");
  }
  const leeway = value('JWT_CLOCK_LEEWAY_S');
  if (leeway !== '' && !(/^\d{1,2}$/.test(leeway) && Number(leeway) <= MAX_JWT_CLOCK_LEEWAY_S)) {
    throw new ConfigError('JWT_CLOCK_LEEWAY_S', 'must be a whole number of seconds from 0 to 60');
  }
  // The claim name is used verbatim (it may be a URL-like name), so only surrounding spaces are refused.
  const spaceClaim = env['JWT_SPACE_CLAIM'] ?? '';
  if (spaceClaim !== spaceClaim.trim()) {
    throw new ConfigError('JWT_SPACE_CLAIM', 'must not start or end with spaces');
  }
  refuseKeyShaped('JWT_SPACE_CLAIM', spaceClaim);
  const authenticationOnly = value('JWT_AUTHENTICATION_ONLY');
  if (authenticationOnly !== '' && authenticationOnly !== 'true' && authenticationOnly !== 'false') {
    throw new ConfigError('JWT_AUTHENTICATION_ONLY', "must be 'true' or 'false'");
  }
  // Verified callers with no tenant bound must be a choice, never the silent result of a forgotten claim name.
  if (spaceClaim === '' && authenticationOnly !== 'true') {
    throw new ConfigError(
      'JWT_SPACE_CLAIM',
      "is required when a JWKS is configured (the claim naming the caller's space); set JWT_AUTHENTICATION_ONLY=true to verify callers without binding tenants",
    );
  }
  if (spaceClaim !== '' && authenticationOnly === 'true') {
    throw new ConfigError(
      'JWT_AUTHENTICATION_ONLY',
      'cannot be true while JWT_SPACE_CLAIM binds tenants; choose one',
    );
  }
  return {
    jwt: {
      jwks,
      issuer: required('JWT_ISSUER'),
      audience: required('JWT_AUDIENCE'),
      spaceClaim: spaceClaim === '' ? undefined : spaceClaim,
      allowNoSpace: allowNoSpace === 'true',
      clockLeewayS: leeway === '' ? DEFAULT_JWT_CLOCK_LEEWAY_S : Number(leeway),
    },
  };
}

/** A PEM block, or a JSON document (a JWK or JWKS): key material, pasted where a name or URL belongs. */
const KEY_SHAPED = /-----BEGIN|^\s*[[{]/;

/** A key pasted into the wrong JWT_* setting is refused for its shape, and never quoted (a private key would be). */
function refuseKeyShaped(variable: string, value: string): void {
  if (KEY_SHAPED.test(value)) {
    throw new ConfigError(
      variable,
      'holds what looks like key material (a PEM block or JSON); it is not shown',
    );
  }
}

const PUBLIC_KEY_TYPES = new Set(['RSA', 'EC', 'OKP']);

/** JWT_JWKS must be a JWKS of public keys: a pasted private or shared key is refused, and never quoted. */
function checkJwks(json: string): string {
  const fail = (why: string): never => {
    throw new ConfigError('JWT_JWKS', why);
  };
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    return fail(
      'is not JSON; it must be a JWKS like {"keys": [{"kty": "RSA", "kid": "…", "n": "…", "e": "AQAB"}]}',
    );
  }
  const keys = isRecord(parsed) ? parsed['keys'] : undefined;
  if (!Array.isArray(keys) || keys.length === 0) fail('must be a JWKS object with a non-empty "keys" array');
  for (const key of keys as unknown[]) {
    if (typeof key !== 'object' || key === null) return fail('has a key that is not an object');
    const record = key as Record<string, unknown>;
    if (typeof record['kty'] !== 'string' || !PUBLIC_KEY_TYPES.has(record['kty'])) {
      fail('keys must be public RSA, EC or OKP keys (shared "oct" keys are not accepted)');
    }
    if ('d' in record || 'p' in record || 'k' in record)
      fail('holds private key material; publish only public keys');
  }
  return json;
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

function parseJwksUrl(value: string): JwksSource {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError('JWT_JWKS_URL', 'is not a valid URL');
  }
  // Keys fetched over plain HTTP could be swapped in transit; only a loopback server (development) may use it.
  const secure = url.protocol === 'https:' || (url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname));
  if (!secure) throw new ConfigError('JWT_JWKS_URL', 'must be an https:// URL');
  if (url.username !== '' || url.password !== '') {
    throw new ConfigError('JWT_JWKS_URL', 'must not carry credentials');
  }
  return { kind: 'url', url: url.href };
}

// --- Secrets the process knows (issue 10): read raw, so the log can redact them even when the config is invalid.

/** Environment variables whose whole value is a secret. */
const SECRET_VARIABLES = [
  'ALIBABA_CLOUD_ACCESS_KEY_ID',
  'ALIBABA_CLOUD_ACCESS_KEY_SECRET',
  'ALIBABA_CLOUD_SECURITY_TOKEN',
] as const;

/** Environment variables that are URLs whose userinfo may carry a password. */
const URL_VARIABLES_WITH_PASSWORD = ['REDIS_URL'] as const;

/**
 * Every secret value the environment holds, as it is there (untrimmed, unvalidated), plus the password inside
 * `REDIS_URL`'s userinfo (raw and percent-decoded). Never throws: the log calls it on every path, `ConfigInvalid`
 * included.
 */
export function processSecrets(env: Env): string[] {
  const secrets: string[] = [];
  for (const name of SECRET_VARIABLES) {
    const value = env[name];
    if (typeof value === 'string' && value !== '') secrets.push(value);
  }
  for (const name of URL_VARIABLES_WITH_PASSWORD) {
    const value = env[name];
    if (typeof value === 'string') secrets.push(...userinfoPasswords(value));
  }
  return secrets;
}

function userinfoPasswords(raw: string): string[] {
  // Read by hand as well as by URL: a value the URL parser refuses must not escape redaction.
  const found = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#@:]*:([^/?#]*)@/.exec(raw.trim())?.[1];
  if (found === undefined || found === '') return [];
  try {
    const decoded = decodeURIComponent(found);
    return decoded === found ? [found] : [found, decoded];
  } catch {
    return [found];
  }
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
  /** A lasting CAMS failure (not found, not allowed) is given to the key's other callers for this long, ms; 0: never. */
  readonly failureTtlMs: number;
  /** The budget is shared fairly between spaces (`CAMS_FAIR_SHARE=space`), or first come, first served (`off`). */
  readonly fairShare: boolean;
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
/**
 * 10 seconds: N instances asking for one flow CAMS does not know cost one CAMS call, and a role whose permission was
 * just granted is served within 10 s.
 */
export const DEFAULT_FAILURE_CACHE_S = 10;

/** Reads the fleet settings; throws `ConfigError` naming the variable on a bad value. */
function readFleetConfig(env: Env): FleetConfig {
  return {
    redis: readRedis(env),
    camsRateLimitPerSecond: parseNumber(
      env,
      'CAMS_RATE_LIMIT_PER_SECOND',
      DEFAULT_CAMS_RATE_LIMIT_PER_SECOND,
      {
        // The top is no quota anyone has: it lets load tests and benchmarks measure the path without its waits.
        min: 0.1,
        max: 100_000,
        integer: false,
        what: 'a number of calls per second between 0.1 and 100000',
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
    failureTtlMs:
      1000 *
      parseNumber(env, 'PREVIEW_FAILURE_CACHE_S', DEFAULT_FAILURE_CACHE_S, {
        min: 0,
        max: 300,
        integer: true,
        what: 'a whole number of seconds between 0 and 300',
      }),
    fairShare: readFairShare(env['CAMS_FAIR_SHARE']),
  };
}

function readRedis(env: Env): RedisConfig | undefined {
  const url = env['REDIS_URL']?.trim() ?? '';
  if (url === '') return undefined;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ConfigError('REDIS_URL', 'is not a valid URL (redis://[user:password@]host:port[/db])');
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    throw new ConfigError('REDIS_URL', 'must start with redis:// or rediss:// (TLS)');
  }
  if (parsed.hostname === '') throw new ConfigError('REDIS_URL', 'must name a host');
  if (!/^\/?(\d{1,2})?$/.test(parsed.pathname) || parsed.search !== '' || parsed.hash !== '') {
    throw new ConfigError('REDIS_URL', 'may only end with a database number (/0 … /99)');
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

function readFairShare(raw: string | undefined): boolean {
  const value = raw?.trim() ?? '';
  if (value === '' || value === 'space') return true;
  if (value === 'off') return false;
  throw new ConfigError(
    'CAMS_FAIR_SHARE',
    "must be 'space' (the default: each space gets a fair share) or 'off'",
    value,
  );
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
