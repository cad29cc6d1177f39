/**
 * Which store serves an invocation. `REDIS_URL` unset: the instance's memory. Set: Redis, loaded from its own file
 * when the instance starts, one connection reused across warm invocations. Any Redis failure (down, slow, full,
 * wrong password) moves the instance to memory for a short cool-down and then Redis is tried again, so Redis trouble
 * costs at most one command timeout per cool-down and never fails a request.
 */
import type { FleetConfig, RedisConfig } from '../config.js';
import { isRecord } from '../is-record.js';
import type { CacheEntry, FieldLog, PreviewStores, Turn } from '../preview/ports.js';
import { MemoryLease, MemoryPreviewCache, MemoryRateLimiter } from './memory.js';
import type { RedisStores } from './redis.js';

/** What the invocation's log line says served it (`degraded`: Redis is configured, but memory stood in). */
export type StoreKind = 'redis' | 'memory' | 'degraded';

/** How long an instance stays on memory after a Redis failure before it tries Redis again. */
const REDIS_COOL_DOWN_MS = 1000;
/** Links one instance keeps in memory. */
const MEMORY_CACHE_ENTRIES = 1000;

type LoadRedis = (config: RedisConfig, ratePerSecond: number) => RedisStores;

/** The Redis client lives in dist/redis.js (see scripts/build.mts); this `require` runs only with REDIS_URL set. */
const loadRedisFile: LoadRedis = (config, ratePerSecond) =>
  (require('./redis.js') as typeof import('./redis.js')).createRedisStores(config, ratePerSecond);

export interface FleetStoresOptions {
  /** How the Redis side is made (tests pass one that fails); default: dist/redis.js. */
  readonly loadRedis?: LoadRedis;
  /** Epoch ms; the memory stores expire entries and leases by it. */
  readonly now?: () => number;
}

/** One instance's stores: memory always, Redis beside it when the fleet has one. */
export class FleetStores {
  readonly #memory: Required<PreviewStores>;
  readonly #fleet: FleetConfig;
  readonly #load: LoadRedis;
  readonly #now: () => number;
  #redis: RedisStores | undefined;
  #loadFailedUntil = 0;
  /** Until then the instance uses memory (epoch ms), and why. */
  #downUntil = 0;
  #failure: string | undefined;

  constructor(fleet: FleetConfig, options: FleetStoresOptions = {}) {
    this.#fleet = fleet;
    this.#load = options.loadRedis ?? loadRedisFile;
    this.#now = options.now ?? Date.now;
    this.#memory = {
      cache: new MemoryPreviewCache({ maxEntries: MEMORY_CACHE_ENTRIES, now: this.#now }),
      lease: new MemoryLease(this.#now),
      limiter: new MemoryRateLimiter(fleet.camsRateLimitPerSecond, this.#now),
    };
    // The client loads and connects while the instance starts, not inside its first invocation.
    this.#backend();
  }

  /** The stores for one invocation; which of them served (and why memory stood in) goes to `log`. */
  session(log?: FieldLog): PreviewStores {
    const memory = this.#memory;
    if (this.#fleet.redis === undefined) {
      log?.appendKeys({ store: 'memory' satisfies StoreKind });
      return memory;
    }
    const redis = this.#backend();
    if (redis === undefined) {
      log?.appendKeys({ store: 'degraded' satisfies StoreKind, storeFailure: 'client-unavailable' });
      return memory;
    }
    log?.appendKeys({ store: 'redis' satisfies StoreKind });
    const use = async <T>(onRedis: () => Promise<T>, onMemory: () => Promise<T>): Promise<T> => {
      if (this.#now() >= this.#downUntil) {
        try {
          return await onRedis();
        } catch (error) {
          this.#downUntil = this.#now() + REDIS_COOL_DOWN_MS;
          this.#failure = reasonOf(error);
        }
      }
      log?.appendKeys({ store: 'degraded' satisfies StoreKind, storeFailure: this.#failure });
      return onMemory();
    };
    return {
      cache: {
        get: (key) =>
          use(
            async () => {
              const found = await redis.cache.get(key);
              if (found === undefined) return undefined;
              // A copy in memory: if Redis goes away later, this instance still serves the links it has seen.
              await memory.cache.set(key, found.entry, found.validUntil);
              return found.entry;
            },
            () => memory.cache.get(key),
          ),
        set: async (key: string, entry: CacheEntry, validUntil: number) => {
          // Memory keeps a copy too, so an outage later in this instance's life still finds the links it saw.
          await memory.cache.set(key, entry, validUntil);
          await use(
            () => redis.cache.set(key, entry, validUntil),
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
        take: (scope, ticket, maxWaitMs): Promise<Turn> =>
          use(
            () => redis.limiter.take(scope, ticket, maxWaitMs),
            () => memory.limiter.take(scope, ticket, maxWaitMs),
          ),
      },
    };
  }

  /** Closes the Redis connection (FC simply freezes the instance; tests and benchmarks close it). */
  async close(): Promise<void> {
    const redis = this.#redis;
    this.#redis = undefined;
    await redis?.close();
  }

  #backend(): RedisStores | undefined {
    const config = this.#fleet.redis;
    if (config === undefined || this.#redis !== undefined) return this.#redis;
    // A missing or broken dist/redis.js must not fail requests either; a later invocation tries again.
    if (this.#now() < this.#loadFailedUntil) return undefined;
    try {
      this.#redis = this.#load(config, this.#fleet.camsRateLimitPerSecond);
    } catch {
      this.#loadFailedUntil = this.#now() + REDIS_COOL_DOWN_MS;
    }
    return this.#redis;
  }
}

function reasonOf(error: unknown): string {
  const reason = isRecord(error) ? error['reason'] : undefined;
  return typeof reason === 'string' ? reason : 'error';
}
