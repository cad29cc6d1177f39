/** Refresh without abuse: `Cache-Control: no-cache` / `"refresh": true` call CAMS at most once per key per interval. */
import { deepStrictEqual, strictEqual } from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SkippingClock } from '../fixtures/clock.js';
import { directEvent, httpEvent } from '../fixtures/fc.js';
import { useFleet } from '../fixtures/fleet.js';

const INTERVAL_MS = 1000;
const fleet = useFleet({
  env: { REDIS_KEY_PREFIX: 'refresh-test:', PREVIEW_REFRESH_INTERVAL_S: String(INTERVAL_MS / 1000) },
});
// The interval runs on the instances' clock (one for the fleet): a test jumps over it instead of waiting; Redis,
// the leases and CAMS stay on real time.
const clock = new SkippingClock();

const refresh = (flowId: string) =>
  httpEvent({ path: `/flows/${flowId}/preview-url`, headers: { 'Cache-Control': 'no-cache' } });

describe('refresh interval', () => {
  it('serves a refresh inside the interval the link just fetched, as a hit, on any instance', async () => {
    const [a, b] = [fleet.instance({}, { clock }), fleet.instance({}, { clock })];
    const { result } = await fleet.capture(async () => [
      await a.invoke(directEvent({ flowId: 'welcome-flow' }), fleet.context(0)),
      await a.invoke(refresh('welcome-flow'), fleet.context(0)),
      await b.invoke(refresh('welcome-flow'), fleet.context(1)),
      await b.invoke(directEvent({ flowId: 'welcome-flow', refresh: true }), fleet.context(1)),
    ]);
    deepStrictEqual(
      result.slice(1, 3).map((reply) => (reply as { headers: Record<string, string> }).headers['X-Cache']),
      ['hit', 'hit'],
    );
    strictEqual(fleet.cams.calls.length, 1);
  });

  it('after the interval, makes one CAMS call for many concurrent refreshes across instances', async () => {
    const [a, b] = [fleet.instance({}, { clock }), fleet.instance({}, { clock })];
    await a.invoke(directEvent({ flowId: 'survey-2026' }), fleet.context(0));
    clock.skip(INTERVAL_MS + 100);
    const { lines } = await fleet.capture(() =>
      Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          (i % 2 === 0 ? a : b).invoke(refresh('survey-2026'), fleet.context(i % 2)),
        ),
      ),
    );
    strictEqual(fleet.cams.calls.length, 2);
    deepStrictEqual(
      lines.map((line) => line.status),
      Array.from({ length: 10 }, () => 200),
    );
    // One instance's callers share its refresh; the other instance finds the new link inside the interval.
    strictEqual(lines.filter((line) => line.cache === 'refresh').length, 5);
    strictEqual(lines.filter((line) => line.cache === 'hit').length, 5);
  });
});
