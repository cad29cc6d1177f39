/**
 * Flow Preview's handler, built from an instance's configuration: the FC 3.0 HTTP trigger's "v1" event
 * (`GET /flows/{flowId}/preview-url`) or a direct InvokeFunction payload (`{"flowId": "...", "custSpaceId": "..."}`)
 * in, a WhatsApp Flow preview link from CAMS `GetFlowPreviewUrl` (2020-06-06) out. This file only composes; the
 * pieces are in shared/.
 */
import middy from '@middy/core';
import { bindCaller, callerIdentity, type IdentifiedContext } from '../../shared/auth/caller-identity.js';
import { createCamsClient } from '../../shared/cams/client.js';
import type { ConfigResult } from '../../shared/config.js';
import { ConfigError } from '../../shared/config-error.js';
import { type FcHandler, fcAdapter, fcEntryPoint } from '../../shared/fc/adapter.js';
import { camsScope } from '../../shared/fc/cams-scope.js';
import { resolveCredentials } from '../../shared/fc/credentials.js';
import type { Invocation, Reply } from '../../shared/fc/event.js';
import { httpHeaders, previewCacheHeaders } from '../../shared/fc/http-headers.js';
import { jsonErrors } from '../../shared/fc/json-errors.js';
import { invocationLogger, type LogSink } from '../../shared/fc/logger.js';
import { parseRequest } from '../../shared/fc/request.js';
import { type Clock, systemClock } from '../../shared/preview/clock.js';
import { type Fetched, getFlowPreview } from '../../shared/preview/get-flow-preview.js';
import { applyLinkParams } from '../../shared/preview/preview-link.js';
import type { RetryPolicy } from '../../shared/preview/retry.js';
import { SingleFlight } from '../../shared/preview/single-flight.js';
import { FleetStores } from '../../shared/store/select.js';

export interface HandlerOptions {
  /** The instance's stores; default: memory, or Redis too with REDIS_URL (connecting as the instance starts). */
  readonly stores?: FleetStores;
  readonly clock?: Clock;
  readonly retryPolicy?: RetryPolicy;
  /** Where the log lines go; default: stdout. */
  readonly log?: LogSink;
}

/**
 * The handler of one instance. Its state (the cached links, the CAMS calls in flight, the Redis connection) lives
 * as long as the handler, as a warm FC instance's module state does. A configuration that failed to load is
 * answered to every invocation as 500 `ConfigInvalid`.
 */
export function createHandler(startup: ConfigResult, options: HandlerOptions = {}): FcHandler {
  const clock = options.clock ?? systemClock;
  const config = startup.ok ? startup.config : undefined;
  const instance = startup.ok
    ? {
        config: startup.config,
        stores: options.stores ?? new FleetStores(startup.config.fleet, { now: () => clock.now() }),
      }
    : startup.error;
  const inFlight = new SingleFlight<Fetched>();

  async function answerPreviewRequest(invocation: Invocation, context: IdentifiedContext): Promise<Reply> {
    if (instance instanceof ConfigError) throw instance;
    const { stores } = instance;
    const { camsEndpoint, fleet, camsTimeoutMs, jwt, envCredentials } = instance.config;
    const parsed = parseRequest(invocation);
    if (parsed.kind === 'preflight') return { statusCode: 204, headers: {}, body: undefined };
    // Tenant binding happens before the core: what reaches it (and its cache) is only what this caller may see.
    const request = bindCaller(parsed.request, context, jwt);
    context.log.appendKeys({ flowId: request.flowId, custSpaceId: request.custSpaceId });
    const credentials = resolveCredentials(context, envCredentials);
    const result = await getFlowPreview(
      request,
      {
        refresh: parsed.refresh,
        deadline: context.deadline,
        scope: camsScope(camsEndpoint, context, credentials),
      },
      {
        cams: createCamsClient(camsEndpoint, credentials),
        stores: stores.session(context.log),
        inFlight,
        settings: {
          maxAgeMs: fleet.previewMaxAgeMs,
          refreshIntervalMs: fleet.refreshIntervalMs,
          failureTtlMs: fleet.failureTtlMs,
          fairShare: fleet.fairShare,
          camsTimeoutMs,
          ...(options.retryPolicy ? { retryPolicy: options.retryPolicy } : {}),
        },
        clock,
        log: context.log,
      },
    );
    return {
      statusCode: 200,
      headers: previewCacheHeaders(result.cache, result.freshForMs),
      // Meta's parameters go on the caller's copy only; the cache keeps the bare link.
      body: { ...result.preview, previewUrl: applyLinkParams(result.preview.previewUrl, parsed.link) },
    };
  }

  // Order matters: `before` runs top-down, `after`/`onError` bottom-up. So the adapter decodes first and
  // serialises last, the log sees the final reply, and the error boundary answers before headers are added.
  return fcEntryPoint(
    middy<Invocation, Reply, Error, IdentifiedContext>({ timeoutEarlyInMillis: 0 })
      .use(fcAdapter({ now: () => clock.now() }))
      .use(invocationLogger({ secrets: startup.secrets, ...(options.log ? { sink: options.log } : {}) }))
      .use(
        httpHeaders({
          ...(config ? { corsAllowedOrigins: config.corsAllowedOrigins } : {}),
          varyOnAuthorization: config?.jwt !== undefined,
        }),
      )
      .use(jsonErrors())
      .use(callerIdentity(config?.jwt, () => clock.now()))
      .handler(answerPreviewRequest),
  );
}
