/**
 * Keeping preview links. CAMS hands back the same link until it expires (~30 days), so one CAMS call per flow per
 * link lifetime is enough. `PreviewCache` is the small interface a shared store (Redis/Tair) can implement later
 * for many instances; `MemoryPreviewCache` is the in-instance default, a bounded LRU. `SingleFlight` makes
 * concurrent requests for one key share one call, success or failure.
 */

import type { CamsPreview } from './cams-client.js';

/** What is kept: the CAMS answer as the client returned it. */
export type CachedPreview = CamsPreview;

export interface PreviewCache {
  get(key: string): Promise<CachedPreview | undefined>;
  /** Keeps `preview` until `validUntil` (epoch ms). */
  set(key: string, preview: CachedPreview, validUntil: number): Promise<void>;
}

/** The cache key: the identity and endpoint that asked, the space, and the flow. */
export function previewCacheKey(scope: string, custSpaceId: string | undefined, flowId: string): string {
  return JSON.stringify([scope, custSpaceId ?? '', flowId]);
}

export class MemoryPreviewCache implements PreviewCache {
  readonly #entries = new Map<string, { preview: CachedPreview; validUntil: number }>();
  readonly #maxEntries: number;
  readonly #now: () => number;

  constructor(options: { maxEntries?: number; now?: () => number } = {}) {
    this.#maxEntries = options.maxEntries ?? 1000;
    this.#now = options.now ?? Date.now;
  }

  async get(key: string): Promise<CachedPreview | undefined> {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    this.#entries.delete(key);
    if (entry.validUntil <= this.#now()) return undefined;
    this.#entries.set(key, entry); // most recently used goes last
    return entry.preview;
  }

  async set(key: string, preview: CachedPreview, validUntil: number): Promise<void> {
    this.#entries.delete(key);
    this.#entries.set(key, { preview, validUntil });
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

export class SingleFlight<T> {
  readonly #inFlight = new Map<string, Promise<T>>();

  /** Runs `work` for `key` unless a run is already in flight, in which case its outcome is shared. */
  run(key: string, work: () => Promise<T>): { promise: Promise<T>; joined: boolean } {
    const existing = this.#inFlight.get(key);
    if (existing !== undefined) return { promise: existing, joined: true };
    const promise = work().finally(() => this.#inFlight.delete(key));
    this.#inFlight.set(key, promise);
    return { promise, joined: false };
  }

  get size(): number {
    return this.#inFlight.size;
  }
}
