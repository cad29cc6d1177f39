/**
 * The edge's errors: `HttpError`, which follows middy's contract (`statusCode`, `expose`: whether `message` may
 * reach a caller), and the few the edge throws itself. Everything a caller sees is built from `code`, the exposed
 * message and `camsRequestId`: never from a CAMS message, a stack or an `AccessDeniedDetail`. Errors of the other
 * layers become an `HttpError` in one table (error-table.ts).
 */

export interface HttpErrorOptions extends ErrorOptions {
  /** Whether `message` may reach the caller; defaults to `statusCode < 500`. */
  expose?: boolean;
  /** Extra response headers (`Allow`, `Retry-After`, `WWW-Authenticate`). */
  headers?: Readonly<Record<string, string>>;
  /** The RequestId of the CAMS answer this error stems from. */
  camsRequestId?: string | undefined;
  /** Plain, log-safe data for the operator: the log line shows it as `error.detail`, a caller never sees it. */
  logDetail?: Readonly<Record<string, unknown>>;
}

export class HttpError extends Error {
  override name = 'HttpError';
  readonly statusCode: number;
  readonly code: string;
  readonly expose: boolean;
  readonly headers: Readonly<Record<string, string>>;
  readonly camsRequestId: string | undefined;
  readonly logDetail: Readonly<Record<string, unknown>> | undefined;

  constructor(statusCode: number, code: string, message: string, options: HttpErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.statusCode = statusCode;
    this.code = code;
    this.expose = options.expose ?? statusCode < 500;
    this.headers = options.headers ?? {};
    this.camsRequestId = options.camsRequestId;
    this.logDetail = options.logDetail;
  }
}

/** 400: the HTTP request itself is malformed (a body on GET, an unknown query parameter); CAMS is never called. */
export class InvalidInputError extends HttpError {
  override name = 'InvalidInputError';
  constructor(message: string) {
    super(400, 'InvalidRequest', message);
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
