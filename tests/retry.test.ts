/** The retry policy with a fake clock: what is retried, how long it waits, and that the deadline holds. */
import { deepStrictEqual, rejects, strictEqual } from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CamsError, type CamsFailure } from '../shared/errors.js';
import {
  backoff,
  type Clock,
  callWithRetries,
  DEFAULT_RETRY_POLICY,
  retryReason,
} from '../shared/preview/retry.js';

function fakeClock(start = 1_000_000, random = 0.5): Clock & { slept: number[] } {
  let now = start;
  const slept: number[] = [];
  return {
    slept,
    now: () => now,
    sleep: async (ms) => {
      slept.push(ms);
      now += ms;
    },
    random: () => random,
  };
}

const code = (c: string, httpStatus = 400, retryAfterMs?: number): CamsFailure => ({
  kind: 'code',
  code: c,
  httpStatus,
  requestId: 'R',
  retryAfterMs,
  denied: undefined,
});

/** An attempt function that fails with `failures` in order, then succeeds; records the timeouts it was given. */
function attempts(failures: CamsFailure[]) {
  const timeouts: number[] = [];
  const fn = async (timeoutMs: number): Promise<string> => {
    timeouts.push(timeoutMs);
    const failure = failures.shift();
    if (failure) throw new CamsError(failure);
    return 'ok';
  };
  return { fn, timeouts };
}

describe('retryReason', () => {
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
    it(`retries ${JSON.stringify(failure)}`, () => strictEqual(typeof retryReason(failure), 'string'));
  }
  for (const failure of final) {
    it(`does not retry ${JSON.stringify(failure)}`, () => strictEqual(retryReason(failure), undefined));
  }
});

describe('callWithRetries', () => {
  it('makes at most 4 attempts and then throws the last failure', async () => {
    const clock = fakeClock();
    const { fn, timeouts } = attempts(Array.from({ length: 6 }, () => code('ServiceUnavailable', 503)));
    await rejects(
      callWithRetries(fn, { deadline: clock.now() + 60_000, attemptTimeoutMs: 1000, clock }),
      CamsError,
    );
    strictEqual(timeouts.length, 4);
    strictEqual(clock.slept.length, 3);
  });

  it('backs off exponentially with full jitter', () => {
    const policy = DEFAULT_RETRY_POLICY;
    const failure = code('ServiceUnavailable', 503);
    deepStrictEqual(
      [1, 2, 3, 4, 5, 6].map((n) => backoff(n, failure, policy, fakeClock(0, 0.999))),
      [99, 199, 399, 799, 1598, 1998],
    );
    strictEqual(backoff(3, failure, policy, fakeClock(0, 0)), 0);
  });

  it('waits for the TimeLeft hint of a throttled answer', async () => {
    const clock = fakeClock(1_000_000, 0);
    const { fn } = attempts([code('System.LimitControl', 400, 800)]);
    strictEqual(
      await callWithRetries(fn, { deadline: clock.now() + 10_000, attemptTimeoutMs: 1000, clock }),
      'ok',
    );
    deepStrictEqual(clock.slept, [800]);
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

  it('does not wait past the deadline: a throttled call gives up with the wait as its Retry-After hint', async () => {
    const clock = fakeClock(1_000_000, 0);
    const { fn, timeouts } = attempts([code('Throttling.User', 400, 5000)]);
    await rejects(
      callWithRetries(fn, { deadline: clock.now() + 2000, attemptTimeoutMs: 1000, clock }),
      (error) => {
        const failure = (error as CamsError).failure;
        return failure.kind === 'code' && failure.retryAfterMs === 5000;
      },
    );
    strictEqual(timeouts.length, 1);
    deepStrictEqual(clock.slept, []);
  });

  it('gives a throttled call without a hint the backoff as its Retry-After hint', async () => {
    const clock = fakeClock(1_000_000, 0.999);
    const { fn } = attempts(Array.from({ length: 4 }, () => code('Throttling')));
    await rejects(
      callWithRetries(fn, { deadline: clock.now() + 60_000, attemptTimeoutMs: 1000, clock }),
      (error) => {
        const failure = (error as CamsError).failure;
        return failure.kind === 'code' && failure.retryAfterMs === 799;
      },
    );
  });

  it('answers with a timeout when no time is left for an attempt', async () => {
    const clock = fakeClock();
    const { fn, timeouts } = attempts([]);
    await rejects(
      callWithRetries(fn, { deadline: clock.now() + 10, attemptTimeoutMs: 1000, clock }),
      (error) => {
        return (error as CamsError).failure.kind === 'timeout';
      },
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
  });
});
