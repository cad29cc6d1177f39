/** Cross-instance single-flight: one CAMS call per key for the whole fleet, and a dead holder's lease taken over. */
import { deepStrictEqual, ok, strictEqual } from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, it } from 'node:test';
import { directEvent, ROLE_CREDENTIALS } from '../fixtures/fc.js';
import { useFleet } from '../fixtures/fleet.js';

const PREFIX = 'lease-test:';
const fleet = useFleet({ env: { REDIS_KEY_PREFIX: PREFIX } });

describe('cross-instance single-flight (Redis lease)', () => {
  it('makes one CAMS call for concurrent misses of one flow on two instances', async () => {
    const [a, b] = [fleet.instance(), fleet.instance()];
    fleet.cams.script({ kind: 'delay', ms: 300 });
    const { result, lines } = await fleet.capture(() =>
      Promise.all([
        a.invoke(directEvent({ flowId: 'welcome-flow' }), fleet.context(0)),
        b.invoke(directEvent({ flowId: 'welcome-flow' }), fleet.context(1)),
      ]),
    );
    strictEqual(fleet.cams.calls.length, 1);
    deepStrictEqual(result[0], result[1]);
    deepStrictEqual(lines.map((line) => [line.status, line.cache, line.camsCalls]).sort(), [
      [200, 'hit', 0],
      [200, 'miss', 1],
    ]);
  });

  it('takes over the lease of a holder that died mid-call, once the lease expires', async () => {
    // The holder: another FC instance (its own process, the deployed bundle reading its environment at start) with a
    // 2 s function timeout, killed while CAMS is slow.
    fleet.cams.script({ kind: 'delay', ms: 4000 });
    const holder = spawn(
      process.execPath,
      [
        '-e',
        `require('./dist/index.js').handler(Buffer.from('{"flowId":"order_status_01"}'),
          { accountId: '1234567890123456', credentials: ${JSON.stringify(ROLE_CREDENTIALS)}, function: { timeout: 2 } })`,
      ],
      { env: { ...process.env, ...fleet.env() }, stdio: 'ignore' },
    );
    const leases = async () => (await fleet.redis.command('KEYS', `${PREFIX}lease:*`)) as string[];
    const until = Date.now() + 5000;
    // Killed once its CAMS request has arrived (the simulator took the slow step) while it holds the lease.
    while (fleet.cams.pendingScript > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    strictEqual((await leases()).length, 1, 'the holder took the lease');
    const exited = once(holder, 'exit');
    holder.kill('SIGKILL');
    await exited;

    const { result, lines } = await fleet.capture(() =>
      fleet.instance().invoke(directEvent({ flowId: 'order_status_01' }), fleet.context(1)),
    );
    strictEqual((result as { flowId?: string }).flowId, 'order_status_01');
    deepStrictEqual(
      lines.map((line) => [line.status, line.cache, line.camsCalls]),
      [[200, 'miss', 1]],
    );
    // It waited for the dead holder's lease (its 1.8 s deadline plus a grace) instead of calling at once.
    const waited = lines[0]?.latencyMs ?? 0;
    ok(waited >= 1000 && waited < 4000, `took over after ${waited} ms`);
    deepStrictEqual(await leases(), []);
  });
});
