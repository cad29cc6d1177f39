/**
 * One JSON line per invocation, written with `process.stdout.write` so FC passes it through unprefixed and SLS
 * can parse it. Never the event or its headers (they carry tokens). Every secret the process knows — the
 * invocation's keys and whatever else the invocation added to `trace.secrets` (a caller's token), the
 * `ALIBABA_CLOUD_*` keys and the Redis password from the raw environment (so a broken config cannot hide them) — is
 * redacted from every excerpt before it is shortened and from the finished line, whatever field it hid in.
 */
import type { MiddlewareObj, Request } from '@middy/core';
import { processSecrets } from '../config.js';
import { CamsError, ConfigError, HttpError } from '../errors.js';
import { isRecord } from '../is-record.js';
import { Redactor, secretValues } from '../secrets.js';
import type { FlowPreviewContext, Reply } from './event.js';

/** Where log lines go; tests swap `write` to capture them. */
export const logSink = {
  write: (line: string): void => {
    process.stdout.write(line);
  },
};

type LogRequest = Request<unknown, unknown, Error, FlowPreviewContext>;

export function invocationLog(): MiddlewareObj<unknown, unknown, Error, FlowPreviewContext> {
  return { after: write, onError: write };
}

function write(request: LogRequest): void {
  const { trace } = request.context;
  const redactor = redactorFor([
    ...trace.secrets,
    ...processSecrets(),
    ...secretValues(request.context.config?.envCredentials),
  ]);
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
      requestId: trace.requestId,
      error: { name: 'LogRecordError', message: 'the log record could not be built' },
    });
  }
  logSink.write(`${redactor.redactJson(line)}\n`);
}

/**
 * The last redactor built, reused while the secrets are the same ones (a warm instance's keys change only when FC
 * rotates them): building one sorts and escapes every form of every secret, a sizeable part of each log line's
 * cost. One entry, replaced when the secrets change, so no rotated-out key is kept.
 */
let lastRedactor: { readonly key: string; readonly redactor: Redactor } | undefined;

function redactorFor(secrets: string[]): Redactor {
  const key = JSON.stringify(secrets);
  if (lastRedactor?.key !== key) lastRedactor = { key, redactor: new Redactor(secrets) };
  return lastRedactor.redactor;
}

function record(request: LogRequest, redactor: Redactor): Record<string, unknown> {
  const { trace } = request.context;
  const reply = request.response as Reply | undefined;
  const status = reply?.statusCode ?? 500;
  const errorBody = isRecord(reply?.body) && isRecord(reply.body['error']) ? reply.body['error'] : undefined;
  return {
    time: new Date().toISOString(),
    level: status >= 500 ? 'error' : status === 429 || status === 403 ? 'warn' : 'info',
    message: 'GetFlowPreviewUrl',
    requestId: trace.requestId,
    kind: trace.kind,
    flowId: trace.flowId,
    custSpaceId: trace.custSpaceId,
    status,
    outcome: errorBody ? errorBody['code'] : 'OK',
    camsRequestId: errorBody
      ? errorBody['requestId']
      : isRecord(reply?.body)
        ? reply.body['requestId']
        : undefined,
    cache: trace.cache,
    store: trace.store,
    storeFailure: trace.storeFailure,
    camsCalls: trace.camsCalls,
    retries: trace.retries.length > 0 ? trace.retries : undefined,
    latencyMs: Math.round((performance.now() - trace.startedAt) * 10) / 10,
    error: request.error ? describeError(request.error, redactor) : undefined,
  };
}

/** How much of a bad configuration value the log quotes (after redaction). */
const CONFIG_DETAIL_MAX = 300;

interface ErrorRecord {
  name: string;
  message: string;
  cams?: unknown;
  stack?: string;
}

/** What the operator needs: CAMS failures as their safe data; unknown errors with their stack. */
function describeError(error: unknown, redactor: Redactor): ErrorRecord {
  const cause = error instanceof HttpError ? error.cause : undefined;
  const cams = error instanceof CamsError ? error : cause instanceof CamsError ? cause : undefined;
  if (cams) return { name: cams.name, message: cams.message, cams: cams.failure };
  if (error instanceof ConfigError) {
    return { name: error.name, message: redactor.excerpt(error.detail, CONFIG_DETAIL_MAX) };
  }
  if (error instanceof HttpError && (error.expose || error.cause === undefined)) {
    return { name: error.name, message: error.message };
  }
  const root = error instanceof HttpError ? error.cause : error;
  if (root instanceof Error) return { name: root.name, message: root.message, stack: root.stack ?? '' };
  return { name: typeof root, message: String(root) };
}
