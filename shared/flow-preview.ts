/**
 * The core: a validated request in, the preview a caller receives out. Plain async code; its dependencies
 * arrive as arguments so tests pass fakes and the handler passes real ones.
 */
import type { CamsClient } from './cams-client.js';
import type { FlowPreviewRequest } from './request.js';

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

export interface FlowPreviewDeps {
  readonly cams: CamsClient;
  readonly camsTimeoutMs: number;
  /** Called once per CAMS call, for the invocation's log line. */
  readonly onCamsCall?: () => void;
}

export async function getFlowPreview(
  request: FlowPreviewRequest,
  deps: FlowPreviewDeps,
): Promise<FlowPreview> {
  deps.onCamsCall?.();
  const answer = await deps.cams.getFlowPreviewUrl(request, { timeoutMs: deps.camsTimeoutMs });
  return {
    flowId: answer.flowId,
    previewUrl: answer.previewUrl,
    previewUrlExpires: answer.previewUrlExpires,
    expiresAt: new Date(answer.previewUrlExpires).toISOString(),
    requestId: answer.requestId,
  };
}
