/**
 * The one table that turns any error into the `HttpError` a caller receives: configuration, the core's outcomes
 * and CAMS failures each get their status here and nowhere else. Unknown errors become a generic 500 whose
 * details only the log sees.
 */
import { CamsError, CamsRequestNotSentError } from '../cams/errors.js';
import { ConfigError } from '../config-error.js';
import {
  DeadlineExceededError,
  InvalidRequestError,
  RateLimitedError,
  ThrottledError,
} from '../preview/errors.js';
import { HttpError } from './http-errors.js';

/** A Retry-After is never below this, in seconds. */
const MIN_RETRY_AFTER_S = 1;

export function toHttpError(error: unknown): HttpError {
  if (error instanceof HttpError) return error;
  if (error instanceof ConfigError) {
    return new HttpError(500, 'ConfigInvalid', error.message, { cause: error, expose: true });
  }
  if (error instanceof InvalidRequestError)
    return new HttpError(400, error.code, error.message, { cause: error });
  if (error instanceof RateLimitedError) {
    const retryAfterS = seconds(error.retryAfterMs);
    return new HttpError(
      429,
      'RateLimited',
      `Too many CAMS calls for this account right now; retry after ${retryAfterS} s`,
      {
        cause: error,
        headers: { 'Retry-After': String(retryAfterS) },
      },
    );
  }
  if (error instanceof ThrottledError) return throttled(error);
  if (error instanceof DeadlineExceededError) return camsTimeout(error);
  if (error instanceof CamsRequestNotSentError) {
    return new HttpError(500, 'CamsRequestNotSent', error.message, { cause: error, expose: true });
  }
  if (error instanceof CamsError) return fromCams(error);
  return new HttpError(500, 'InternalError', 'Internal error', { cause: error });
}

function fromCams(error: CamsError): HttpError {
  const failure = error.failure;
  switch (failure.kind) {
    case 'timeout':
      return camsTimeout(error);
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
    case 'code': {
      const { code, requestId } = failure;
      switch (error.category) {
        case 'forbidden':
          return new HttpError(
            403,
            code,
            "The function's role is not allowed to call cams:GetFlowPreviewUrl",
            {
              cause: error,
              camsRequestId: requestId,
            },
          );
        case 'unsubscribed':
          return new HttpError(403, code, 'The account is not subscribed to Chat App Message Service', {
            cause: error,
            camsRequestId: requestId,
          });
        case 'not-found':
          return new HttpError(404, code, 'The flow does not belong to this account or space', {
            cause: error,
            camsRequestId: requestId,
          });
        case 'throttled':
          return throttled(new ThrottledError(failure.retryAfterMs ?? 0, { cause: error }));
        case 'other':
          return new HttpError(
            502,
            'CamsError',
            `CAMS answered with error ${code} (HTTP ${failure.httpStatus})`,
            {
              cause: error,
              expose: true,
              camsRequestId: requestId,
            },
          );
      }
    }
  }
}

/** 429 with CAMS's own code (`Throttling.User`, `System.LimitControl`) and the wait it asked for. */
function throttled(error: ThrottledError): HttpError {
  const cause =
    error.cause instanceof CamsError && error.cause.failure.kind === 'code' ? error.cause.failure : undefined;
  const retryAfterS = seconds(error.retryAfterMs);
  return new HttpError(
    429,
    cause?.code ?? 'Throttled',
    `CAMS is throttling requests; retry after ${retryAfterS} s`,
    {
      cause: error,
      camsRequestId: cause?.requestId,
      headers: { 'Retry-After': String(retryAfterS) },
    },
  );
}

function camsTimeout(cause: Error): HttpError {
  return new HttpError(504, 'CamsTimeout', 'CAMS did not answer in time', { cause, expose: true });
}

function seconds(ms: number): number {
  return Math.max(MIN_RETRY_AFTER_S, Math.ceil(ms / 1000));
}
