/**
 * What the Redis client costs, and when: the main bundle with REDIS_URL unset vs set. The client lives in
 * dist/redis.js, required on the first invocation that has REDIS_URL; dist/index.js must not contain it, so an
 * instance without Redis loads exactly what it loaded before. Figures, not pass/fail. `npm run bench:redis-load`
 * (or `npm run bench`, which calls `redisLoadRows()`) writes the table into docs/benchmarks.md.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { type BenchSection, command, markdownTable, writeBenchSections } from './bench-report.mjs';

const DIST = resolve('dist');
const RUNS = Number(process.env['BENCH_COLD_RUNS'] ?? 25);
export const REDIS_LOAD_SETTINGS = ['BENCH_COLD_RUNS'] as const;

function timeProcess(args: string[], env: NodeJS.ProcessEnv): number {
  const start = process.hrtime.bigint();
  execFileSync(process.execPath, args, { stdio: 'ignore', cwd: DIST, env });
  return Number(process.hrtime.bigint() - start) / 1e6;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;
const ms = (n: number) => `${n.toFixed(1)} ms`;

/** [metric, value, target] rows: bundle sizes and cold start with REDIS_URL unset vs set. */
export function redisLoadRows(): Array<[string, string, string]> {
  const main = readFileSync(resolve(DIST, 'index.js'));
  const client = readFileSync(resolve(DIST, 'redis.js'));
  const env = { PATH: process.env['PATH'] ?? '' };
  // What a cold instance loads: unset, the main bundle; set, the main bundle and, on its first invocation,
  // dist/redis.js with a client (not connected: connecting is the network's cost, not the bundle's).
  const unset = "require('./index.js')";
  const set =
    "require('./index.js'); require('./redis.js').createRedisStores({ url: 'redis://127.0.0.1:1', keyPrefix: 'x:', commandTimeoutMs: 250 }).close()";
  timeProcess(['-e', ''], env);
  const bare: number[] = [];
  const withUnset: number[] = [];
  const withSet: number[] = [];
  for (let i = 0; i < RUNS; i += 1) {
    bare.push(timeProcess(['-e', ''], env));
    withUnset.push(timeProcess(['-e', unset], env));
    withSet.push(timeProcess(['-e', set], env));
  }
  return [
    ['main bundle dist/index.js raw / gzip', `${kib(main.length)} / ${kib(gzipSync(main).length)}`, ''],
    ['… contains the Redis client', main.includes('ioredis') ? 'yes' : 'no', 'no'],
    [
      'Redis stores dist/redis.js (ioredis 6.0.0) raw / gzip',
      `${kib(client.length)} / ${kib(gzipSync(client).length)}`,
      '',
    ],
    [
      `cold start, REDIS_URL unset: require index.js, added to node -e "" (median of ${RUNS})`,
      ms(median(withUnset) - median(bare)),
      '',
    ],
    [
      `cold start, REDIS_URL set: … plus dist/redis.js and its client (median of ${RUNS})`,
      ms(median(withSet) - median(bare)),
      '',
    ],
  ];
}

/** Its section of docs/benchmarks.md. */
export function redisLoadSection(rows: Array<[string, string, string]>): BenchSection {
  return {
    id: 'redis-load',
    title: 'The Redis client: loaded only with REDIS_URL',
    body: markdownTable(['metric', 'value', 'target'], rows),
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const section = redisLoadSection(redisLoadRows());
  writeBenchSections([section], command(fileURLToPath(import.meta.url), REDIS_LOAD_SETTINGS));
  process.stdout.write(`${section.body}\n`);
}
