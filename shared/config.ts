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
export function processSecrets(env: Env = process.env): string[] {
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
