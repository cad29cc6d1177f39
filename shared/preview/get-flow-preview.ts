/**
 * The core: a validated request in, the preview a caller receives out. A cached link is served while it is
 * valid; otherwise one CAMS call runs for the whole fleet (concurrent requests in this instance join it, other
 * instances wait on its lease and read its result from the shared cache), with bounded retries under the
 * invocation's deadline, each attempt taking a slot from the account-wide rate limiter. Plain async code; its
 * dependencies arrive as arguments.
 */
import { CamsError, RateLimitedError } from '../errors.js';
import type { CamsClient, FlowPreviewRequest, Lease, RateLimiter } from './ports.js';
import { type CachedPreview, type PreviewCache, previewCacheKey } from './ports.js';
import {
  type Clock,
  callWithRetries,
  DEFAULT_RETRY_POLICY,
  type RetryPolicy,
  type RetryRecord,
  systemClock,
} from './retry.js';
import type { SingleFlight } from './single-flight.js';

/** The 200 body, and the object a direct invocation returns. */
export interface FlowPreview {
  readonly flowId: string;
  readonly previewUrl: string;
  /** Epoch milliseconds, as CAMS gives it. */
  readonly previewUrlExpires: number;
  /** The same instant as `previewUrlExpires`, in ISO 8601. */
  readonly expiresAt: string;
  /** The CAMS RequestId of the answer behind this preview. */
  readonly requestId: string;
}

export type CacheOutcome = 'hit' | 'miss' | 'refresh';

export interface FlowPreviewResult {
  readonly preview: FlowPreview;
  readonly cache: CacheOutcome;
  /** How long the link may still be handed out, ms (0 when it is about to expire). */
  readonly freshForMs: number;
}

/** What one fetch for a key produced: the preview, and whether this fetch called CAMS for it. */
export interface Fetched {
  readonly preview: CachedPreview;
  readonly fetched: boolean;
}

export interface FlowPreviewDeps {
  readonly cams: CamsClient;
  readonly cache: PreviewCache;
  readonly inFlight: SingleFlight<Fetched>;
  /** The account's CAMS budget; without one, CAMS is called unthrottled. */
  readonly limiter?: RateLimiter;
  /** The fleet-wide claim on a key; without one, only this instance's callers share a CAMS call. */
  readonly lease?: Lease;
  /**
   * Whose links and whose quota (CAMS endpoint and account): cached links are never shared across it, and the
   * rate limiter counts per it.
   */
  readonly scope: string;
  /** A cached link is served at most this long after it was fetched (default 15 min). */
  readonly maxAgeMs?: number;
  /** A refresh calls CAMS at most once per key per this interval (default 60 s); inside it the link is a hit. */
  readonly refreshIntervalMs?: number;
  /** Epoch ms by which the answer must be ready. */
  readonly deadline: number;
  /** Upper bound of one CAMS attempt. */
  readonly camsTimeoutMs: number;
  readonly clock?: Clock;
  readonly retryPolicy?: RetryPolicy;
  /** Called for each CAMS request that left the process. */
  readonly onCamsCall?: () => void;
  readonly onRetry?: (record: RetryRecord) => void;
}

/** A link is handed out only while it has at least this long to live. */
export const CACHE_SAFETY_MARGIN_MS = 60 * 60 * 1000;
// Only for callers that pass none (tests): the handler passes PREVIEW_CACHE_MAX_AGE_S / PREVIEW_REFRESH_INTERVAL_S.
const DEFAULT_MAX_AGE_MS = 15 * 60 * 1000;
const DEFAULT_REFRESH_INTERVAL_MS = 60 * 1000;
/** How often a caller waiting on another instance's lease looks for its result, at first and at most. */
const LEASE_POLL_MS = { first: 20, max: 100 };
/** A lease outlives its holder's deadline by this much, so it never lapses while the holder still writes. */
const LEASE_GRACE_MS = 250;

export async function getFlowPreview(
  request: FlowPreviewRequest,
  options: { readonly refresh: boolean },
  deps: FlowPreviewDeps,
): Promise<FlowPreviewResult> {
  const clock = deps.clock ?? systemClock;
  const key = previewCacheKey(deps.scope, request.custSpaceId, request.flowId);
  const refreshIntervalMs = deps.refreshIntervalMs ?? DEFAULT_REFRESH_INTERVAL_MS;
  // A refresh is served the link fetched inside the interval: refresh can never become a CAMS call per request.
  const usable = (entry: CachedPreview): boolean =>
    !options.refresh || clock.now() - entry.fetchedAt < refreshIntervalMs;
  const cached = await readCache(deps.cache, key);
  if (cached !== undefined && usable(cached)) return toResult(cached, 'hit', clock.now());
  const { promise } = deps.inFlight.run(key, () => fetchOnce(request, key, usable, deps, clock));
  const { preview, fetched } = await promise;
  return toResult(preview, fetched ? (options.refresh ? 'refresh' : 'miss') : 'hit', clock.now());
}

/**
 * One CAMS call for `key` across the fleet: the lease holder calls; the others wait for its result in the shared
 * cache within their own deadline, and take the lease over when it is released or its holder died.
 */
async function fetchOnce(
  request: FlowPreviewRequest,
  key: string,
  usable: (entry: CachedPreview) => boolean,
  deps: FlowPreviewDeps,
  clock: Clock,
): Promise<Fetched> {
  const lease = deps.lease;
  if (lease === undefined) return { preview: await callAndStore(request, key, deps, clock), fetched: true };
  // The global Web Crypto, not node:crypto: importing that would load crypto and streams at cold start.
  const holder = crypto.randomUUID();
  const minAttemptMs = (deps.retryPolicy ?? DEFAULT_RETRY_POLICY).minAttemptMs;
  let pollMs = LEASE_POLL_MS.first;
  for (;;) {
    const ttlMs = Math.max(1, deps.deadline - clock.now()) + LEASE_GRACE_MS;
    // A store that cannot answer must not stop the request: act as the holder.
    if (await lease.acquire(key, holder, ttlMs).catch(() => true)) {
      try {
        // The previous holder may have just finished.
        const again = await readCache(deps.cache, key);
        if (again !== undefined && usable(again)) return { preview: again, fetched: false };
        return { preview: await callAndStore(request, key, deps, clock), fetched: true };
      } finally {
        await lease.release(key, holder).catch(() => undefined);
      }
    }
    if (clock.now() + pollMs + minAttemptMs > deps.deadline) {
      throw new CamsError({ kind: 'timeout', timeoutMs: Math.max(0, deps.deadline - clock.now()) });
    }
    await clock.sleep(pollMs);
    pollMs = Math.min(LEASE_POLL_MS.max, Math.ceil(pollMs * 1.5));
    const entry = await readCache(deps.cache, key);
    if (entry !== undefined && usable(entry)) return { preview: entry, fetched: false };
  }
}

/** The CAMS call with retries, every attempt behind a rate-limiter slot; the answer goes to the cache. */
async function callAndStore(
  request: FlowPreviewRequest,
  key: string,
  deps: FlowPreviewDeps,
  clock: Clock,
): Promise<CachedPreview> {
  const policy = deps.retryPolicy ?? DEFAULT_RETRY_POLICY;
  const answer = await callWithRetries(
    async (timeoutMs) => {
      if (deps.limiter !== undefined) {
        const budget = deps.deadline - clock.now() - policy.minAttemptMs;
        const slot = await deps.limiter.reserve(deps.scope, Math.max(0, budget));
        // No slot before the deadline: answer now, without spending the account's quota on a doomed call.
        if (!slot.granted) throw new RateLimitedError(slot.retryAfterMs);
        if (slot.waitMs > 0) await clock.sleep(slot.waitMs);
      }
      const left = Math.max(1, deps.deadline - clock.now());
      return deps.cams.getFlowPreviewUrl(request, {
        timeoutMs: Math.min(timeoutMs, left),
        // camsCalls counts requests that left the process, not attempts.
        ...(deps.onCamsCall ? { onSent: deps.onCamsCall } : {}),
      });
    },
    {
      deadline: deps.deadline,
      attemptTimeoutMs: deps.camsTimeoutMs,
      clock,
      policy,
      ...(deps.onRetry ? { onRetry: deps.onRetry } : {}),
    },
  );
  const fetchedAt = clock.now();
  const preview: CachedPreview = { ...answer, fetchedAt };
  const validUntil = Math.min(
    answer.previewUrlExpires - CACHE_SAFETY_MARGIN_MS,
    fetchedAt + (deps.maxAgeMs ?? DEFAULT_MAX_AGE_MS),
  );
  if (validUntil > fetchedAt) await deps.cache.set(key, preview, validUntil).catch(() => undefined);
  return preview;
}

/** A failing store must not fail the request: it only costs a CAMS call. */
function readCache(cache: PreviewCache, key: string): Promise<CachedPreview | undefined> {
  return cache.get(key).catch(() => undefined);
}

function toResult(answer: CachedPreview, cache: CacheOutcome, now: number): FlowPreviewResult {
  return {
    preview: {
      flowId: answer.flowId,
      previewUrl: answer.previewUrl,
      previewUrlExpires: answer.previewUrlExpires,
      expiresAt: new Date(answer.previewUrlExpires).toISOString(),
      requestId: answer.requestId,
    },
    cache,
    freshForMs: Math.max(0, answer.previewUrlExpires - CACHE_SAFETY_MARGIN_MS - now),
  };
}
