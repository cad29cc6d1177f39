/**
 * Cold start of the built bundle with caller identity configured vs not. Fresh node processes, interleaved, each
 * timing (inside the process, from before `require`) the module load and the first answer to an HTTP request:
 *
 *   off    no JWT_*: require dist/index.js, answer one request (400 before CAMS; the verifier is never loaded)
 *   on     JWT_* set: the same require, then a request with a valid ES256 token: dist/jwt-verifier.js (jose) is
 *          loaded on this first use, the token verified, then the same 400
 *   load   JWT_* set, require only: what configuring JWT costs a cold start that serves no request yet (≈ off's load)
 *
 * Also checks that `off` never loaded the verifier. Run after `npm run build` (`npm run bench` runs it too); the
 * table goes into docs/benchmarks.md:
 *   npx tsx scripts/bench-jwt-load.mts        (BENCH_JWT_RUNS=25 by default)
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { type BenchSection, command, markdownTable, writeBenchSections } from './bench-report.mjs';

const DIST = resolve('dist');
export const JWT_LOAD_SETTINGS = ['BENCH_JWT_RUNS'] as const;

/** Runs in each fresh process: times require + one invocation, reports which bundle files were loaded. */
const PROBE = `
const started = performance.now();
const { handler } = require('./index.js');
const loadedAt = performance.now();
if (process.argv[1] === 'load') {
  process.stderr.write('PROBE ' + JSON.stringify({ load: loadedAt - started }) + '\\n');
} else {
  const event = JSON.parse(process.argv[2]);
  process.stdout.write = () => true; // the handler's log line
  handler(Buffer.from(JSON.stringify(event)), { requestId: 'bench', function: { timeout: 10 } }).then((result) => {
    const answeredAt = performance.now();
    const files = Object.keys(require.cache).map((file) => require('node:path').basename(file));
    process.stderr.write('PROBE ' + JSON.stringify({ load: loadedAt - started, first: answeredAt - started, status: result.statusCode, files }) + '\\n');
  });
}
`;

interface Probe {
  load: number;
  first?: number;
  status?: number;
  files?: string[];
}

function probe(mode: 'off' | 'on' | 'load', env: NodeJS.ProcessEnv, event: unknown): Probe {
  const { stderr } = spawnSync(process.execPath, ['-e', PROBE, mode, JSON.stringify(event)], {
    cwd: DIST,
    env,
    encoding: 'utf8',
  });
  const at = stderr.indexOf('PROBE ');
  if (at === -1) throw new Error(`probe ${mode} failed:\n${stderr}`);
  const result = stderr.slice(at);
  return JSON.parse(result.slice(result.indexOf('PROBE ') + 6)) as Probe;
}

function httpEvent(headers: Record<string, string>): unknown {
  // An invalid flow id: answered 400 by the function itself, so no CAMS endpoint is needed.
  return {
    version: 'v1',
    rawPath: '/flows/not%20valid/preview-url',
    headers,
    queryParameters: {},
    body: '',
    isBase64Encoded: false,
    requestContext: { requestId: 'bench', http: { method: 'GET', path: '/flows/not%20valid/preview-url' } },
  };
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
};
const ms = (value: number): string => `${value.toFixed(2)} ms`;
const kib = (bytes: number): string => `${(bytes / 1024).toFixed(1)} KiB`;

/** Measures and returns the table rows: [metric, value]. */
export async function measureJwtLoad(
  runs = Number(process.env['BENCH_JWT_RUNS'] ?? 25),
): Promise<Array<[string, string]>> {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  const jwks = JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: 'bench', alg: 'ES256' }] });
  const token = await new SignJWT({ spaces: 'cams-bench' })
    .setProtectedHeader({ alg: 'ES256', kid: 'bench' })
    .setIssuer('https://idp.bench/')
    .setAudience('flow-preview')
    .setExpirationTime('1h')
    .sign(privateKey);
  const base: NodeJS.ProcessEnv = { PATH: process.env['PATH'] ?? '' };
  // Callers verified, no tenant bound: what is measured is loading the verifier and checking one token.
  const jwtEnv = {
    ...base,
    JWT_JWKS: jwks,
    JWT_ISSUER: 'https://idp.bench/',
    JWT_AUDIENCE: 'flow-preview',
    JWT_AUTHENTICATION_ONLY: 'true',
  };
  const off: Probe[] = [];
  const on: Probe[] = [];
  const load: Probe[] = [];
  probe('off', base, httpEvent({})); // warm the page cache
  for (let i = 0; i < runs; i += 1) {
    off.push(probe('off', base, httpEvent({})));
    on.push(probe('on', jwtEnv, httpEvent({ Authorization: `Bearer ${token}` })));
    load.push(probe('load', jwtEnv, undefined));
  }
  const neverLoaded = off.every((p) => !(p.files ?? []).includes('jwt-verifier.js'));
  const loadedOnUse = on.every((p) => (p.files ?? []).includes('jwt-verifier.js') && p.status === 400);
  if (!neverLoaded || !loadedOnUse)
    throw new Error('the verifier was loaded when unused, or not loaded when used');
  const firstOff = median(off.map((p) => p.first ?? 0));
  const firstOn = median(on.map((p) => p.first ?? 0));
  const main = readFileSync(resolve(DIST, 'index.js'));
  const verifier = readFileSync(resolve(DIST, 'jwt-verifier.js'));
  return [
    [`require dist/index.js, no JWT_* (median of ${runs})`, ms(median(off.map((p) => p.load)))],
    [`require dist/index.js, JWT_* set (median of ${runs})`, ms(median(load.map((p) => p.load)))],
    [`require + first answer, no JWT_* (verifier never loaded: ${neverLoaded})`, ms(firstOff)],
    ['require + first answer, JWT_* set (verifier loaded, ES256 token verified)', ms(firstOn)],
    ['first answer: added by caller identity', ms(firstOn - firstOff)],
    ['dist/index.js raw / gzip', `${kib(main.length)} / ${kib(gzipSync(main).length)}`],
    [
      'dist/jwt-verifier.js (jose inside) raw / gzip',
      `${kib(verifier.length)} / ${kib(gzipSync(verifier).length)}`,
    ],
  ];
}

/** Its section of docs/benchmarks.md. */
export function jwtLoadSection(rows: Array<[string, string]>): BenchSection {
  return {
    id: 'jwt-load',
    title: 'The JWT verifier: loaded only with JWT_*',
    body: markdownTable(['metric', 'value'], rows),
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const section = jwtLoadSection(await measureJwtLoad());
  writeBenchSections([section], command(fileURLToPath(import.meta.url), JWT_LOAD_SETTINGS));
  process.stdout.write(`${section.body}\n`);
}
