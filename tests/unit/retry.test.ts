/** The retry policy with a fake clock: what is retried, how long it waits, and that the deadline holds. */
import { deepStrictEqual, rejects, strictEqual } from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CamsError, type CamsFailure } from '../../shared/cams/errors.js';
import { DeadlineExceededError, ThrottledError } from '../../shared/preview/errors.js';
import type { FailureAdvice } from '../../shared/preview/ports.js';
import { backoff, callWithRetries, DEFAULT_RETRY_POLICY } from '../../shared/preview/retry.js';
import { FakeClock } from '../fixtures/clock.js';

const fakeClock = (start = 1_000_000, random = 0.5) => new FakeClock({ start, random: () => random });

const code = (c: string, httpStatus = 400, retryAfterMs?: number): CamsFailure => ({
  kind: 'code',
  code: c,
  httpStatus,
  requestId: 'R',
  retryAfterMs,
  denied: undefined,
});

/** An attempt function that fails with `failures` in order, then succeeds; records the timeouts it was given. */
function attempts(failures: Array<CamsFailure | Error>) {
  const timeouts: number[] = [];
  const fn = async (timeoutMs: number): Promise<string> => {
    timeouts.push(timeoutMs);
    const failure = failures.shift();
    if (failure instanceof Error) throw failure;
    if (failure) throw new CamsError(failure);
    return 'ok';
  };
  return { fn, timeouts };
}

/** An error of some other client: the retry reads only its advice. */
class AdvisedError extends Error {
  readonly advice: FailureAdvice;
  constructor(advice: FailureAdvice) {
    super('advised');
    this.advice = advice;
  }
}

describe('what callWithRetries retries: what the client advises', () => {
  const retryable: CamsFailure[] = [
    code('System.LimitControl'),
    code('Throttling.User'),
    code('InternalError', 500),
    code('BadGateway', 502),
    code('ServiceUnavailable', 503),
    code('GatewayTimeout', 504),
    { kind: 'malformed', httpStatus: 502, requestId: undefined, reason: 'html' },
    { kind: 'network', errorCode: 'ECONNRESET' },
    { kind: 'network', errorCode: 'ECONNREFUSED' },
  ];
  const final: CamsFailure[] = [
    code('Ram.PermissionDeny'),
    code('Unknown.ResourceOwnerId'),
    code('SignatureDoesNotMatch'),
    code('NotImplemented', 501),
    { kind: 'malformed', httpStatus: 200, requestId: 'R', reason: 'no Data' },
    { kind: 'network', errorCode: 'ENOTFOUND' },
    { kind: 'timeout', timeoutMs: 100 },
  ];
  for (const failure of retryable) {
    it(`retries ${JSON.stringify(failure)}`, async () => {
      const clock = fakeClock();
      const { fn, timeouts } = attempts([failure]);
      strictEqual(
        await callWithRetries(fn, { deadline: clock.now() + 10_000, attemptTimeoutMs: 1000, clock }),
        'ok',
      );
      strictEqual(timeouts.length, 2);
    });
  }
  for (const failure of final) {
    it(`does not retry ${JSON.stringify(failure)}`, async () => {
      const clock = fakeClock();
      const { fn, timeouts } = attempts([failure]);
      await rejects(
        callWithRetries(fn, { deadline: clock.now() + 10_000, attemptTimeoutMs: 1000, clock }),
        (error) => error instanceof CamsError && error.failure === failure,
      );
      strictEqual(timeouts.length, 1);
      deepStrictEqual(clock.sleeps, []);
    });
  }

  it('reads only the advice: any error advising a retry is retried, and one without advice is not', async () => {
    const clock = fakeClock();
    const retried = attempts([new AdvisedError({ retry: { reason: 'flaky', throttled: false } })]);
    strictEqual(
      await callWithRetries(retried.fn, { deadline: clock.now() + 10_000, attemptTimeoutMs: 1000, clock }),
      'ok',
    );
    strictEqual(retried.timeouts.length, 2);
    const plain = new Error('no advice');
    const once = attempts([plain]);
    await rejects(
      callWithRetries(once.fn, { deadline: clock.now() + 10_000, attemptTimeoutMs: 1000, clock }),
      plain,
    );
    strictEqual(once.timeouts.length, 1);
  });
});

describe('callWithRetries', () => {
  it('makes at most 4 attempts and then throws the last failure', async () => {
    const clock = fakeClock();
    const failures = Array.from({ length: 6 }, () => code('ServiceUnavailable', 503));
    const last = failures[3];
    const { fn, timeouts } = attempts(failures);
    await rejects(
      callWithRetries(fn, { deadline: clock.now() + 60_000, attemptTimeoutMs: 1000, clock }),
      (error) => error instanceof CamsError && error.failure === last,
    );
    strictEqual(timeouts.length, 4);
    // Full jitter at 0.5: half of 100, 200, 400 ms.
    deepStrictEqual(clock.sleeps, [50, 100, 200]);
  });

  it('backs off exponentially with full jitter', () => {
    const policy = DEFAULT_RETRY_POLICY;
    const retry = { reason: 'ServiceUnavailable (HTTP 503)', throttled: false };
    deepStrictEqual(
      [1, 2, 3, 4, 5, 6].map((n) => backoff(n, retry, policy, fakeClock(0, 0.999))),
      [99, 199, 399, 799, 1598, 1998],
    );
    strictEqual(backoff(3, retry, policy, fakeClock(0, 0)), 0);
  });

  it('waits for the upstream’s own wait, capped, plus a little jitter', () => {
    const policy = DEFAULT_RETRY_POLICY;
    const retry = (afterMs: number) => ({ reason: 'Throttling.User', throttled: true, afterMs });
    strictEqual(backoff(1, retry(800), policy, fakeClock(0, 0)), 800);
    strictEqual(backoff(1, retry(800), policy, fakeClock(0, 0.5)), 850);
    strictEqual(backoff(1, retry(60_000), policy, fakeClock(0, 0)), 2000);
  });

  it('waits for the TimeLeft hint of a throttled answer', async () => {
    const clock = fakeClock(1_000_000, 0);
    const { fn } = attempts([code('System.LimitControl', 400, 800)]);
    strictEqual(
      await callWithRetries(fn, { deadline: clock.now() + 10_000, attemptTimeoutMs: 1000, clock }),
      'ok',
    );
    deepStrictEqual(clock.sleeps, [800]);
  });

  it('never retries a final failure', async () => {
    const clock = fakeClock();
    const { fn, timeouts } = attempts([code('Ram.PermissionDeny')]);
    await rejects(callWithRetries(fn, { deadline: clock.now() + 10_000, attemptTimeoutMs: 1000, clock }), {
      message: 'CAMS error Ram.PermissionDeny (HTTP 400)',
    });
    strictEqual(timeouts.length, 1);
  });

  it('cuts each attempt’s timeout to the time left before the deadline', async () => {
    const clock = fakeClock(1_000_000, 0.5);
    const { fn, timeouts } = attempts([code('ServiceUnavailable', 503), code('ServiceUnavailable', 503)]);
    await callWithRetries(fn, { deadline: clock.now() + 1200, attemptTimeoutMs: 1000, clock });
    // 1000 (capped), then 1200 − 50 slept = 1150 → capped at 1000, then 1150 − 100 = 1050 → 1000.
    deepStrictEqual(timeouts, [1000, 1000, 1000]);
    const late = fakeClock(1_000_000, 0.5);
    const second = attempts([code('ServiceUnavailable', 503)]);
    await callWithRetries(second.fn, { deadline: late.now() + 300, attemptTimeoutMs: 1000, clock: late });
    deepStrictEqual(second.timeouts, [300, 250]);
  });

  it('does not wait past the deadline: a throttled call gives up with the upstream’s wait as its Retry-After hint', async () => {
    const clock = fakeClock(1_000_000, 0);
    const failure = code('Throttling.User', 400, 5000);
    const { fn, timeouts } = attempts([failure]);
    await rejects(
      callWithRetries(fn, { deadline: clock.now() + 2000, attemptTimeoutMs: 1000, clock }),
      (error) =>
        error instanceof ThrottledError &&
        error.retryAfterMs === 5000 &&
        error.cause instanceof CamsError &&
        error.cause.failure === failure,
    );
    strictEqual(timeouts.length, 1);
    deepStrictEqual(clock.sleeps, []);
  });

  it('gives a throttled call without a hint the backoff as its Retry-After hint', async () => {
    const clock = fakeClock(1_000_000, 0.999);
    const { fn, timeouts } = attempts(Array.from({ length: 4 }, () => code('Throttling')));
    await rejects(
      callWithRetries(fn, { deadline: clock.now() + 60_000, attemptTimeoutMs: 1000, clock }),
      (error) => error instanceof ThrottledError && error.retryAfterMs === 799,
    );
    strictEqual(timeouts.length, 4);
    deepStrictEqual(clock.sleeps, [99, 199, 399]);
  });

  it('rethrows a failure that is not throttling as it is when it gives up', async () => {
    const clock = fakeClock(1_000_000, 0.5);
    const failure = code('ServiceUnavailable', 503);
    const { fn } = attempts([failure]);
    // 200 ms left: the 50 ms back-off plus a 50 ms attempt would fit, but not after a 150 ms first attempt.
    const slow = async (timeoutMs: number) => {
      await clock.sleep(150);
      return fn(timeoutMs);
    };
    await rejects(
      callWithRetries(slow, { deadline: clock.now() + 200, attemptTimeoutMs: 1000, clock }),
      (error) => error instanceof CamsError && error.failure === failure,
    );
  });

  it('ends past the deadline when no time is left for an attempt', async () => {
    const clock = fakeClock();
    const { fn, timeouts } = attempts([]);
    await rejects(
      callWithRetries(fn, { deadline: clock.now() + 10, attemptTimeoutMs: 1000, clock }),
      (error) => error instanceof DeadlineExceededError && error.message.includes('(10 ms were left)'),
    );
    strictEqual(timeouts.length, 0);
  });

  it('reports each retry with its attempt, reason and delay', async () => {
    const clock = fakeClock(1_000_000, 0.5);
    const { fn } = attempts([{ kind: 'network', errorCode: 'ECONNRESET' }, code('InternalError', 500)]);
    const records: unknown[] = [];
    await callWithRetries(fn, {
      deadline: clock.now() + 10_000,
      attemptTimeoutMs: 1000,
      clock,
      onRetry: (record) => records.push(record),
    });
    deepStrictEqual(records, [
      { attempt: 1, reason: 'ECONNRESET', delayMs: 50 },
      { attempt: 2, reason: 'InternalError (HTTP 500)', delayMs: 100 },
    ]);
    deepStrictEqual(clock.sleeps, [50, 100]);
  });
});
