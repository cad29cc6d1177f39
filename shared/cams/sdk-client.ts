/**
 * The CAMS GetFlowPreviewUrl call over @alicloud/openapi-client (RPC style, V3 signature): credentials in, a
 * typed result or a `CamsError` out (or `CamsRequestNotSentError` when nothing could be sent). Credentials arrive
 * with each invocation (they rotate); the openapi-client behind them is reused only while they stay the same.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type OpenApiClient from '@alicloud/openapi-client';
import { OpenApiRequest } from '@alicloud/openapi-client';
import { RuntimeOptions } from '@alicloud/tea-util';
import type { Credentials, Endpoint } from '../config.js';
import { isRecord } from '../is-record.js';
import type { CamsClient, CamsPreview, FetchOptions, FlowPreviewRequest } from '../preview/ports.js';
import {
  CAMS_CODE,
  CamsError,
  CamsRequestNotSentError,
  type DeniedSummary,
  reviveCamsFailure,
} from './errors.js';
import { openApiClient, rpcParams } from './openapi.js';
import { endWireCall, traceWireCall, useNativeDoAction, type WireCall } from './sdk-workarounds.js';

// Loaded with the SDK, before its first call (see `generatorDoAction` in sdk-workarounds.ts).
useNativeDoAction();

const PARAMS = rpcParams('GetFlowPreviewUrl', '2020-06-06');

const USER_AGENT = 'flow-preview/0.1';

/**
 * The SDK's own timeouts sit a little past ours, so the deadline this client enforces (and the `timeout` failure
 * it reports) is the one that rules; they remain a backstop.
 */
const SDK_TIMEOUT_SLACK_MS = 250;

export function createSdkCamsClient(endpoint: Endpoint, credentials: Credentials): CamsClient {
  const client = clientFor(endpoint, credentials);
  return {
    fetchPreviewUrl: (request, options) => call(client, request, options),
    reviveFailure: reviveCamsFailure,
  };
}

/**
 * The last openapi-client made, reused while the endpoint and keys stay the same (an instance's role keys change
 * only when FC rotates them): building one allocates its config model and credential on every warm call
 * otherwise. One entry, replaced on rotation, so no old keys are kept.
 */
let lastClient: { readonly key: string; readonly client: OpenApiClient } | undefined;

function clientFor(endpoint: Endpoint, credentials: Credentials): OpenApiClient {
  const key = JSON.stringify([
    endpoint.host,
    endpoint.protocol,
    credentials.accessKeyId,
    credentials.accessKeySecret,
    credentials.securityToken ?? '',
  ]);
  if (lastClient?.key !== key) lastClient = { key, client: openApiClient(endpoint, credentials, USER_AGENT) };
  return lastClient.client;
}

/**
 * One attempt. It ends — by success, failure, its own timeout or the caller's abort — with its request and socket
 * gone unless the answer was read to the end (then the socket goes back to the keep-alive pool).
 */
async function call(
  client: OpenApiClient,
  request: FlowPreviewRequest,
  { timeoutMs, signal, onSent }: FetchOptions,
): Promise<CamsPreview> {
  signal?.throwIfAborted();
  const body: Record<string, string> = { FlowId: request.flowId };
  if (request.custSpaceId !== undefined) body['CustSpaceId'] = request.custSpaceId;
  const sdkTimeoutMs = timeoutMs + SDK_TIMEOUT_SLACK_MS;
  const { call: wire, result } = traceWireCall(onSent, (headers) =>
    client.callApi(
      PARAMS,
      new OpenApiRequest({ body, headers }),
      new RuntimeOptions({ readTimeout: sdkTimeoutMs, connectTimeout: sdkTimeoutMs }),
    ),
  );
  // The SDK's promise may settle after the call has ended (it is abandoned then): never an unhandled rejection.
  result.catch(() => undefined);
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const cutOff = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new CamsError({ kind: 'timeout', timeoutMs })), timeoutMs);
    if (signal !== undefined) {
      onAbort = () => reject(signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });
    }
  });
  try {
    const answer: Record<string, unknown> = await Promise.race([result, cutOff]);
    return readSuccess(Number(answer['statusCode']), answer['body'], wire, request);
  } catch (error) {
    if (signal?.aborted && error === signal.reason) throw error;
    throw toCamsError(error, wire, timeoutMs);
  } finally {
    clearTimeout(timer);
    if (onAbort !== undefined) signal?.removeEventListener('abort', onAbort);
    endWireCall(wire);
  }
}

function readSuccess(
  statusCode: number,
  body: unknown,
  seen: WireCall,
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

function toCamsError(error: unknown, seen: WireCall, timeoutMs: number): Error {
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
  // Nothing left the process: Node or the SDK refused to build the request (a header value with a control
  // character, an argument of the wrong type: `ERR_INVALID_CHAR`, `ERR_INVALID_ARG_TYPE`). A local fault.
  if (seen.request === undefined) return new CamsRequestNotSentError({ cause: error });
  if (errorCode !== undefined && (SYSTEM_ERROR_CODE.test(errorCode) || NODE_ERROR_CODE.test(errorCode))) {
    return new CamsError({ kind: 'network', errorCode }, { cause: error });
  }
  return new CamsError({ kind: 'network', errorCode: 'UNKNOWN' }, { cause: error });
}

/** An operating system error code (`ECONNRESET`, `EAI_AGAIN`); Node's own `ERR_*` codes are not among them. */
const SYSTEM_ERROR_CODE = /^E(?!RR_)[A-Z0-9]+(?:_[A-Z0-9]+)*$/;
/** Node's codes for failures after the request left (`ERR_TLS_CERT_ALTNAME_INVALID`, `ERR_SSL_…`). */
const NODE_ERROR_CODE = /^ERR_[A-Z0-9_]{1,60}$/;

function codeError(
  code: unknown,
  httpStatus: number,
  requestId: string | undefined,
  accessDeniedDetail: unknown,
  seen: WireCall,
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

function readRequestId(body: unknown, seen: WireCall): string | undefined {
  const fromBody = isRecord(body) ? body['RequestId'] : undefined;
  if (typeof fromBody === 'string' && fromBody !== '') return fromBody;
  const fromHeader = seen.headers['x-acs-request-id'];
  return typeof fromHeader === 'string' && fromHeader !== '' ? fromHeader : undefined;
}

/** `TimeLeft` (ms) from `x-ratelimit-user-api` or `x-ratelimit-user`, e.g. `Limit:5,Remain:0,TimeLeft:800,…`. */
export function readTimeLeft(headers: IncomingHttpHeaders): number | undefined {
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
