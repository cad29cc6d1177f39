/**
 * Keeping preview links. CAMS hands back the same link until it expires (~30 days), so one CAMS call per flow per
 * link lifetime is enough. `PreviewCache` is the small interface a shared store (Redis/Tair) can implement later
 * for many instances; `MemoryPreviewCache` is the in-instance default, a bounded LRU.
 */

import type { CachedPreview, PreviewCache } from '../preview/ports.js';

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
