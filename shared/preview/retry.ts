/**
 * Bounded retries under a hard deadline. Only what can succeed on retry is retried: throttling, CAMS 5xx (500,
 * 502, 503, 504) and a refused or reset connection (a pooled socket can be stale after FC thaws an instance).
 * Backoff is exponential with full jitter, or CAMS's own `TimeLeft` hint when it gives one.
 */
import { CamsError, type CamsFailure, isThrottlingCode } from '../errors.js';

export interface RetryPolicy {
  readonly maxAttempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  /** An attempt with less time than this left is not started; the call ends with a timeout instead. */
  readonly minAttemptMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 4,
  baseDelayMs: 100,
  maxDelayMs: 2000,
  minAttemptMs: 50,
};

export interface Clock {
  now(): number;
  sleep(ms: number): Promise<void>;
  /** In [0, 1). */
  random(): number;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  random: Math.random,
};

export interface RetryRecord {
  readonly attempt: number;
  readonly reason: string;
  readonly delayMs: number;
}

export interface RetryOptions {
  /** Epoch ms past which no attempt runs and no wait ends. */
  readonly deadline: number;
  /** Upper bound of one attempt. */
  readonly attemptTimeoutMs: number;
  readonly policy?: RetryPolicy;
  readonly clock?: Clock;
  readonly onRetry?: (record: RetryRecord) => void;
}

const RETRYABLE_STATUS = new Set([500, 502, 503, 504]);
const RETRYABLE_NETWORK = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE']);

/** Why a failure is worth another attempt, or undefined when it is not. */
export function retryReason(failure: CamsFailure): string | undefined {
  switch (failure.kind) {
    case 'code':
      if (isThrottlingCode(failure.code)) return failure.code;
      return RETRYABLE_STATUS.has(failure.httpStatus)
        ? `${failure.code} (HTTP ${failure.httpStatus})`
        : undefined;
    case 'malformed':
      return RETRYABLE_STATUS.has(failure.httpStatus) ? `HTTP ${failure.httpStatus}` : undefined;
    case 'network':
      return RETRYABLE_NETWORK.has(failure.errorCode) ? failure.errorCode : undefined;
    case 'timeout':
      return undefined;
  }
}

/** Runs `attempt` until it succeeds, fails for good, runs out of attempts, or would pass the deadline. */
export async function callWithRetries<T>(
  attempt: (timeoutMs: number) => Promise<T>,
  options: RetryOptions,
): Promise<T> {
  const policy = options.policy ?? DEFAULT_RETRY_POLICY;
  const clock = options.clock ?? systemClock;
  for (let n = 1; ; n += 1) {
    const remaining = options.deadline - clock.now();
    if (remaining < policy.minAttemptMs) {
      throw new CamsError({ kind: 'timeout', timeoutMs: Math.max(0, remaining) });
    }
    try {
      return await attempt(Math.min(options.attemptTimeoutMs, remaining));
    } catch (error) {
      if (!(error instanceof CamsError)) throw error;
      const reason = retryReason(error.failure);
      if (reason === undefined) throw error;
      const delayMs = backoff(n, error.failure, policy, clock);
      const outOfTime = clock.now() + delayMs + policy.minAttemptMs > options.deadline;
      if (n >= policy.maxAttempts || outOfTime) throw withRetryHint(error, delayMs);
      options.onRetry?.({ attempt: n, reason, delayMs });
      await clock.sleep(delayMs);
    }
  }
}

/** Full jitter (0 … base·2^(n-1), capped), or CAMS's `TimeLeft` plus a little jitter so waiters do not stampede. */
export function backoff(attempt: number, failure: CamsFailure, policy: RetryPolicy, clock: Clock): number {
  const hint = failure.kind === 'code' ? failure.retryAfterMs : undefined;
  if (hint !== undefined)
    return Math.min(hint, policy.maxDelayMs) + Math.floor(clock.random() * policy.baseDelayMs);
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  return Math.floor(clock.random() * ceiling);
}

/** A throttled call that gives up carries the wait it would have made, for the caller's Retry-After. */
function withRetryHint(error: CamsError, delayMs: number): CamsError {
  const failure = error.failure;
  if (failure.kind !== 'code' || !isThrottlingCode(failure.code) || failure.retryAfterMs !== undefined)
    return error;
  return new CamsError({ ...failure, retryAfterMs: delayMs }, { cause: error.cause });
}
