/**
 * `npm run token -- --space cams-abc [--space cams-def] [--sub alice] [--ttl 3600]`: prints a development token
 * that `npm start` with FLOW_PREVIEW_AUTH_TYPE=jwt accepts (signed with the local key, see dev/dev-jwt.ts).
 */
import { parseArgs } from 'node:util';
import { mintDevToken } from './dev-jwt.js';

const USAGE = 'usage: npm run token -- [--space <custSpaceId>]... [--sub <subject>] [--ttl <seconds>]';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      space: { type: 'string', multiple: true },
      sub: { type: 'string' },
      ttl: { type: 'string' },
      help: { type: 'boolean' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const ttl = values.ttl === undefined ? 3600 : Number(values.ttl);
  if (!Number.isInteger(ttl) || ttl < 1 || ttl > 86_400) throw new Error('--ttl must be 1–86400 seconds');
  const spaces = values.space ?? [];
  for (const space of spaces) {
    if (!/^[A-Za-z0-9_.-]{1,64}$/.test(space))
      throw new Error(`--space ${JSON.stringify(space)} is not a custSpaceId`);
  }
  const token = await mintDevToken({ spaces, ttlS: ttl, ...(values.sub ? { subject: values.sub } : {}) });
  process.stdout.write(`${token}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n${USAGE}\n`);
  process.exit(2);
});
