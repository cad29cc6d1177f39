/**
 * What the shared cache hands back is checked, not trusted: anyone who can write the Redis keys (another service,
 * an operator's script, an older version of this function) may leave a record there. A record this function would
 * not have written is a miss, answered with a CAMS call, never a 500, a link CAMS never gave, or a kept throttle.
 */
import { deepStrictEqual, strictEqual } from 'node:assert/strict';
import { describe, it } from 'node:test';
import { directEvent } from '../fixtures/fc.js';
import { useFleet } from '../fixtures/fleet.js';

const PREFIX = 'foreign-test:';
const fleet = useFleet({ env: { REDIS_KEY_PREFIX: PREFIX, CAMS_RATE_LIMIT_PER_SECOND: '50' } });

/** The Redis key of the one preview entry an instance wrote for `custSpaceId`. */
async function entryKey(custSpaceId: string): Promise<string> {
  const keys = (await fleet.redis.command('KEYS', `${PREFIX}preview:*`)) as string[];
  const found = keys.filter((key) => key.includes(`"${custSpaceId}"`));
  strictEqual(found.length, 1, `${keys}`);
  return found[0] as string;
}

describe('records in the shared cache that this function would not have written', () => {
  const now = Date.now();
  let n = 0;
  for (const [what, record] of [
    [
      'a link whose expiry is no date',
      { previewUrl: 'https://business.facebook.com/p', previewUrlExpires: 1e300, requestId: 'R-X' },
    ],
    [
      'a link that is not https',
      { previewUrl: 'javascript:alert(1)', previewUrlExpires: now + 86_400_000, requestId: 'R-X' },
    ],
    [
      'a kept throttling answer (only lasting answers are ever kept)',
      {
        failure: {
          cams: {
            kind: 'code',
            code: 'Throttling.User',
            httpStatus: 400,
            requestId: 'R-X',
            retryAfterMs: 1e12,
          },
        },
      },
    ],
  ] as const) {
    it(`treats ${what} as a miss: CAMS is asked and its link served`, async () => {
      n += 1;
      const ask = directEvent({ flowId: 'welcome-flow', custSpaceId: `space-${n}` });
      const first = (await fleet.instance().invoke(ask, fleet.context())) as Record<string, unknown>;
      strictEqual(typeof first['previewUrl'], 'string', JSON.stringify(first));
      const key = await entryKey(`space-${n}`);
      const stored = { flowId: 'welcome-flow', fetchedAt: now, validUntil: now + 600_000, ...record };
      await fleet.redis.command('SET', key, JSON.stringify(stored), 'PX', 600_000);

      const again = (await fleet.instance().invoke(ask, fleet.context(1))) as Record<string, unknown>;
      deepStrictEqual({ ...again, requestId: '' }, { ...first, requestId: '' });
      strictEqual(fleet.cams.calls.length, 2);
    });
  }
});
