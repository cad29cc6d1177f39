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
const SPACING = slotSpacingMs(RATE);
const fleet = useFleet({ cams: { errorFlows: SAMPLE_ERROR_FLOWS } });

/** The Redis stores at 50/s, made on first use (the fleet's redis-server is up by then). */
let made: RedisStores | undefined;
const stores = (): RedisStores => {
  made ??= createRedisStores(
    { url: fleet.redis.url(), keyPrefix: 'fair-test:', commandTimeoutMs: 1000 },
    RATE,
  );
  return made;
};
after(() => made?.close());

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
let ids = 0;

/** One waiter as the core runs it: look, wait what the limiter says (at most 250 ms), look again. */
async function waitForTurn(
  scope: string,
  space: string,
  budgetMs: number,
): Promise<{ granted: boolean; at: number }> {
  ids += 1;
  const ticket: SlotTicket = { id: `t-${ids}`, space };
  const deadline = Date.now() + budgetMs;
  for (;;) {
    const turn: Turn = await stores().limiter.take(scope, ticket, Math.max(0, deadline - Date.now()));
    if (turn.state !== 'queued') return { granted: turn.state === 'granted', at: Date.now() };
    await sleep(Math.max(1, Math.min(turn.waitMs, 250)));
  }
}

describe('the fleet budget on Redis: fair between spaces', () => {
  it('gives a space alone every slot, at least a spacing apart', async () => {
    const started = Date.now();
    const grants = await Promise.all(Array.from({ length: 12 }, () => waitForTurn('alone', 'A', 5000)));
    const times = grants.map((g) => g.at).sort((a, b) => a - b);
    strictEqual(
      grants.every((g) => g.granted),
      true,
    );
    // Slots are kept on Redis's clock; what this process sees may shift by its event loop, a few ms either way.
    for (let i = 1; i < times.length; i += 1)
      ok((times[i] ?? 0) - (times[i - 1] ?? 0) >= SPACING - 8, `${times}`);
    // Work-conserving: 12 slots take about 11 spacings, not more.
    ok((times.at(-1) ?? 0) - started < 11 * SPACING + 250, `took ${(times.at(-1) ?? 0) - started} ms`);
  });

  it("serves a newcomer within a few slots while another space's backlog waits", async () => {
    const flood = Array.from({ length: 30 }, () => waitForTurn('flood', 'A', 5000));
    await sleep(60);
    const asked = Date.now();
    const b = await waitForTurn('flood', 'B', 5000);
    const waited = b.at - asked;
    ok(b.granted);
    // A's 30 would take 660 ms; B goes within about two slots (plus a look's round trip).
    ok(waited <= 3 * SPACING + 40, `B waited ${waited} ms behind A's backlog`);
    await Promise.all(flood);
  });

  it('refuses a request whose turn would come too late, and keeps no trace of it', async () => {
    const holders = Array.from({ length: 10 }, () => waitForTurn('late', 'A', 5000));
    await sleep(5);
    const refused = await stores().limiter.take('late', { id: 'too-late', space: 'B' }, 10);
    strictEqual(refused.state, 'refused');
    const waiters = (await fleet.redis.command('HKEYS', 'fair-test:limit-owners:{late}')) as string[];
    strictEqual(waiters.includes('too-late'), false);
    await Promise.all(holders);
  });

  it('forgets a waiter that stopped looking (its instance froze or died)', async () => {
    await stores().limiter.take('stale', { id: 'first', space: 'A' }, 5000);
    const gone = await stores().limiter.take('stale', { id: 'gone', space: 'A' }, 5000);
    strictEqual(gone.state, 'queued');
    await sleep(STALE_MS + 50);
    const next = await waitForTurn('stale', 'A', 1000);
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
