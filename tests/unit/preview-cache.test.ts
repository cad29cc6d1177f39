/** The preview cache and single-flight: as units, and through the composed handler against the simulator. */
import { deepStrictEqual, strictEqual } from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SingleFlight } from '../../shared/preview/single-flight.js';
import { MemoryPreviewCache } from '../../shared/store/memory.js';
import { useCamsOnFakeClock } from '../fixtures/cams.js';
import { directEvent } from '../fixtures/fc.js';
import { useFunction } from '../fixtures/function.js';

const preview = (flowId: string) => ({
  flowId,
  previewUrl: `https://x/${flowId}`,
  previewUrlExpires: 10_000,
  requestId: 'R',
  fetchedAt: 0,
});

describe('MemoryPreviewCache', () => {
  it('forgets an entry once it is no longer valid', async () => {
    let now = 0;
    const cache = new MemoryPreviewCache({ now: () => now });
    await cache.set('k', preview('a'), 100);
    deepStrictEqual(await cache.get('k'), preview('a'));
    now = 100;
    strictEqual(await cache.get('k'), undefined);
    strictEqual(cache.size, 0);
  });

  it('is bounded, evicting the least recently used entry', async () => {
    const cache = new MemoryPreviewCache({ maxEntries: 2, now: () => 0 });
    await cache.set('a', preview('a'), 100);
    await cache.set('b', preview('b'), 100);
    await cache.get('a'); // a is now the most recent
    await cache.set('c', preview('c'), 100);
    strictEqual(cache.size, 2);
    strictEqual(await cache.get('b'), undefined);
    deepStrictEqual(await cache.get('a'), preview('a'));
    deepStrictEqual(await cache.get('c'), preview('c'));
  });
});

describe('SingleFlight', () => {
  it('shares one run among concurrent callers, success or failure, and forgets it afterwards', async () => {
    const flight = new SingleFlight<string>();
    let runs = 0;
    const work = () => {
      runs += 1;
      return new Promise<string>((resolve) => setTimeout(() => resolve(`run ${runs}`), 10));
    };
    const calls = Array.from({ length: 5 }, () => flight.run('k', work));
    deepStrictEqual(
      calls.map((c) => c.joined),
      [false, true, true, true, true],
    );
    deepStrictEqual(await Promise.all(calls.map((c) => c.promise)), Array(5).fill('run 1'));
    strictEqual(flight.size, 0);

    const failing = [flight.run('k', async () => Promise.reject(new Error('nope'))), flight.run('k', work)];
    const outcomes = await Promise.allSettled(failing.map((c) => c.promise));
    deepStrictEqual(
      outcomes.map((o) => o.status),
      ['rejected', 'rejected'],
    );
    strictEqual(runs, 1);
    strictEqual(flight.size, 0);
  });
});

describe('the handler’s cache', () => {
  // One clock for the function and the simulator: the 5/s budget's waits between CAMS calls pass at once.
  const { cams, clock, fresh } = useCamsOnFakeClock();
  // A fresh instance (an empty cache) per test. Refreshes here are the caller's every time; redis-refresh.test.ts
  // covers the interval.
  const fn = useFunction(
    () => ({ CAMS_ENDPOINT: cams.url, CAMS_TIMEOUT_MS: '500', PREVIEW_REFRESH_INTERVAL_S: '0' }),
    fresh,
  );

  const get = (headers: Record<string, string> = {}) => fn().http({ headers });
  const handler = (event: Buffer) => fn().invoke(event);

  it('calls CAMS once per flow and then serves the link from the cache, saying so', async () => {
    const first = await get();
    const second = await get();
    strictEqual(cams.calls.length, 1);
    deepStrictEqual([first.headers['X-Cache'], second.headers['X-Cache']], ['miss', 'hit']);
    deepStrictEqual(second.json, first.json);
    strictEqual(second.headers['Cache-Control'], 'private, max-age=3600');
  });

  it('fetches a fresh link for Cache-Control: no-cache, and keeps it', async () => {
    await get();
    const refreshed = await get({ 'Cache-Control': 'max-age=0, No-Cache' });
    strictEqual(refreshed.headers['X-Cache'], 'refresh');
    strictEqual(cams.calls.length, 2);
    strictEqual((await get()).headers['X-Cache'], 'hit');
    strictEqual(cams.calls.length, 2);
  });

  it('does not treat a browser reload (max-age=0) as a refresh', async () => {
    await get();
    strictEqual((await get({ 'Cache-Control': 'max-age=0' })).headers['X-Cache'], 'hit');
  });

  it('fetches a fresh link for "refresh": true on direct invocation, and rejects a non-boolean refresh', async () => {
    await handler(directEvent({ flowId: 'welcome-flow' }));
    await handler(directEvent({ flowId: 'welcome-flow', refresh: true }));
    strictEqual(cams.calls.length, 2);
    deepStrictEqual(await handler(directEvent({ flowId: 'welcome-flow', refresh: 'yes' })), {
      error: { code: 'InvalidRequest', message: 'refresh must be true or false', status: 400 },
    });
    strictEqual(cams.calls.length, 2);
  });

  it('keys the cache by custSpaceId as well as flowId', async () => {
    await handler(directEvent({ flowId: 'welcome-flow', custSpaceId: 'space-a' }));
    await handler(directEvent({ flowId: 'welcome-flow', custSpaceId: 'space-b' }));
    await handler(directEvent({ flowId: 'welcome-flow', custSpaceId: 'space-a' }));
    deepStrictEqual(
      cams.calls.map((c) => c.params['CustSpaceId']),
      ['space-a', 'space-b'],
    );
  });

  it('shares one CAMS call among 100 concurrent requests for one flow', async () => {
    cams.script({ kind: 'delay', ms: 50 });
    const responses = await Promise.all(Array.from({ length: 100 }, () => get()));
    strictEqual(cams.calls.length, 1);
    strictEqual(new Set(responses.map((r) => r.body)).size, 1);
    strictEqual(
      responses.every((r) => r.statusCode === 200),
      true,
    );
  });

  it('shares a failure among concurrent requests, and does not cache one that may change', async () => {
    // InvalidParameter is neither retried nor lasting (lasting ones are kept: tests/unit/failure-sharing.test.ts).
    cams.script({ kind: 'delay', ms: 30, next: { kind: 'error', code: 'InvalidParameter' } });
    const responses = await Promise.all(Array.from({ length: 10 }, () => get()));
    deepStrictEqual(new Set(responses.map((r) => r.statusCode)), new Set([502]));
    strictEqual(cams.calls.length, 1);
    strictEqual((await get()).statusCode, 200);
    strictEqual(cams.calls.length, 2);
  });

  it('does not keep a link that expires within the safety margin', async () => {
    cams.script({
      kind: 'json',
      status: 200,
      body: {
        RequestId: 'R1',
        Code: 'OK',
        Data: {
          FlowId: 'welcome-flow',
          PreviewUrl: 'https://x/p',
          PreviewUrlExpires: clock().now() + 60_000,
        },
      },
    });
    const soon = await get();
    strictEqual(soon.headers['Cache-Control'], 'private, max-age=0');
    strictEqual((await get()).headers['X-Cache'], 'miss');
    strictEqual(cams.calls.length, 2);
  });

  it('marks errors no-store', async () => {
    const response = await fn().http({ path: '/flows/bad.id/preview-url' });
    strictEqual(response.headers['Cache-Control'], 'no-store');
    strictEqual(response.headers['X-Cache'], undefined);
  });
});
