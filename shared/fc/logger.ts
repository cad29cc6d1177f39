/**
 * One JSON line per invocation, built from fields that whoever learns a fact appends (`appendKeys`, as powertools'
 * logger does): the edge adds the request id, trace and kind, the handler the flow and space, the stores which one
 * served, the core the cache outcome, CAMS calls and retries. Nobody reads another layer's record.
 *
 * Written with `process.stdout.write` so FC passes it through unprefixed and SLS can parse it. Never the event or its
 * headers (they carry tokens), so nothing a caller sends is a secret here: a caller's input is only ever escaped.
 * Redaction works on the values the function owns — the invocation's role keys and the configured secrets — and
 * keeps the line valid JSON (see `Redactor.redactJson`).
 */
import type { MiddlewareObj, Request } from '@middy/core';
import { CamsError } from '../cams/errors.js';
import { ConfigError } from '../config-error.js';
import { isRecord } from '../is-record.js';
import { Redactor, secretValues } from '../secrets.js';
import type { InvocationContext } from './adapter.js';
import { toHttpError } from './error-table.js';
import type { Reply } from './event.js';
import { HttpError } from './http-errors.js';

/** Where finished lines go: FC's stdout, or a test's list. */
export type LogSink = (line: string) => void;

export const stdoutSink: LogSink = (line) => {
  process.stdout.write(line);
};

export interface LoggerOptions {
  readonly sink?: LogSink;
  /** Secrets the instance holds beyond the invocation's own keys (configured credentials, the Redis password). */
  readonly secrets: readonly string[];
}

type LogRequest = Request<unknown, unknown, Error, InvocationContext>;

/** Writes the invocation's line once its reply is final (registered right after the adapter). */
export function invocationLogger(
  options: LoggerOptions,
): MiddlewareObj<unknown, unknown, Error, InvocationContext> {
  const sink = options.sink ?? stdoutSink;
  /**
   * The last redactor built, reused while the secrets are the same (a warm instance's keys change only when FC
   * rotates them): building one sorts and escapes every form of every secret. One entry, so no rotated-out key is
   * kept.
   */
  let last: { readonly key: string; readonly redactor: Redactor } | undefined;
  const redactorFor = (secrets: string[]): Redactor => {
    const key = JSON.stringify(secrets);
    if (last?.key !== key) last = { key, redactor: new Redactor(secrets) };
    return last.redactor;
  };
  const write = (request: LogRequest): void => {
    const redactor = redactorFor([...readSecrets(request.context), ...options.secrets]);
    let line: string;
    try {
      // Each value is redacted as the text it is; the finished line once more as JSON, for anything that slipped by.
      line = JSON.stringify(record(request, redactor), (_key, value: unknown) =>
        typeof value === 'string' ? redactor.redact(value) : value,
      );
    } catch {
      // A record that cannot be built or serialised still yields a line (and still a redacted one).
      line = JSON.stringify({
        time: new Date().toISOString(),
        level: 'error',
        message: 'GetFlowPreviewUrl',
        requestId: request.context.requestId,
        error: { name: 'LogRecordError', message: 'the log record could not be built' },
      });
    }
    sink(`${redactor.redactJson(line)}\n`);
  };
  return { after: write, onError: write };
}

function readSecrets(context: InvocationContext): string[] {
  try {
    return secretValues(context.credentials);
  } catch {
    return [];
  }
}

function record(request: LogRequest, redactor: Redactor): Record<string, unknown> {
  const { context } = request;
  const reply = request.response as Reply | undefined;
  const status = reply?.statusCode ?? 500;
  const errorBody = isRecord(reply?.body) && isRecord(reply.body['error']) ? reply.body['error'] : undefined;
  return {
    time: new Date().toISOString(),
    level: status >= 500 ? 'error' : status === 429 || status === 403 ? 'warn' : 'info',
    message: 'GetFlowPreviewUrl',
    requestId: context.requestId,
    traceId: context.trace.traceId,
    // Every line counts CAMS calls, as before the fields were collected: 0 when nothing reached the core.
    camsCalls: 0,
    ...context.log.fields,
    status,
    outcome: errorBody ? errorBody['code'] : 'OK',
    camsRequestId: errorBody
      ? errorBody['requestId']
      : isRecord(reply?.body)
        ? reply.body['requestId']
        : undefined,
    latencyMs: Math.round((performance.now() - context.startedAt) * 10) / 10,
    error: request.error ? describeError(request.error, redactor) : undefined,
  };
}

/** How much of a bad configuration value the log quotes (after redaction). */
const CONFIG_DETAIL_MAX = 300;

interface ErrorRecord {
  name: string;
  message: string;
  cams?: unknown;
  detail?: Readonly<Record<string, unknown>>;
  stack?: string;
}

/** What the operator needs: CAMS failures as their safe data, known outcomes by name, unknown errors with a stack. */
function describeError(error: unknown, redactor: Redactor): ErrorRecord {
  const cause = error instanceof Error ? error.cause : undefined;
  const cams = error instanceof CamsError ? error : cause instanceof CamsError ? cause : undefined;
  if (cams)
    return {
      name: error instanceof Error ? error.name : cams.name,
      message: cams.message,
      cams: cams.failure,
    };
  if (error instanceof ConfigError) {
    return { name: error.name, message: redactor.excerpt(error.detail, CONFIG_DETAIL_MAX) };
  }
  // An outcome the error table knows says all there is in its message (and its log detail); anything else is a
  // fault, with its stack.
  if (error instanceof Error && toHttpError(error).code !== 'InternalError') {
    const detail = error instanceof HttpError ? error.logDetail : undefined;
    return { name: error.name, message: error.message, ...(detail ? { detail } : {}) };
  }
  return describeUnknown(error instanceof HttpError && error.cause !== undefined ? error.cause : error);
}

function describeUnknown(root: unknown): ErrorRecord {
  if (root instanceof Error) return { name: root.name, message: root.message, stack: root.stack ?? '' };
  return { name: typeof root, message: String(root) };
}
