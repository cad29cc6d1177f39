/**
 * The error hierarchy and the one table that turns CAMS outcomes into HTTP statuses.
 *
 * `HttpError` follows middy's contract (`statusCode`, `expose`); `expose` says whether `message` may reach a
 * caller. Everything a caller sees is built from `code`, the exposed message and `camsRequestId`: never from a
 * CAMS message, a stack or an `AccessDeniedDetail`.
 */

export interface HttpErrorOptions extends ErrorOptions {
  /** Whether `message` may reach the caller; defaults to `statusCode < 500`. */
  expose?: boolean;
  /** Extra response headers (`Allow`, `Retry-After`). */
  headers?: Readonly<Record<string, string>>;
  /** The RequestId of the CAMS answer this error stems from. */
  camsRequestId?: string | undefined;
}

export class HttpError extends Error {
  override name = 'HttpError';
  readonly statusCode: number;
  readonly code: string;
  readonly expose: boolean;
  readonly headers: Readonly<Record<string, string>>;
  readonly camsRequestId: string | undefined;

  constructor(statusCode: number, code: string, message: string, options: HttpErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.statusCode = statusCode;
    this.code = code;
    this.expose = options.expose ?? statusCode < 500;
    this.headers = options.headers ?? {};
    this.camsRequestId = options.camsRequestId;
  }
}

/** 400: the caller's input is malformed; CAMS is never called. */
export class InvalidInputError extends HttpError {
  override name = 'InvalidInputError';
  constructor(code: 'InvalidRequest' | 'InvalidFlowId' | 'InvalidCustSpaceId', message: string) {
    super(400, code, message);
  }
}

/** 404 for a path this function does not serve. */
export class RouteNotFoundError extends HttpError {
  override name = 'RouteNotFoundError';
  constructor() {
    super(404, 'NotFound', 'No such route; use GET /flows/{flowId}/preview-url');
  }
}

export const ALLOWED_METHODS = 'GET, OPTIONS';

/** 405 for another method on the route. */
export class MethodNotAllowedError extends HttpError {
  override name = 'MethodNotAllowedError';
  constructor() {
    super(405, 'MethodNotAllowed', 'Only GET (and OPTIONS) are allowed on this route', {
      headers: { Allow: ALLOWED_METHODS },
    });
  }
}

/** 500: neither the invocation context nor the environment holds credentials. */
export class CredentialsMissingError extends HttpError {
  override name = 'CredentialsMissingError';
  constructor() {
    super(500, 'CredentialsMissing', 'No credentials are available to call CAMS', { expose: true });
  }
}

/**
 * 500: the credentials that would call CAMS cannot be used (not strings, empty, or holding characters an HTTP
 * header cannot carry). The message names the source and the field, never the value.
 */
export class CredentialsInvalidError extends HttpError {
  override name = 'CredentialsInvalidError';
  constructor(field: string, problem: string) {
    super(500, 'CredentialsInvalid', `${field} ${problem}`, { expose: true });
  }
}

/**
 * 500: the CAMS request could not even be built or sent (Node or the SDK refused it locally), so CAMS never saw
 * it. Not `CamsUnavailable`: nothing is wrong with CAMS or the network. The cause reaches only the log.
 */
export class CamsRequestNotSentError extends HttpError {
  override name = 'CamsRequestNotSentError';
  constructor(options: ErrorOptions) {
    super(
      500,
      'CamsRequestNotSent',
      'The CAMS request could not be sent (a local fault; CAMS was not called)',
      {
        ...options,
        expose: true,
      },
    );
  }
}

/**
 * 500: an environment variable holds a bad value. The exposed message names the variable and what is wrong;
 * `detail` adds the whole value, for the log only, which redacts it before shortening it (a secret pasted into the
 * wrong variable must reach neither a caller nor the log).
 */
export class ConfigError extends HttpError {
  override name = 'ConfigError';
  readonly variable: string;
  readonly detail: string;
  constructor(variable: string, problem: string, value: string) {
    super(500, 'ConfigInvalid', `${variable} ${problem}`, { expose: true });
    this.variable = variable;
    // A value with userinfo (`user:secret@host`) is never quoted, not even in the log.
    this.detail = value.includes('@') ? this.message : `${this.message}, got '${value}'`;
  }
}

/** What the operator may learn from an `AccessDeniedDetail`: no principal ids, no encoded diagnostics. */
export interface DeniedSummary {
  authAction?: string;
  noPermissionType?: string;
  policyType?: string;
}

export type CamsFailure =
  /** CAMS answered with an error `Code` (HTTP 4xx/5xx, or HTTP 200 with `Code` ≠ `OK`). */
  | {
      kind: 'code';
      code: string;
      httpStatus: number;
      requestId: string | undefined;
      /** From `x-ratelimit-user-api` / `x-ratelimit-user` `TimeLeft`, when present. */
      retryAfterMs: number | undefined;
      denied: DeniedSummary | undefined;
    }
  /** CAMS answered, but not with a body this function understands. */
  | { kind: 'malformed'; httpStatus: number; requestId: string | undefined; reason: string }
  /** CAMS did not answer in time. */
  | { kind: 'timeout'; timeoutMs: number }
  /** The connection failed (refused, reset, DNS). */
  | { kind: 'network'; errorCode: string };

/** Everything the CAMS client throws. `failure` carries only data that is safe to log. */
export class CamsError extends Error {
  override name = 'CamsError';
  readonly failure: CamsFailure;
  constructor(failure: CamsFailure, options?: ErrorOptions) {
    super(describeFailure(failure), options);
    this.failure = failure;
  }
}

const FORBIDDEN_CODES = new Set(['Ram.PermissionDeny', 'Product.Unsubscript']);
const NOT_FOUND_CODES = new Set(['Unknown.ResourceOwnerId']);

/** CAMS codes that mean "too many requests": retryable, and a 429 once retries are spent. */
export function isThrottlingCode(code: string): boolean {
  return code === 'System.LimitControl' || code.startsWith('Throttling');
}

const DEFAULT_RETRY_AFTER_S = 1;

/**
 * Turns any error into the `HttpError` that answers the caller: the single place where CAMS outcomes get a
 * status. Unknown errors become a generic 500 whose details only the log sees.
 */
export function toHttpError(error: unknown): HttpError {
  if (error instanceof HttpError) return error;
  if (!(error instanceof CamsError)) {
    return new HttpError(500, 'InternalError', 'Internal error', { cause: error });
  }
  const failure = error.failure;
  switch (failure.kind) {
    case 'timeout':
      return new HttpError(504, 'CamsTimeout', 'CAMS did not answer in time', { cause: error, expose: true });
    case 'network':
      return new HttpError(502, 'CamsUnavailable', 'CAMS could not be reached', {
        cause: error,
        expose: true,
      });
    case 'malformed':
      return new HttpError(
        502,
        'CamsBadResponse',
        'CAMS answered with a response this function cannot read',
        {
          cause: error,
          expose: true,
          camsRequestId: failure.requestId,
        },
      );
    case 'code':
      return camsCodeToHttpError(failure, error);
  }
}

function camsCodeToHttpError(failure: Extract<CamsFailure, { kind: 'code' }>, cause: CamsError): HttpError {
  const { code, requestId } = failure;
  if (FORBIDDEN_CODES.has(code)) {
    const message =
      code === 'Product.Unsubscript'
        ? 'The account is not subscribed to Chat App Message Service'
        : "The function's role is not allowed to call cams:GetFlowPreviewUrl";
    return new HttpError(403, code, message, { cause, camsRequestId: requestId });
  }
  if (NOT_FOUND_CODES.has(code)) {
    return new HttpError(404, code, 'The flow does not belong to this account or space', {
      cause,
      camsRequestId: requestId,
    });
  }
  if (isThrottlingCode(code)) {
    const retryAfterS = Math.max(DEFAULT_RETRY_AFTER_S, Math.ceil((failure.retryAfterMs ?? 0) / 1000));
    return new HttpError(429, code, `CAMS is throttling requests; retry after ${retryAfterS} s`, {
      cause,
      camsRequestId: requestId,
      headers: { 'Retry-After': String(retryAfterS) },
    });
  }
  return new HttpError(502, 'CamsError', `CAMS answered with error ${code} (HTTP ${failure.httpStatus})`, {
    cause,
    expose: true,
    camsRequestId: requestId,
  });
}

function describeFailure(failure: CamsFailure): string {
  switch (failure.kind) {
    case 'code':
      return `CAMS error ${failure.code} (HTTP ${failure.httpStatus})`;
    case 'malformed':
      return `CAMS response unreadable (HTTP ${failure.httpStatus}): ${failure.reason}`;
    case 'timeout':
      return `CAMS did not answer within ${failure.timeoutMs} ms`;
    case 'network':
      return `CAMS connection failed: ${failure.errorCode}`;
  }
}

// ---- Caller identity (JWT) and tenant binding ----------------------------------------------------------------

/**
 * 401: an HTTP request without a valid bearer token while JWT_* is configured. CAMS is never called. The message
 * says what was wrong with the token, never the token itself.
 */
export class UnauthorizedError extends HttpError {
  override name = 'UnauthorizedError';
  constructor(message: string, options: { invalidToken: boolean; cause?: unknown }) {
    // RFC 6750: no error attribute when no token was sent; `invalid_token` when one was and it failed.
    const challenge = options.invalidToken
      ? 'Bearer realm="flow-preview", error="invalid_token"'
      : 'Bearer realm="flow-preview"';
    super(401, 'Unauthorized', message, {
      headers: { 'WWW-Authenticate': challenge },
      ...(options.cause === undefined ? {} : { cause: options.cause }),
    });
  }
}

/**
 * Why JWT_JWKS_URL's keys could not be used, as the verifier reports it (`KeySourceFailure` in
 * shared/auth/jwt-verifier.ts): a `reason` and a few numbers or tokens, all safe to log as they are.
 */
export interface AuthUnavailableFailure {
  readonly reason: string;
  readonly [detail: string]: string | number | boolean | undefined;
}

/**
 * 503: the keys at JWT_JWKS_URL cannot be fetched or read, so no token can be checked. Fails closed. `failure`
 * is plain log-safe data for the operator; the caller's message never says more than this class's.
 */
export class AuthUnavailableError extends HttpError {
  override name = 'AuthUnavailableError';
  readonly failure: AuthUnavailableFailure;
  constructor(failure: AuthUnavailableFailure) {
    super(
      503,
      'AuthUnavailable',
      "The identity provider's signing keys could not be fetched; try again later",
      {
        expose: true,
        headers: { 'Retry-After': '5' },
      },
    );
    this.failure = failure;
  }
}

/** 403: the caller's token does not grant the space it asked for (or any space, for an account-level flow). */
export class SpaceNotAllowedError extends HttpError {
  override name = 'SpaceNotAllowedError';
  constructor(message: string) {
    super(403, 'SpaceNotAllowed', message);
  }
}

/** 400: the caller's token grants several spaces and the request named none. */
export class CustSpaceIdRequiredError extends HttpError {
  override name = 'CustSpaceIdRequiredError';
  constructor() {
    super(400, 'CustSpaceIdRequired', 'Your token grants several spaces; name one with custSpaceId');
  }
}

/**
 * 429 before any CAMS call: the account-wide rate limiter has no slot for this request before its deadline.
 * `Retry-After` says when the same request would have fitted.
 */
export class RateLimitedError extends HttpError {
  override name = 'RateLimitedError';
  constructor(retryAfterMs: number) {
    const retryAfterS = Math.max(1, Math.ceil(retryAfterMs / 1000));
    super(
      429,
      'RateLimited',
      `Too many CAMS calls for this account right now; retry after ${retryAfterS} s`,
      {
        headers: { 'Retry-After': String(retryAfterS) },
      },
    );
  }
}
