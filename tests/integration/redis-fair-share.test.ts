/**
 * The fleet's CAMS budget on a real redis-server, shared fairly between spaces (the Lua twin of
 * shared/store/fair-queue.ts), and lasting failures shared across instances (issue 17).
 */
import { deepStrictEqual, ok, strictEqual } from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { SAMPLE_ERROR_FLOWS } from '../../dev/cams-simulator.js';
import type { SlotTicket, Turn } from '../../shared/preview/ports.js';
import { STALE_MS, slotSpacingMs } from '../../shared/store/fair-queue.js';
import { createRedisStores, type RedisStores } from '../../shared/store/redis.js';
import { directEvent } from '../fixtures/fc.js';
import { useFleet } from '../fixtures/fleet.js';

const RATE = 50; // slots 22 ms apart: the same rule as at 5/s, in a tenth of the time
const fleet = useFleet({ cams: { errorFlows: SAMPLE_ERROR_FLOWS } });

/**
 * The Redis stores at `rate` per second (50 unless a test needs slots wider than a loaded machine's event-loop
 * delays), made on first use (the fleet's redis-server is up by then).
 */
const made = new Map<number, RedisStores>();
const stores = (rate = RATE): RedisStores => {
  let at = made.get(rate);
  if (at === undefined) {
    at = createRedisStores({ url: fleet.redis.url(), keyPrefix: 'fair-test:', commandTimeoutMs: 1000 }, rate);
    made.set(rate, at);
  }
  return at;
};
after(async () => {
  await Promise.all([...made.values()].map((at) => at.close()));
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
let ids = 0;

/** One waiter as the core runs it: look, wait what the limiter says (at most 250 ms), look again. */
async function waitForTurn(
  scope: string,
  space: string,
  budgetMs: number,
  rate = RATE,
): Promise<{ granted: boolean; at: number }> {
  ids += 1;
  const ticket: SlotTicket = { id: `t-${ids}`, space };
  const deadline = Date.now() + budgetMs;
  for (;;) {
    const turn: Turn = await stores(rate).limiter.take(scope, ticket, Math.max(0, deadline - Date.now()));
    if (turn.state !== 'queued') return { granted: turn.state === 'granted', at: Date.now() };
    await sleep(Math.max(1, Math.min(turn.waitMs, 250)));
  }
}

describe('the fleet budget on Redis: fair between spaces', () => {
  it('gives a space alone every slot, at least a spacing apart', async () => {
    // 10/s (110 ms slots): what this process sees of a grant is shifted by its event loop, tens of ms on a loaded
    // machine, while the slots themselves are kept on Redis's clock.
    const spacing = slotSpacingMs(10);
    const started = Date.now();
    const grants = await Promise.all(Array.from({ length: 8 }, () => waitForTurn('alone', 'A', 5000, 10)));
    const times = grants.map((g) => g.at).sort((a, b) => a - b);
    strictEqual(
      grants.every((g) => g.granted),
      true,
    );
    const gaps = times.slice(1).map((time, i) => time - (times[i] ?? 0));
    ok(
      gaps.every((gap) => gap >= spacing / 2),
      `${gaps}`,
    );
    ok((times.at(-1) ?? 0) - (times[0] ?? 0) >= 7 * spacing - 40, `${gaps}`);
    // Work-conserving: 8 slots take about 7 spacings, not more.
    ok((times.at(-1) ?? 0) - started < 7 * spacing + 400, `took ${(times.at(-1) ?? 0) - started} ms`);
  });

  it("serves a newcomer at the next slot or so while another space's backlog waits", async () => {
    // 10/s (110 ms slots), so that a loaded machine's event-loop delays stay small beside a slot.
    const spacing = slotSpacingMs(10);
    const flood = Array.from({ length: 12 }, () => waitForTurn('flood', 'A', 5000, 10));
    await sleep(150);
    const asked = Date.now();
    const b = await waitForTurn('flood', 'B', 5000, 10);
    const waited = b.at - asked;
    ok(b.granted);
    // A's 12 take 1.3 s; B takes the next slot (of equal tags, the space with fewer waiting goes first), plus its
    // looks' round trips: well under two slots, where first come, first served would make it wait about ten.
    ok(waited <= 2 * spacing, `B waited ${waited} ms behind A's backlog`);
    await Promise.all(flood);
  });

  it('refuses a request whose turn would come too late, and keeps no trace of it', async () => {
    const holders = Array.from({ length: 10 }, () => waitForTurn('late', 'A', 5000));
    // Once nine wait (one took the free slot), one more of A's own comes after all of them: its turn is about nine
    // slots (198 ms) away, and no fewer than six even if this machine stalls for a few slots before it asks. (Another
    // space's request would not do: it takes the very next slot, which may well come within 10 ms.)
    while (((await fleet.redis.command('HKEYS', 'fair-test:limit-owners:{late}')) as string[]).length < 9) {
      await sleep(2);
    }
    const refused = await stores().limiter.take('late', { id: 'too-late', space: 'A' }, 10);
    strictEqual(refused.state, 'refused', JSON.stringify(refused));
    const waiters = (await fleet.redis.command('HKEYS', 'fair-test:limit-owners:{late}')) as string[];
    strictEqual(waiters.includes('too-late'), false);
    await Promise.all(holders);
  });

  it('forgets a waiter that stopped looking (its instance froze or died)', async () => {
    // 1/s: 'gone' still waits for its slot (1.1 s) when it stops looking, however slow this machine is.
    await stores(1).limiter.take('stale', { id: 'first', space: 'A' }, 5000);
    const gone = await stores(1).limiter.take('stale', { id: 'gone', space: 'A' }, 5000);
    strictEqual(gone.state, 'queued');
    await sleep(STALE_MS + 50);
    const next = await waitForTurn('stale', 'A', 1000, 1);
    ok(next.granted);
    const waiters = (await fleet.redis.command('HKEYS', 'fair-test:limit-owners:{stale}')) as string[];
    deepStrictEqual(waiters, []);
  });
});

describe('lasting failures on Redis', () => {
  it('costs one CAMS call for one unknown flow asked by four instances at once', async () => {
    const instances = Array.from({ length: 4 }, () => fleet.instance());
    const answers = (await Promise.all(
      instances.map((instance, n) =>
        instance.invoke(directEvent({ flowId: 'foreign-flow' }), fleet.context(n % 2)),
      ),
    )) as Array<{ error?: { code: string } }>;
    deepStrictEqual(
      answers.map((answer) => answer.error?.code),
      Array(4).fill('Unknown.ResourceOwnerId'),
    );
    strictEqual(fleet.cams.calls.length, 1);
    // A fifth instance, later, is answered from the kept failure too.
    await fleet.instance().invoke(directEvent({ flowId: 'foreign-flow' }), fleet.context(1));
    strictEqual(fleet.cams.calls.length, 1);
  });
});
