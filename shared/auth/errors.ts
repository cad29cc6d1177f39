/**
 * The HTTP errors of caller identity and tenant binding: a missing or bad token (401), keys that cannot be fetched
 * (503), a space the token does not grant (403), a token granting several spaces and a request naming none (400).
 */
import { HttpError } from '../fc/http-errors.js';
import type { KeySourceFailure } from './jwt-verifier.js';

/**
 * 401: an HTTP request without a valid bearer token while JWT_* is configured. CAMS is never called. The message
 * says what was wrong with the token, never the token itself.
 */
export class UnauthorizedError extends HttpError {
  override name = 'UnauthorizedError';
  constructor(message: string, options: { invalidToken: boolean; cause?: unknown }) {
    // RFC 6750 §3: no error attribute when no token was sent; `invalid_token` when one was and it failed.
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
 * 503: the keys at JWT_JWKS_URL cannot be fetched or read, so no token can be checked. Fails closed. `failure` says
 * why in plain, log-safe data (a redirect, a status, a size, a body type, private keys…): it goes to the log line
 * as `error.detail.keySource`; the caller's message never says more than this class's.
 */
export class AuthUnavailableError extends HttpError {
  override name = 'AuthUnavailableError';
  readonly failure: KeySourceFailure;
  constructor(failure: KeySourceFailure) {
    super(
      503,
      'AuthUnavailable',
      "The identity provider's signing keys could not be fetched; try again later",
      {
        expose: true,
        headers: { 'Retry-After': '5' },
        logDetail: { keySource: failure },
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
