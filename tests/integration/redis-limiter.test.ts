/**
 * The account-wide CAMS rate limiter: the Redis script shared by many instances, the in-memory one, and the
 * handler's use of it (every attempt takes a slot; no slot before the deadline means 429 without calling CAMS).
 */
import { deepStrictEqual, ok, strictEqual } from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RateLimiter } from '../../shared/preview/ports.js';
import { slotSpacingMs } from '../../shared/store/fair-queue.js';
import { MemoryRateLimiter } from '../../shared/store/memory.js';
import { createRedisStores } from '../../shared/store/redis.js';
import { SkippingClock } from '../fixtures/clock.js';
import { directEvent } from '../fixtures/fc.js';
import { useFleet } from '../fixtures/fleet.js';

const FLOWS = Array.from({ length: 40 }, (_, i) => `flow-${i}`);
const fleet = useFleet({ cams: { flows: FLOWS }, env: { REDIS_KEY_PREFIX: 'limiter-test:' } });

/** For every i, grant i+rate must come at least a second after grant i (a little measurement slack allowed). */
function assertAtMostPerSecond(slots: number[], rate: number, slackMs: number): void {
  const sorted = [...slots].sort((a, b) => a - b);
  for (let i = 0; i + rate < sorted.length; i += 1) {
    const span = (sorted[i + rate] ?? 0) - (sorted[i] ?? 0);
    ok(span >= 1000 - slackMs, `${rate + 1} grants within ${span} ms (grants ${i}…${i + rate})`);
  }
}

/** Consecutive grants at least the limiter's spacing apart (less `slackMs`: a slot is timed by this process). */
function assertSpaced(slots: number[], spacingMs: number, slackMs: number): void {
  const sorted = [...slots].sort((a, b) => a - b);
  for (let i = 1; i < sorted.length; i += 1) {
    const gap = (sorted[i] ?? 0) - (sorted[i - 1] ?? 0);
    ok(gap >= spacingMs - slackMs, `grants ${i - 1} and ${i} only ${gap} ms apart (spacing ${spacingMs} ms)`);
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Many callers taking turns for `durationMs`, each as the core does (look, wait what the limiter says, look again);
 * returns the times their turns were granted (epoch ms).
 */
async function hammer(limiters: RateLimiter[], callers: number, durationMs: number): Promise<number[]> {
  const slots: number[] = [];
  const end = Date.now() + durationMs;
  let tickets = 0;
  await Promise.all(
    Array.from({ length: callers }, async (_, n) => {
      const limiter = limiters[n % limiters.length] as RateLimiter;
      while (Date.now() < end) {
        tickets += 1;
        const ticket = { id: `caller-${n}-${tickets}`, space: `space-${n % 3}` };
        for (;;) {
          const turn = await limiter.take('cams|account', ticket, 1500);
          if (turn.state === 'granted') slots.push(Date.now());
          if (turn.state !== 'queued') {
            if (turn.state === 'refused') await sleep(Math.min(turn.retryAfterMs, 100));
            break;
          }
          if (Date.now() >= end) break;
          await sleep(Math.max(1, Math.min(turn.waitMs, 250, end - Date.now())));
        }
      }
    }),
  );
  return slots.filter((slot) => slot <= end);
}

describe('the CAMS rate limiter', () => {
  it('spaces grants 220 ms apart at 5/s: 10% of the quota is kept back', () => {
    strictEqual(slotSpacingMs(5), 220);
  });

  it('on Redis, spaces the grants to 24 callers on 3 connections as one limiter, and never more than the rate in any second', async () => {
    // Redis's own clock (TIME) runs the script, so this runs on real time: at 10/s (110 ms apart) 1.5 s holds
    // windows of a second, and three connections each granting on their own would put grants ~37 ms apart.
    const rate = 10;
    const stores = [0, 1, 2].map(() =>
      createRedisStores({ url: fleet.redis.url(), keyPrefix: 'limiter-unit:', commandTimeoutMs: 1000 }, rate),
    );
    try {
      const slots = await hammer(
        stores.map((store) => store.limiter),
        24,
        1500,
      );
      assertSpaced(slots, slotSpacingMs(rate), 50);
      assertAtMostPerSecond(slots, rate, 60);
      // And it does grant: about 13 in 1.5 s (a limiter that refuses everything must fail here).
      ok(slots.length >= 11, `only ${slots.length} grants in 1.5 s`);
    } finally {
      await Promise.all(stores.map((store) => store.close()));
    }
  });

  it('in memory, never grants more than 5 slots in any second, and a refusal reserves nothing', async () => {
    let now = 1_000_000;
    const limiter = new MemoryRateLimiter(5, () => now);
    const slots: number[] = [];
    for (let i = 0; i < 2000; i += 1) {
      now += Math.floor((i * 7919) % 97); // uneven arrivals, each taking its turn if it has come
      const turn = await limiter.take('scope', { id: `t${i}`, space: `s${i % 3}` }, (i * 31) % 1500);
      if (turn.state === 'granted') slots.push(now);
    }
    assertAtMostPerSecond(slots, 5, 0);
    const busy = new MemoryRateLimiter(5, () => now);
    await busy.take('scope', { id: 'first', space: '' }, 0);
    deepStrictEqual(await busy.take('scope', { id: 'too-late', space: '' }, 100), {
      state: 'refused',
      retryAfterMs: 120,
    });
    // The refused one held nothing: the next caller's turn is the same slot it would have had.
    deepStrictEqual(await busy.take('scope', { id: 'next', space: '' }, 220), {
      state: 'queued',
      waitMs: 220,
    });
    now += 220;
    deepStrictEqual(await busy.take('scope', { id: 'next', space: '' }, 0), { state: 'granted' });
  });

  for (const store of ['redis', 'memory'] as const) {
    it(`answers 429 with Retry-After, without calling CAMS, when no slot comes before the deadline (${store})`, async () => {
      const env = {
        CAMS_RATE_LIMIT_PER_SECOND: '0.4', // 2,750 ms between slots: far past the 750 ms this call may wait
        REDIS_KEY_PREFIX: `limiter-deadline-${store}:`,
        ...(store === 'memory' ? { REDIS_URL: undefined } : {}),
      };
      const [a, b] = [fleet.instance(env), store === 'redis' ? fleet.instance(env) : undefined];
      const short = { function: { timeout: 1 } };
      const first = await a.invoke(directEvent({ flowId: 'flow-1' }), fleet.context(0, short));
      const { result, lines } = await fleet.capture(() =>
        (b ?? a).invoke(directEvent({ flowId: 'flow-2' }), fleet.context(1, short)),
      );
      strictEqual((first as { flowId?: string }).flowId, 'flow-1');
      deepStrictEqual(result, {
        error: {
          code: 'RateLimited',
          message: 'Too many CAMS calls for this account right now; retry after 2 s',
          status: 429,
        },
      });
      deepStrictEqual(
        lines.map((line) => [line.status, line.store, line.camsCalls]),
        [[429, store, 0]],
      );
      strictEqual(fleet.cams.calls.length, 1);
    });
  }

  it('answers an HTTP 429 with a Retry-After header', async () => {
    const instance = fleet.instance({ CAMS_RATE_LIMIT_PER_SECOND: '0.2', REDIS_KEY_PREFIX: 'limiter-http:' });
    const context = fleet.context(0, { function: { timeout: 2 } });
    strictEqual((await instance.http({ path: '/flows/flow-3/preview-url' }, context)).statusCode, 200);
    const refused = await instance.http({ path: '/flows/flow-4/preview-url' }, context);
    strictEqual(refused.statusCode, 429);
    // 5.5 s between grants, 1.75 s of budget: the same request would fit in about 4 s.
    const retryAfter = Number(refused.headers['Retry-After']);
    ok(retryAfter >= 3 && retryAfter <= 6, `Retry-After: ${retryAfter}`);
    strictEqual(fleet.cams.calls.length, 1);
  });

  it('makes every CAMS attempt take a slot, retries included', async () => {
    // The slots come from Redis, on its own (real) clock, so the function waits in real time too; the clock records
    // the waits, and its jitter is fixed at half.
    const clock = new SkippingClock({ random: () => 0.5 });
    const rate = 2;
    fleet.cams.script({
      kind: 'json',
      status: 503,
      body: { RequestId: 'R503', Code: 'ServiceUnavailable' },
    });
    const { lines } = await fleet.capture(() =>
      fleet
        .instance({ CAMS_RATE_LIMIT_PER_SECOND: String(rate), REDIS_KEY_PREFIX: 'limiter-retry:' }, { clock })
        .invoke(directEvent({ flowId: 'flow-5' }), fleet.context()),
    );
    deepStrictEqual(
      lines.map((line) => [line.status, line.store, line.camsCalls]),
      [[200, 'redis', 2]],
    );
    // The retry's backoff (half of 100 ms with the clock's jitter), then the wait for its own slot, 550 ms after the
    // first attempt's, in looks of at most 250 ms: what is left of 550 after the backoff and the call itself.
    const [backoff, ...looks] = clock.sleeps;
    strictEqual(backoff, 50);
    ok(
      looks.every((look) => look <= 250),
      `looks of ${looks.join(', ')} ms`,
    );
    const slotWait = looks.reduce((sum, look) => sum + look, 0);
    ok(
      slotWait > slotSpacingMs(rate) - 50 - 100 && slotWait <= slotSpacingMs(rate) - 50,
      `the retry waited ${slotWait} ms for its slot (${looks.join(' + ')})`,
    );
  });

  it('keeps two instances’ concurrent new flows under CAMS’s limit: no throttling answers', async () => {
    // Eight new flows at 5/s take 1.5 s: a second that held six of them (the limiter failing) is throttled by CAMS.
    const flows = FLOWS.slice(10, 18);
    const env = { REDIS_KEY_PREFIX: 'limiter-fleet:' };
    const [a, b] = [fleet.instance(env), fleet.instance(env)];
    const results = await Promise.all(
      flows.map((flowId, i) => (i % 2 === 0 ? a : b).invoke(directEvent({ flowId }), fleet.context(i % 2))),
    );
    deepStrictEqual(
      results.map((result) => (result as { flowId?: string }).flowId),
      flows,
    );
    deepStrictEqual(
      fleet.cams.calls.map((call) => call.code),
      flows.map(() => 'OK'),
    );
  });
});
