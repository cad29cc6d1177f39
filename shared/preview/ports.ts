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
}

/**
 * How the core may treat a failed fetch, decided by the client that knows the upstream's codes. The client's
 * errors carry it as `advice`; an error without one is neither retried nor shared.
 */
export interface FailureAdvice {
  /** Worth another attempt: why (for the log), whether it was throttling, and a wait the upstream asked for. */
  readonly retry?: { readonly reason: string; readonly throttled: boolean; readonly afterMs?: number };
  /**
   * The answer will not change in the next seconds (the flow is not there, the role may not ask): other callers
   * of the same key may be given it too, and it may be kept briefly.
   */
  readonly lasting?: boolean;
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

export interface PreviewCache {
  get(key: string): Promise<CachedPreview | undefined>;
  /** Keeps `preview` until `validUntil` (epoch ms). */
  set(key: string, preview: CachedPreview, validUntil: number): Promise<void>;
}

/** A reservation from the CAMS rate limiter: wait `waitMs`, then call; or no slot before the caller's deadline. */
export type SlotGrant =
  | { readonly granted: true; readonly waitMs: number }
  | { readonly granted: false; readonly retryAfterMs: number };

/** The account-wide CAMS budget. Every CAMS attempt, retries included, takes one slot. */
export interface RateLimiter {
  /**
   * Reserves the next slot for `scope` if it comes within `maxWaitMs`. A refusal reserves nothing; its
   * `retryAfterMs` says when the same request would have fitted.
   */
  reserve(scope: string, maxWaitMs: number): Promise<SlotGrant>;
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
