/**
 * Redis trouble never fails a request: killed, paused (SIGSTOP), restarted, a wrong password, full (maxmemory).
 * The instance serves from memory meanwhile, says so in its log line (`store: "degraded"`), and goes back to Redis
 * by itself. The password never appears in a log line or an answer.
 */
import { deepStrictEqual, ok, strictEqual } from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RedisServer } from '../../dev/redis-server.js';
import type { Env } from '../../shared/config.js';
import { SkippingClock } from '../fixtures/clock.js';
import { directEvent } from '../fixtures/fc.js';
import { type Instance, useFleet } from '../fixtures/fleet.js';
import type { LogLine } from '../fixtures/function.js';

const PASSWORD = 'correct-horse-battery-staple-9';
const fleet = useFleet({ redis: { password: PASSWORD }, env: { REDIS_KEY_PREFIX: 'degrade-test:' } });

// Everything runs for real (Redis's command timeouts, ioredis's reconnects, CAMS); only the instance's cool-down
// after a Redis failure (1 s of its clock, shared/store/select.ts) is jumped over instead of waited for.
const clock = new SkippingClock();
/** One more FC instance, on the test's clock. */
const start = (env?: Env): Instance => fleet.instance(env, { clock });
/** What an instance's cool-down is at least: one skip per round moves past it. */
const COOL_DOWN_MS = 1000;

/** One invocation with a 2 s function timeout: its reply and its log line. */
async function ask(
  instance: Instance,
  flowId: string,
): Promise<{ reply: unknown; line: LogLine; raw: string }> {
  const context = fleet.context(0, { function: { timeout: 2 } });
  const { result, lines, raw } = await fleet.capture(() => instance.invoke(directEvent({ flowId }), context));
  return { reply: result, line: lines[0] as LogLine, raw };
}

const succeeded = (reply: unknown, flowId: string) => (reply as { flowId?: string }).flowId === flowId;

/**
 * Asks until the log says `store: "redis"` again (at most `withinMs` of real time); returns the replies on the way.
 * Between asks the instance's clock moves past its cool-down, and real time passes for the client to reconnect.
 */
async function untilRedis(instance: Instance, withinMs: number): Promise<LogLine[]> {
  const seen: LogLine[] = [];
  const until = Date.now() + withinMs;
  while (Date.now() < until) {
    const { reply, line } = await ask(instance, 'welcome-flow');
    ok(succeeded(reply, 'welcome-flow'), `failed while recovering: ${JSON.stringify(reply)}`);
    seen.push(line);
    if (line.store === 'redis') return seen;
    clock.skip(COOL_DOWN_MS);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`never back on Redis: ${JSON.stringify(seen.map((line) => line.store))}`);
}

describe('Redis trouble', () => {
  it('serves every request while Redis is killed, and goes back to Redis once it is restarted', async () => {
    const instance = start();
    strictEqual((await ask(instance, 'welcome-flow')).line.store, 'redis');
    await fleet.redis.kill();
    for (const flowId of ['welcome-flow', 'order_status_01', 'survey-2026']) {
      const { reply, line } = await ask(instance, flowId);
      ok(succeeded(reply, flowId), JSON.stringify(reply));
      strictEqual(line.store, 'degraded');
      ok(line.latencyMs < 1500, `took ${line.latencyMs} ms`);
    }
    await fleet.redis.restart();
    const recovery = await untilRedis(instance, 8000);
    strictEqual(recovery.at(-1)?.store, 'redis');
  });

  it('meets a 2 s function timeout while Redis is paused (SIGSTOP), and recovers when it resumes', async () => {
    // Commands time out after 800 ms here, so a request that waited on Redis again is told apart from one that did
    // not by far more than a loaded machine's jitter (with the default 250 ms, a request that did not wait took 262).
    const instance = start({ REDIS_COMMAND_TIMEOUT_MS: '800' });
    strictEqual((await ask(instance, 'welcome-flow')).line.store, 'redis');
    fleet.redis.pause();
    try {
      const { reply, line } = await ask(instance, 'order_status_01');
      ok(succeeded(reply, 'order_status_01'), JSON.stringify(reply));
      deepStrictEqual([line.status, line.store, line.storeFailure], [200, 'degraded', 'timeout']);
      ok(line.latencyMs < 1500, `took ${line.latencyMs} ms`);
      const again = await ask(instance, 'survey-2026');
      ok(succeeded(again.reply, 'survey-2026'));
      // Within the cool-down the instance does not wait on Redis again (that would take 800 ms at least).
      ok(again.line.latencyMs < 600, `took ${again.line.latencyMs} ms`);
    } finally {
      fleet.redis.resume();
    }
    await untilRedis(instance, 8000);
  });

  it('serves from memory with a wrong password, says why, and never logs the password', async () => {
    const wrong = 'wrong-password-that-must-not-leak';
    const instance = start({ REDIS_URL: fleet.redis.url(wrong) });
    const first = await ask(instance, 'welcome-flow');
    ok(succeeded(first.reply, 'welcome-flow'), JSON.stringify(first.reply));
    deepStrictEqual([first.line.store, first.line.storeFailure], ['degraded', 'auth']);
    const second = await ask(instance, 'welcome-flow');
    deepStrictEqual([second.line.cache, second.line.store], ['hit', 'degraded']);
    for (const text of [first.raw, second.raw, JSON.stringify([first.reply, second.reply])]) {
      ok(!text.includes(wrong) && !text.includes(PASSWORD), 'a password reached a log line or an answer');
    }
  });

  it('serves from memory while Redis is full (maxmemory, noeviction), and goes back when it has room', async () => {
    const instance = start();
    strictEqual((await ask(instance, 'welcome-flow')).line.store, 'redis');
    const admin = fleet.redis.client();
    await admin.auth(PASSWORD);
    try {
      await admin.config('SET', 'maxmemory-policy', 'noeviction');
      await admin.config('SET', 'maxmemory', '1');
      const { reply, line } = await ask(instance, 'order_status_01');
      ok(succeeded(reply, 'order_status_01'), JSON.stringify(reply));
      deepStrictEqual([line.store, line.storeFailure], ['degraded', 'full']);
      await admin.config('SET', 'maxmemory', '0');
      await untilRedis(instance, 8000);
    } finally {
      admin.disconnect();
    }
  });

  it('stays on Redis when maxmemory evicts its keys (allkeys-lru): evicted links are only misses', async () => {
    const server = await RedisServer.start();
    const admin = server.client();
    let instance: Instance | undefined;
    try {
      // A running instance (its connection open, its limiter script loaded: Redis counts both as used memory), then
      // a Redis with 300 KB to spare filled with 600 KB.
      instance = start({ REDIS_URL: server.url() });
      await ask(instance, 'welcome-flow');
      const used = Number(/used_memory:(\d+)/.exec(await admin.info('memory'))?.[1]);
      await admin.config('SET', 'maxmemory', String(used + 300_000));
      await admin.config('SET', 'maxmemory-policy', 'allkeys-lru');
      const filler = 'x'.repeat(1024);
      // One round trip, one SET each: every SET may evict (one 600 KB MSET would be refused as a whole).
      const fill = admin.pipeline();
      for (let i = 0; i < 600; i += 1) fill.set(`filler:${i}`, filler);
      for (const [error] of (await fill.exec()) ?? []) if (error) throw error;
      const lines: LogLine[] = [];
      for (let i = 0; i < 12; i += 1) {
        const flowId = ['welcome-flow', 'order_status_01', 'survey-2026'][i % 3] as string;
        const { reply, line } = await ask(instance, flowId);
        ok(succeeded(reply, flowId), JSON.stringify(reply));
        lines.push(line);
      }
      ok(Number(/evicted_keys:(\d+)/.exec(await admin.info('stats'))?.[1]) > 0, 'nothing was evicted');
      deepStrictEqual(new Set(lines.map((line) => line.store)), new Set(['redis']));
    } finally {
      admin.disconnect();
      await instance?.close();
      await server.stop();
    }
  });

  it('serves, while Redis is down, the links an instance had read from Redis (its memory copy)', async () => {
    const [a, b] = [start(), start()];
    await ask(a, 'survey-2026');
    strictEqual((await ask(b, 'survey-2026')).line.cache, 'hit');
    const callsBefore = fleet.cams.calls.length;
    await fleet.redis.kill();
    try {
      const { reply, line } = await ask(b, 'survey-2026');
      ok(succeeded(reply, 'survey-2026'), JSON.stringify(reply));
      deepStrictEqual([line.cache, line.store, line.camsCalls], ['hit', 'degraded', 0]);
      strictEqual(fleet.cams.calls.length, callsBefore);
    } finally {
      await fleet.redis.restart();
    }
  });
});
