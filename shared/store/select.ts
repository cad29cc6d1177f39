/**
 * Which store serves an invocation. `REDIS_URL` unset: the instance's memory, as before. Set: Redis, loaded on
 * first use from its own file, one connection per instance reused across warm invocations. Any Redis failure
 * (down, slow, full, wrong password) moves the instance to memory for a short cool-down and then Redis is tried
 * again, so Redis trouble costs at most one command timeout per cool-down and never fails a request.
 */
import type { FleetConfig, RedisConfig } from '../config.js';
import { isRecord } from '../is-record.js';
import type { CachedPreview, Lease, PreviewCache, RateLimiter, SlotGrant } from '../preview/ports.js';
import { MemoryLease, type MemoryPreviewCache, MemoryRateLimiter } from './memory.js';
import type { RedisStores } from './redis.js';

/** What the invocation's log line says served it. */
export type StoreKind = 'redis' | 'memory' | 'degraded';

/** The stores one invocation uses, and what it learnt about Redis while using them. */
export interface StoreSession {
  readonly cache: PreviewCache;
  readonly limiter: RateLimiter;
  readonly lease: Lease;
  /** `degraded` once any call of this invocation fell back to memory although Redis is configured. */
  readonly kind: StoreKind;
  /** Why it fell back (`timeout`, `unavailable`, `auth`, `full`, `error`): never a URL or a password. */
  readonly failure: string | undefined;
}

/** How long an instance stays on memory after a Redis failure before it tries Redis again. */
const REDIS_COOL_DOWN_MS = 1000;

type LoadRedis = (config: RedisConfig) => RedisStores;

interface Backend {
  readonly stores: RedisStores;
  /** Until then the instance uses memory (epoch ms). */
  downUntil: number;
  failure: string | undefined;
}

/** The Redis client lives in dist/redis.js (see scripts/build.mts); this `require` runs only with REDIS_URL set. */
const loadRedisFile: LoadRedis = (config) =>
  (require('./redis.js') as typeof import('./redis.js')).createRedisStores(config);

export class StoreSelector {
  readonly memoryCache: MemoryPreviewCache;
  readonly #memoryLease = new MemoryLease();
  readonly #memoryLimiters = new Map<number, MemoryRateLimiter>();
  readonly #redis = new Map<string, Backend>();
  readonly #load: LoadRedis;
  #loadFailedUntil = 0;

  constructor(options: { memoryCache: MemoryPreviewCache; loadRedis?: LoadRedis }) {
    this.memoryCache = options.memoryCache;
    this.#load = options.loadRedis ?? loadRedisFile;
  }

  /** The stores for one invocation under `fleet`. */
  session(fleet: FleetConfig): StoreSession {
    const memory = {
      cache: this.memoryCache,
      lease: this.#memoryLease,
      limiter: this.#memoryLimiter(fleet.camsRateLimitPerSecond),
    };
    if (fleet.redis === undefined) return { ...memory, kind: 'memory', failure: undefined };
    const backend = this.#backend(fleet.redis);
    if (backend === undefined) return { ...memory, kind: 'degraded', failure: 'client-unavailable' };
    const redis = backend.stores;
    const redisLimiter = redis.limiter(fleet.camsRateLimitPerSecond);
    let degraded = false;
    let failure: string | undefined;
    const use = async <T>(onRedis: () => Promise<T>, onMemory: () => Promise<T>): Promise<T> => {
      if (Date.now() >= backend.downUntil) {
        try {
          return await onRedis();
        } catch (error) {
          backend.downUntil = Date.now() + REDIS_COOL_DOWN_MS;
          backend.failure = reasonOf(error);
        }
      }
      degraded = true;
      failure = backend.failure;
      return onMemory();
    };
    return {
      cache: {
        get: (key) =>
          use(
            async () => {
              const entry = await redis.cache.get(key);
              if (entry === undefined) return undefined;
              // A copy in memory: if Redis goes away later, this instance still serves the links it has seen.
              await memory.cache.set(key, entry.preview, entry.validUntil);
              return entry.preview;
            },
            () => memory.cache.get(key),
          ),
        set: async (key: string, preview: CachedPreview, validUntil: number) => {
          // Memory keeps a copy too, so an outage later in this instance's life still finds the links it saw.
          await memory.cache.set(key, preview, validUntil);
          await use(
            () => redis.cache.set(key, preview, validUntil),
            async () => {},
          );
        },
      },
      lease: {
        acquire: (key, holder, ttlMs) =>
          use(
            () => redis.lease.acquire(key, holder, ttlMs),
            () => memory.lease.acquire(key, holder, ttlMs),
          ),
        release: async (key, holder) => {
          await memory.lease.release(key, holder);
          await use(
            () => redis.lease.release(key, holder),
            async () => {},
          );
        },
      },
      limiter: {
        reserve: (scope, maxWaitMs): Promise<SlotGrant> =>
          use(
            () => redisLimiter.reserve(scope, maxWaitMs),
            () => memory.limiter.reserve(scope, maxWaitMs),
          ),
      },
      get kind(): StoreKind {
        return degraded ? 'degraded' : 'redis';
      },
      get failure() {
        return failure;
      },
    };
  }

  /**
   * Loads the Redis client and opens its connection now, while the instance starts, so the first invocation does
   * not spend its time (or its command timeout) on them. A bad setting is left for the invocation to report.
   */
  warm(readConfig: () => FleetConfig): void {
    try {
      const redis = readConfig().redis;
      if (redis !== undefined) this.#backend(redis);
    } catch {
      // loadConfig() in the invocation names the problem.
    }
  }

  /** Closes every Redis connection (tests and the benchmark; FC simply freezes the instance). */
  async close(): Promise<void> {
    const backends = [...this.#redis.values()];
    this.#redis.clear();
    await Promise.all(backends.map((backend) => backend.stores.close()));
  }

  #memoryLimiter(ratePerSecond: number): MemoryRateLimiter {
    let limiter = this.#memoryLimiters.get(ratePerSecond);
    if (limiter === undefined) {
      limiter = new MemoryRateLimiter(ratePerSecond);
      this.#memoryLimiters.set(ratePerSecond, limiter);
    }
    return limiter;
  }

  #backend(config: RedisConfig): Backend | undefined {
    const id = `${config.url}\n${config.keyPrefix}\n${config.commandTimeoutMs}`;
    let backend = this.#redis.get(id);
    if (backend === undefined) {
      // A missing or broken dist/redis.js must not fail requests either; the next invocation tries again.
      if (Date.now() < this.#loadFailedUntil) return undefined;
      try {
        backend = { stores: this.#load(config), downUntil: 0, failure: undefined };
      } catch {
        this.#loadFailedUntil = Date.now() + REDIS_COOL_DOWN_MS;
        return undefined;
      }
      this.#redis.set(id, backend);
    }
    return backend;
  }
}

function reasonOf(error: unknown): string {
  const reason = isRecord(error) ? error['reason'] : undefined;
  return typeof reason === 'string' ? reason : 'error';
}
