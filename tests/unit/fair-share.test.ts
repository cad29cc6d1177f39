/**
 * The CAMS budget's fair share through the handler (one instance, its memory limiter, a fake clock): a flooding
 * space is the one refused, and the log line says which space waited and how long.
 */
import { deepStrictEqual, ok, strictEqual } from 'node:assert/strict';
import { describe, it } from 'node:test';
import { useCamsOnFakeClock } from '../fixtures/cams.js';
import { directEvent, fcContext } from '../fixtures/fc.js';
import { useFunction } from '../fixtures/function.js';

const FLOWS = [
  'flow-1',
  'flow-2',
  'flow-3',
  'b-flow',
  ...Array.from({ length: 16 }, (_, i) => `a-flow-${i}`),
];
const { cams, fresh } = useCamsOnFakeClock({ rateLimitPerSecond: 0, flows: FLOWS });
const fn = useFunction(() => ({ CAMS_ENDPOINT: cams.url }), fresh);

const ask = (flowId: string, custSpaceId: string, timeoutS = 10) =>
  fn().invoke(
    directEvent({ flowId, custSpaceId }),
    fcContext({ function: { timeout: timeoutS } }),
  ) as Promise<{
    error?: { code: string };
  }>;

describe("each space's fair share of the CAMS budget, through the handler", () => {
  it('logs which space waited for a slot and how long', async () => {
    await Promise.all([ask('flow-1', 'cams-a'), ask('flow-2', 'cams-a'), ask('flow-3', 'cams-a')]);
    const waits = fn()
      .logs()
      .map((line) => [line.custSpaceId, line['slotWaitMs'] ?? 0])
      .sort((a, b) => Number(a[1]) - Number(b[1]));
    deepStrictEqual(waits, [
      ['cams-a', 0],
      ['cams-a', 220],
      ['cams-a', 440],
    ]);
  });

  it("refuses the flooding space's requests, not the other space's", async () => {
    // A 2 s function: 1.75 s to wait for a slot. Space A asks 16 new flows at once; B asks one a moment later.
    const flood = Array.from({ length: 16 }, (_, i) => ask(`a-flow-${i}`, 'cams-a', 2));
    await new Promise((resolve) => setImmediate(resolve));
    const b = await ask('b-flow', 'cams-b', 2);
    const answers = await Promise.all(flood);
    strictEqual(b.error, undefined);
    const refusedA = answers.filter((answer) => answer.error?.code === 'RateLimited').length;
    ok(refusedA >= 7, `${refusedA} of A's 16 refused`);
    const bLine = fn()
      .logs()
      .find((line) => line.custSpaceId === 'cams-b');
    ok(Number(bLine?.['slotWaitMs'] ?? 0) <= 2 * 220, JSON.stringify(bLine));
    // Refused requests never reached CAMS: one call per request served.
    strictEqual(cams.calls.length, 16 - refusedA + 1);
  });

  it('logs how long a request waited before others pushed it past its deadline (429)', async () => {
    // A 1 s function: 750 ms to wait for a slot. A's fourth request is queued 660 ms out; B's newcomer goes before
    // it, so at its look 250 ms later its turn would come too late: refused after waiting.
    const flood = ['flow-1', 'flow-2', 'flow-3', 'a-flow-0'].map((flowId) => ask(flowId, 'cams-a', 1));
    await new Promise((resolve) => setImmediate(resolve));
    await Promise.all([ask('b-flow', 'cams-b', 1), ...flood]);
    const refused = fn()
      .logs()
      .filter((line) => line.outcome === 'RateLimited')
      .map((line) => [line.custSpaceId, line['slotWaitMs']]);
    deepStrictEqual(refused, [['cams-a', 250]]);
  });
});
