/**
 * The CAMS GetFlowPreviewUrl call over @alicloud/openapi-client (RPC style, V3 signature): credentials in, a
 * typed result or a `CamsError` out. A client is made per invocation because credentials rotate.
 */
import { randomUUID } from 'node:crypto';
import { subscribe } from 'node:diagnostics_channel';
import type { ClientRequest, IncomingMessage } from 'node:http';
import type OpenApiClient from '@alicloud/openapi-client';
import { OpenApiRequest } from '@alicloud/openapi-client';
import { RuntimeOptions } from '@alicloud/tea-util';
import type { Credentials, Endpoint } from '../config.js';
import { CamsError, type DeniedSummary } from '../errors.js';
import { isRecord } from '../is-record.js';
import type { CamsCallOptions, CamsClient, CamsPreview, FlowPreviewRequest } from '../preview/ports.js';
import { openApiClient, rpcParams } from './openapi.js';

const PARAMS = rpcParams('GetFlowPreviewUrl', '2020-06-06');

const USER_AGENT = 'flow-preview/0.1';

export function createCamsClient(endpoint: Endpoint, credentials: Credentials): CamsClient {
  const client = openApiClient(endpoint, credentials, USER_AGENT);
  return {
    getFlowPreviewUrl: (request, options) => call(client, request, options),
  };
}

async function call(
  client: OpenApiClient,
  request: FlowPreviewRequest,
  { timeoutMs }: CamsCallOptions,
): Promise<CamsPreview> {
  const body: Record<string, string> = { FlowId: request.flowId };
  if (request.custSpaceId !== undefined) body['CustSpaceId'] = request.custSpaceId;
  const callId = randomUUID();
  const seen: SeenResponse = { statusCode: undefined, headers: {} };
  pending.set(callId, seen);
  let timer: NodeJS.Timeout | undefined;
  try {
    const result: Record<string, unknown> = await Promise.race([
      client.callApi(
        PARAMS,
        new OpenApiRequest({ body, headers: { [CALL_ID_HEADER]: callId } }),
        new RuntimeOptions({ readTimeout: timeoutMs, connectTimeout: timeoutMs }),
      ),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new CamsError({ kind: 'timeout', timeoutMs })), timeoutMs);
      }),
    ]);
    return readSuccess(Number(result['statusCode']), result['body'], seen, request);
  } catch (error) {
    throw toCamsError(error, seen, timeoutMs);
  } finally {
    clearTimeout(timer);
    releaseReadTimer(seen);
    pending.delete(callId);
  }
}

/**
 * openapi-client throws on HTTP ≥ 400 without the response headers, which carry the rate-limit hint
 * (`x-ratelimit-user-api: Limit:5,Remain:0,TimeLeft:800`) and the request id of unreadable bodies. Node's
 * http diagnostics channel shows every client response; a per-call header ties it back to the call.
 */
const CALL_ID_HEADER = 'x-flow-preview-call-id';

interface SeenResponse {
  statusCode: number | undefined;
  headers: IncomingMessage['headers'];
  /** httpx's read timer for this request (see `releaseReadTimer`). */
  readTimer?: unknown;
}

const pending = new Map<string, SeenResponse>();

subscribe('http.client.response.finish', (message) => {
  const { request, response } = message as { request: ClientRequest; response: IncomingMessage };
  const callId = request.getHeader(CALL_ID_HEADER);
  const seen = typeof callId === 'string' ? pending.get(callId) : undefined;
  if (seen === undefined) return;
  seen.statusCode = response.statusCode;
  seen.headers = response.headers;
  seen.readTimer = readTimerOf(request.socket);
});

/**
 * httpx (under openapi-client) arms a read timer on the socket for each request and clears it only in its own
 * `read()`, which tea-util never calls. Each call's request and response then stay alive until `readTimeout`
 * elapses: about 9 KB per call for 5 s, tens of MB under a burst. The deadline is ours (the race in `call`), so
 * the timer is cleared once the call settles. It is taken when the response arrives, while the socket is still
 * this request's: a pooled socket may carry another request's timer by the time the call settles.
 */
function readTimerOf(socket: unknown): unknown {
  if (typeof socket !== 'object' || socket === null) return undefined;
  const key = Object.getOwnPropertySymbols(socket).find(
    (symbol) => symbol.description === 'TIMER::READ_TIMER',
  );
  return key === undefined ? undefined : (socket as Record<symbol, unknown>)[key];
}

function releaseReadTimer(seen: SeenResponse): void {
  const timer = seen.readTimer;
  if (timer !== undefined && timer !== null) clearTimeout(timer as NodeJS.Timeout);
}

function readSuccess(
  statusCode: number,
  body: unknown,
  seen: SeenResponse,
  request: FlowPreviewRequest,
): CamsPreview {
  const requestId = readRequestId(body, seen);
  const malformed = (reason: string): CamsError =>
    new CamsError({ kind: 'malformed', httpStatus: statusCode, requestId, reason });
  if (!isRecord(body)) throw malformed('body is not a JSON object');
  const code = body['Code'];
  if (code !== 'OK') {
    // CAMS may report a business error as HTTP 200 with Code ≠ "OK": the same path as an HTTP 4xx.
    throw codeError(code, statusCode, requestId, body['AccessDeniedDetail'], seen) ?? malformed('no Code');
  }
  if (requestId === undefined) throw malformed('no RequestId');
  const data = body['Data'];
  if (!isRecord(data)) throw malformed('no Data');
  const previewUrl = data['PreviewUrl'];
  if (typeof previewUrl !== 'string' || !isHttpsUrl(previewUrl))
    throw malformed('Data.PreviewUrl is not an https URL');
  const previewUrlExpires = toEpochMs(data['PreviewUrlExpires']);
  if (previewUrlExpires === undefined) throw malformed('Data.PreviewUrlExpires is not epoch milliseconds');
  return { flowId: request.flowId, previewUrl, previewUrlExpires, requestId };
}

function toCamsError(error: unknown, seen: SeenResponse, timeoutMs: number): CamsError {
  if (error instanceof CamsError) return error;
  const fields = isRecord(error) ? error : {};
  if (fields['name'] === 'RequestTimeoutError')
    return new CamsError({ kind: 'timeout', timeoutMs }, { cause: error });
  // A response was seen: either openapi-client's HTTP ≥ 400 error, or a body it could not parse.
  if (seen.statusCode !== undefined) {
    const data = isRecord(fields['data']) ? fields['data'] : undefined;
    const requestId = readRequestId(data, seen);
    const detail = fields['accessDeniedDetail'] ?? data?.['AccessDeniedDetail'];
    const fromCode = data
      ? codeError(data['Code'] ?? data['code'], seen.statusCode, requestId, detail, seen)
      : undefined;
    if (fromCode) return fromCode;
    return new CamsError(
      { kind: 'malformed', httpStatus: seen.statusCode, requestId, reason: 'body is not a CAMS JSON answer' },
      { cause: error },
    );
  }
  const errorCode = typeof fields['code'] === 'string' ? fields['code'] : undefined;
  if (errorCode !== undefined && /^E[A-Z_]+$/.test(errorCode)) {
    return new CamsError({ kind: 'network', errorCode }, { cause: error });
  }
  return new CamsError({ kind: 'network', errorCode: 'UNKNOWN' }, { cause: error });
}

/** A CAMS error code is an identifier like `Throttling.User`; anything else is not trusted as one. */
const CAMS_CODE = /^[A-Za-z][A-Za-z0-9_.-]{0,79}$/;

function codeError(
  code: unknown,
  httpStatus: number,
  requestId: string | undefined,
  accessDeniedDetail: unknown,
  seen: SeenResponse,
): CamsError | undefined {
  if (typeof code !== 'string' || !CAMS_CODE.test(code)) return undefined;
  return new CamsError({
    kind: 'code',
    code,
    httpStatus,
    requestId,
    retryAfterMs: readTimeLeft(seen.headers),
    denied: summariseDenial(accessDeniedDetail),
  });
}

function readRequestId(body: unknown, seen: SeenResponse): string | undefined {
  const fromBody = isRecord(body) ? body['RequestId'] : undefined;
  if (typeof fromBody === 'string' && fromBody !== '') return fromBody;
  const fromHeader = seen.headers['x-acs-request-id'];
  return typeof fromHeader === 'string' && fromHeader !== '' ? fromHeader : undefined;
}

/** `TimeLeft` (ms) from `x-ratelimit-user-api` or `x-ratelimit-user`, e.g. `Limit:5,Remain:0,TimeLeft:800,…`. */
export function readTimeLeft(headers: IncomingMessage['headers']): number | undefined {
  for (const name of ['x-ratelimit-user-api', 'x-ratelimit-user']) {
    const value = headers[name];
    const match = typeof value === 'string' ? /(?:^|,)\s*TimeLeft:(\d{1,9})\s*(?:,|$)/.exec(value) : null;
    if (match?.[1] !== undefined) return Number(match[1]);
  }
  return undefined;
}

/** Keeps what tells the operator which permission is missing; drops principal ids and encoded diagnostics. */
function summariseDenial(detail: unknown): DeniedSummary | undefined {
  if (!isRecord(detail)) return undefined;
  const summary: DeniedSummary = {};
  const field = (key: string): string | undefined => {
    const value = detail[key];
    return typeof value === 'string' && CAMS_CODE.test(value.replace(/:/g, '.')) ? value : undefined;
  };
  const authAction = field('AuthAction');
  const noPermissionType = field('NoPermissionType');
  const policyType = field('PolicyType');
  if (authAction) summary.authAction = authAction;
  if (noPermissionType) summary.noPermissionType = noPermissionType;
  if (policyType) summary.policyType = policyType;
  return summary;
}

function isHttpsUrl(value: string): boolean {
  try {
    return new URL(value).protocol === 'https:';
  } catch {
    return false;
  }
}

const MAX_DATE_MS = 8.64e15;

function toEpochMs(value: unknown): number | undefined {
  const n = typeof value === 'string' && /^\d{1,16}$/.test(value) ? Number(value) : value;
  return typeof n === 'number' && Number.isSafeInteger(n) && n > 0 && n <= MAX_DATE_MS ? n : undefined;
}
