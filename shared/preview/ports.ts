/**
 * What the core needs from the world, as the narrowest interfaces that serve it. The CAMS integration and the
 * stores implement them; the core imports nothing else of theirs, and knows no HTTP status and no CAMS code.
 */

/** A validated request: what the caller asked for (and, with tenants, what its token lets it see). */
export interface FlowPreviewRequest {
  readonly flowId: string;
  readonly custSpaceId?: string;
}

/** What CAMS answered for one flow. */
export interface CamsPreview {
  readonly flowId: string;
  readonly previewUrl: string;
  /** Epoch milliseconds, as CAMS gives it. */
  readonly previewUrlExpires: number;
  readonly requestId: string;
}

export interface FetchOptions {
  /** Upper bound for this call, in ms; past it the call fails with an error whose advice is not to retry. */
  readonly timeoutMs: number;
  /** Ends the call early (its request and socket too); the call rejects with the signal's reason. */
  readonly signal?: AbortSignal;
  /** Called once the request has left the process, so only sent requests are counted. */
  readonly onSent?: () => void;
}

/** The one CAMS operation the core needs (GetFlowPreviewUrl behind it). */
export interface CamsClient {
  fetchPreviewUrl(request: FlowPreviewRequest, options: FetchOptions): Promise<CamsPreview>;
  /**
   * The error a record from `FailureAdvice.lasting` stands for, so that other callers of the same key get the same
   * answer; undefined when the record is not one this client wrote (it is then ignored).
   */
  reviveFailure(record: unknown): Error | undefined;
}

/**
 * How the core may treat a failed fetch, decided by the client that knows the upstream's codes. The client's
 * errors carry it as `advice`; an error without one is neither retried nor shared.
 */
export interface FailureAdvice {
  /** Worth another attempt: why (for the log), whether it was throttling, and a wait the upstream asked for. */
  readonly retry?: { readonly reason: string; readonly throttled: boolean; readonly afterMs?: number };
  /**
   * The answer will not change in the next seconds (the flow is not there, the role may not ask): other callers of
   * the same key may be given it too, and it may be kept briefly. `record` is plain JSON, read back by the
   * client's `reviveFailure`.
   */
  readonly lasting?: { readonly record: unknown };
}

/** The advice an error carries, if it is one of the client's. */
export function adviceOf(error: unknown): FailureAdvice | undefined {
  if (typeof error !== 'object' || error === null || !('advice' in error)) return undefined;
  const advice = (error as { advice: unknown }).advice;
  return typeof advice === 'object' && advice !== null ? (advice as FailureAdvice) : undefined;
}

/** What is kept: the CAMS answer as the client returned it, and when it was fetched (epoch ms). */
export interface CachedPreview extends CamsPreview {
  readonly fetchedAt: number;
}

/** A lasting failure kept for the same key: the client's record of it (see `FailureAdvice.lasting`). */
export interface CachedFailure {
  readonly failure: unknown;
  readonly fetchedAt: number;
}

/** What the cache holds for a key: a link, or a failure that will not change for a while. */
export type CacheEntry = CachedPreview | CachedFailure;

export function isCachedFailure(entry: CacheEntry): entry is CachedFailure {
  return 'failure' in entry;
}

export interface PreviewCache {
  get(key: string): Promise<CacheEntry | undefined>;
  /** Keeps `entry` until `validUntil` (epoch ms). */
  set(key: string, entry: CacheEntry, validUntil: number): Promise<void>;
}

/** One CAMS attempt waiting for a slot: its own id, and the space whose share it draws on. */
export interface SlotTicket {
  readonly id: string;
  /** The space the request is for ('' for the account level): slots are shared fairly between spaces. */
  readonly space: string;
}

/** What a look at the CAMS budget decided for a ticket. */
export type Turn =
  /** The slot is this ticket's: call now. */
  | { readonly state: 'granted' }
  /** Not yet: look again in `waitMs` (the ticket keeps its place). */
  | { readonly state: 'queued'; readonly waitMs: number }
  /** The turn would not come in time: the ticket holds no place; `retryAfterMs` says when it would have fitted. */
  | { readonly state: 'refused'; readonly retryAfterMs: number };

/** A ticket that waits looks at the budget again at least this often; a limiter may forget one silent for longer. */
export const MAX_LOOK_AGAIN_MS = 250;

/** The account-wide CAMS budget, shared fairly between spaces. Every CAMS attempt, retries included, takes a slot. */
export interface RateLimiter {
  /**
   * Takes `ticket`'s turn at `scope`'s budget if it has come; otherwise queues it (or keeps it queued) and says how
   * long until it may come, or refuses it when that is more than `maxWaitMs`. A refusal holds nothing.
   */
  take(scope: string, ticket: SlotTicket, maxWaitMs: number): Promise<Turn>;
}

/** A short exclusive claim on a key, so that one caller in the fleet fetches it while the others wait. */
export interface Lease {
  /** Takes the lease for `ttlMs` unless someone else holds it; true when `holder` now holds it. */
  acquire(key: string, holder: string, ttlMs: number): Promise<boolean>;
  /** Gives the lease back if `holder` still holds it (an expired lease may be someone else's by now). */
  release(key: string, holder: string): Promise<void>;
}

/** Where links are kept and the budget is counted; without a limiter or a lease, neither is shared. */
export interface PreviewStores {
  readonly cache: PreviewCache;
  /** The account's CAMS budget; without one, CAMS is called unthrottled. */
  readonly limiter?: RateLimiter;
  /** The fleet-wide claim on a key; without one, only this instance's callers share a CAMS call. */
  readonly lease?: Lease;
}

/** Where whoever learns a fact about the invocation adds it to its one log line. */
export interface FieldLog {
  appendKeys(fields: Readonly<Record<string, unknown>>): void;
}

/** The cache key: the identity and endpoint that asked, the space, and the flow. */
export function previewCacheKey(scope: string, custSpaceId: string | undefined, flowId: string): string {
  return JSON.stringify([scope, custSpaceId ?? '', flowId]);
}
