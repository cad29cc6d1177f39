/**
 * The core: a validated request in, the preview a caller receives out. A cached link is served while it is
 * valid; otherwise one CAMS call (shared by concurrent requests for the same key) runs with bounded retries
 * under the invocation's deadline. Plain async code; its dependencies arrive as arguments.
 */
import type { CamsClient, FlowPreviewRequest } from './ports.js';
import { type CachedPreview, type PreviewCache, previewCacheKey } from './ports.js';
import { type Clock, callWithRetries, type RetryPolicy, type RetryRecord, systemClock } from './retry.js';
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

export interface FlowPreviewDeps {
  readonly cams: CamsClient;
  readonly cache: PreviewCache;
  readonly inFlight: SingleFlight<CachedPreview>;
  /** Who asks (CAMS endpoint and AccessKeyId): cached links are never shared across identities. */
  readonly scope: string;
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

export async function getFlowPreview(
  request: FlowPreviewRequest,
  options: { readonly refresh: boolean },
  deps: FlowPreviewDeps,
): Promise<FlowPreviewResult> {
  const clock = deps.clock ?? systemClock;
  const key = previewCacheKey(deps.scope, request.custSpaceId, request.flowId);
  if (!options.refresh) {
    // A failing shared store must not fail the request: it only costs a CAMS call.
    const cached = await deps.cache.get(key).catch(() => undefined);
    if (cached !== undefined) return toResult(cached, 'hit', clock.now());
  }
  const { promise } = deps.inFlight.run(key, async () => {
    const answer = await callWithRetries(
      (timeoutMs) =>
        deps.cams.getFlowPreviewUrl(request, {
          timeoutMs,
          ...(deps.onCamsCall ? { onSent: deps.onCamsCall } : {}),
        }),
      {
        deadline: deps.deadline,
        attemptTimeoutMs: deps.camsTimeoutMs,
        clock,
        ...(deps.retryPolicy ? { policy: deps.retryPolicy } : {}),
        ...(deps.onRetry ? { onRetry: deps.onRetry } : {}),
      },
    );
    const validUntil = answer.previewUrlExpires - CACHE_SAFETY_MARGIN_MS;
    if (validUntil > clock.now()) await deps.cache.set(key, answer, validUntil).catch(() => undefined);
    return answer;
  });
  return toResult(await promise, options.refresh ? 'refresh' : 'miss', clock.now());
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
