/**
 * `npm run bench:fleet`: the fleet as FC runs it, in-memory vs Redis side by side in one run. Figures, not
 * pass/fail.
 *
 * Each worker process is one FC instance: it loads the built bundle and serves one invocation at a time. The
 * dispatcher scales out as FC does: a request that finds every worker busy starts a new one (a cold start it
 * waits for), up to a cap; past the cap requests queue. Each worker holds its own STS key of one account; the CAMS
 * simulator limits that account to 5 calls per second over all its keys, as CAMS documents. The Redis column
 * uses a private redis-server. Each scenario starts a new fleet with empty caches. The table replaces its section of
 * docs/benchmarks.md.
 *
 * A full run takes about 3½ minutes; `BENCH_FLEET_ONLY=burst,mixed,steady,outage,hits,tenants` runs a part (a short
 * run: `BENCH_FLEET_ONLY=hits,outage npm run bench:fleet`, about 20 s; the two tenants alone, about 30 s).
 *
 * `tenants` is the attack of issue 17 on the Redis fleet: tenant A asks 12 made-up flow ids a second for 6 s while
 * tenant B asks one new flow a second; B's latency and 429s are compared with B alone, with the fair share per space
 * on (the default) and off (`CAMS_FAIR_SHARE=off`: one first-come, first-served queue for the account).
 */
import { type ChildProcess, fork } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { type CamsSimulator, startCamsSimulator } from '../dev/cams-simulator.js';
import { RedisServer } from '../dev/redis-server.js';
import { command, markdownTable, writeBenchSections } from './bench-report.mjs';

const DIST = resolve('dist/index.js');
const ACCOUNT_ID = '1234567890123456';
const MAX_KEYS = 64;
const KEYS = Array.from({ length: MAX_KEYS }, (_, i) => ({
  accessKeyId: `STS.BenchInstance${String(i).padStart(3, '0')}`,
  accessKeySecret: `bench-secret-${i}`,
  securityToken: `bench-token-${i}`,
}));
/** In-memory, 10,000 requests would take many minutes (8 caches × 200 flows at 5/s); it stops after this. */
const STEADY_BUDGET_MS = Number(process.env['BENCH_FLEET_STEADY_BUDGET_S'] ?? 30) * 1000;
/** The environment knobs of this script (a run that sets one says so in docs/benchmarks.md). */
const SETTINGS = ['BENCH_FLEET_ONLY', 'BENCH_FLEET_STEADY_BUDGET_S'] as const;
/** The two-tenant scenario: tenant A's made-up flows per second, for this long; tenant B one new flow a second. */
const FLOOD_PER_SECOND = 12;
const FLOOD_MS = 6000;

type Store = 'memory' | 'redis';

interface Outcome {
  readonly status: number | 'lost' | 'not run';
  readonly handlerMs: number;
  readonly store: string | undefined;
  readonly cache: string | undefined;
  /** How long it waited for its CAMS slot (the log line's `slotWaitMs`). */
  readonly slotWaitMs?: number | undefined;
  /** It was its instance's first invocation (a new instance: first connections, code not yet warm). */
  readonly firstOnInstance?: boolean | undefined;
}

/** A direct-invocation payload. */
interface Payload {
  readonly flowId: string;
  readonly custSpaceId?: string;
}

interface Worker {
  readonly child: ChildProcess;
  busy: boolean;
  current: number | undefined;
}

/** FC's scaling, modelled: one request per worker, a new worker when all are busy, up to `cap`. */
class Dispatcher {
  readonly #workers: Worker[] = [];
  /** Every process started, ready or not, so `close` stops them all. */
  readonly #children: ChildProcess[] = [];
  readonly #queue: Array<{ id: number; payload: Payload }> = [];
  readonly #waiting = new Map<number, (outcome: Outcome) => void>();
  #starting = 0;
  #nextId = 0;
  #closed = false;

  constructor(
    private readonly workerFile: string,
    private readonly cap: number,
    private readonly env: NodeJS.ProcessEnv,
  ) {}

  get size(): number {
    return this.#workers.length;
  }

  /** Starts `n` workers and resolves once all have loaded the bundle (instances FC has already started). */
  async prestart(n: number): Promise<void> {
    for (let i = 0; i < n; i += 1) this.#spawn();
    while (this.#starting > 0) await sleep(10);
  }

  /** A direct invocation of a flow (a flow id alone, or the whole payload, `custSpaceId` included). */
  submit(flow: string | Payload): Promise<Outcome> {
    const id = this.#nextId++;
    const payload = typeof flow === 'string' ? { flowId: flow } : flow;
    return new Promise((resolveOutcome) => {
      this.#waiting.set(id, resolveOutcome);
      this.#queue.push({ id, payload });
      this.#pump();
    });
  }

  /** Stops taking queued work (they end as `not run`) and stops the workers. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const { id } of this.#queue.splice(0)) this.#settle(id, notRun());
    await Promise.all(
      this.#children.map(
        (child) =>
          new Promise<void>((done) => {
            if (child.exitCode !== null || child.signalCode !== null) return done();
            child.once('exit', () => done());
            child.kill();
          }),
      ),
    );
  }

  #pump(): void {
    if (this.#closed) return;
    for (const worker of this.#workers) {
      if (this.#queue.length === 0) return;
      if (!worker.busy) this.#assign(worker);
    }
    const idleSoon = this.#starting;
    if (this.#queue.length > idleSoon && this.#workers.length + this.#starting < this.cap) {
      const toStart = Math.min(
        this.#queue.length - idleSoon,
        this.cap - this.#workers.length - this.#starting,
      );
      for (let i = 0; i < toStart; i += 1) this.#spawn();
    }
  }

  #assign(worker: Worker): void {
    const job = this.#queue.shift();
    if (job === undefined) return;
    worker.busy = true;
    worker.current = job.id;
    worker.child.send(job);
  }

  #spawn(): void {
    const key = KEYS[(this.#workers.length + this.#starting) % MAX_KEYS];
    this.#starting += 1;
    const child = fork(this.workerFile, [], {
      env: {
        ...this.env,
        BENCH_HANDLER: DIST,
        BENCH_CREDENTIALS: JSON.stringify(key),
        BENCH_ACCOUNT_ID: ACCOUNT_ID,
      },
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      // Plain node, as on FC: not the TypeScript loader this script runs under.
      execArgv: [],
    });
    this.#children.push(child);
    const worker: Worker = { child, busy: true, current: undefined };
    child.on('message', (message: { ready?: boolean; id?: number } & Partial<Outcome>) => {
      if (message.ready) {
        if (this.#closed) return;
        this.#starting -= 1;
        this.#workers.push(worker);
        worker.busy = false;
      } else if (message.id !== undefined) {
        worker.busy = false;
        worker.current = undefined;
        this.#settle(message.id, {
          status: message.status ?? 'lost',
          handlerMs: message.handlerMs ?? Number.NaN,
          store: message.store,
          cache: message.cache,
          slotWaitMs: message.slotWaitMs,
          firstOnInstance: message.firstOnInstance,
        });
      }
      this.#pump();
    });
    child.on('exit', () => {
      // Stopped by the time budget: not run to the end. Otherwise the instance died with the request: lost.
      if (worker.current !== undefined)
        this.#settle(worker.current, this.#closed ? notRun() : { ...notRun(), status: 'lost' });
    });
  }

  #settle(id: number, outcome: Outcome): void {
    this.#waiting.get(id)?.(outcome);
    this.#waiting.delete(id);
  }
}

function notRun(): Outcome {
  return { status: 'not run', handlerMs: Number.NaN, store: undefined, cache: undefined };
}

interface RunResult {
  readonly outcomes: Outcome[];
  readonly ms: number;
  readonly camsOk: number;
  readonly camsThrottled: number;
  readonly workers: number;
  /** Per second of the run: statuses and stores of the requests that ended in it. */
  readonly timeline?: string;
}

let scenarioNumber = 0;

async function runScenario(
  context: { cams: CamsSimulator; redis: RedisServer; workerFile: string },
  store: Store,
  cap: number,
  flows: string[],
  options: {
    budgetMs?: number;
    /** Workers started before the clock. */
    prestart?: number;
    /** Requests served before the clock (a fleet already running); not counted. */
    warmup?: string[];
    /** Open-loop arrivals at this rate instead of all at once. */
    arrivalsPerSecond?: number;
    during?: (done: () => number) => Promise<void>;
  } = {},
): Promise<RunResult> {
  context.cams.reset();
  scenarioNumber += 1;
  const env: NodeJS.ProcessEnv = { ...process.env, CAMS_ENDPOINT: context.cams.url };
  for (const name of [
    'REDIS_URL',
    'REDIS_KEY_PREFIX',
    'CAMS_RATE_LIMIT_PER_SECOND',
    'PREVIEW_REFRESH_INTERVAL_S',
  ])
    delete env[name];
  if (store === 'redis') {
    env['REDIS_URL'] = context.redis.url();
    env['REDIS_KEY_PREFIX'] = `bench-${process.pid}-${scenarioNumber}:`;
  }
  const dispatcher = new Dispatcher(context.workerFile, cap, env);
  await dispatcher.prestart(options.prestart ?? 0);
  await Promise.all((options.warmup ?? []).map((flowId) => dispatcher.submit(flowId)));
  const callsBefore = context.cams.calls.length;
  const startedAt = performance.now();
  let completed = 0;
  const rate = options.arrivalsPerSecond;
  const endedAt: number[] = [];
  const ends: Outcome[] = [];
  const all = Promise.all(
    flows.map(async (flowId, i) => {
      if (rate !== undefined) await sleep(startedAt + (i * 1000) / rate - performance.now());
      const outcome = await dispatcher.submit(flowId);
      completed += 1;
      endedAt.push(performance.now() - startedAt);
      ends.push(outcome);
      return outcome;
    }),
  );
  const during = options.during?.(() => completed);
  let budgetTimer: NodeJS.Timeout | undefined;
  if (options.budgetMs !== undefined) {
    budgetTimer = setTimeout(() => void dispatcher.close(), options.budgetMs);
  }
  const outcomes = await all;
  const ms = performance.now() - startedAt;
  clearTimeout(budgetTimer);
  await during;
  const workers = dispatcher.size;
  await dispatcher.close();
  const seconds = new Map<number, Outcome[]>();
  ends.forEach((outcome, i) => {
    const second = Math.floor((endedAt[i] ?? 0) / 1000);
    seconds.set(second, [...(seconds.get(second) ?? []), outcome]);
  });
  const timeline = [...seconds]
    .sort(([a], [b]) => a - b)
    .map(([second, list]) => {
      const n = (test: (o: Outcome) => boolean) => list.filter(test).length;
      return `${second}s: ${n((o) => o.status === 200)}/${n((o) => o.status === 429)}; ${n((o) => o.store === 'redis')}/${n((o) => o.store === 'degraded')}`;
    })
    .join(' · ');
  return {
    timeline,
    outcomes,
    ms,
    camsOk: context.cams.calls.slice(callsBefore).filter((call) => call.code === 'OK').length,
    camsThrottled: context.cams.calls.slice(callsBefore).filter((call) => call.code === 'System.LimitControl')
      .length,
    workers,
  };
}

const count = (result: RunResult, status: Outcome['status']) =>
  result.outcomes.filter((outcome) => outcome.status === status).length;
const others = (result: RunResult) =>
  result.outcomes.filter((o) => typeof o.status === 'number' && o.status !== 200 && o.status !== 429).length;
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const pct = (n: number, of: number) => `${((100 * n) / of).toFixed(1)}%`;
const median = (values: number[]): number => {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
};
function statuses(result: RunResult): string {
  const lost = count(result, 'lost');
  const notRunCount = count(result, 'not run');
  return [
    `${count(result, 200)} × 200`,
    `${count(result, 429)} × 429`,
    `${others(result)} other`,
    `${lost} lost`,
    ...(notRunCount > 0 ? [`${notRunCount} not run (stopped at the time budget)`] : []),
  ].join(', ');
}
const storesLine = (result: RunResult) => {
  const served = (store: string) => result.outcomes.filter((outcome) => outcome.store === store).length;
  return `${served('redis')} redis / ${served('degraded')} degraded`;
};
const camsLine = (result: RunResult) =>
  `${result.camsOk + result.camsThrottled} (${result.camsThrottled} throttled)`;

const rows: Array<[string, string, string, string]> = [];
function row(metric: string, memory: string, redis: string, target = ''): void {
  rows.push([metric, memory, redis, target]);
  process.stderr.write(`  ${metric}: memory ${memory} | redis ${redis}\n`);
}

async function bothStores(
  run: (store: Store) => Promise<RunResult>,
): Promise<{ memory: RunResult; redis: RunResult }> {
  const memory = await run('memory');
  const redis = await run('redis');
  return { memory, redis };
}

async function main(): Promise<void> {
  statSync(DIST); // npm run bench:fleet builds first
  const dir = mkdtempSync(join(tmpdir(), 'flow-preview-fleet-'));
  const workerFile = join(dir, 'bench-fleet-worker.js');
  await build({
    entryPoints: ['scripts/bench-fleet-worker.ts'],
    outfile: workerFile,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    logLevel: 'error',
  });
  const flows = [
    ...Array.from({ length: 50 }, (_, i) => `burst-${i}`),
    ...Array.from({ length: 50 }, (_, i) => `mix-${i}`),
    ...Array.from({ length: 200 }, (_, i) => `steady-${i}`),
    ...Array.from({ length: 10 }, (_, i) => `outage-${i}`),
    'hit-flow',
    ...Array.from({ length: 3 * (FLOOD_MS / 1000) }, (_, i) => `tenant-b-${i}`),
  ];
  const cams = await startCamsSimulator({
    credentials: KEYS.map((key) => ({ ...key, accountId: ACCOUNT_ID })),
    flows,
  });
  const redis = await RedisServer.start();
  const context = { cams, redis, workerFile };
  const benchStart = performance.now();
  // BENCH_FLEET_ONLY=burst,mixed,steady,outage,hits runs a part (while tuning, or a short run).
  const only = new Set(
    (process.env['BENCH_FLEET_ONLY'] ?? 'burst,mixed,steady,outage,hits,tenants').split(','),
  );
  try {
    if (only.has('burst')) {
      process.stderr.write('50 new flows at once…\n');
      const burst = await bothStores((store) =>
        runScenario(
          context,
          store,
          50,
          Array.from({ length: 50 }, (_, i) => `burst-${i}`),
          { prestart: 50 },
        ),
      );
      row(
        '50 new flows at once (50 started workers): statuses',
        statuses(burst.memory),
        statuses(burst.redis),
        '≥ 40 × 200 (Redis)',
      );
      row(
        '… CAMS calls (throttling answers)',
        camsLine(burst.memory),
        camsLine(burst.redis),
        'throttled ≤ 2 (Redis)',
      );
      row('… wall time', seconds(burst.memory.ms), seconds(burst.redis.ms));
      row('… store in the log lines', '', storesLine(burst.redis));
    }
    if (only.has('mixed')) {
      process.stderr.write('1,000 requests over 50 flows…\n');
      const mixed = await bothStores((store) =>
        runScenario(
          context,
          store,
          50,
          Array.from({ length: 1000 }, (_, i) => `mix-${i % 50}`),
          { prestart: 50 },
        ),
      );
      row(
        '1,000 requests over 50 flows at once (50 started workers): statuses',
        statuses(mixed.memory),
        statuses(mixed.redis),
        '0 lost, ≥ 85% × 200 (Redis)',
      );
      row(
        '… share of 200',
        pct(count(mixed.memory, 200), 1000),
        pct(count(mixed.redis, 200), 1000),
        '≥ 85% (Redis)',
      );
      row('… CAMS calls (throttling answers)', camsLine(mixed.memory), camsLine(mixed.redis), '≤ 52 (Redis)');
      row('… wall time', seconds(mixed.memory.ms), seconds(mixed.redis.ms));
      row('… store in the log lines', '', storesLine(mixed.redis));
    }
    if (only.has('steady')) {
      process.stderr.write('steady state: 10,000 requests over 200 flows on 8 workers…\n');
      const steady = await bothStores((store) =>
        runScenario(
          context,
          store,
          8,
          Array.from({ length: 10_000 }, (_, i) => `steady-${i % 200}`),
          // Redis needs ~45 s: 200 first fetches at 4.5/s, then hits.
          { budgetMs: store === 'redis' ? 90_000 : STEADY_BUDGET_MS },
        ),
      );
      row(
        '10,000 requests over 200 flows, scaling out to 8 workers: statuses',
        statuses(steady.memory),
        statuses(steady.redis),
      );
      row(
        '… CAMS calls (throttling answers)',
        camsLine(steady.memory),
        camsLine(steady.redis),
        '= 200 (Redis)',
      );
      row('… wall time', seconds(steady.memory.ms), seconds(steady.redis.ms));
      row('… store in the log lines', '', storesLine(steady.redis));
    }
    if (only.has('outage')) {
      process.stderr.write('Redis killed for part of a run…\n');
      const outage = await runScenario(
        context,
        'redis',
        16,
        Array.from({ length: 3000 }, (_, i) => `outage-${i % 10}`),
        {
          // A fleet already running: 16 warm workers that have served every flow (through Redis) before the clock.
          prestart: 16,
          warmup: Array.from({ length: 320 }, (_, i) => `outage-${i % 10}`),
          arrivalsPerSecond: 500,
          during: async () => {
            await sleep(2000);
            await redis.kill();
            await sleep(2000);
            await redis.restart();
          },
        },
      );
      row(
        '3,000 requests over 10 cached flows at 500/s, 16 warm workers, Redis killed at 2 s, restarted (empty) at 4 s: statuses',
        'n/a',
        statuses(outage),
        'no failure caused by Redis',
      );
      row('… store in the log lines', 'n/a', storesLine(outage));
      row('… per second (200 / 429; redis / degraded)', 'n/a', outage.timeline ?? '');
      row('… CAMS calls (throttling answers)', 'n/a', camsLine(outage));
    }
    if (only.has('hits')) {
      process.stderr.write('cache hits…\n');
      const hits = await bothStores((store) =>
        runScenario(
          context,
          store,
          1,
          Array.from({ length: 501 }, () => 'hit-flow'),
        ),
      );
      const hitMs = (result: RunResult) =>
        median(result.outcomes.filter((o) => o.cache === 'hit').map((o) => o.handlerMs));
      row(
        'cache hit, one worker, median handler time (500 hits)',
        `${hitMs(hits.memory).toFixed(2)} ms`,
        `${hitMs(hits.redis).toFixed(2)} ms (+${(hitMs(hits.redis) - hitMs(hits.memory)).toFixed(2)} ms)`,
        '≤ 1 ms added',
      );
    }
    if (only.has('tenants')) {
      process.stderr.write('two tenants: A floods made-up flows, B asks new ones…\n');
      const alone = await runTenants(context, { flood: false, fairShare: true, run: 0 });
      const fair = await runTenants(context, { flood: true, fairShare: true, run: 1 });
      const fifo = await runTenants(context, { flood: true, fairShare: false, run: 2 });
      for (const [metric, pick] of [
        ["B's new flows: median latency (handler)", (t: TenantsResult) => ms(median(latencies(t.b)))],
        ["… B's slowest", (t: TenantsResult) => ms(Math.max(...latencies(t.b)))],
        [
          "… of which B's median wait for its CAMS slot (log's slotWaitMs)",
          (t: TenantsResult) => ms(median(t.b.map((o) => o.slotWaitMs ?? 0))),
        ],
        [
          "… B's median time besides that wait",
          (t: TenantsResult) =>
            ms(median(t.b.filter((o) => o.status === 200).map((o) => o.handlerMs - (o.slotWaitMs ?? 0)))),
        ],
        [
          "… B's requests served by a new instance (its first invocation)",
          (t: TenantsResult) => `${t.b.filter((o) => o.firstOnInstance === true).length} of ${t.b.length}`,
        ],
        ["… B's statuses", (t: TenantsResult) => statusesOf(t.b)],
        ["A's made-up flows: statuses", (t: TenantsResult) => (t.a.length === 0 ? '—' : statusesOf(t.a))],
        ['CAMS calls for A / for B', (t: TenantsResult) => `${t.camsA} / ${t.camsB}`],
      ] as const) {
        tenantRows.push([metric, pick(alone), pick(fair), pick(fifo)]);
        process.stderr.write(`  ${metric}: ${pick(alone)} | ${pick(fair)} | ${pick(fifo)}\n`);
      }
    }
    if (rows.length > 0) row('whole benchmark', '', seconds(performance.now() - benchStart));
  } finally {
    await cams.stop();
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  const body = [
    'CAMS simulator: 5 calls/s per account; function timeout 10 s (deadline 9 s).',
    '',
    markdownTable(['scenario', 'in-memory', 'Redis', 'target'], rows),
  ].join('\n');
  // A run of the two tenants alone leaves the fleet section as the last run that measured it wrote it.
  const sections =
    rows.length > 0
      ? [{ id: 'fleet', title: '`npm run bench:fleet`: the fleet, in-memory vs Redis', body }]
      : [];
  if (tenantRows.length > 0) {
    sections.push({
      id: 'fleet-tenants',
      title: '`npm run bench:fleet`: two tenants on the Redis fleet (issue 17)',
      body: [
        `Tenant A asks ${FLOOD_PER_SECOND} made-up flow ids a second for ${FLOOD_MS / 1000} s (each a CAMS call: ` +
          'they are new, and CAMS answers `Unknown.ResourceOwnerId`); tenant B asks one new flow a second. Each ' +
          'tenant is one space (`custSpaceId`, as tenant binding sets it). Up to 64 instances, CAMS at 5 calls/s.',
        '',
        markdownTable(
          ['', 'B alone', 'A floods, fair share (default)', 'A floods, `CAMS_FAIR_SHARE=off`'],
          tenantRows,
        ),
      ].join('\n'),
    });
  }
  writeBenchSections(sections, command(fileURLToPath(import.meta.url), SETTINGS));
  process.stdout.write(`${sections.map((section) => section.body).join('\n\n')}\n`);
}

interface TenantsResult {
  readonly a: Outcome[];
  readonly b: Outcome[];
  readonly camsA: number;
  readonly camsB: number;
}

const tenantRows: Array<[string, string, string, string]> = [];
const latencies = (outcomes: Outcome[]) => outcomes.filter((o) => o.status === 200).map((o) => o.handlerMs);
const ms = (value: number) => (Number.isFinite(value) ? `${Math.round(value)} ms` : '—');
function statusesOf(outcomes: Outcome[]): string {
  const byStatus = new Map<string, number>();
  for (const outcome of outcomes)
    byStatus.set(String(outcome.status), (byStatus.get(String(outcome.status)) ?? 0) + 1);
  return [...byStatus]
    .sort()
    .map(([status, n]) => `${n} × ${status}`)
    .join(', ');
}

/** Issue 17's attack on a Redis fleet: A's flood of made-up flows (or none), and B's new flows, one a second. */
async function runTenants(
  context: { cams: CamsSimulator; redis: RedisServer; workerFile: string },
  options: { flood: boolean; fairShare: boolean; run: number },
): Promise<TenantsResult> {
  context.cams.reset();
  scenarioNumber += 1;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    CAMS_ENDPOINT: context.cams.url,
    REDIS_URL: context.redis.url(),
    REDIS_KEY_PREFIX: `bench-${process.pid}-${scenarioNumber}:`,
    CAMS_FAIR_SHARE: options.fairShare ? 'space' : 'off',
  };
  for (const name of ['CAMS_RATE_LIMIT_PER_SECOND', 'PREVIEW_REFRESH_INTERVAL_S']) delete env[name];
  const dispatcher = new Dispatcher(context.workerFile, 64, env);
  // A fleet already running: enough warm instances for B and the first second of A.
  await dispatcher.prestart(16);
  const startedAt = performance.now();
  const at = (ms: number) => sleep(startedAt + ms - performance.now());
  const flood = options.flood
    ? Array.from({ length: (FLOOD_PER_SECOND * FLOOD_MS) / 1000 }, async (_, i) => {
        await at((i * 1000) / FLOOD_PER_SECOND);
        return dispatcher.submit({ flowId: `made-up-${options.run}-${i}`, custSpaceId: 'tenant-a' });
      })
    : [];
  const b = Array.from({ length: FLOOD_MS / 1000 }, async (_, i) => {
    await at(500 + i * 1000);
    return dispatcher.submit({
      flowId: `tenant-b-${options.run * (FLOOD_MS / 1000) + i}`,
      custSpaceId: 'tenant-b',
    });
  });
  const [aOutcomes, bOutcomes] = await Promise.all([Promise.all(flood), Promise.all(b)]);
  await dispatcher.close();
  const calls = (space: string) =>
    context.cams.calls.filter((call) => call.params['CustSpaceId'] === space).length;
  return { a: aOutcomes, b: bOutcomes, camsA: calls('tenant-a'), camsB: calls('tenant-b') };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolveSleep) => setTimeout(resolveSleep, ms));
}

await main();
