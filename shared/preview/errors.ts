/**
 * The core's own outcomes other than a preview. No HTTP status, no CAMS code: the edge's error table
 * (shared/fc/error-table.ts) says how each is answered.
 */

/** The request is malformed; CAMS is never called. `code` names what was wrong. */
export class InvalidRequestError extends Error {
  override name = 'InvalidRequestError';
  readonly code: 'InvalidRequest' | 'InvalidFlowId' | 'InvalidCustSpaceId';
  constructor(code: InvalidRequestError['code'], message: string) {
    super(message);
    this.code = code;
  }
}

/** The account's CAMS budget has no slot for this request before its deadline; nothing was reserved. */
export class RateLimitedError extends Error {
  override name = 'RateLimitedError';
  /** When the same request would have fitted. */
  readonly retryAfterMs: number;
  constructor(retryAfterMs: number) {
    super(`No CAMS slot before the deadline; one would have fitted in ${retryAfterMs} ms`);
    this.retryAfterMs = retryAfterMs;
  }
}

/** CAMS kept throttling until the attempts or the time ran out. `cause` is the last throttled answer. */
export class ThrottledError extends Error {
  override name = 'ThrottledError';
  /** The upstream's own hint when it gave one, else the wait the next attempt would have made. */
  readonly retryAfterMs: number;
  constructor(retryAfterMs: number, options: ErrorOptions) {
    super(`CAMS kept throttling; retry after ${retryAfterMs} ms`, options);
    this.retryAfterMs = retryAfterMs;
  }
}

/** No answer before the invocation's deadline (no time left for an attempt, or for waiting on another's). */
export class DeadlineExceededError extends Error {
  override name = 'DeadlineExceededError';
  constructor(remainingMs: number) {
    super(`No answer before the deadline (${Math.max(0, Math.round(remainingMs))} ms were left)`);
  }
}
