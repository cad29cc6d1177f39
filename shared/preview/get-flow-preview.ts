/**
 * The core: a validated request in, the preview a caller receives out. A cached link is served while it is
 * valid; otherwise one CAMS call runs for the whole fleet (concurrent requests in this instance join it, other
 * instances wait on its lease and read its result from the shared cache), with bounded retries under the
 * invocation's deadline, each attempt taking a slot from the account-wide rate limiter. Plain async code; its
 * dependencies arrive as arguments, and what it learns goes to the invocation's log as fields.
 */
import type { Clock } from './clock.js';
import { DeadlineExceededError, RateLimitedError } from './errors.js';
import {
  adviceOf,
  type CachedPreview,
  type CacheEntry,
  type CamsClient,
  type FieldLog,
  type FlowPreviewRequest,
  isCachedFailure,
  MAX_LOOK_AGAIN_MS,
  type PreviewCache,
  type PreviewStores,
  previewCacheKey,
  type RateLimiter,
} from './ports.js';
import { callWithRetries, DEFAULT_RETRY_POLICY, type RetryPolicy, type RetryRecord } from './retry.js';
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

/** The instance's settings: the same for every invocation. */
export interface PreviewSettings {
  /** A cached link is served at most this long after it was fetched. */
  readonly maxAgeMs: number;
  /** A refresh calls CAMS at most once per key per this interval; inside it the link is a hit. */
  readonly refreshIntervalMs: number;
  /** Upper bound of one CAMS attempt. */
  readonly camsTimeoutMs: number;
  /** A lasting failure (the flow is not there, the role may not ask) is kept this long for the key; 0: not kept. */
  readonly failureTtlMs?: number;
  /**
   * Whether the CAMS budget is shared fairly between the spaces requests are for (default), or served first come,
   * first served (`false`: every request draws on the account as one).
   */
  readonly fairShare?: boolean;
  readonly retryPolicy?: RetryPolicy;
}

/** One invocation's request for a preview, beyond the flow and space. */
export interface PreviewAsk {
  /** The caller wants a link fetched anew (still at most once per key per refresh interval). */
  readonly refresh: boolean;
  /** Epoch ms by which the answer must be ready. */
  readonly deadline: number;
  /**
   * Whose links and whose quota (CAMS endpoint and account): cached links are never shared across it, and the
   * rate limiter counts per it.
   */
  readonly scope: string;
}

export interface FlowPreviewDeps {
  readonly cams: CamsClient;
  readonly stores: PreviewStores;
  /** This instance's CAMS calls in flight, shared by its concurrent callers. */
  readonly inFlight: SingleFlight<Fetched>;
  readonly settings: PreviewSettings;
  readonly clock: Clock;
  /** The invocation's log line: `cache`, `camsCalls` and `retries` are added to it. */
  readonly log?: FieldLog;
}

/** A link is handed out only while it has at least this long to live. */
export const CACHE_SAFETY_MARGIN_MS = 60 * 60 * 1000;
/** How often a caller waiting on another instance's lease looks for its result, at first and at most. */
const LEASE_POLL_MS = { first: 20, max: 100 };
/** A lease outlives its holder's deadline by this much, so it never lapses while the holder still writes. */
const LEASE_GRACE_MS = 250;

export async function getFlowPreview(
  request: FlowPreviewRequest,
  ask: PreviewAsk,
  deps: FlowPreviewDeps,
): Promise<FlowPreviewResult> {
  const { clock } = deps;
  const key = previewCacheKey(ask.scope, request.custSpaceId, request.flowId);
  /**
   * What the cache has for `key`: a link it may serve, nothing, or a lasting failure, thrown as CAMS gave it. A
   * refresh is served the link fetched inside the interval: refresh can never become a CAMS call per request.
   */
  const lookUp = async (): Promise<CachedPreview | undefined> => {
    const entry = await readCache(deps.stores.cache, key);
    if (entry === undefined) return undefined;
    if (isCachedFailure(entry)) {
      const failure = deps.cams.reviveFailure(entry.failure);
      if (failure === undefined) return undefined;
      deps.log?.appendKeys({ cache: 'failure-hit' });
      throw failure;
    }
    return !ask.refresh || clock.now() - entry.fetchedAt < deps.settings.refreshIntervalMs
      ? entry
      : undefined;
  };
  const answer = (preview: CachedPreview, cache: CacheOutcome): FlowPreviewResult => {
    deps.log?.appendKeys({ cache });
    return toResult(preview, cache, clock.now());
  };
  deps.log?.appendKeys({ camsCalls: 0 });
  const cached = await lookUp();
  if (cached !== undefined) return answer(cached, 'hit');
  const { promise } = deps.inFlight.run(key, () => fetchOnce(request, key, lookUp, ask, deps));
  const { preview, fetched } = await promise;
  return answer(preview, fetched ? (ask.refresh ? 'refresh' : 'miss') : 'hit');
}

/**
 * One CAMS call for `key` across the fleet: the lease holder calls; the others wait for its result in the shared
 * cache within their own deadline, and take the lease over when it is released or its holder died.
 */
async function fetchOnce(
  request: FlowPreviewRequest,
  key: string,
  lookUp: () => Promise<CachedPreview | undefined>,
  ask: PreviewAsk,
  deps: FlowPreviewDeps,
): Promise<Fetched> {
  const { clock, stores } = deps;
  const lease = stores.lease;
  if (lease === undefined) return { preview: await callAndStore(request, key, ask, deps), fetched: true };
  // The global Web Crypto, not node:crypto: importing that would load crypto and streams at cold start.
  const holder = crypto.randomUUID();
  const minAttemptMs = (deps.settings.retryPolicy ?? DEFAULT_RETRY_POLICY).minAttemptMs;
  let pollMs = LEASE_POLL_MS.first;
  for (;;) {
    const ttlMs = Math.max(1, ask.deadline - clock.now()) + LEASE_GRACE_MS;
    // A store that cannot answer must not stop the request: act as the holder.
    if (await lease.acquire(key, holder, ttlMs).catch(() => true)) {
      try {
        // The previous holder may have just finished (with a link, or a failure it shares).
        const again = await lookUp();
        if (again !== undefined) return { preview: again, fetched: false };
        return { preview: await callAndStore(request, key, ask, deps), fetched: true };
      } finally {
        await lease.release(key, holder).catch(() => undefined);
      }
    }
    if (clock.now() + pollMs + minAttemptMs > ask.deadline) {
      throw new DeadlineExceededError(ask.deadline - clock.now());
    }
    await clock.sleep(pollMs);
    pollMs = Math.min(LEASE_POLL_MS.max, Math.ceil(pollMs * 1.5));
    const entry = await lookUp();
    if (entry !== undefined) return { preview: entry, fetched: false };
  }
}

/** The CAMS call with retries, every attempt behind a rate-limiter slot; the answer goes to the cache. */
async function callAndStore(
  request: FlowPreviewRequest,
  key: string,
  ask: PreviewAsk,
  deps: FlowPreviewDeps,
): Promise<CachedPreview> {
  const { clock, settings, stores, log } = deps;
  const policy = settings.retryPolicy ?? DEFAULT_RETRY_POLICY;
  let camsCalls = 0;
  const retries: RetryRecord[] = [];
  const space = settings.fairShare === false ? '' : (request.custSpaceId ?? '');
  let slotWaitMs = 0;
  const answer = await callWithRetries(
    async (timeoutMs) => {
      if (stores.limiter !== undefined) {
        await waitForSlot(stores.limiter, ask, space, policy.minAttemptMs, clock, (waited) => {
          slotWaitMs += waited;
          if (slotWaitMs > 0) log?.appendKeys({ slotWaitMs });
        });
      }
      const left = Math.max(1, ask.deadline - clock.now());
      return deps.cams.fetchPreviewUrl(request, {
        timeoutMs: Math.min(timeoutMs, left),
        // camsCalls counts requests that left the process, not attempts.
        onSent: () => {
          camsCalls += 1;
          log?.appendKeys({ camsCalls });
        },
      });
    },
    {
      deadline: ask.deadline,
      attemptTimeoutMs: settings.camsTimeoutMs,
      clock,
      policy,
      onRetry: (record) => {
        retries.push(record);
        log?.appendKeys({ retries });
      },
    },
  ).catch(async (error: unknown) => {
    await keepLastingFailure(stores.cache, key, error, settings.failureTtlMs, clock);
    throw error;
  });
  const fetchedAt = clock.now();
  const preview: CachedPreview = { ...answer, fetchedAt };
  const validUntil = Math.min(
    answer.previewUrlExpires - CACHE_SAFETY_MARGIN_MS,
    fetchedAt + settings.maxAgeMs,
  );
  if (validUntil > fetchedAt) await stores.cache.set(key, preview, validUntil).catch(() => undefined);
  return preview;
}

/**
 * Waits for this attempt's turn at the account's CAMS budget, looking again when the limiter says it may have come
 * (at least every `MAX_LOOK_AGAIN_MS`, so the queue knows the waiter is alive). Tells `onWaited` the time waited,
 * granted or not; a turn that would come too late for one attempt before the deadline is a `RateLimitedError` at
 * once, and the request holds no place in the queue (it never spends the account's quota on a doomed call).
 */
async function waitForSlot(
  limiter: RateLimiter,
  ask: PreviewAsk,
  space: string,
  minAttemptMs: number,
  clock: Clock,
  onWaited: (waitedMs: number) => void,
): Promise<void> {
  const ticket = { id: crypto.randomUUID(), space };
  const started = clock.now();
  for (;;) {
    const budget = Math.max(0, ask.deadline - clock.now() - minAttemptMs);
    const turn = await limiter.take(ask.scope, ticket, budget);
    // A request refused after waiting waited too: the log line says how long, as for one that was served.
    if (turn.state !== 'queued') onWaited(clock.now() - started);
    if (turn.state === 'granted') return;
    if (turn.state === 'refused') throw new RateLimitedError(turn.retryAfterMs);
    await clock.sleep(Math.max(1, Math.min(turn.waitMs, MAX_LOOK_AGAIN_MS)));
  }
}

/**
 * A failure CAMS will give again for the next seconds (the flow is not there, the role may not ask) is kept for
 * `ttlMs`, so the fleet's other callers of the key get it without a CAMS call each: the lease's waiters find it in
 * the shared cache. Throttling, 5xx and timeouts are never kept (their advice is not `lasting`).
 */
async function keepLastingFailure(
  cache: PreviewCache,
  key: string,
  error: unknown,
  ttlMs: number | undefined,
  clock: Clock,
): Promise<void> {
  const lasting = adviceOf(error)?.lasting;
  if (lasting === undefined || ttlMs === undefined || ttlMs <= 0) return;
  const fetchedAt = clock.now();
  await cache.set(key, { failure: lasting.record, fetchedAt }, fetchedAt + ttlMs).catch(() => undefined);
}

/** A failing store must not fail the request: it only costs a CAMS call. */
function readCache(cache: PreviewCache, key: string): Promise<CacheEntry | undefined> {
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
