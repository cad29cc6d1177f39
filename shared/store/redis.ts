/**
 * The fleet's shared state on Redis / Tair: the preview cache, the account-wide CAMS rate limiter (one Lua script,
 * fair queueing between spaces over GCRA slots on Redis's clock: fair-queue.ts) and leases (`SET NX PX`, released by a compare-and-delete script).
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
import {
  type CacheEntry,
  type Lease,
  MAX_LOOK_AGAIN_MS,
  type PreviewCache,
  type RateLimiter,
  type Turn,
} from '../preview/ports.js';
import { STALE_MS, slotSpacingMs } from './fair-queue.js';

/** The shared cache: `get` also says until when the entry is valid, so the instance can keep a copy. */
export interface RedisPreviewCache {
  get(key: string): Promise<{ entry: CacheEntry; validUntil: number } | undefined>;
  set: PreviewCache['set'];
}

/** The Redis side of the stores, for one `REDIS_URL`. One connection, reused by every warm invocation. */
export interface RedisStores {
  readonly cache: RedisPreviewCache;
  readonly lease: Lease;
  /** The account's CAMS budget at the rate the stores were made for. */
  readonly limiter: RateLimiter;
  /** True while the connection is up and authenticated. */
  readonly ready: boolean;
  close(): Promise<void>;
}

/**
 * `takeTurn` of fair-queue.ts, step for step, atomically, on the server's clock (instances' clocks may differ). Every
 * step is a sorted-set or hash operation on the waiters it touches (no scan of the queue), so a look costs the same
 * with 5 waiters or 500. KEYS (one hash tag, so Tair cluster mode keeps them on one slot): the state hash (`tat`,
 * `vt`); the queue (ticket ids by finish tag: Redis orders equal scores by member, as `countAhead` does); the
 * waiters' deadlines and last looks (ticket ids by epoch ms); each waiter's space (id → space); the spaces with
 * waiters (`t:<space>` → last tag, `w:<space>` → how many wait). ARGV: id, space, maxWaitMs, spacingMs, staleMs,
 * ttlMs. Returns {1, 0} granted, {0, waitMs} queued, {-1, retryAfterMs} refused.
 */
const TAKE_TURN = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local id, space = ARGV[1], ARGV[2]
local maxWait, spacing, stale, ttl = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local state, queue, deadlines, seen, owners, spaces = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local function forget(wid)
  local s = redis.call('HGET', owners, wid)
  redis.call('ZREM', queue, wid)
  redis.call('ZREM', deadlines, wid)
  redis.call('ZREM', seen, wid)
  redis.call('HDEL', owners, wid)
  if s and redis.call('HINCRBY', spaces, 'w:' .. s, -1) <= 0 then
    redis.call('HDEL', spaces, 'w:' .. s, 't:' .. s)
  end
end
for _, wid in ipairs(redis.call('ZRANGEBYSCORE', deadlines, '-inf', '(' .. now)) do forget(wid) end
for _, wid in ipairs(redis.call('ZRANGEBYSCORE', seen, '-inf', '(' .. (now - stale))) do forget(wid) end
local st = redis.call('HMGET', state, 'tat', 'vt')
local tat = tonumber(st[1] or '0')
local vt = tonumber(st[2] or '0')
local tag = tonumber(redis.call('ZSCORE', queue, id))
local known = tag ~= nil
local last = tonumber(redis.call('HGET', spaces, 't:' .. space) or '0')
if not known then tag = math.max(vt, last) + 1 end
local ahead = redis.call('ZCOUNT', queue, '-inf', '(' .. tag)
local function waitingIn(s)
  return tonumber(redis.call('HGET', spaces, 'w:' .. s) or '0')
end
local mine = waitingIn(space) + (known and 0 or 1)
for _, m in ipairs(redis.call('ZRANGEBYSCORE', queue, tag, tag)) do
  if m ~= id then
    local theirs = waitingIn(redis.call('HGET', owners, m) or '')
    if theirs < mine or (theirs == mine and m < id) then ahead = ahead + 1 end
  end
end
local wait = math.max(now, tat) - now + ahead * spacing
local function keep()
  for i = 1, 6 do redis.call('PEXPIRE', KEYS[i], ttl) end
end
if wait > maxWait then
  if known then forget(id) end
  keep()
  return {-1, math.max(1, math.ceil(wait - math.max(0, maxWait)))}
end
if ahead == 0 and wait == 0 then
  if known then forget(id) end
  redis.call('HSET', state, 'tat', math.max(now, tat) + spacing, 'vt', tag)
  keep()
  return {1, 0}
end
if not known then
  redis.call('ZADD', queue, tag, id)
  redis.call('HSET', owners, id, space)
  redis.call('HSET', spaces, 't:' .. space, math.max(last, tag))
  redis.call('HINCRBY', spaces, 'w:' .. space, 1)
end
redis.call('ZADD', deadlines, now + maxWait, id)
redis.call('ZADD', seen, now, id)
keep()
return {0, wait}
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
 * it, the limiter at `ratePerSecond`. Every call is bounded by `config.commandTimeoutMs` and throws a
 * `RedisStoreError` when it fails.
 */
export function createRedisStores(config: RedisConfig, ratePerSecond: number): RedisStores {
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
  const script = async (source: string, keys: string[], args: Array<string | number>): Promise<unknown> => {
    let sha = shas.get(source);
    if (sha === undefined) {
      sha = createHash('sha1').update(source).digest('hex');
      shas.set(source, sha);
    }
    try {
      return await client.evalsha(sha, keys.length, ...keys, ...args);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      return client.eval(source, keys.length, ...keys, ...args);
    }
  };

  const cache: RedisPreviewCache = {
    get: async (id) => readEntry(await run(() => client.get(key('preview', id)))),
    set: async (id, entry, validUntil) => {
      const ttlMs = Math.floor(validUntil - Date.now());
      if (ttlMs <= 0) return;
      await run(() => client.set(key('preview', id), JSON.stringify({ ...entry, validUntil }), 'PX', ttlMs));
    },
  };
  const lease: Lease = {
    acquire: async (id, holder, ttlMs) =>
      (await run(() => client.set(key('lease', id), holder, 'PX', Math.max(1, Math.ceil(ttlMs)), 'NX'))) ===
      'OK',
    release: async (id, holder) => {
      await run(() => script(RELEASE_LEASE, [key('lease', id)], [holder]));
    },
  };
  const spacingMs = slotSpacingMs(ratePerSecond);
  const limiter: RateLimiter = {
    take: async (scope, ticket, maxWaitMs): Promise<Turn> => {
      const budget = Math.max(0, Math.floor(maxWaitMs));
      const keys = ['turn', 'queue', 'deadlines', 'seen', 'owners', 'spaces'].map((kind) =>
        key(`limit-${kind}`, scope),
      );
      // The state outlives the longest wait in it by a minute, then goes: an idle account holds nothing.
      const ttlMs = budget + MAX_LOOK_AGAIN_MS + 60_000;
      const reply = await run(() =>
        script(TAKE_TURN, keys, [ticket.id, ticket.space, budget, spacingMs, STALE_MS, ttlMs]),
      );
      if (!Array.isArray(reply) || typeof reply[0] !== 'number' || typeof reply[1] !== 'number') {
        throw new RedisStoreError('error');
      }
      if (reply[0] === 1) return { state: 'granted' };
      return reply[0] === 0
        ? { state: 'queued', waitMs: reply[1] }
        : { state: 'refused', retryAfterMs: reply[1] };
    },
  };
  return {
    cache,
    lease,
    limiter,
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
function readEntry(raw: string | null): { entry: CacheEntry; validUntil: number } | undefined {
  if (raw === null) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return undefined;
  }
  if (!isRecord(value)) return undefined;
  const { flowId, previewUrl, previewUrlExpires, requestId, fetchedAt, validUntil, failure } = value;
  if (typeof validUntil !== 'number' || typeof fetchedAt !== 'number') return undefined;
  // A kept failure: its record is the CAMS client's to read back (and check) when it is used.
  if (failure !== undefined) return { entry: { failure, fetchedAt }, validUntil };
  // The CAMS client only ever returns an https link and an expiry that is a date (the core makes an ISO date of it).
  if (
    typeof flowId !== 'string' ||
    typeof previewUrl !== 'string' ||
    !isHttpsUrl(previewUrl) ||
    typeof previewUrlExpires !== 'number' ||
    !Number.isSafeInteger(previewUrlExpires) ||
    previewUrlExpires <= 0 ||
    previewUrlExpires > MAX_DATE_MS ||
    typeof requestId !== 'string'
  ) {
    return undefined;
  }
  return { entry: { flowId, previewUrl, previewUrlExpires, requestId, fetchedAt }, validUntil };
}

/** The last instant a `Date` can hold (epoch ms). */
const MAX_DATE_MS = 8.64e15;

function isHttpsUrl(value: string): boolean {
  try {
    return new URL(value).protocol === 'https:';
  } catch {
    return false;
  }
}
