/**
 * The FC adapter, the middleware that runs first: it decodes FC's event before anything else runs, gives the
 * invocation its context (request id, deadline, trace, log fields), and after everything else serialises the
 * internal `Reply` into what each event form expects: the full HTTP response struct, or the bare JSON object.
 */
import type { MiddlewareObj } from '@middy/core';
import type { Context as LambdaContext } from 'aws-lambda';
import { isRecord } from '../is-record.js';
import { decodeInvocation, type FcContext, type FcResult, type Invocation, type Reply } from './event.js';
import { InvocationLog } from './invocation-log.js';
import { type TraceContext, traceContext } from './trace-context.js';

/**
 * What every middleware and the inner handler see: FC's context, plus what this function adds per invocation.
 * middy's types want AWS Lambda's context; FC's is not that, so the type says both (nothing reads Lambda's fields).
 */
export type InvocationContext = LambdaContext &
  FcContext & {
    readonly requestId: string;
    /** `performance.now()` at the start, for the latency. */
    readonly startedAt: number;
    /** Epoch ms by which the answer must be written (see `invocationDeadline`). */
    readonly deadline: number;
    readonly trace: TraceContext;
    /** The invocation's log line, to which anyone appends what it learns. */
    readonly log: InvocationLog;
  };

/** The FC entry point's shape. */
export type FcHandler = (event: unknown, context: FcContext) => Promise<FcResult>;

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

const LAST_RESORT: Reply = {
  statusCode: 500,
  headers: {},
  body: { error: { code: 'InternalError', message: 'Internal error', status: 500 } },
};

export interface AdapterOptions {
  /** Epoch ms, for the deadline (tests pass their clock). */
  readonly now?: () => number;
}

/**
 * The adapter. It is registered first, so its `after`/`onError` run last and see the final `Reply`. Direct
 * invocations that sent a `traceparent` get it back beside the answer; HTTP replies carry it as a header.
 */
export function fcAdapter(
  options: AdapterOptions = {},
): MiddlewareObj<unknown, unknown, Error, InvocationContext> {
  const now = options.now ?? Date.now;
  return {
    before: (request) => {
      const invocation = decodeInvocation(request.event);
      request.event = invocation;
      const fc: FcContext = request.context ?? {};
      const base = {
        // The global Web Crypto, not node:crypto: loading that at cold start costs ms for a local-only fallback.
        requestId: readRequestId(fc) ?? `local-${crypto.randomUUID()}`,
        startedAt: performance.now(),
        deadline: invocationDeadline(fc, now()),
        trace: traceContext(sentTraceparent(invocation)),
        log: new InvocationLog(),
      };
      base.log.appendKeys({ kind: invocation.kind });
      if (base.trace.parentId !== undefined) base.log.appendKeys({ parentSpanId: base.trace.parentId });
      // The base goes in first, so that even a context that cannot be copied still yields a logged 500; with the
      // keys read on their own, so that line can still redact them (the copy may fail on another field).
      const credentials = readCredentials(fc);
      request.context = (credentials === undefined ? base : { ...base, credentials }) as InvocationContext;
      // A fresh context object per invocation: callers may reuse theirs, and nothing here must leak into it.
      request.context = { ...(fc as InvocationContext), ...base };
    },
    after: (request) => {
      request.response = serialise(request.event, request.response, request.context);
    },
    onError: (request) => {
      // The error boundary has run by now; if it could not answer, answer with the last-resort 500.
      const reply = isReply(request.response) ? request.response : LAST_RESORT;
      request.response = serialise(request.event, reply, request.context);
    },
  };
}

/** The `traceparent` the caller sent: the HTTP header, or a direct payload's field. */
function sentTraceparent(invocation: Invocation): unknown {
  if (invocation.kind === 'http') return invocation.headers.get('traceparent');
  return isRecord(invocation.payload) ? invocation.payload['traceparent'] : undefined;
}

function serialise(event: unknown, response: unknown, context: InvocationContext | undefined): FcResult {
  const reply = isReply(response) ? response : LAST_RESORT;
  const invocation = event as Invocation | undefined;
  if (invocation?.kind !== 'http') {
    const body = isRecord(reply.body) ? reply.body : (LAST_RESORT.body as Record<string, unknown>);
    const sent = invocation === undefined ? undefined : sentTraceparent(invocation);
    return sent !== undefined && context?.trace !== undefined
      ? { ...body, traceparent: context.trace.traceparent }
      : body;
  }
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

function readCredentials(context: FcContext): FcContext['credentials'] {
  try {
    return context.credentials;
  } catch {
    return undefined;
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

/**
 * The chain as FC calls it. middy types a chain by what its inner handler takes and returns (an `Invocation` and a
 * `Reply`); FC hands it a Buffer and an FC context and gets back what the adapter serialised. The adapter is what
 * makes both true, so the types are restated here, once.
 */
export function fcEntryPoint<TContext extends InvocationContext>(
  chain: (event: Invocation, context: TContext) => Promise<Reply>,
): FcHandler {
  return (event, context) =>
    chain(event as Invocation, context as TContext) as Promise<unknown> as Promise<FcResult>;
}
