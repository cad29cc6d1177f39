/**
 * One JSON line per invocation, written with `process.stdout.write` so FC passes it through unprefixed and SLS
 * can parse it. Never the event or its headers (they carry tokens); every secret this invocation holds is
 * redacted from the finished line, whatever field it hid in.
 */
import type { MiddlewareObj, Request } from '@middy/core';
import { CamsError, ConfigError, HttpError } from '../errors.js';
import { isRecord } from '../is-record.js';
import { redact, secretValues } from '../secrets.js';
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
  const reply = request.response as Reply | undefined;
  const status = reply?.statusCode ?? 500;
  const errorBody = isRecord(reply?.body) && isRecord(reply.body['error']) ? reply.body['error'] : undefined;
  const record = {
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
    error: request.error ? describeError(request.error) : undefined,
  };
  const secrets = [...trace.secrets, ...secretValues(request.context.config?.envCredentials)];
  logSink.write(`${redact(JSON.stringify(record), secrets)}\n`);
}

interface ErrorRecord {
  name: string;
  message: string;
  cams?: unknown;
  stack?: string;
}

/** What the operator needs: CAMS failures as their safe data; unknown errors with their stack. */
function describeError(error: unknown): ErrorRecord {
  const cause = error instanceof HttpError ? error.cause : undefined;
  const cams = error instanceof CamsError ? error : cause instanceof CamsError ? cause : undefined;
  if (cams) return { name: cams.name, message: cams.message, cams: cams.failure };
  if (error instanceof ConfigError) return { name: error.name, message: error.detail };
  if (error instanceof HttpError && (error.expose || error.cause === undefined)) {
    return { name: error.name, message: error.message };
  }
  const root = error instanceof HttpError ? error.cause : error;
  if (root instanceof Error) return { name: root.name, message: root.message, stack: root.stack ?? '' };
  return { name: typeof root, message: String(root) };
}
