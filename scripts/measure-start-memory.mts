/**
 * Measures npm start's memory under a long stream of CAMS simulator calls: starts `dev/start.ts` (what npm start
 * runs) as its own process, sends CALLS V3-signed GetFlowPreviewUrl requests to its embedded simulator (each with a
 * new nonce and a new CustSpaceId; most are throttled at 5/s, which the simulator records all the same), and
 * samples the process's RSS from /proc. Flat means the simulator keeps no per-call state without bound. The table
 * replaces its section of docs/benchmarks.md.
 *
 *   npx tsx scripts/measure-start-memory.mts            # 20,000 calls
 *   CALLS=50000 npx tsx scripts/measure-start-memory.mts
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Agent } from 'node:http';
import { fileURLToPath } from 'node:url';
import { signedCamsRequest } from '../dev/signed-request.js';
import { LOCAL_SIMULATOR_CREDENTIAL } from '../dev/simulator-credential.js';
import { command, markdownTable, writeBenchSections } from './bench-report.mjs';

const CALLS = Number(process.env['CALLS'] ?? 20_000);
const CONCURRENCY = 20;
const SAMPLES = 10;

const child = spawn(process.execPath, ['--import', 'tsx', 'dev/start.ts'], {
  env: { ...process.env, PORT: '0', FLOW_PREVIEW_AUTH_TYPE: 'anonymous' },
  stdio: ['ignore', 'pipe', 'inherit'],
});
let output = '';
child.stdout.on('data', (chunk: Buffer) => {
  output += chunk.toString();
});

const simulatorUrl = await new Promise<string>((resolve, reject) => {
  const timer = setInterval(() => {
    const match = /embedded simulator at (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
    if (match?.[1]) {
      clearInterval(timer);
      resolve(match[1]);
    }
    if (child.exitCode !== null) reject(new Error(`npm start exited:\n${output}`));
  }, 50);
});

function rssMb(): number {
  const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024;
}

const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
const statuses: Record<string, number> = {};
const rows: Array<[number, number]> = [[0, rssMb()]];
let sent = 0;
const started = performance.now();
async function worker(): Promise<void> {
  while (sent < CALLS) {
    const n = sent;
    sent += 1;
    const response = await signedCamsRequest(simulatorUrl, {
      ...LOCAL_SIMULATOR_CREDENTIAL,
      form: { FlowId: 'welcome-flow', CustSpaceId: `cams-load-${n}` },
      agent,
    });
    statuses[response.status] = (statuses[response.status] ?? 0) + 1;
    if ((n + 1) % (CALLS / SAMPLES) === 0) rows.push([n + 1, rssMb()]);
  }
}
await Promise.all(Array.from({ length: CONCURRENCY }, worker));
const seconds = (performance.now() - started) / 1000;
agent.destroy();
child.kill('SIGINT');

const first = rows[2]?.[1] ?? 0;
const last = rows.at(-1)?.[1] ?? 0;
const body = [
  `npm start (dev/start.ts): ${CALLS.toLocaleString('en')} simulator calls in ${seconds.toFixed(1)} s, statuses ${JSON.stringify(statuses)}.`,
  `RSS change from ${rows[2]?.[0].toLocaleString('en')} to ${CALLS.toLocaleString('en')} calls: ${(last - first).toFixed(1)} MB.`,
  '',
  markdownTable(
    ['calls', 'RSS (MB)'],
    rows.map(([calls, rss]) => [calls.toLocaleString('en'), rss.toFixed(1)]),
  ),
].join('\n');
writeBenchSections(
  [{ id: 'start-memory', title: "npm start's memory under load", body }],
  command(fileURLToPath(import.meta.url), ['CALLS']),
);
process.stdout.write(`${body}\n`);
