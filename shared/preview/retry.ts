/**
 * Bounded retries under a hard deadline. Only what the client advises is retried (for CAMS: throttling, 5xx and a
 * refused or reset connection, see shared/cams/failure-advice.ts). Backoff is exponential with full jitter, or the
 * upstream's own wait when it gives one.
 */
import { type Clock, systemClock } from './clock.js';
import { DeadlineExceededError, ThrottledError } from './errors.js';
import { adviceOf, type FailureAdvice } from './ports.js';

export interface RetryPolicy {
  readonly maxAttempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  /** An attempt with less time than this left is not started; the call ends past its deadline instead. */
  readonly minAttemptMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 4,
  baseDelayMs: 100,
  maxDelayMs: 2000,
  minAttemptMs: 50,
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

type Retry = NonNullable<FailureAdvice['retry']>;

/**
 * Runs `attempt` until it succeeds, fails for good, runs out of attempts, or would pass the deadline. A throttled
 * call that gives up ends in `ThrottledError` (with the wait it would have made); any other failure is rethrown.
 */
export async function callWithRetries<T>(
  attempt: (timeoutMs: number) => Promise<T>,
  options: RetryOptions,
): Promise<T> {
  const policy = options.policy ?? DEFAULT_RETRY_POLICY;
  const clock = options.clock ?? systemClock;
  for (let n = 1; ; n += 1) {
    const remaining = options.deadline - clock.now();
    if (remaining < policy.minAttemptMs) throw new DeadlineExceededError(remaining);
    try {
      return await attempt(Math.min(options.attemptTimeoutMs, remaining));
    } catch (error) {
      const retry = adviceOf(error)?.retry;
      if (retry === undefined) throw error;
      const delayMs = backoff(n, retry, policy, clock);
      const outOfTime = clock.now() + delayMs + policy.minAttemptMs > options.deadline;
      if (n >= policy.maxAttempts || outOfTime) {
        throw retry.throttled ? new ThrottledError(retry.afterMs ?? delayMs, { cause: error }) : error;
      }
      options.onRetry?.({ attempt: n, reason: retry.reason, delayMs });
      await clock.sleep(delayMs);
    }
  }
}

/** Full jitter (0 … base·2^(n-1), capped), or the upstream's wait plus a little jitter so waiters do not stampede. */
export function backoff(attempt: number, retry: Retry, policy: RetryPolicy, clock: Clock): number {
  if (retry.afterMs !== undefined)
    return Math.min(retry.afterMs, policy.maxDelayMs) + Math.floor(clock.random() * policy.baseDelayMs);
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  return Math.floor(clock.random() * ceiling);
}
