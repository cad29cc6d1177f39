/**
 * The in-instance stores: the preview cache (a bounded LRU), the CAMS rate limiter and leases. They serve when
 * `REDIS_URL` is unset, and stand in for Redis while it is unreachable (shared/store/select.ts).
 */

import type { CacheEntry, Lease, PreviewCache, RateLimiter, SlotTicket, Turn } from '../preview/ports.js';
import { type FairQueueState, isIdle, newFairQueueState, slotSpacingMs, takeTurn } from './fair-queue.js';

export class MemoryPreviewCache implements PreviewCache {
  readonly #entries = new Map<string, { value: CacheEntry; validUntil: number }>();
  readonly #maxEntries: number;
  readonly #now: () => number;

  constructor(options: { maxEntries?: number; now?: () => number } = {}) {
    this.#maxEntries = options.maxEntries ?? 1000;
    this.#now = options.now ?? Date.now;
  }

  async get(key: string): Promise<CacheEntry | undefined> {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    this.#entries.delete(key);
    if (entry.validUntil <= this.#now()) return undefined;
    this.#entries.set(key, entry); // most recently used goes last
    return entry.value;
  }

  async set(key: string, value: CacheEntry, validUntil: number): Promise<void> {
    this.#entries.delete(key);
    this.#entries.set(key, { value, validUntil });
    while (this.#entries.size > this.#maxEntries) {
      const oldest = this.#entries.keys().next().value;
      if (oldest === undefined) break;
      this.#entries.delete(oldest);
    }
  }

  get size(): number {
    return this.#entries.size;
  }

  clear(): void {
    this.#entries.clear();
  }
}

/** The account-wide limiter of one instance: what runs without Redis, and while Redis is unreachable. */
export class MemoryRateLimiter implements RateLimiter {
  readonly #scopes = new Map<string, FairQueueState>();
  readonly #spacingMs: number;
  readonly #now: () => number;

  constructor(ratePerSecond: number, now: () => number = Date.now) {
    this.#spacingMs = slotSpacingMs(ratePerSecond);
    this.#now = now;
  }

  async take(scope: string, ticket: SlotTicket, maxWaitMs: number): Promise<Turn> {
    const now = this.#now();
    let state = this.#scopes.get(scope);
    if (state === undefined) {
      state = newFairQueueState();
      this.#scopes.set(scope, state);
    }
    const turn = takeTurn(state, now, ticket, maxWaitMs, this.#spacingMs);
    if (this.#scopes.size > 1000) this.#forgetIdle(now);
    return turn;
  }

  /** A scope nobody waits on and whose last slot is past holds no state worth keeping. */
  #forgetIdle(now: number): void {
    for (const [scope, state] of this.#scopes) if (isIdle(state, now)) this.#scopes.delete(scope);
  }
}

/** Leases within one instance (its in-flight map already joins its own callers; this serves the fallback path). */
export class MemoryLease implements Lease {
  readonly #holders = new Map<string, { holder: string; until: number }>();
  readonly #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  async acquire(key: string, holder: string, ttlMs: number): Promise<boolean> {
    const now = this.#now();
    const current = this.#holders.get(key);
    if (current !== undefined && current.until > now && current.holder !== holder) return false;
    this.#holders.set(key, { holder, until: now + ttlMs });
    // Leases are released in a `finally`; only a lost release leaves one behind, and it expires.
    if (this.#holders.size > 1000) {
      for (const [other, lease] of this.#holders) if (lease.until <= now) this.#holders.delete(other);
    }
    return true;
  }

  async release(key: string, holder: string): Promise<void> {
    if (this.#holders.get(key)?.holder === holder) this.#holders.delete(key);
  }
}
