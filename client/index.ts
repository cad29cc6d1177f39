/**
 * The typed way for another cloud function to call Flow Preview: FC 3.0 InvokeFunction
 * (`POST /2023-03-30/functions/{name}/invocations` on `{accountId}.{region}.fc.aliyuncs.com`, V3 signature) through
 * `@alicloud/fc20230330` 4.1.x, with the direct-invocation payload. Returns the typed preview or throws a typed error.
 *
 * Self-contained for copy-in use: it needs only `@alicloud/fc20230330@4.1.2` and `@alicloud/openapi-client` 0.4.
 *
 *   import { invokeFlowPreview } from 'flow-preview/client';
 *   const preview = await invokeFlowPreview({ flowId: 'welcome-flow' }, {
 *     credentials: context.credentials, region: context.region, accountId: context.accountId,
 *     functionName: 'flow-preview',
 *   });
 */

import { Readable } from 'node:stream';
import FunctionCompute, { InvokeFunctionHeaders, InvokeFunctionRequest } from '@alicloud/fc20230330';
import { Config as OpenApiConfig } from '@alicloud/openapi-client';
import { RuntimeOptions } from '@alicloud/tea-util';

export interface FlowPreviewRequest {
  readonly flowId: string;
  readonly custSpaceId?: string;
  /** Ask for a freshly fetched link instead of the cached one. */
  readonly refresh?: boolean;
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
  /** Upper bound for the whole call, ms. Default 10,000 (the function's own timeout is 10 s). */
  readonly timeoutMs?: number;
  /** Another endpoint than `{accountId}.{region}.fc.aliyuncs.com`: a host, host:port or http(s):// URL. */
  readonly endpoint?: string;
}

/** Flow Preview answered with an error: `code` and `status` are its `error.code` / `error.status`. */
export class FlowPreviewError extends Error {
  override name = 'FlowPreviewError';
  readonly code: string;
  readonly status: number;
  readonly camsRequestId: string | undefined;
  readonly fcRequestId: string | undefined;
  constructor(
    error: { code: string; message: string; status: number; requestId?: string },
    fcRequestId: string | undefined,
  ) {
    super(`Flow Preview ${error.status} ${error.code}: ${error.message}`);
    this.code = error.code;
    this.status = error.status;
    this.camsRequestId = error.requestId;
    this.fcRequestId = fcRequestId;
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

const DEFAULT_TIMEOUT_MS = 10_000;

/** Invokes Flow Preview synchronously; resolves with the preview, rejects with `FlowPreviewError` or `FunctionComputeError`. */
export async function invokeFlowPreview(
  request: FlowPreviewRequest,
  options: InvokeOptions,
): Promise<FlowPreview> {
  const { accessKeyId, accessKeySecret, securityToken } = options.credentials;
  if (!accessKeyId || !accessKeySecret) {
    throw new FunctionComputeError(
      'fc-error',
      'CredentialsMissing',
      'invokeFlowPreview needs the caller’s credentials',
    );
  }
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const endpoint = parseEndpoint(
    options.endpoint ?? `${options.accountId}.${options.region}.fc.aliyuncs.com`,
  );
  const client = new FunctionCompute(
    new OpenApiConfig({
      accessKeyId,
      accessKeySecret,
      ...(securityToken ? { securityToken } : {}),
      endpoint: endpoint.host,
      protocol: endpoint.protocol,
      regionId: options.region,
      readTimeout: timeoutMs,
      connectTimeout: timeoutMs,
    }),
  );
  const payload = Buffer.from(JSON.stringify(request));
  let timer: NodeJS.Timeout | undefined;
  try {
    const response = await Promise.race([
      client.invokeFunctionWithOptions(
        options.functionName,
        new InvokeFunctionRequest({
          ...(options.qualifier ? { qualifier: options.qualifier } : {}),
          body: Readable.from([payload]),
        }),
        new InvokeFunctionHeaders({ xFcInvocationType: 'Sync', xFcLogType: 'None' }),
        new RuntimeOptions({ readTimeout: timeoutMs, connectTimeout: timeoutMs }),
      ),
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () =>
            reject(
              new FunctionComputeError(
                'timeout',
                'Timeout',
                `Flow Preview did not answer within ${timeoutMs} ms`,
              ),
            ),
          timeoutMs,
        );
      }),
    ]);
    const headers = response.headers ?? {};
    const fcRequestId = headers['x-fc-request-id'];
    const text = response.body ? (await readAll(response.body)).toString('utf8') : '';
    const errorType = headers['x-fc-error-type'];
    if (errorType) {
      throw new FunctionComputeError(
        'function-error',
        errorType,
        `Function Compute reports ${errorType}: ${functionErrorMessage(text)}`,
        {
          httpStatus: response.statusCode,
          fcRequestId,
        },
      );
    }
    return readAnswer(text, fcRequestId);
  } catch (error) {
    throw toCallerError(error);
  } finally {
    clearTimeout(timer);
  }
}

function readAnswer(text: string, fcRequestId: string | undefined): FlowPreview {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new FunctionComputeError(
      'bad-response',
      'BadResponse',
      'Flow Preview answered with something other than JSON',
      { fcRequestId },
    );
  }
  const record = typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {};
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

function toCallerError(error: unknown): Error {
  if (error instanceof FlowPreviewError || error instanceof FunctionComputeError) return error;
  const fields = (typeof error === 'object' && error !== null ? error : {}) as Record<string, unknown>;
  const data = (fields['data'] ?? {}) as Record<string, unknown>;
  const status = Number(fields['statusCode'] ?? data['statusCode']);
  if (Number.isFinite(status) && status >= 400) {
    const code = String(data['Code'] ?? data['code'] ?? fields['code'] ?? 'Unknown');
    const message = String(data['Message'] ?? data['message'] ?? '');
    return new FunctionComputeError(
      'fc-error',
      code,
      `Function Compute refused the call: ${code} (HTTP ${status}) ${message}`.trim(),
      {
        httpStatus: status,
        fcRequestId: typeof data['RequestId'] === 'string' ? data['RequestId'] : undefined,
        cause: error,
      },
    );
  }
  if (fields['name'] === 'RequestTimeoutError') {
    return new FunctionComputeError('timeout', 'Timeout', 'Flow Preview did not answer in time', {
      cause: error,
    });
  }
  const code = typeof fields['code'] === 'string' ? fields['code'] : 'NetworkError';
  return new FunctionComputeError('network', code, `Function Compute could not be reached (${code})`, {
    cause: error,
  });
}

function functionErrorMessage(text: string): string {
  try {
    const body = JSON.parse(text) as Record<string, unknown>;
    return String(body['errorMessage'] ?? body['ErrorMessage'] ?? text).slice(0, 300);
  } catch {
    return text.slice(0, 300);
  }
}

function parseEndpoint(value: string): { host: string; protocol: 'HTTP' | 'HTTPS' } {
  const match = /^(https?):\/\/([^/]+)\/?$/i.exec(value);
  if (match?.[1] && match[2])
    return { host: match[2], protocol: match[1].toLowerCase() === 'http' ? 'HTTP' : 'HTTPS' };
  return { host: value, protocol: 'HTTPS' };
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream)
    chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string));
  return Buffer.concat(chunks);
}
