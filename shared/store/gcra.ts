/**
 * The CAMS rate limiter's rule, shared by the in-memory limiter and the Redis script (which mirrors it in Lua):
 * GCRA with a burst of one, so grants are at least `spacing` apart and any one-second window holds at most
 * `ratePerSecond` of them.
 */

/**
 * Grants keep 10% of the quota back: a request leaves a few ms off its slot (timers, a busy instance, the network)
 * and CAMS counts any one-second window, so slots spaced exactly 1000/N ms apart would be throttled now and then.
 * At 5/s this is 220 ms between grants, i.e. 100 ms of slack in every window.
 */
const RATE_LIMIT_HEADROOM = 0.1;

/** Milliseconds between two grants for a budget of `ratePerSecond` calls per second. */
export function slotSpacingMs(ratePerSecond: number): number {
  return Math.ceil((1000 * (1 + RATE_LIMIT_HEADROOM)) / ratePerSecond);
}

export interface GcraDecision {
  readonly granted: boolean;
  /** Until the slot (granted) or until the slot that would have been given (refused). */
  readonly waitMs: number;
  /** The new theoretical arrival time when granted; unchanged when refused. */
  readonly tat: number;
}

/** One reservation: the slot is the later of now and the theoretical arrival time `tat`. */
export function gcra(now: number, tat: number, spacingMs: number, maxWaitMs: number): GcraDecision {
  const slot = Math.max(now, tat);
  const waitMs = slot - now;
  if (waitMs > maxWaitMs) return { granted: false, waitMs, tat };
  return { granted: true, waitMs, tat: slot + spacingMs };
}

/** A refused request would fit once the queue ahead of it is shorter than its budget. */
export function retryAfterMs(waitMs: number, maxWaitMs: number): number {
  return Math.max(1, waitMs - Math.max(0, maxWaitMs));
}
