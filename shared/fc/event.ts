/**
 * Function Compute 3.0 events and context, and the adapter middleware that runs first.
 *
 * FC hands the handler a Buffer. An HTTP trigger sends the "v1" struct (`version`, `rawPath`, `headers`,
 * `queryParameters`, `body`, `isBase64Encoded`, `requestContext.http.method`); InvokeFunction sends whatever bytes
 * the caller chose. The adapter decodes the bytes once, tells the two forms apart, and on the way out serialises
 * the internal `Reply` into what each form expects: the full HTTP response struct, or the bare JSON object.
 */
import type { MiddlewareObj } from '@middy/core';
import type { Context as LambdaContext } from 'aws-lambda';
import type { Config } from '../config.js';
import { isRecord } from '../is-record.js';
import type { CacheOutcome } from '../preview/get-flow-preview.js';
import type { RetryRecord } from '../preview/retry.js';
import { secretValues } from '../secrets.js';

export interface FcCredentials {
  readonly accessKeyId?: string;
  readonly accessKeySecret?: string;
  readonly securityToken?: string;
}

/** The context FC passes to a Node.js handler. */
export interface FcContext {
  readonly requestId?: string;
  readonly region?: string;
  readonly accountId?: string;
  readonly credentials?: FcCredentials;
  readonly function?: {
    readonly name?: string;
    readonly handler?: string;
    readonly memory?: number;
    /** Seconds. */
    readonly timeout?: number;
  };
}

/** What one invocation records for its log line; filled by the middlewares and the core as it runs. */
export interface InvocationTrace {
  readonly requestId: string;
  /** `performance.now()` at the start, for the latency. */
  readonly startedAt: number;
  /** Epoch ms by which the answer must be written (see `invocationDeadline`). */
  readonly deadline: number;
  kind: 'http' | 'direct';
  flowId?: string;
  custSpaceId?: string;
  cache?: CacheOutcome;
  /** Which store served (`redis`, `memory`, or `degraded` when Redis failed and memory stood in). */
  store?: 'redis' | 'memory' | 'degraded';
  /** Why Redis failed, in words safe to log (`timeout`, `unavailable`, `auth`, `full`, `error`). */
  storeFailure?: string | undefined;
  camsCalls: number;
  retries: RetryRecord[];
  /**
   * The invocation's key id, secret and token, read once up front, so the log can redact them whatever fails.
   * The one list of per-invocation secrets: anything else secret the invocation meets (a caller's bearer token) is
   * pushed here, and the log line redacts it too.
   */
  readonly secrets: string[];
}

/** The function timeout assumed when the context does not give one (seconds): what s.yaml deploys. */
export const DEFAULT_FUNCTION_TIMEOUT_S = 10;

/**
 * The instant by which the function must have answered: the function's timeout less a margin for writing the
 * response and the log line (10%, within 200 ms – 1 s). FC has no `getRemainingTimeInMillis`; past the deadline the
 * answer is a 504, never an instance killed mid-write.
 */
export function invocationDeadline(context: FcContext, startedAtMs: number): number {
  let timeoutS: unknown;
  try {
    timeoutS = context.function?.timeout;
  } catch {
    timeoutS = undefined;
  }
  const budgetMs =
    (typeof timeoutS === 'number' && Number.isFinite(timeoutS) && timeoutS > 0
      ? timeoutS
      : DEFAULT_FUNCTION_TIMEOUT_S) * 1000;
  const marginMs = Math.min(1000, Math.max(200, budgetMs * 0.1));
  return startedAtMs + Math.max(0, budgetMs - marginMs);
}

/** The context the middlewares and the inner handler see: FC's, plus what this function adds per invocation. */
export type FlowPreviewContext = LambdaContext &
  FcContext & {
    config?: Config;
    trace: InvocationTrace;
  };

/** An HTTP trigger request, normalised: header names lower-cased, body still as FC sent it. */
export interface HttpInvocation {
  readonly kind: 'http';
  readonly method: string;
  /** URL-encoded, as in `rawPath`. */
  readonly rawPath: string;
  readonly headers: ReadonlyMap<string, string>;
  /** `undefined` values were not strings in the event. */
  readonly query: ReadonlyMap<string, string | undefined>;
  readonly body: string;
  readonly isBase64Encoded: boolean;
}

/** A direct invocation (InvokeFunction): the decoded JSON payload, or `malformed` when it was not JSON. */
export interface DirectInvocation {
  readonly kind: 'direct';
  readonly payload: unknown;
  readonly malformed: boolean;
}

export type Invocation = HttpInvocation | DirectInvocation;

/** The inner handler's answer, before serialisation. `body: undefined` means no body (204). */
export interface Reply {
  statusCode: number;
  headers: Record<string, string>;
  body: unknown;
}

/** What FC expects back from an HTTP-trigger invocation. */
export interface FcHttpResponse {
  statusCode: number;
  headers: Record<string, string>;
  isBase64Encoded: false;
  body: string;
}

export type FcResult = FcHttpResponse | Record<string, unknown>;

/** Decodes FC's event (a Buffer; a string or object is tolerated for local callers) into an `Invocation`. */
export function decodeInvocation(event: unknown): Invocation {
  try {
    return decode(event);
  } catch {
    return { kind: 'direct', payload: undefined, malformed: true };
  }
}

function decode(event: unknown): Invocation {
  let parsed: unknown;
  if (typeof event === 'string' || event instanceof Uint8Array) {
    // Bytes that are not JSON make JSON.parse throw: decodeInvocation answers that as a malformed payload.
    parsed = JSON.parse(typeof event === 'string' ? event : Buffer.from(event).toString('utf8'));
  } else {
    parsed = event;
  }
  return asHttpInvocation(parsed) ?? { kind: 'direct', payload: parsed, malformed: false };
}

function asHttpInvocation(value: unknown): HttpInvocation | undefined {
  if (!isRecord(value) || value['version'] !== 'v1') return undefined;
  const requestContext = value['requestContext'];
  const http = isRecord(requestContext) ? requestContext['http'] : undefined;
  if (!isRecord(http) || typeof http['method'] !== 'string') return undefined;
  const rawPath = typeof value['rawPath'] === 'string' ? value['rawPath'] : http['path'];
  if (typeof rawPath !== 'string') return undefined;
  return {
    kind: 'http',
    method: http['method'].toUpperCase(),
    rawPath,
    headers: lowerCaseHeaders(value['headers']),
    query: stringMap(value['queryParameters']),
    body: typeof value['body'] === 'string' ? value['body'] : '',
    isBase64Encoded: value['isBase64Encoded'] === true,
  };
}

function lowerCaseHeaders(value: unknown): Map<string, string> {
  const headers = new Map<string, string>();
  if (!isRecord(value)) return headers;
  for (const [name, headerValue] of Object.entries(value)) {
    if (typeof headerValue !== 'string') continue;
    const key = name.toLowerCase();
    const previous = headers.get(key);
    // FC joins repeated headers with commas; do the same for names that differ only in case.
    headers.set(key, previous === undefined ? headerValue : `${previous},${headerValue}`);
  }
  return headers;
}

function stringMap(value: unknown): Map<string, string | undefined> {
  const map = new Map<string, string | undefined>();
  if (!isRecord(value)) return map;
  for (const [name, entry] of Object.entries(value)) {
    map.set(name, typeof entry === 'string' ? entry : undefined);
  }
  return map;
}

const LAST_RESORT: Reply = {
  statusCode: 500,
  headers: {},
  body: { error: { code: 'InternalError', message: 'Internal error', status: 500 } },
};

/**
 * The adapter: decodes the event before anything else runs and serialises the reply after everything else.
 * It is registered first, so its `after`/`onError` run last and see the final `Reply`.
 */
export function fcAdapter(): MiddlewareObj<unknown, unknown, Error, FlowPreviewContext> {
  return {
    before: (request) => {
      const invocation = decodeInvocation(request.event);
      request.event = invocation;
      const fc: FcContext = request.context ?? {};
      const trace: InvocationTrace = {
        // The global Web Crypto, not node:crypto: loading that at cold start costs ms for a local-only fallback.
        requestId: readRequestId(fc) ?? `local-${crypto.randomUUID()}`,
        startedAt: performance.now(),
        deadline: invocationDeadline(fc, Date.now()),
        kind: invocation.kind,
        camsCalls: 0,
        retries: [],
        secrets: readSecrets(fc),
      };
      // The trace goes in first, so that even a context that cannot be copied still yields a logged 500.
      request.context = { trace } as FlowPreviewContext;
      // A fresh context object per invocation: callers may reuse theirs, and nothing here must leak into it.
      request.context = { ...(fc as FlowPreviewContext), trace };
    },
    after: (request) => {
      request.response = serialise(request.event, request.response);
    },
    onError: (request) => {
      // The error boundary has run by now; if it could not answer, answer with the last-resort 500.
      request.response = serialise(request.event, isReply(request.response) ? request.response : LAST_RESORT);
    },
  };
}

function serialise(event: unknown, response: unknown): FcResult {
  const reply = isReply(response) ? response : LAST_RESORT;
  const isHttp = isRecord(event) && event['kind'] === 'http';
  if (!isHttp) return isRecord(reply.body) ? reply.body : (LAST_RESORT.body as Record<string, unknown>);
  return {
    statusCode: reply.statusCode,
    headers: reply.headers,
    isBase64Encoded: false,
    body: reply.body === undefined ? '' : JSON.stringify(reply.body),
  };
}

function isReply(value: unknown): value is Reply {
  return isRecord(value) && typeof value['statusCode'] === 'number' && isRecord(value['headers']);
}

function readSecrets(context: FcContext): string[] {
  try {
    return secretValues(context.credentials);
  } catch {
    return [];
  }
}

function readRequestId(context: FcContext): string | undefined {
  try {
    const value = context.requestId;
    return typeof value === 'string' && value !== '' ? value : undefined;
  } catch {
    return undefined;
  }
}
