/**
 * The typed way for a backend to call Flow Preview, two ways, with one result type and one set of errors:
 *
 * - `invokeFlowPreview`: FC 3.0 InvokeFunction (`POST /2023-03-30/functions/{name}/invocations` on
 *   `{accountId}.{region}.fc.aliyuncs.com`) with the direct-invocation payload — for other cloud functions.
 * - `fetchFlowPreview`: a GET to the HTTP trigger (`function` auth), V3-signed as FC's trigger docs show.
 *
 * Both sign with the official `@alicloud/openapi-util` and read the whole answer within one timeout.
 *
 *   import { invokeFlowPreview } from 'flow-preview/client';
 *   const preview = await invokeFlowPreview({ flowId: 'welcome-flow' }, {
 *     credentials: context.credentials, region: context.region, accountId: context.accountId,
 *     functionName: 'flow-preview',
 *   });
 */

import { randomBytes } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import { rfc3986, type SignedResponse, send, TransportError } from './signed-request.js';

export interface FlowPreviewRequest {
  readonly flowId: string;
  readonly custSpaceId?: string;
  /** Ask for a freshly fetched link instead of the cached one. */
  readonly refresh?: boolean;
  /** Meta's web-preview parameters, set on the returned link (the names are Meta's). */
  readonly link?: PreviewLink;
}

/**
 * How the preview opens: interactive mode, the flow token, its first action and payload, the phone number, the debug
 * panel (Meta's names and rules: docs/preview-link.md).
 */
export interface PreviewLink {
  readonly interactive?: boolean;
  /** Sent to the Flow's endpoint with each request; required with `data_exchange`. */
  readonly flow_token?: string;
  readonly flow_action?: 'navigate' | 'data_exchange';
  /** The first screen (and its data); required with `navigate`, refused with `data_exchange`. */
  readonly flow_action_payload?: {
    readonly screen: string;
    readonly data?: Readonly<Record<string, unknown>>;
  };
  /** The business phone number whose key encrypts `data_exchange` requests; required with `data_exchange`. */
  readonly phone_number?: string;
  /** Meta types it as a string (its sample sends `true`); a boolean is written as `true`/`false`. */
  readonly debug?: boolean | string;
}

export interface FlowPreview {
  readonly flowId: string;
  readonly previewUrl: string;
  /** Epoch milliseconds. */
  readonly previewUrlExpires: number;
  /** ISO 8601. */
  readonly expiresAt: string;
  /** The CAMS RequestId behind the link. */
  readonly requestId: string;
}

export interface InvokeOptions {
  /** The caller's own credentials: its `context.credentials` on FC (they rotate; pass them per call). */
  readonly credentials: {
    readonly accessKeyId?: string | undefined;
    readonly accessKeySecret?: string | undefined;
    readonly securityToken?: string | undefined;
  };
  readonly region: string;
  /** The account that owns Flow Preview (the caller's `context.accountId` when it is the same account). */
  readonly accountId: string;
  readonly functionName: string;
  /** A version or alias; `LATEST` when absent. */
  readonly qualifier?: string;
  /**
   * Upper bound for the whole call, answer included, ms. Default 13,000: the function's own timeout (10 s in
   * s.yaml) plus room for FC's overhead (a cold start, the gateway), so a slow but finished answer is not lost.
   */
  readonly timeoutMs?: number;
  /** Another endpoint than `{accountId}.{region}.fc.aliyuncs.com`: a host, host:port or http(s):// URL. */
  readonly endpoint?: string;
  /** The caller's W3C `traceparent`, so Flow Preview's log line joins its trace; a new trace when absent. */
  readonly traceparent?: string;
}

/** Flow Preview answered with an error: `code` and `status` are its `error.code` / `error.status`. */
export class FlowPreviewError extends Error {
  override name = 'FlowPreviewError';
  readonly code: string;
  readonly status: number;
  readonly camsRequestId: string | undefined;
  readonly fcRequestId: string | undefined;
  /** The W3C trace id the call was sent with: Flow Preview's log line for it carries the same `traceId`. */
  readonly traceId: string | undefined;
  constructor(
    error: { code: string; message: string; status: number; requestId?: string },
    fcRequestId: string | undefined,
    traceId?: string,
  ) {
    super(`Flow Preview ${error.status} ${error.code}: ${error.message}`);
    this.code = error.code;
    this.status = error.status;
    this.camsRequestId = error.requestId;
    this.fcRequestId = fcRequestId;
    this.traceId = traceId;
  }
}

/**
 * Function Compute itself failed the call: `kind` says how. `function-error` — the function threw or FC stopped it
 * (`x-fc-error-type` on an HTTP 200, e.g. UnhandledInvocationError, FunctionTimeout); `fc-error` — FC refused the
 * call (its error code, e.g. FunctionNotFound, AccessDenied, ResourceThrottled); `timeout`; `network`; `bad-response`.
 */
export class FunctionComputeError extends Error {
  override name = 'FunctionComputeError';
  readonly kind: 'function-error' | 'fc-error' | 'timeout' | 'network' | 'bad-response';
  readonly code: string;
  readonly httpStatus: number | undefined;
  readonly fcRequestId: string | undefined;
  constructor(
    kind: FunctionComputeError['kind'],
    code: string,
    message: string,
    details: { httpStatus?: number | undefined; fcRequestId?: string | undefined; cause?: unknown } = {},
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.kind = kind;
    this.code = code;
    this.httpStatus = details.httpStatus;
    this.fcRequestId = details.fcRequestId;
  }
}

/** The function's timeout (s.yaml: 10 s) plus FC's overhead (a cold start, the gateway). */
export const DEFAULT_TIMEOUT_MS = 13_000;

type Credentials = InvokeOptions['credentials'];

function requireCredentials(credentials: Credentials, caller: string) {
  const { accessKeyId, accessKeySecret, securityToken } = credentials;
  if (!accessKeyId || !accessKeySecret) {
    throw new FunctionComputeError(
      'fc-error',
      'CredentialsMissing',
      `${caller} needs the caller’s credentials`,
    );
  }
  return { accessKeyId, accessKeySecret, securityToken };
}

/** Invokes Flow Preview synchronously; resolves with the preview, rejects with `FlowPreviewError` or `FunctionComputeError`. */
export async function invokeFlowPreview(
  request: FlowPreviewRequest,
  options: InvokeOptions,
): Promise<FlowPreview> {
  const credentials = requireCredentials(options.credentials, 'invokeFlowPreview');
  const traceparent = options.traceparent ?? newTraceparent();
  const base = parseEndpoint(options.endpoint ?? `${options.accountId}.${options.region}.fc.aliyuncs.com`);
  const url = new URL(`/2023-03-30/functions/${rfc3986(options.functionName)}/invocations`, base);
  if (options.qualifier) url.searchParams.set('qualifier', options.qualifier);
  const response = await call({
    method: 'POST',
    url,
    headers: {
      'x-acs-action': 'InvokeFunction',
      'x-acs-version': '2023-03-30',
      'x-fc-invocation-type': 'Sync',
      'x-fc-log-type': 'None',
      'content-type': 'application/octet-stream',
      accept: 'application/json',
    },
    // The function reads a direct payload's `traceparent` as it reads the HTTP header.
    body: Buffer.from(JSON.stringify({ ...request, traceparent })),
    credentials,
    timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
  });
  const fcRequestId = header(response, 'x-fc-request-id');
  const text = response.body.toString('utf8');
  if (response.status >= 300) throw fcRefusal(response, text);
  const errorType = header(response, 'x-fc-error-type');
  if (errorType) {
    throw new FunctionComputeError(
      'function-error',
      errorType,
      `Function Compute reports ${errorType}: ${functionErrorMessage(text)}`,
      { httpStatus: response.status, fcRequestId },
    );
  }
  return readAnswer(text, fcRequestId, traceparent);
}

export interface TriggerOptions {
  /** The HTTP trigger's URL, as `s deploy` prints it: `https://<name>-<id>.<region>.fcapp.run`. */
  readonly triggerUrl: string;
  /** An AccessKey or STS key allowed to call the trigger; STS keys send their token in `x-acs-security-token`. */
  readonly credentials: Credentials;
  /** Upper bound for the whole call, answer included, ms. Default 13,000 (see `InvokeOptions.timeoutMs`). */
  readonly timeoutMs?: number;
  /** The caller's W3C `traceparent` (see `InvokeOptions.traceparent`). */
  readonly traceparent?: string;
}

/**
 * Calls the HTTP trigger (`function` auth) with a V3-signed GET; resolves with the preview, rejects with
 * `FlowPreviewError` (the function's answer) or `FunctionComputeError` (FC's gateway refused, or the call failed).
 */
export async function fetchFlowPreview(
  request: FlowPreviewRequest,
  options: TriggerOptions,
): Promise<FlowPreview> {
  const credentials = requireCredentials(options.credentials, 'fetchFlowPreview');
  const url = triggerRequestUrl(options.triggerUrl, request);
  const traceparent = options.traceparent ?? newTraceparent();
  const response = await call({
    method: 'GET',
    url,
    headers: {
      accept: 'application/json',
      traceparent,
      ...(request.refresh ? { 'cache-control': 'no-cache' } : {}),
    },
    credentials,
    // FC's trigger docs: the header is sent, empty when the key is not an STS key.
    alwaysSendSecurityToken: true,
    timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
  });
  const fcRequestId = header(response, 'x-fc-request-id') ?? header(response, 'x-request-id');
  const text = response.body.toString('utf8');
  const body = parseJson(text);
  // The function's own answers (success or its JSON error) carry X-Request-Id; anything else is FC's gateway.
  if (header(response, 'x-request-id') !== undefined && body !== undefined)
    return readAnswer(text, fcRequestId, header(response, 'traceparent') ?? traceparent);
  if (response.status >= 300) throw fcRefusal(response, text);
  throw new FunctionComputeError(
    'bad-response',
    'BadResponse',
    'The trigger answered with something other than Flow Preview JSON',
    {
      httpStatus: response.status,
      fcRequestId,
    },
  );
}

function triggerRequestUrl(triggerUrl: string, request: FlowPreviewRequest): URL {
  let base: URL;
  try {
    base = new URL(triggerUrl);
  } catch {
    throw new FunctionComputeError('fc-error', 'InvalidTriggerUrl', 'triggerUrl must be an http(s):// URL');
  }
  if (base.protocol !== 'https:' && base.protocol !== 'http:') {
    throw new FunctionComputeError('fc-error', 'InvalidTriggerUrl', 'triggerUrl must be an http(s):// URL');
  }
  // Each segment written in full RFC 3986 form: the signer would otherwise sign a `+` or `*` as it rewrites them
  // (`%20`, `%2A`) while the request carried them as they were.
  const prefix = base.pathname
    .replace(/\/+$/, '')
    .split('/')
    .map((segment) => rfc3986(decodeSegment(segment)))
    .join('/');
  const url = new URL(`${prefix}/flows/${rfc3986(request.flowId)}/preview-url`, base.origin);
  if (request.custSpaceId !== undefined) url.searchParams.set('custSpaceId', request.custSpaceId);
  for (const [name, value] of Object.entries(request.link ?? {})) {
    if (value !== undefined)
      url.searchParams.set(name, typeof value === 'object' ? JSON.stringify(value) : String(value));
  }
  return url;
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new FunctionComputeError(
      'fc-error',
      'InvalidTriggerUrl',
      'triggerUrl has a malformed %-escape in its path',
    );
  }
}

async function call(request: Parameters<typeof send>[0]): Promise<SignedResponse> {
  try {
    return await send(request);
  } catch (error) {
    if (error instanceof TransportError) {
      const message =
        error.kind === 'timeout'
          ? `Flow Preview did not answer within ${request.timeoutMs} ms`
          : `Function Compute could not be reached (${error.code})`;
      throw new FunctionComputeError(error.kind, error.code, message, { cause: error });
    }
    throw error;
  }
}

function header(response: SignedResponse, name: string): string | undefined {
  const value = response.headers[name];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function parseJson(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * FC itself refused or failed the call: its error code when the body has one (`Code`, or FC 2.0's `ErrorCode`),
 * else a code named after the HTTP status (`BadGateway`), so an HTML 5xx page is still reported with its status.
 */
function fcRefusal(response: SignedResponse, text: string): FunctionComputeError {
  const body = parseJson(text);
  const given = body?.['Code'] ?? body?.['ErrorCode'] ?? body?.['code'];
  const code = typeof given === 'string' && given !== '' ? given : statusCode(response.status);
  const message = body?.['Message'] ?? body?.['ErrorMessage'] ?? body?.['message'];
  const requestId = body?.['RequestId'] ?? body?.['requestId'];
  const kind = body === undefined ? `a ${header(response, 'content-type') ?? 'non-JSON'} body` : 'no message';
  return new FunctionComputeError(
    'fc-error',
    code,
    `Function Compute refused the call: ${code} (HTTP ${response.status}) ${typeof message === 'string' ? message : `(${kind})`}`,
    {
      httpStatus: response.status,
      fcRequestId: typeof requestId === 'string' ? requestId : header(response, 'x-fc-request-id'),
    },
  );
}

function statusCode(status: number): string {
  const reason = STATUS_CODES[status];
  return reason
    ? reason.replace(/[^A-Za-z0-9]+(.)?/g, (_, next: string | undefined) => (next ?? '').toUpperCase())
    : `Http${status}`;
}

/** A new W3C `traceparent` (version 00, random trace and span ids, sampled). */
export function newTraceparent(): string {
  return `00-${randomBytes(16).toString('hex')}-${randomBytes(8).toString('hex')}-01`;
}

function traceIdOf(traceparent: string): string | undefined {
  return /^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}/.exec(traceparent)?.[1];
}

/**
 * `traceparent`: the one the function answered with, else the one sent. The function continues a valid trace and
 * starts a new one for any other value, and says which in its reply (the HTTP `traceparent` header, a direct
 * reply's `traceparent` field).
 */
function readAnswer(text: string, fcRequestId: string | undefined, traceparent: string): FlowPreview {
  const record = parseJson(text);
  if (record === undefined) {
    throw new FunctionComputeError(
      'bad-response',
      'BadResponse',
      'Flow Preview answered with something other than a JSON object',
      { fcRequestId },
    );
  }
  const error = record['error'] as Record<string, unknown> | undefined;
  if (error && typeof error['code'] === 'string' && typeof error['status'] === 'number') {
    throw new FlowPreviewError(
      {
        code: error['code'],
        message: String(error['message'] ?? ''),
        status: error['status'],
        ...(typeof error['requestId'] === 'string' ? { requestId: error['requestId'] } : {}),
      },
      fcRequestId,
      traceIdOf(typeof record['traceparent'] === 'string' ? record['traceparent'] : traceparent),
    );
  }
  const { flowId, previewUrl, previewUrlExpires, expiresAt, requestId } = record;
  if (
    typeof flowId !== 'string' ||
    typeof previewUrl !== 'string' ||
    typeof previewUrlExpires !== 'number' ||
    typeof expiresAt !== 'string' ||
    typeof requestId !== 'string'
  ) {
    throw new FunctionComputeError(
      'bad-response',
      'BadResponse',
      'Flow Preview answered with an unexpected object',
      { fcRequestId },
    );
  }
  return { flowId, previewUrl, previewUrlExpires, expiresAt, requestId };
}

function functionErrorMessage(text: string): string {
  const body = parseJson(text);
  return String(body?.['errorMessage'] ?? body?.['ErrorMessage'] ?? text).slice(0, 300);
}

/** A host, host:port or http(s):// URL → the base URL requests go to (a bare host means HTTPS). */
function parseEndpoint(value: string): URL {
  const withScheme = /^https?:\/\//i.test(value) ? value : `https://${value}`;
  try {
    return new URL(withScheme);
  } catch {
    throw new FunctionComputeError(
      'fc-error',
      'InvalidEndpoint',
      `endpoint ${JSON.stringify(value)} is not a host or URL`,
    );
  }
}
