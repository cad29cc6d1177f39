/**
 * How long `npm test` takes, against the main it was measured against when the suite was split into tiers
 * (issue 15: "at most 0.5× of today's main, same machine, same run"). Figures, not pass/fail.
 *
 * Each revision is checked out with `git worktree add` beside this repository (so `../shared`, which the deploy tests
 * read the real fc3 from, is the same for both), installed with `npm ci`, built once, and then runs `npm test` round
 * by round, the revisions in turn (base, head, base, …), so both see the same machine. Wall time is the run's; CPU is
 * user + system of everything it started (bash's `times`). `BENCH_SUITE_BASE` (default 2627ed0, main before the
 * tiers) and `BENCH_SUITE_HEAD` (default HEAD) name the commits; `BENCH_SUITE_ROUNDS` (default 1) the rounds.
 * `npm run bench:suite` writes the `suite` section of docs/benchmarks.md. About 6 minutes a round on 2 cores.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BenchSection, command, markdownTable, writeBenchSections } from './bench-report.mjs';

const SETTINGS = ['BENCH_SUITE_BASE', 'BENCH_SUITE_HEAD', 'BENCH_SUITE_ROUNDS'] as const;
const ROOT = resolve('.');
const git = (...args: string[]) => execFileSync('git', args, { cwd: ROOT, encoding: 'utf8' }).trim();
const base = git('rev-parse', '--short', process.env['BENCH_SUITE_BASE'] ?? '2627ed0');
const head = git('rev-parse', '--short', process.env['BENCH_SUITE_HEAD'] ?? 'HEAD');
const rounds = Number(process.env['BENCH_SUITE_ROUNDS'] ?? 1);

interface Run {
  readonly wallS: number;
  readonly cpuS: number;
  readonly tests: number;
  readonly failed: number;
  readonly skipped: number;
}

/** A detached worktree of `rev` beside the repository, installed and built; removed at exit. */
function checkout(rev: string): string {
  const dir = join(dirname(ROOT), `.${basename(ROOT)}-suite-${rev}`);
  if (existsSync(dir)) git('worktree', 'remove', '--force', dir);
  git('worktree', 'add', '--detach', dir, rev);
  process.on('exit', () => {
    try {
      git('worktree', 'remove', '--force', dir);
    } catch {
      // already gone
    }
  });
  process.stderr.write(`${rev}: npm ci in ${dir}\n`);
  execFileSync('npm', ['ci', '--no-audit', '--no-fund'], {
    cwd: dir,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  execFileSync('npm', ['run', 'build'], { cwd: dir, stdio: ['ignore', 'ignore', 'inherit'] });
  return dir;
}

const seconds = (field: string) => {
  const [, m = '0', s = '0'] = /(\d+)m([\d.]+)s/.exec(field) ?? [];
  return Number(m) * 60 + Number(s);
};
const sum = (output: string, label: string) =>
  [...output.matchAll(new RegExp(`^ℹ ${label} (\\d+)$`, 'gm'))].reduce((n, match) => n + Number(match[1]), 0);

/** One `npm test` in `dir`: wall time, CPU of all it started, and the test counts from node's reporter. */
function npmTest(rev: string, dir: string): Run {
  const started = process.hrtime.bigint();
  // `times` prints the shell's and then its children's user and system time.
  const run = spawnSync('bash', ['-c', 'npm test > .suite.log 2>&1; code=$?; times; exit $code'], {
    cwd: dir,
    encoding: 'utf8',
  });
  const wallS = Number(process.hrtime.bigint() - started) / 1e9;
  const [user = '', system = ''] = (run.stdout.trim().split('\n').at(-1) ?? '').split(/\s+/);
  const output = readFileSync(join(dir, '.suite.log'), 'utf8');
  const result = {
    wallS,
    cpuS: seconds(user) + seconds(system),
    tests: sum(output, 'tests'),
    failed: sum(output, 'fail'),
    skipped: sum(output, 'skipped'),
  };
  process.stderr.write(`${rev}: npm test ${JSON.stringify(result)} (exit ${run.status})\n`);
  return result;
}

const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN;

const dirs = { [base]: checkout(base), [head]: checkout(head) };
const runs: Record<string, Run[]> = { [base]: [], [head]: [] };
for (let round = 0; round < rounds; round += 1) {
  for (const rev of [base, head]) runs[rev]?.push(npmTest(rev, dirs[rev] ?? ''));
}

const summary = (rev: string) => {
  const all = runs[rev] ?? [];
  const last = all.at(-1);
  return {
    wall: median(all.map((run) => run.wallS)),
    cpu: median(all.map((run) => run.cpuS)),
    counts: `${last?.tests ?? 0} (${last?.failed ?? 0} failed, ${last?.skipped ?? 0} skipped)`,
  };
};
const before = summary(base);
const after = summary(head);
const rows = [
  [`${base} (base)`, before.counts, `${before.wall.toFixed(0)} s`, `${before.cpu.toFixed(0)} s`, '1.00×'],
  [
    `${head} (head)`,
    after.counts,
    `${after.wall.toFixed(0)} s`,
    `${after.cpu.toFixed(0)} s`,
    `${(after.wall / before.wall).toFixed(2)}×`,
  ],
];
const section: BenchSection = {
  id: 'suite',
  title: '`npm run bench:suite`',
  body: [
    markdownTable(
      ['commit', 'tests', `npm test wall, median of ${rounds}`, 'CPU (user + system)', 'wall ÷ base'],
      rows,
    ),
    '',
    'Target (issue 15): head ≤ 0.5× base.',
  ].join('\n'),
};
writeBenchSections([section], command(fileURLToPath(import.meta.url), SETTINGS));
