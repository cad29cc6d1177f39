/**
 * Negative answers shared like links (issue 17): a CAMS answer that will not change in the next seconds (the flow
 * is not this account's, the role may not ask, no subscription) is given to the key's other callers for
 * PREVIEW_FAILURE_CACHE_S without another CAMS call; throttling, 5xx and timeouts never are.
 */
import { deepStrictEqual, strictEqual } from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SAMPLE_ERROR_FLOWS } from '../../dev/cams-simulator.js';
import { readConfig } from '../../shared/config.js';
import type { RedisStores } from '../../shared/store/redis.js';
import { FleetStores } from '../../shared/store/select.js';
import { useCamsOnFakeClock } from '../fixtures/cams.js';
import { directEvent } from '../fixtures/fc.js';
import { buildFunction, useFunction } from '../fixtures/function.js';

const { cams, clock, fresh } = useCamsOnFakeClock({ errorFlows: SAMPLE_ERROR_FLOWS });
const fn = useFunction(() => ({ CAMS_ENDPOINT: cams.url, PREVIEW_FAILURE_CACHE_S: '10' }), fresh);

const ask = async (flowId: string, custSpaceId?: string) =>
  (await fn().invoke(directEvent({ flowId, ...(custSpaceId ? { custSpaceId } : {}) }))) as {
    error?: { code: string; status: number; requestId?: string };
  };

describe('lasting CAMS failures are shared for a short while', () => {
  for (const [flowId, code, status] of [
    ['foreign-flow', 'Unknown.ResourceOwnerId', 404],
    ['denied-flow', 'Ram.PermissionDeny', 403],
    ['unsubscribed-flow', 'Product.Unsubscript', 403],
  ] as const) {
    it(`answers ${code} again from the kept answer, without CAMS, until it expires`, async () => {
      const first = await ask(flowId);
      strictEqual(first.error?.code, code);
      strictEqual(first.error?.status, status);
      strictEqual(cams.calls.length, 1);

      clock().advance(9_000);
      // The same answer, CAMS's RequestId included: the caller sees what CAMS said.
      deepStrictEqual(await ask(flowId), first);
      strictEqual(cams.calls.length, 1);
      const lines = fn().logs();
      deepStrictEqual(
        lines.map((line) => [line.status, line.cache ?? null, line.camsCalls]),
        [
          [status, null, 1],
          [status, 'failure-hit', 0],
        ],
      );

      clock().advance(1_001);
      strictEqual((await ask(flowId)).error?.code, code);
      strictEqual(cams.calls.length, 2);
    });
  }

  it('keeps a failure per space: another space still asks CAMS', async () => {
    await ask('foreign-flow', 'cams-a');
    await ask('foreign-flow', 'cams-b');
    await ask('foreign-flow', 'cams-a');
    deepStrictEqual(
      cams.calls.map((call) => call.params['CustSpaceId']),
      ['cams-a', 'cams-b'],
    );
  });

  it('never keeps throttling: the next request asks CAMS again', async () => {
    const throttled = { kind: 'error', code: 'Throttling.User' } as const;
    cams.script(throttled, throttled, throttled, throttled);
    strictEqual((await ask('welcome-flow')).error?.status, 429);
    strictEqual(cams.calls.length, 4);
    const second = await ask('welcome-flow');
    strictEqual(second.error, undefined);
    strictEqual(cams.calls.length, 5);
  });

  it('never keeps a CAMS 5xx', async () => {
    const down = { kind: 'error', code: 'ServiceUnavailable', status: 503 } as const;
    cams.script(down, down, down, down);
    strictEqual((await ask('welcome-flow')).error?.code, 'CamsError');
    strictEqual((await ask('welcome-flow')).error, undefined);
    strictEqual(cams.calls.length, 5);
  });

  it('keeps nothing with PREVIEW_FAILURE_CACHE_S=0', async () => {
    const off = buildFunction({ CAMS_ENDPOINT: cams.url, PREVIEW_FAILURE_CACHE_S: '0' }, { clock: clock() });
    await off.invoke(directEvent({ flowId: 'foreign-flow' }));
    await off.invoke(directEvent({ flowId: 'foreign-flow' }));
    strictEqual(cams.calls.length, 2);
  });

  it('answers a kept record of a throttle (never a lasting answer) by asking CAMS, not with a 429', async () => {
    // What another writer of the shared store left under the key: no instance of this function keeps a throttle.
    const record = {
      cams: { kind: 'code', code: 'Throttling.User', httpStatus: 400, requestId: 'R-X', retryAfterMs: 1e12 },
    };
    const shared: RedisStores = {
      cache: {
        get: async () => ({
          entry: { failure: record, fetchedAt: clock().now() },
          validUntil: clock().now() + 60_000,
        }),
        set: async () => {},
      },
      lease: { acquire: async () => true, release: async () => {} },
      limiter: { take: async () => ({ state: 'granted' }) },
      ready: true,
      close: async () => {},
    };
    const env = { CAMS_ENDPOINT: cams.url, REDIS_URL: 'redis://127.0.0.1:1' };
    const startup = readConfig(env);
    strictEqual(startup.ok, true);
    const stores = startup.ok
      ? new FleetStores(startup.config.fleet, { loadRedis: () => shared, now: () => clock().now() })
      : undefined;
    const fleet = buildFunction(env, { clock: clock(), ...(stores ? { stores } : {}) });
    const answer = (await fleet.invoke(directEvent({ flowId: 'welcome-flow' }))) as Record<string, unknown>;
    strictEqual(answer['error'], undefined, JSON.stringify(answer));
    strictEqual(cams.calls.length, 1);
  });
});
