/**
 * What the core needs from the world, as the narrowest interfaces that serve it. The CAMS integration and the
 * stores implement them; the core imports nothing else of theirs.
 */

/** A validated request: what the caller asked for. */
export interface FlowPreviewRequest {
  readonly flowId: string;
  readonly custSpaceId?: string;
}

/**
 * What a `custSpaceId` looks like: the rule for a requested space (shared/fc/request.ts) and for one a token grants
 * (shared/auth/tenant.ts), since either may reach CAMS.
 */
export const CUST_SPACE_ID = /^[A-Za-z0-9_.-]{1,64}$/;

export interface CamsPreview {
  readonly flowId: string;
  readonly previewUrl: string;
  /** Epoch milliseconds, as CAMS gives it. */
  readonly previewUrlExpires: number;
  readonly requestId: string;
}

export interface CamsCallOptions {
  /** Upper bound for this call, in ms; past it the call fails with a `timeout` CamsError. */
  readonly timeoutMs: number;
  /** Ends the call early (its request and socket too); the call rejects with the signal's reason. */
  readonly signal?: AbortSignal;
  /** Called once the request has left the process, so only sent requests are counted. */
  readonly onSent?: () => void;
}

/** The one method the core needs. */
export interface CamsClient {
  getFlowPreviewUrl(request: FlowPreviewRequest, options: CamsCallOptions): Promise<CamsPreview>;
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

/** The cache key: the identity and endpoint that asked, the space, and the flow. */
export function previewCacheKey(scope: string, custSpaceId: string | undefined, flowId: string): string {
  return JSON.stringify([scope, custSpaceId ?? '', flowId]);
}
