/**
 * The fleet's shared state on Redis / Tair: the preview cache, the account-wide CAMS rate limiter (one Lua script,
 * GCRA on Redis's clock) and leases (`SET NX PX`, released by a compare-and-delete script).
 *
 * Built as its own file (dist/redis.js, with ioredis inside) and required only when `REDIS_URL` is set, so the main
 * bundle and its cold start do not carry the client. Every key one script touches shares one `{hash tag}`, so Tair
 * cluster mode keeps each script on one slot. Every call is bounded by the command timeout; a failing call throws,
 * and the caller (shared/store/select.ts) falls back to memory.
 */
import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';
import type { RedisConfig } from '../config.js';
import { isRecord } from '../is-record.js';
import type { CachedPreview, Lease, PreviewCache, RateLimiter, SlotGrant } from '../preview/ports.js';
import { retryAfterMs, slotSpacingMs } from './gcra.js';

/** The shared cache: `get` also says until when the entry is valid, so the instance can keep a copy. */
export interface RedisPreviewCache {
  get(key: string): Promise<{ preview: CachedPreview; validUntil: number } | undefined>;
  set: PreviewCache['set'];
}

/** The Redis side of the stores, for one `REDIS_URL`. One connection, reused by every warm invocation. */
export interface RedisStores {
  readonly cache: RedisPreviewCache;
  readonly lease: Lease;
  limiter(ratePerSecond: number): RateLimiter;
  /** True while the connection is up and authenticated. */
  readonly ready: boolean;
  close(): Promise<void>;
}

/** The same rule as gcra.ts, atomically, on the server's clock (instances' clocks may differ). */
const RESERVE_SLOT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
local spacing = tonumber(ARGV[1])
local slot = math.max(now, tat)
local wait = slot - now
if wait > tonumber(ARGV[2]) then return {0, wait} end
redis.call('SET', KEYS[1], slot + spacing, 'PX', wait + spacing + 1000)
return {1, wait}
`;

const RELEASE_LEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

export class RedisStoreError extends Error {
  override name = 'RedisStoreError';
  /** What went wrong, in words safe to log: never a URL or a password. */
  readonly reason: 'timeout' | 'unavailable' | 'auth' | 'full' | 'error';
  constructor(reason: RedisStoreError['reason']) {
    super(`Redis ${reason}`);
    this.reason = reason;
  }
}

/**
 * Opens one connection to `config.url` (it connects at once and reconnects by itself) and returns the stores over
 * it. Every call is bounded by `config.commandTimeoutMs` and throws a `RedisStoreError` when it fails.
 */
export function createRedisStores(config: RedisConfig): RedisStores {
  const client = new Redis(config.url, {
    connectTimeout: Math.max(500, config.commandTimeoutMs * 2),
    commandTimeout: config.commandTimeoutMs,
    // One resend after a reconnect: a socket that went stale while FC froze the instance fails once, then works.
    maxRetriesPerRequest: 1,
    // The first reconnect is quick: after a thaw the server is usually there and only the socket was stale.
    retryStrategy: (times) => Math.min(25 * 2 ** (times - 1), 1000),
    connectionName: 'flow-preview',
    // Only tests and benchmarks close a client (FC freezes the instance): closed while reconnecting, ioredis would
    // keep a 2 s timer for the old socket, and the process alive with it.
    disconnectTimeout: 100,
    // A Tair failover turns the old primary read-only: reconnect to reach the new one.
    reconnectOnError: (error) => error.message.startsWith('READONLY'),
  });
  // ioredis prints unhandled 'error' events; keep only what kind of error it was, never its text (or the URL).
  let lastError: RedisStoreError | undefined;
  client.on('error', (error: unknown) => {
    lastError = classify(error);
  });
  client.on('ready', () => {
    lastError = undefined;
  });
  const run = <T>(command: () => Promise<T>): Promise<T> =>
    bounded(client, config.commandTimeoutMs, command, () => lastError);
  const key = (kind: string, id: string): string => `${config.keyPrefix}${kind}:{${hashTag(id)}}`;
  const shas = new Map<string, string>();
  const script = async (source: string, keyName: string, args: Array<string | number>): Promise<unknown> => {
    let sha = shas.get(source);
    if (sha === undefined) {
      sha = createHash('sha1').update(source).digest('hex');
      shas.set(source, sha);
    }
    try {
      return await client.evalsha(sha, 1, keyName, ...args);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      return client.eval(source, 1, keyName, ...args);
    }
  };

  const cache: RedisPreviewCache = {
    get: async (id) => readEntry(await run(() => client.get(key('preview', id)))),
    set: async (id, preview, validUntil) => {
      const ttlMs = Math.floor(validUntil - Date.now());
      if (ttlMs <= 0) return;
      await run(() =>
        client.set(key('preview', id), JSON.stringify({ ...preview, validUntil }), 'PX', ttlMs),
      );
    },
  };
  const lease: Lease = {
    acquire: async (id, holder, ttlMs) =>
      (await run(() => client.set(key('lease', id), holder, 'PX', Math.max(1, Math.ceil(ttlMs)), 'NX'))) ===
      'OK',
    release: async (id, holder) => {
      await run(() => script(RELEASE_LEASE, key('lease', id), [holder]));
    },
  };
  const limiters = new Map<number, RateLimiter>();
  return {
    cache,
    lease,
    limiter: (ratePerSecond) => {
      let limiter = limiters.get(ratePerSecond);
      if (limiter === undefined) {
        const spacingMs = slotSpacingMs(ratePerSecond);
        limiter = {
          reserve: async (scope, maxWaitMs): Promise<SlotGrant> => {
            const budget = Math.max(0, Math.floor(maxWaitMs));
            const reply = await run(() => script(RESERVE_SLOT, key('limit', scope), [spacingMs, budget]));
            if (!Array.isArray(reply) || typeof reply[0] !== 'number' || typeof reply[1] !== 'number') {
              throw new RedisStoreError('error');
            }
            return reply[0] === 1
              ? { granted: true, waitMs: reply[1] }
              : { granted: false, retryAfterMs: retryAfterMs(reply[1], budget) };
          },
        };
        limiters.set(ratePerSecond, limiter);
      }
      return limiter;
    },
    get ready() {
      return client.status === 'ready';
    },
    close: async () => {
      client.disconnect();
    },
  };
}

/**
 * Runs one command under a hard bound. While ioredis reconnects, the command waits in its queue, so a socket that
 * went stale during a freeze costs one quick reconnect, not a fallback; a Redis that stays away costs the bound.
 * A timeout while disconnected reports the connection's own error when there was one (`auth`, `unavailable`).
 */
async function bounded<T>(
  client: Redis,
  timeoutMs: number,
  command: () => Promise<T>,
  lastError: () => RedisStoreError | undefined,
): Promise<T> {
  if (client.status === 'end') throw new RedisStoreError('unavailable');
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      command(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          reject(
            client.status === 'ready'
              ? new RedisStoreError('timeout')
              : (lastError() ?? new RedisStoreError('timeout')),
          );
        }, timeoutMs);
      }),
    ]);
  } catch (error) {
    const failure = classify(error);
    if (failure.reason !== 'unavailable') throw failure;
    // A command dropped with its connection says only "closed"; the connection's own error, emitted in the same
    // turn, says why (`auth`).
    await new Promise((resolve) => setImmediate(resolve));
    throw lastError() ?? failure;
  } finally {
    clearTimeout(timer);
  }
}

function classify(error: unknown): RedisStoreError {
  if (error instanceof RedisStoreError) return error;
  const message = error instanceof Error ? error.message : '';
  if (/timed? ?out/i.test(message)) return new RedisStoreError('timeout');
  if (/^(WRONGPASS|NOAUTH|NOPERM)/.test(message)) return new RedisStoreError('auth');
  if (/^OOM/.test(message)) return new RedisStoreError('full');
  if (/ECONN|EPIPE|Connection is closed|Stream isn't writeable|max retries/i.test(message)) {
    return new RedisStoreError('unavailable');
  }
  return new RedisStoreError('error');
}

/** A hash tag must not contain braces; long or odd ids become their digest. */
function hashTag(id: string): string {
  return id.length <= 200 && !/[{}]/.test(id) ? id : createHash('sha256').update(id).digest('base64url');
}

/** A stored entry is trusted only in the shape this function writes; anything else is a miss. */
function readEntry(raw: string | null): { preview: CachedPreview; validUntil: number } | undefined {
  if (raw === null) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return undefined;
  }
  if (!isRecord(value)) return undefined;
  const { flowId, previewUrl, previewUrlExpires, requestId, fetchedAt, validUntil } = value;
  if (
    typeof validUntil !== 'number' ||
    typeof flowId !== 'string' ||
    typeof previewUrl !== 'string' ||
    typeof previewUrlExpires !== 'number' ||
    typeof requestId !== 'string' ||
    typeof fetchedAt !== 'number'
  ) {
    return undefined;
  }
  return { preview: { flowId, previewUrl, previewUrlExpires, requestId, fetchedAt }, validUntil };
}
