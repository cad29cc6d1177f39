/**
 * The two twins of the CAMS budget's rule step for step: `takeTurn` (shared/store/fair-queue.ts, what memory runs)
 * and the Lua script `TAKE_TURN` (shared/store/redis.ts, what the fleet runs), on a real redis-server. The script
 * reads Redis's clock; to drive both with one sequence of instants, this test (and only this test) runs the script's
 * own text with its first two lines, which read `TIME`, replaced by `now` as one more argument. Every decision and
 * the whole state after it (next slot, virtual time, each space's last tag and count, the queue and its order) must
 * be the same.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import type { Redis } from 'ioredis';
import { RedisServer } from '../../dev/redis-server.js';
import type { Turn } from '../../shared/preview/ports.js';
import { type FairQueueState, newFairQueueState, STALE_MS, takeTurn } from '../../shared/store/fair-queue.js';

const SPACING = 220;
const READS_TIME = /^local t = redis\.call\('TIME'\)\nlocal now = [^\n]*\n/;

/** The production script's text, reading `now` from ARGV[7] instead of Redis's clock. */
function scriptAtArgvNow(): string {
  const source = readFileSync(join(__dirname, '../../shared/store/redis.ts'), 'utf8');
  const script = /const TAKE_TURN = `\n([\s\S]*?)`;/.exec(source)?.[1];
  if (script === undefined || !READS_TIME.test(script)) {
    throw new Error('TAKE_TURN no longer starts by reading TIME: update this test with the script');
  }
  return script.replace(READS_TIME, 'local now = tonumber(ARGV[7])\n');
}

let server: RedisServer;
let client: Redis;
before(async () => {
  server = await RedisServer.start();
  client = server.client();
});
after(async () => {
  client.disconnect();
  await server.stop();
});

/** What Redis holds, in the memory twin's shape. */
async function redisState(keys: readonly string[]): Promise<unknown> {
  const [state = '', queue = '', , , , spaces = ''] = keys;
  const [tat, vt] = await client.hmget(state, 'tat', 'vt');
  const fields = await client.hgetall(spaces);
  return {
    tat: Number(tat ?? 0),
    virtualTime: Number(vt ?? 0),
    spaces: Object.fromEntries(
      Object.keys(fields)
        .filter((field) => field.startsWith('t:'))
        .map((field): [string, number[]] => [
          field.slice(2),
          [Number(fields[field]), Number(fields[`w:${field.slice(2)}`])],
        ])
        .sort(),
    ),
    queue: ((await client.call('ZRANGE', queue, '0', '-1', 'WITHSCORES')) as unknown[]).flat().map(String),
  };
}

function memoryState(state: FairQueueState): unknown {
  const queue = [...state.waiters]
    .sort(([a, x], [b, y]) => x.tag - y.tag || (a < b ? -1 : 1))
    .flatMap(([id, waiter]) => [id, String(waiter.tag)]);
  return {
    tat: state.tat,
    virtualTime: state.virtualTime,
    spaces: Object.fromEntries(
      [...state.spaces]
        .map(([space, { lastTag, waiting }]): [string, number[]] => [space, [lastTag, waiting]])
        .sort(),
    ),
    queue,
  };
}

function asTurn(reply: unknown): Turn {
  const [kind, ms] = reply as [number, number];
  if (kind === 1) return { state: 'granted' };
  return kind === 0 ? { state: 'queued', waitMs: ms } : { state: 'refused', retryAfterMs: ms };
}

describe('the fair queue in memory and on Redis', () => {
  it('decide the same and hold the same state for any sequence of looks (property)', async () => {
    const script = scriptAtArgvNow();
    let run = 0;
    const ids = ['0a6e', '0a6f', '3c1d', '9f00', 'a000', 'b7c2', 'ffff'];
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            // Up to past STALE_MS between two looks, so forgotten waiters are part of the sequences.
            afterMs: fc.oneof(fc.integer({ min: 0, max: 60 }), fc.integer({ min: 0, max: STALE_MS + 200 })),
            id: fc.constantFrom(...ids),
            space: fc.constantFrom('A', 'B', 'C', ''),
            maxWaitMs: fc.integer({ min: 0, max: 2000 }),
          }),
          { maxLength: 50 },
        ),
        async (looks) => {
          run += 1;
          const keys = ['turn', 'queue', 'deadlines', 'seen', 'owners', 'spaces'].map(
            (kind) => `twins:${kind}:{${run}}`,
          );
          const memory = newFairQueueState();
          // A ticket keeps its space while it waits, as the core's tickets do.
          const spaceOf = new Map<string, string>();
          let now = 1_780_000_000_000;
          for (const look of looks) {
            now += look.afterMs;
            const ticket = { id: look.id, space: spaceOf.get(look.id) ?? look.space };
            const expected = takeTurn(memory, now, ticket, look.maxWaitMs, SPACING);
            if (expected.state === 'queued') spaceOf.set(ticket.id, ticket.space);
            else spaceOf.delete(ticket.id);
            const reply = await client.eval(
              script,
              keys.length,
              ...keys,
              ticket.id,
              ticket.space,
              look.maxWaitMs,
              SPACING,
              STALE_MS,
              600_000,
              now,
            );
            const step = JSON.stringify({ now, look, ticket });
            const onRedis = asTurn(reply);
            if (JSON.stringify(onRedis) !== JSON.stringify(expected)) {
              throw new Error(
                `${step}: Redis ${JSON.stringify(onRedis)}, memory ${JSON.stringify(expected)}`,
              );
            }
            const [held, kept] = [await redisState(keys), memoryState(memory)];
            if (JSON.stringify(held) !== JSON.stringify(kept)) {
              throw new Error(`${step}: Redis holds ${JSON.stringify(held)}, memory ${JSON.stringify(kept)}`);
            }
          }
        },
      ),
      { numRuns: 400 },
    );
  });
});
