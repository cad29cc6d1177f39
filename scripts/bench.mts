/**
 * `npm run bench`: figures, not pass/fail. Measures side by side in one run on this machine and prints two tables:
 * (1) this function against three anchors on the same loopback CAMS, interleaved — A1 the official
 * `@alicloud/cams20200606` SDK in a plain handler with its node_modules, A2 the same bundled by esbuild, A3 a bare
 * V3-signed node:https request (the floor) — cold start, first invocation, warm call and peak RSS, with ratios to A1;
 * (2) cold start and bundle size, latency against a bare signed request, bursts through the local server (CAMS
 * calls, statuses, nothing lost), a throttled burst, and the handler process's peak RSS; and (3) what the optional
 * parts (the Redis client, the JWT verifier) cost. Each table replaces its section of docs/benchmarks.md.
 *
 * A short run (seconds instead of minutes, figures only indicative): `BENCH_ONLY=anchors,cold,latency,optional
 * BENCH_COLD_RUNS=3 BENCH_FIRST_RUNS=3 BENCH_ANCHOR_CALLS=200 BENCH_WARM_CALLS=200 BENCH_JWT_RUNS=3 npm run bench`
 * (the bursts part has no knob: its burst sizes are what it measures).
 */
import { type ChildProcess, execFile, execFileSync, fork, spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import { Agent } from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deflateRawSync, gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { type CamsSimulator, startCamsSimulator } from '../dev/cams-simulator.js';
import { signedCamsRequest } from '../dev/signed-request.js';
import { JWT_LOAD_SETTINGS, jwtLoadSection, measureJwtLoad } from './bench-jwt-load.mjs';
import { REDIS_LOAD_SETTINGS, redisLoadRows, redisLoadSection } from './bench-redis-load.mjs';
import { type BenchSection, command, markdownTable, writeBenchSections } from './bench-report.mjs';

const DIST = resolve('dist/index.js');
const KEY = { accessKeyId: 'STS.BenchKeyId', accessKeySecret: 'bench-secret', securityToken: 'bench-token' };
const COLD_RUNS = Number(process.env['BENCH_COLD_RUNS'] ?? 25);
const WARM_CALLS = Number(process.env['BENCH_WARM_CALLS'] ?? 1000);
/** The environment knobs of this script (a run that sets one says so in docs/benchmarks.md). */
const SETTINGS = [
  'BENCH_ONLY',
  'BENCH_COLD_RUNS',
  'BENCH_FIRST_RUNS',
  'BENCH_ANCHOR_CALLS',
  'BENCH_WARM_CALLS',
  ...REDIS_LOAD_SETTINGS,
  ...JWT_LOAD_SETTINGS,
] as const;
const rows: Array<[string, string, string]> = [];
/** The function's settings under which a `refresh` is one CAMS call with no wait, as each anchor's call is. */
const MEASURE_THE_CAMS_PATH = { PREVIEW_REFRESH_INTERVAL_S: '0', CAMS_RATE_LIMIT_PER_SECOND: '100000' };
const row = (metric: string, value: string, target = ''): void => {
  rows.push([metric, value, target]);
  process.stderr.write(`  ${metric}: ${value}\n`);
};

const median = (values: number[]): number => quantile(values, 0.5);
function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}
const ms = (n: number): string => `${n.toFixed(2)} ms`;
const kib = (bytes: number): string => `${(bytes / 1024).toFixed(1)} KiB`;

function timeProcess(args: string[]): number {
  const start = process.hrtime.bigint();
  execFileSync(process.execPath, args, { stdio: 'ignore', cwd: resolve('dist') });
  return Number(process.hrtime.bigint() - start) / 1e6;
}

async function coldStart(): Promise<void> {
  process.stderr.write('cold start…\n');
  const bare: number[] = [];
  const loaded: number[] = [];
  timeProcess(['-e', '']); // warm the page cache
  for (let i = 0; i < COLD_RUNS; i += 1) {
    bare.push(timeProcess(['-e', '']));
    loaded.push(timeProcess(['-e', "require('./index.js')"]));
  }
  const added = median(loaded) - median(bare);
  row(`cold start: node -e "" (median of ${COLD_RUNS})`, ms(median(bare)));
  row(`cold start: require dist/index.js (median of ${COLD_RUNS})`, ms(median(loaded)));
  row('cold start added by the function', ms(added), '≤ 25 ms');
  const source = readFileSync(DIST);
  row('bundle size raw / gzip', `${kib(source.length)} / ${kib(gzipSync(source).length)}`, '≤ 300 KB raw');
  // dist/ holds index.js alone: a zip of it is one deflated entry plus its local, central and end headers.
  const zipBytes = deflateRawSync(source, { level: 9 }).length + (30 + 46) + 2 * 'index.js'.length + 22;
  row('deploy artifact: zip of dist/', kib(zipBytes));
}

async function latency(): Promise<void> {
  process.stderr.write('latency…\n');
  const cams = await startCamsSimulator({ credentials: [KEY], rateLimitPerSecond: 0 });
  const previous = process.env['CAMS_ENDPOINT'];
  const previousSettings = Object.keys(MEASURE_THE_CAMS_PATH).map(
    (name) => [name, process.env[name]] as const,
  );
  // The bundle reads its environment once, when it is required (as on FC), so it is set before the require below
  // and put back afterwards (the bursts part starts its processes from this environment).
  process.env['CAMS_ENDPOINT'] = cams.url;
  // Every refresh calls CAMS, at once: the bench measures the CAMS path, not the refresh interval or the limiter's
  // waits (the simulator has no limit here either).
  Object.assign(process.env, MEASURE_THE_CAMS_PATH);
  try {
    const { handler } = createRequire(import.meta.url)(DIST) as {
      handler: (event: Buffer, context: unknown) => Promise<unknown>;
    };
    const context = { requestId: 'bench', credentials: KEY, function: { timeout: 10 } };
    // The handler's log lines go to /dev/null through a real write, as they go to a pipe on FC.
    const devNull = openSync('/dev/null', 'w');
    const stdoutWrite = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((chunk: string | Uint8Array) => {
      if (typeof chunk === 'string') writeSync(devNull, chunk);
      else writeSync(devNull, chunk);
      return true;
    }) as typeof process.stdout.write;
    const invoke = (payload: unknown) =>
      timed(async () => {
        const result = (await handler(Buffer.from(JSON.stringify(payload)), context)) as { error?: unknown };
        if (result.error) throw new Error(`bench call failed: ${JSON.stringify(result.error)}`);
      });
    const agent = new Agent({ keepAlive: true });
    const bareCall = () =>
      timed(() => signedCamsRequest(cams.url, { ...KEY, form: { FlowId: 'welcome-flow' }, agent }));
    let first: number;
    let bareFirst: number;
    const warm: number[] = [];
    const bare: number[] = [];
    const hits: number[] = [];
    try {
      first = await invoke({ flowId: 'welcome-flow' });
      bareFirst = await bareCall();
      // Interleaved, so both see the same machine state, JIT and GC.
      for (let i = 0; i < WARM_CALLS; i += 1) {
        warm.push(await invoke({ flowId: 'welcome-flow', refresh: true }));
        bare.push(await bareCall());
        hits.push(await invoke({ flowId: 'welcome-flow' }));
      }
    } finally {
      process.stdout.write = stdoutWrite;
      closeSync(devNull);
      agent.destroy();
    }
    row('first invocation (CAMS call, new connection)', ms(first));
    row('bare signed node:http request, first', ms(bareFirst));
    row(
      `warm invocation calling CAMS, median / p99 (${WARM_CALLS})`,
      `${ms(median(warm))} / ${ms(quantile(warm, 0.99))}`,
    );
    row(
      `bare signed node:http request, median / p99 (${WARM_CALLS})`,
      `${ms(median(bare))} / ${ms(quantile(bare, 0.99))}`,
    );
    row('warm invocation ÷ bare request (medians)', `${(median(warm) / median(bare)).toFixed(2)}×`, '≤ 2×');
    row(
      `warm invocation from the cache, median / p99 (${WARM_CALLS})`,
      `${ms(median(hits))} / ${ms(quantile(hits, 0.99))}`,
    );
  } finally {
    if (previous === undefined) delete process.env['CAMS_ENDPOINT'];
    else process.env['CAMS_ENDPOINT'] = previous;
    for (const [name, value] of previousSettings) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    await cams.stop();
  }
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const start = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

interface Host {
  url: string;
  rssMb(): Promise<number>;
  stop(): void;
}

/** Bundles scripts/bench-host.ts for plain node (once per run); returns the file. */
async function buildHost(dir: string): Promise<string> {
  const outfile = join(dir, 'bench-host.js');
  await build({
    entryPoints: ['scripts/bench-host.ts'],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    logLevel: 'error',
  });
  return outfile;
}

async function startHost(cams: CamsSimulator, hostFile: string, nodeFlags: string[] = []): Promise<Host> {
  const child = spawn(process.execPath, [...nodeFlags, hostFile], {
    env: {
      ...process.env,
      CAMS_ENDPOINT: cams.url,
      BENCH_HANDLER: DIST,
      BENCH_CREDENTIALS: JSON.stringify(KEY),
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((resolveUrl, reject) => {
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /READY (\S+)/.exec(out);
      if (match?.[1]) resolveUrl(match[1]);
    });
    child.once('exit', () => reject(new Error(`bench host exited: ${out}`)));
  });
  child.stdout.resume();
  return {
    url,
    rssMb: async () =>
      ((await (await fetch(`${url}/__bench/rss`)).json()) as { maxRssKb: number }).maxRssKb / 1024,
    stop: () => child.kill(),
  };
}

/** Fires all requests at once; every one must come back with a status (none lost). */
async function burst(
  url: string,
  paths: string[],
): Promise<{ statuses: Record<number, number>; lost: number; ms: number }> {
  const start = performance.now();
  const outcomes = await Promise.allSettled(
    paths.map(async (path) => {
      const response = await fetch(`${url}${path}`);
      await response.arrayBuffer();
      return response.status;
    }),
  );
  const statuses: Record<number, number> = {};
  let lost = 0;
  for (const outcome of outcomes) {
    if (outcome.status === 'fulfilled') statuses[outcome.value] = (statuses[outcome.value] ?? 0) + 1;
    else lost += 1;
  }
  return { statuses, lost, ms: performance.now() - start };
}

/** What s.yaml sets in NODE_OPTIONS: V8's young generation capped, as AWS Lambda's bootstrap does by memory size. */
const SEMI_SPACE = ['--max-semi-space-size=2'];

const BURST_FLOWS = [
  'burst-one',
  ...Array.from({ length: 50 }, (_, i) => `mix-${i}`),
  ...Array.from({ length: 50 }, (_, i) => `thr-${i}`),
];

/** The three bursts through one handler process; returns that process's peak RSS (MB). */
async function runBursts(hostFile: string, nodeFlags: string[], report: boolean): Promise<number> {
  const cams = await startCamsSimulator({ credentials: [KEY], flows: BURST_FLOWS });
  const host = await startHost(cams, hostFile, nodeFlags);
  try {
    const one = await burst(
      host.url,
      Array.from({ length: 100 }, () => '/flows/burst-one/preview-url'),
    );
    const oneCalls = cams.calls.length;
    await new Promise((r) => setTimeout(r, 1100));
    const mixed = await burst(
      host.url,
      Array.from({ length: 1000 }, (_, i) => `/flows/mix-${i % 50}/preview-url`),
    );
    const calls = cams.calls.slice(oneCalls);
    await new Promise((r) => setTimeout(r, 1100));
    const throttled = await burst(
      host.url,
      Array.from({ length: 50 }, (_, i) => `/flows/thr-${i}/preview-url`),
    );
    if (report) {
      row('burst: 100 concurrent requests for one flow → CAMS calls', String(oneCalls), '1');
      row('burst: 100 for one flow → statuses, lost', `${JSON.stringify(one.statuses)}, ${one.lost} lost`);
      row(
        'burst: 1,000 requests over 50 flows → statuses, lost, time',
        `${JSON.stringify(mixed.statuses)}, ${mixed.lost} lost, ${(mixed.ms / 1000).toFixed(1)} s`,
        '0 lost',
      );
      row(
        'burst: 1,000 over 50 flows → CAMS calls (accepted + throttled)',
        `${calls.length} (${calls.filter((c) => c.code === 'OK').length} + ${calls.filter((c) => c.code === 'System.LimitControl').length})`,
      );
      row(
        'throttled burst: 50 flows at once vs 5 req/s → 200 / 429, time',
        `${throttled.statuses[200] ?? 0} / ${throttled.statuses[429] ?? 0}${throttled.lost ? `, ${throttled.lost} lost` : ''}, ${(throttled.ms / 1000).toFixed(1)} s`,
      );
    }
    return await host.rssMb();
  } finally {
    host.stop();
    await cams.stop();
  }
}

/** FC's model: one request at a time per instance. 1,000 requests, each calling CAMS (no rate limit here). */
async function sequentialRss(hostFile: string, nodeFlags: string[]): Promise<number> {
  const cams = await startCamsSimulator({ credentials: [KEY], rateLimitPerSecond: 0 });
  const host = await startHost(cams, hostFile, nodeFlags);
  try {
    for (let i = 0; i < 1000; i += 1) {
      const response = await fetch(`${host.url}/flows/welcome-flow/preview-url`, {
        headers: { 'Cache-Control': 'no-cache' },
      });
      await response.arrayBuffer();
    }
    return await host.rssMb();
  } finally {
    host.stop();
    await cams.stop();
  }
}

async function bursts(): Promise<void> {
  process.stderr.write('bursts…\n');
  const dir = mkdtempSync(join(tmpdir(), 'flow-preview-bench-'));
  try {
    const hostFile = await buildHost(dir);
    const rss = await runBursts(hostFile, [], true);
    row(
      'peak RSS under the bursts (local server + dist, one process), default V8 flags',
      `${rss.toFixed(1)} MB`,
      '≤ 80 MB',
    );
    const capped = await runBursts(hostFile, SEMI_SPACE, false);
    row(
      '… the same bursts with s.yaml’s NODE_OPTIONS (--max-semi-space-size=2)',
      `${capped.toFixed(1)} MB`,
      '≤ 80 MB',
    );
    const sequential = await sequentialRss(hostFile, []);
    row(
      'peak RSS, 1,000 requests one at a time (FC’s model), each calling CAMS, default flags',
      `${sequential.toFixed(1)} MB`,
    );
    const sequentialCapped = await sequentialRss(hostFile, SEMI_SPACE);
    row('… the same with s.yaml’s NODE_OPTIONS', `${sequentialCapped.toFixed(1)} MB`, '≤ 80 MB');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// --- (1) Against the official SDK: four handlers, one loopback CAMS, interleaved ------------------------------

interface Variant {
  readonly name: string;
  readonly file: string;
  readonly first: unknown;
  readonly warm: unknown;
}

const FIRST_RUNS = Number(process.env['BENCH_FIRST_RUNS'] ?? 15);
const ANCHOR_CALLS = Number(process.env['BENCH_ANCHOR_CALLS'] ?? 1100);
/** Calls not counted while the JIT settles: 100 of a full run's 1,100. */
const ANCHOR_WARMUP = Math.min(100, Math.floor(ANCHOR_CALLS / 11));
const anchorRows: Array<[string, number[], string, string]> = [];

function execFileAsync(file: string, args: string[], cwd: string): Promise<void> {
  return new Promise((resolveRun, reject) => {
    execFile(file, args, { cwd }, (error) => (error ? reject(error) : resolveRun()));
  });
}

/** Wall time of a fresh `node` that requires `file` (or nothing), run without blocking the simulator's loop. */
async function timeRequire(file: string | undefined): Promise<number> {
  const start = process.hrtime.bigint();
  await execFileAsync(process.execPath, ['-e', file ? `require(${JSON.stringify(file)})` : ''], tmpdir());
  return Number(process.hrtime.bigint() - start) / 1e6;
}

interface Runner {
  readonly child: ChildProcess;
  readonly first: Promise<{ requireMs: number; firstMs: number }>;
  ask<T>(type: string): Promise<T>;
}

function startRunner(runnerFile: string, variant: Variant, camsUrl: string): Runner {
  const child = fork(runnerFile, [], {
    execArgv: [],
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    env: {
      PATH: process.env['PATH'] ?? '',
      CAMS_ENDPOINT: camsUrl,
      ...MEASURE_THE_CAMS_PATH,
      BENCH_HANDLER: variant.file,
      BENCH_FIRST: JSON.stringify(variant.first),
      BENCH_WARM: JSON.stringify(variant.warm),
      BENCH_CONTEXT: JSON.stringify({ requestId: 'bench', credentials: KEY, function: { timeout: 10 } }),
    },
  });
  const next = <T,>(type: string): Promise<T> =>
    new Promise((resolveMessage, reject) => {
      const onMessage = (message: { type: string }) => {
        if (message.type !== type) return;
        child.off('message', onMessage);
        child.off('exit', onExit);
        resolveMessage(message as T);
      };
      const onExit = () => reject(new Error(`${variant.name} runner exited`));
      child.on('message', onMessage);
      child.once('exit', onExit);
    });
  return {
    child,
    first: next('first'),
    ask: <T,>(type: string) => {
      const reply = next<T>(type);
      child.send({ type });
      return reply;
    },
  };
}

async function anchors(): Promise<void> {
  process.stderr.write(
    'anchors: the official SDK (A1), bundled (A2), bare signed request (A3), this function…\n',
  );
  const dir = mkdtempSync(join(tmpdir(), 'flow-preview-anchors-'));
  const cams = await startCamsSimulator({ credentials: [KEY], rateLimitPerSecond: 0 });
  const runners: Runner[] = [];
  try {
    const a2 = join(dir, 'a2', 'index.js');
    await build({
      entryPoints: ['scripts/anchors/a1-official-sdk.cjs'],
      outfile: a2,
      bundle: true,
      platform: 'node',
      target: 'node20',
      format: 'cjs',
      minify: true,
      logLevel: 'error',
    });
    const runnerFile = join(dir, 'bench-runner.js');
    await build({
      entryPoints: ['scripts/bench-runner.ts'],
      outfile: runnerFile,
      bundle: true,
      platform: 'node',
      format: 'cjs',
      logLevel: 'error',
    });
    const plain = { flowId: 'welcome-flow' };
    const variants: Variant[] = [
      { name: 'A1', file: resolve('scripts/anchors/a1-official-sdk.cjs'), first: plain, warm: plain },
      { name: 'A2', file: a2, first: plain, warm: plain },
      { name: 'A3', file: resolve('scripts/anchors/a3-bare-signed.cjs'), first: plain, warm: plain },
      // `refresh: true`: every warm call asks CAMS, like the anchors (which have no cache).
      { name: 'fn', file: DIST, first: plain, warm: { ...plain, refresh: true } },
    ];

    process.stderr.write(`  cold start, ${COLD_RUNS} rounds…\n`);
    const bare: number[] = [];
    const cold = variants.map((): number[] => []);
    await timeRequire(undefined);
    for (let round = 0; round < COLD_RUNS; round += 1) {
      bare.push(await timeRequire(undefined));
      for (const [i, variant] of variants.entries()) cold[i]?.push(await timeRequire(variant.file));
    }
    const bareMedian = median(bare);
    anchorRows.push([
      `cold start added: require in a fresh node, minus node -e "" (${bareMedian.toFixed(1)} ms), median of ${COLD_RUNS}`,
      cold.map((runs) => median(runs) - bareMedian),
      'ms',
      '≤ 0.2×',
    ]);

    process.stderr.write(`  first invocation, ${FIRST_RUNS} rounds…\n`);
    const first = variants.map((): number[] => []);
    for (let round = 0; round < FIRST_RUNS; round += 1) {
      for (const [i, variant] of variants.entries()) {
        const runner = startRunner(runnerFile, variant, cams.url);
        try {
          first[i]?.push((await runner.first).firstMs);
        } finally {
          runner.child.kill();
        }
      }
    }
    anchorRows.push([
      `first invocation: require + first call (new connection), median of ${FIRST_RUNS}`,
      first.map(median),
      'ms',
      '≤ 0.25×',
    ]);

    process.stderr.write(`  ${ANCHOR_CALLS} warm calls each, interleaved…\n`);
    for (const variant of variants) runners.push(startRunner(runnerFile, variant, cams.url));
    await Promise.all(runners.map((runner) => runner.first));
    const warm = variants.map((): number[] => []);
    const cpu = variants.map((): number[] => []);
    for (let call = 1; call < ANCHOR_CALLS; call += 1) {
      for (const [i, runner] of runners.entries()) {
        const { ms, cpuMs } = await runner.ask<{ ms: number; cpuMs: number }>('call');
        if (call >= ANCHOR_WARMUP) {
          warm[i]?.push(ms);
          cpu[i]?.push(cpuMs);
        }
      }
    }
    anchorRows.push([
      `warm call, median of ${ANCHOR_CALLS - ANCHOR_WARMUP} (after ${ANCHOR_WARMUP})`,
      warm.map(median),
      'ms',
      '≤ 1.0×',
    ]);
    anchorRows.push([`warm call, p99`, warm.map((runs) => quantile(runs, 0.99)), 'ms', '']);
    // CPU time of the handler's process per call: what it does itself, less sensitive to a shared machine.
    anchorRows.push([`warm call, CPU time of the handler process, median`, cpu.map(median), 'ms', '']);
    const rss = await Promise.all(runners.map((runner) => runner.ask<{ maxRssKb: number }>('rss')));
    anchorRows.push([
      `peak RSS after ${ANCHOR_CALLS.toLocaleString('en')} calls, default V8 flags`,
      rss.map(({ maxRssKb }) => maxRssKb / 1024),
      'MB',
      '≤ 0.8×',
    ]);
    const calls = cams.calls;
    if (calls.some((c) => c.status !== 200)) throw new Error('a benchmark call was not answered 200 by CAMS');
  } finally {
    for (const runner of runners) runner.child.kill();
    await cams.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

function anchorTable(): string {
  const figure = (n: number | undefined, unit: string): string =>
    n === undefined ? '' : `${n.toFixed(unit === 'MB' ? 1 : 2)} ${unit}`;
  return markdownTable(
    [
      'metric',
      'A1 official SDK + node_modules',
      'A2 A1 bundled (esbuild)',
      'A3 bare signed request',
      'this function',
      'this ÷ A1',
      'target',
    ],
    anchorRows.map(([metric, values, unit, target]) => {
      const [a1, a2, a3, fn] = values;
      const ratio = a1 !== undefined && fn !== undefined && a1 > 0 ? `${(fn / a1).toFixed(2)}×` : '';
      return [metric, figure(a1, unit), figure(a2, unit), figure(a3, unit), figure(fn, unit), ratio, target];
    }),
  );
}

/**
 * What the optional parts cost, and that they cost nothing when unused: the Redis client (dist/redis.js, loaded only
 * with REDIS_URL) and the JWT verifier (dist/jwt-verifier.js, loaded only with JWT_*), each measured in fresh
 * processes against the main bundle alone. Their sections are the ones their own scripts write.
 */
async function optionalParts(): Promise<BenchSection[]> {
  process.stderr.write('optional parts…\n');
  const redis = redisLoadRows();
  for (const [metric, value] of redis) process.stderr.write(`  ${metric}: ${value}\n`);
  const jwt = await measureJwtLoad();
  for (const [metric, value] of jwt) process.stderr.write(`  ${metric}: ${value}\n`);
  return [redisLoadSection(redis), jwtLoadSection(jwt)];
}

async function main(): Promise<void> {
  statSync(DIST); // npm run bench builds first
  // BENCH_ONLY=anchors,cold,latency,bursts,optional runs a subset (while tuning, or a short run); a full run writes
  // every section of docs/benchmarks.md.
  const only = new Set((process.env['BENCH_ONLY'] ?? 'anchors,cold,latency,bursts,optional').split(','));
  const sections: BenchSection[] = [];
  if (only.has('anchors')) {
    await anchors();
    sections.push({
      id: 'anchors',
      title: 'Against the official SDK, same run, same loopback CAMS',
      body: anchorTable(),
    });
  }
  if (only.has('cold')) await coldStart();
  if (only.has('latency')) await latency();
  if (only.has('bursts')) await bursts();
  if (rows.length > 0) {
    sections.push({
      id: 'function',
      title: 'The function alone',
      body: markdownTable(['metric', 'value', 'target'], rows),
    });
  }
  if (only.has('optional')) sections.push(...(await optionalParts()));
  writeBenchSections(sections, command(fileURLToPath(import.meta.url), SETTINGS));
  process.stdout.write(`${sections.map((section) => `${section.body}\n`).join('\n')}`);
}

await main();
