/**
 * `npm run build`, and the first pre-deploy step in s.yaml: runs scripts/build.mts (the bundles in dist/ and lib/)
 * unless every output is there and built from the same inputs (the sources, the build scripts, package.json and
 * the lock file, whose packages the bundles inline, esbuild's version) as the last build, whose hash is kept in
 * lib/.build-inputs. `--force` builds anyway. Paths are the working directory's (the project's root, where npm and
 * s.yaml's actions run it).
 *
 * Plain node on purpose: a deploy of unchanged code (every redeploy, every `npm run release`) then pays one node
 * start for this check rather than a TypeScript loader's (0.16 s here against 1.2 s of CPU for `npm run build`
 * through tsx, measured with `process.cpuUsage()` at exit). tsx is loaded only when there is something to build.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Every file the outputs are made from: a change to any of them means a new build. */
const INPUT_DIRS = ['functions', 'shared', 'client', 'deploy'];
const INPUT_FILES = [
  'scripts/build.mjs',
  'scripts/build.mts',
  'package.json',
  'package-lock.json',
  'node_modules/esbuild/package.json',
];
const OUTPUTS = [
  'dist/index.js',
  'dist/jwt-verifier.js',
  'dist/redis.js',
  'lib/client.cjs',
  'lib/deploy-cli.cjs',
  'lib/ram-cli.cjs',
];
const STAMP = 'lib/.build-inputs';

/** @returns {string} */
function inputsHash() {
  const hash = createHash('sha256');
  /** @param {string} path */
  const add = (path) => {
    if (statSync(path).isDirectory()) {
      for (const name of readdirSync(path).sort()) add(join(path, name));
      return;
    }
    hash.update(`${path}\0`).update(readFileSync(path)).update('\0');
  };
  for (const path of [...INPUT_DIRS, ...INPUT_FILES]) if (existsSync(path)) add(path);
  return hash.digest('hex');
}

const inputs = inputsHash();
const upToDate =
  !process.argv.includes('--force') &&
  OUTPUTS.every((path) => existsSync(path)) &&
  existsSync(STAMP) &&
  readFileSync(STAMP, 'utf8') === inputs;
if (upToDate) {
  process.stdout.write(
    'dist/ and lib/ are up to date with their sources (npm run build -- --force rebuilds)\n',
  );
} else {
  const { tsImport } = await import('tsx/esm/api');
  await tsImport('./build.mts', import.meta.url);
  writeFileSync(STAMP, inputs);
}
