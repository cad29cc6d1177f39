/**
 * The account-wide CAMS rate limiter: the Redis script shared by many instances, the in-memory one, and the
 * handler's use of it (every attempt takes a slot; no slot before the deadline means 429 without calling CAMS).
 */
import { deepStrictEqual, ok, strictEqual } from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RateLimiter } from '../shared/preview/ports.js';
import { slotSpacingMs } from '../shared/store/gcra.js';
import { MemoryRateLimiter } from '../shared/store/memory.js';
import { createRedisStores } from '../shared/store/redis.js';
import { directEvent, httpEvent, setEnv } from './fixtures/fc.js';
import { useFleet } from './fixtures/fleet.js';
import { captureStdout } from './fixtures/instances.js';

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

/** Many callers reserving for `durationMs`; returns the granted slot times (epoch ms). */
async function hammer(limiters: RateLimiter[], callers: number, durationMs: number): Promise<number[]> {
  const slots: number[] = [];
  const end = Date.now() + durationMs;
  await Promise.all(
    Array.from({ length: callers }, async (_, n) => {
      const limiter = limiters[n % limiters.length] as RateLimiter;
      while (Date.now() < end) {
        const grant = await limiter.reserve('cams|account', 1500);
        if (grant.granted) {
          slots.push(Date.now() + grant.waitMs);
          await new Promise((resolve) => setTimeout(resolve, grant.waitMs));
        } else {
          await new Promise((resolve) => setTimeout(resolve, Math.min(grant.retryAfterMs, 100)));
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

  it('on Redis, never grants more than 5 slots in any second to 24 callers on 3 connections over 4 s', async () => {
    const stores = [0, 1, 2].map(() =>
      createRedisStores({ url: fleet.redis.url(), keyPrefix: 'limiter-unit:', commandTimeoutMs: 1000 }),
    );
    try {
      const slots = await hammer(
        stores.map((store) => store.limiter(5)),
        24,
        4000,
      );
      assertAtMostPerSecond(slots, 5, 60);
      // And it does grant: about 4.5 a second (a limiter that refuses everything must fail here).
      ok(slots.length >= 14, `only ${slots.length} grants in 4 s`);
    } finally {
      await Promise.all(stores.map((store) => store.close()));
    }
  });

  it('in memory, never grants more than 5 slots in any second, and a refusal reserves nothing', async () => {
    let now = 1_000_000;
    const limiter = new MemoryRateLimiter(5, () => now);
    const slots: number[] = [];
    for (let i = 0; i < 2000; i += 1) {
      now += Math.floor((i * 7919) % 97); // uneven arrivals
      const grant = await limiter.reserve('scope', (i * 31) % 1500);
      if (grant.granted) slots.push(now + grant.waitMs);
    }
    assertAtMostPerSecond(slots, 5, 0);
    const busy = new MemoryRateLimiter(5, () => now);
    await busy.reserve('scope', 0);
    deepStrictEqual(await busy.reserve('scope', 100), { granted: false, retryAfterMs: 120 });
    deepStrictEqual(await busy.reserve('scope', 220), { granted: true, waitMs: 220 });
  });

  for (const store of ['redis', 'memory'] as const) {
    it(`answers 429 with Retry-After, without calling CAMS, when no slot comes before the deadline (${store})`, async () => {
      const restore = setEnv({
        CAMS_RATE_LIMIT_PER_SECOND: '1',
        REDIS_KEY_PREFIX: `limiter-deadline-${store}:`,
        ...(store === 'memory' ? { REDIS_URL: undefined } : {}),
      });
      try {
        const [a, b] = [fleet.instance(), store === 'redis' ? fleet.instance() : undefined];
        const short = { function: { timeout: 1 } };
        const first = await a.invoke(directEvent({ flowId: 'flow-1' }), fleet.context(0, short));
        const { result, lines } = await captureStdout(() =>
          (b ?? a).invoke(directEvent({ flowId: 'flow-2' }), fleet.context(1, short)),
        );
        strictEqual((first as { flowId?: string }).flowId, 'flow-1');
        deepStrictEqual(result, {
          error: {
            code: 'RateLimited',
            message: 'Too many CAMS calls for this account right now; retry after 1 s',
            status: 429,
          },
        });
        deepStrictEqual(
          lines.map((line) => [line.status, line.store, line.camsCalls]),
          [[429, store, 0]],
        );
        strictEqual(fleet.cams.calls.length, 1);
      } finally {
        restore();
      }
    });
  }

  it('answers an HTTP 429 with a Retry-After header', async () => {
    const restore = setEnv({ CAMS_RATE_LIMIT_PER_SECOND: '0.2', REDIS_KEY_PREFIX: 'limiter-http:' });
    try {
      const instance = fleet.instance();
      const context = fleet.context(0, { function: { timeout: 2 } });
      strictEqual(
        (
          (await instance.invoke(httpEvent({ path: '/flows/flow-3/preview-url' }), context)) as {
            statusCode: number;
          }
        ).statusCode,
        200,
      );
      const refused = (await instance.invoke(httpEvent({ path: '/flows/flow-4/preview-url' }), context)) as {
        statusCode: number;
        headers: Record<string, string>;
      };
      strictEqual(refused.statusCode, 429);
      // 5.5 s between grants, 1.75 s of budget: the same request would fit in about 4 s.
      ok(Number(refused.headers['Retry-After']) >= 3 && Number(refused.headers['Retry-After']) <= 6);
      strictEqual(fleet.cams.calls.length, 1);
    } finally {
      restore();
    }
  });

  it('makes every CAMS attempt take a slot, retries included', async () => {
    const restore = setEnv({ CAMS_RATE_LIMIT_PER_SECOND: '2', REDIS_KEY_PREFIX: 'limiter-retry:' });
    try {
      fleet.cams.script({
        kind: 'json',
        status: 503,
        body: { RequestId: 'R503', Code: 'ServiceUnavailable' },
      });
      const { lines } = await captureStdout(() =>
        fleet.instance().invoke(directEvent({ flowId: 'flow-5' }), fleet.context()),
      );
      deepStrictEqual(
        lines.map((line) => [line.status, line.camsCalls]),
        [[200, 2]],
      );
      // The retry's own backoff is at most 100 ms; its slot comes 550 ms after the first attempt's.
      ok((lines[0]?.latencyMs ?? 0) >= 500, `retried after ${lines[0]?.latencyMs} ms`);
    } finally {
      restore();
    }
  });

  it('keeps two instances’ concurrent new flows under CAMS’s limit: no throttling answers', async () => {
    const restore = setEnv({ REDIS_KEY_PREFIX: 'limiter-fleet:' });
    try {
      const [a, b] = [fleet.instance(), fleet.instance()];
      const results = await Promise.all(
        FLOWS.slice(10, 22).map((flowId, i) =>
          (i % 2 === 0 ? a : b).invoke(directEvent({ flowId }), fleet.context(i % 2)),
        ),
      );
      deepStrictEqual(
        results.map((result) => (result as { flowId?: string }).flowId),
        FLOWS.slice(10, 22),
      );
      deepStrictEqual(
        fleet.cams.calls.map((call) => call.code),
        Array.from({ length: 12 }, () => 'OK'),
      );
    } finally {
      restore();
    }
  });
});
