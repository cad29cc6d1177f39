/**
 * What the core needs from the world, as the narrowest interfaces that serve it. The CAMS integration and the
 * stores implement them; the core imports nothing else of theirs.
 */

/** A validated request: what the caller asked for. */
export interface FlowPreviewRequest {
  readonly flowId: string;
  readonly custSpaceId?: string;
}

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
