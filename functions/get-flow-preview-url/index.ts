/**
 * Flow Preview: Function Compute 3.0 handler (`index.handler`, runtime nodejs20) that answers with a temporary
 * WhatsApp Flow preview URL from CAMS `GetFlowPreviewUrl` (version 2020-06-06).
 *
 * Serves two event formats: the FC 3.0 HTTP trigger's "v1" struct (`GET /flows/{flowId}/preview-url`) and a direct
 * InvokeFunction payload (`{"flowId": "...", "custSpaceId": "..."}`). This file only composes; see shared/.
 */
import middy from '@middy/core';
import { createCamsClient } from '../../shared/cams/client.js';
import { loadFleetConfig } from '../../shared/config.js';
import { bindCaller, callerIdentity, type IdentifiedContext } from '../../shared/fc/caller-identity.js';
import { camsScope } from '../../shared/fc/cams-scope.js';
import { resolveCredentials } from '../../shared/fc/credentials.js';
import {
  type FcContext,
  type FcResult,
  type FlowPreviewContext,
  fcAdapter,
  type Invocation,
  type Reply,
} from '../../shared/fc/event.js';
import { httpHeaders, previewCacheHeaders } from '../../shared/fc/http-headers.js';
import { jsonErrors } from '../../shared/fc/json-errors.js';
import { invocationLog } from '../../shared/fc/log.js';
import { applyLinkParams } from '../../shared/fc/preview-link.js';
import { parseRequest } from '../../shared/fc/request.js';
import { withConfig } from '../../shared/fc/with-config.js';
import { type Fetched, getFlowPreview } from '../../shared/preview/get-flow-preview.js';
import { SingleFlight } from '../../shared/preview/single-flight.js';
import { MemoryPreviewCache } from '../../shared/store/memory.js';
import { StoreSelector } from '../../shared/store/select.js';

/** Links kept across warm invocations of this instance, and the CAMS calls in flight. No credentials inside. */
export const previewCache = new MemoryPreviewCache({ maxEntries: 1000 });
const previewCalls = new SingleFlight<Fetched>();
/** Memory, or Redis when REDIS_URL is set (its one connection kept while the instance is warm). */
export const stores = new StoreSelector({ memoryCache: previewCache });
// With REDIS_URL set, the client loads and connects while the instance starts, not inside its first invocation.
stores.warm(loadFleetConfig);

async function getFlowPreviewUrl(event: Invocation, context: IdentifiedContext): Promise<Reply> {
  const parsed = parseRequest(event);
  if (parsed.kind === 'preflight') return { statusCode: 204, headers: {}, body: undefined };
  // Tenant binding happens before the core: what reaches it (and its cache) is only what this caller may see.
  const request = bindCaller(parsed.request, context);
  const { refresh, link } = parsed;
  const { trace } = context;
  trace.flowId = request.flowId;
  if (request.custSpaceId !== undefined) trace.custSpaceId = request.custSpaceId;

  const config = context.config;
  if (config === undefined) throw new Error('withConfig() must run before the handler');
  const credentials = resolveCredentials(context, config);
  const store = stores.session(config.fleet);
  const result = await getFlowPreview(
    request,
    { refresh },
    {
      cams: createCamsClient(config.camsEndpoint, credentials),
      cache: store.cache,
      limiter: store.limiter,
      lease: store.lease,
      inFlight: previewCalls,
      scope: camsScope(config.camsEndpoint, context, credentials),
      maxAgeMs: config.fleet.previewMaxAgeMs,
      refreshIntervalMs: config.fleet.refreshIntervalMs,
      deadline: trace.deadline,
      camsTimeoutMs: config.camsTimeoutMs,
      onCamsCall: () => {
        trace.camsCalls += 1;
      },
      onRetry: (record) => {
        trace.retries.push(record);
      },
    },
  ).finally(() => {
    trace.store = store.kind;
    trace.storeFailure = store.failure;
  });
  trace.cache = result.cache;
  return {
    statusCode: 200,
    headers: previewCacheHeaders(result.cache, result.freshForMs),
    // Meta's parameters go on the caller's copy only; the cache keeps the bare link.
    body: { ...result.preview, previewUrl: applyLinkParams(result.preview.previewUrl, link) },
  };
}

// Order matters: `before` runs top-down, `after`/`onError` bottom-up. So the adapter decodes first and
// serialises last, the log sees the final reply, and the error boundary answers before headers are added.
const flowPreview = middy<Invocation, Reply, Error, IdentifiedContext>({ timeoutEarlyInMillis: 0 })
  .use(fcAdapter())
  .use(invocationLog())
  .use(withConfig())
  .use(httpHeaders())
  .use(jsonErrors())
  .use(callerIdentity())
  .handler(getFlowPreviewUrl);

/**
 * The FC entry point. FC's context is not AWS Lambda's, which middy's types assume; the adapter replaces it with
 * a `FlowPreviewContext` before anything reads it.
 */
export const handler = (event: unknown, context: FcContext): Promise<FcResult> =>
  flowPreview(event as Invocation, context as FlowPreviewContext) as Promise<unknown> as Promise<FcResult>;
