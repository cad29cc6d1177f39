/** The shared preview cache on a real redis-server: two FC instances (two handlers, each with its own state) as one. */
import { deepStrictEqual, ok, strictEqual } from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { directEvent, ROLE_CREDENTIALS } from '../fixtures/fc.js';
import { useFleet } from '../fixtures/fleet.js';

const PREFIX = 'store-test:';
// The rate limiter has its own tests (redis-limiter.test.ts); here its 220 ms between CAMS calls would only add
// waits. No test makes more than three calls, so CAMS's own 5/s still holds.
const fleet = useFleet({
  env: { REDIS_KEY_PREFIX: PREFIX, PREVIEW_CACHE_MAX_AGE_S: '30', CAMS_RATE_LIMIT_PER_SECOND: '50' },
});

const flow = (flowId: string, custSpaceId?: string) =>
  directEvent(custSpaceId === undefined ? { flowId } : { flowId, custSpaceId });

describe('the shared preview cache (Redis)', () => {
  it('serves a link fetched by one instance to another as a hit, with one CAMS call', async () => {
    const [a, b] = [fleet.instance(), fleet.instance()];
    const { result, lines } = await fleet.capture(async () => [
      await a.invoke(flow('welcome-flow'), fleet.context(0)),
      await b.invoke(flow('welcome-flow'), fleet.context(1)),
    ]);
    strictEqual(fleet.cams.calls.length, 1);
    deepStrictEqual(result[1], result[0]);
    deepStrictEqual(
      lines.map((line) => [line.status, line.cache, line.store, line.camsCalls]),
      [
        [200, 'miss', 'redis', 1],
        [200, 'hit', 'redis', 0],
      ],
    );
  });

  it('never shares a link across accounts or spaces', async () => {
    const [a, b] = [fleet.instance(), fleet.instance()];
    await a.invoke(flow('order_status_01', 'space-a'), fleet.context(0));
    await b.invoke(flow('order_status_01', 'space-b'), fleet.context(1));
    await b.invoke(flow('order_status_01', 'space-a'), fleet.context(1, { accountId: '9999999999999999' }));
    await b.invoke(flow('order_status_01', 'space-a'), fleet.context(1));
    deepStrictEqual(
      fleet.cams.calls.map((call) => call.params['CustSpaceId']),
      ['space-a', 'space-b', 'space-a'],
    );
  });

  it('keeps an entry no longer than the maximum age, nor past the link’s expiry less the margin', async () => {
    const instance = fleet.instance();
    await instance.invoke(flow('survey-2026'), fleet.context());
    fleet.cams.script({
      kind: 'json',
      status: 200,
      body: {
        RequestId: 'R-SOON',
        Code: 'OK',
        Data: { FlowId: 'sample', PreviewUrl: 'https://x/p', PreviewUrlExpires: Date.now() + 3_610_000 },
      },
    });
    await instance.invoke(flow('welcome-flow', 'soon'), fleet.context());
    const ttls = new Map<string, number>();
    for (const key of (await fleet.redis.command('KEYS', `${PREFIX}preview:*`)) as string[]) {
      ttls.set(key, Number(await fleet.redis.command('PTTL', key)));
    }
    const ttlOf = (needle: string) => [...ttls].find(([key]) => key.includes(needle))?.[1] ?? -1;
    // PREVIEW_CACHE_MAX_AGE_S=30 bounds the 30-day link; the link expiring in 60 min 10 s keeps 10 s.
    ok(ttlOf('survey-2026') > 25_000 && ttlOf('survey-2026') <= 30_000, `max age: ${ttlOf('survey-2026')}`);
    ok(ttlOf('"soon"') > 5_000 && ttlOf('"soon"') <= 10_000, `link expiry: ${ttlOf('"soon"')}`);
  });

  it('keeps one connection across warm invocations, and replaces one the server dropped (as after a freeze)', async () => {
    const connections = async () =>
      String(await fleet.redis.command('CLIENT', 'LIST'))
        .split('\n')
        .filter((line) => line.includes('name=flow-preview'))
        .map((line) => /\bid=(\d+)/.exec(line)?.[1] ?? '');
    const before = new Set(await connections());
    // With REDIS_URL set, an instance connects while it loads.
    const instance = fleet.instance();
    await instance.invoke(flow('welcome-flow'), fleet.context());
    const mine = (await connections()).filter((id) => !before.has(id));
    for (let i = 0; i < 10; i += 1) await instance.invoke(flow('welcome-flow'), fleet.context());
    deepStrictEqual(
      (await connections()).filter((id) => !before.has(id)),
      mine,
    );
    strictEqual(mine.length, 1);
    await fleet.redis.command('CLIENT', 'KILL', 'ID', mine[0] ?? '');
    const { lines } = await fleet.capture(async () => instance.invoke(flow('welcome-flow'), fleet.context()));
    deepStrictEqual(
      lines.map((line) => [line.status, line.cache, line.store]),
      [[200, 'hit', 'redis']],
    );
  });

  it('loads the Redis client (dist/redis.js) only when REDIS_URL is set', async () => {
    // The deployed bundle in a process of its own, answering one invocation (through the stores, to CAMS and back).
    const script = `
      const { handler } = require('./dist/index.js');
      handler(Buffer.from('{"flowId":"welcome-flow"}'), { accountId: '1234567890123456' }).then((reply) => {
        const loaded = Object.keys(require.cache).map((f) => f.replace(process.cwd(), ''));
        process.stderr.write(JSON.stringify({ answer: reply.flowId ?? reply.error, loaded }));
        process.exit(0);
      });`;
    const run = async (env: Record<string, string>) =>
      JSON.parse(
        (
          await promisify(execFile)(process.execPath, ['-e', script], {
            env: {
              PATH: process.env['PATH'] ?? '',
              CAMS_ENDPOINT: fleet.cams.url,
              ALIBABA_CLOUD_ACCESS_KEY_ID: ROLE_CREDENTIALS.accessKeyId,
              ALIBABA_CLOUD_ACCESS_KEY_SECRET: ROLE_CREDENTIALS.accessKeySecret,
              ALIBABA_CLOUD_SECURITY_TOKEN: ROLE_CREDENTIALS.securityToken,
              ...env,
            },
          })
        ).stderr,
      ) as { answer: unknown; loaded: string[] };
    const [without, withRedis] = await Promise.all([
      run({}),
      run({ REDIS_URL: fleet.redis.url(), REDIS_KEY_PREFIX: `${PREFIX}bundle:` }),
    ]);
    deepStrictEqual(without, { answer: 'welcome-flow', loaded: ['/dist/index.js'] });
    deepStrictEqual(withRedis, { answer: 'welcome-flow', loaded: ['/dist/index.js', '/dist/redis.js'] });
  });
});
