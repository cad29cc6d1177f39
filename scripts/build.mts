/**
 * Builds dist/index.js: one self-contained CommonJS bundle (esbuild, platform node, target node20) exporting
 * `handler`, so that `code: ./dist` + `handler: index.handler` deploys it with no node_modules; beside it the parts
 * loaded on first use, and in lib/ the caller module and the deploy steps s.yaml runs (plain node: no TypeScript
 * loader to start for each step).
 *
 * Run through scripts/build.mjs (`npm run build`), which skips it when nothing it is made from has changed.
 */
import { rm, stat } from 'node:fs/promises';
import { type BuildOptions, build, type Plugin } from 'esbuild';
import { BUNDLE_ALIASES, LAZY_BUILTINS } from '../shared/cams/sdk-workarounds.js';

const outfile = 'dist/index.js';

/** What every function file shares: one minified CommonJS file for Node 20 with its dependencies inside. */
const FUNCTION_BUNDLE = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  minify: true,
  legalComments: 'external',
  logLevel: 'warning',
} as const satisfies BuildOptions;

/** Resolves caller identity's lazy `require('./jwt-verifier.js')` to the sibling file, left as a runtime require. */
const jwtVerifierAsSibling: Plugin = {
  name: 'jwt-verifier-as-sibling',
  setup(on) {
    on.onResolve({ filter: /^\.\/jwt-verifier\.js$/ }, (args) =>
      args.importer.endsWith('shared/auth/caller-identity.ts')
        ? { path: './jwt-verifier.js', external: true }
        : undefined,
    );
  },
};

/** shared/store/select.ts requires ./redis.js at run time; it finds dist/redis.js (built below) beside index.js. */
const redisStoreAsSibling: Plugin = {
  name: 'redis-store-as-sibling',
  setup(on) {
    on.onResolve({ filter: /^\.\/redis\.js$/ }, (args) =>
      args.importer.endsWith('shared/store/select.ts') ? { path: './redis.js', external: true } : undefined,
    );
  },
};

await rm('dist', { recursive: true, force: true });
await rm('lib', { recursive: true, force: true });
await build({
  ...FUNCTION_BUNDLE,
  entryPoints: ['functions/get-flow-preview-url/index.ts'],
  outfile,
  // Stand-ins for SDK parts a CAMS call never uses, and built-ins loaded on first use: see sdk-workarounds.ts.
  alias: { ...BUNDLE_ALIASES },
  // The JWT verifier (with jose) and the Redis stores (with ioredis) stay out of the main bundle: each is a sibling
  // file required on first use, only when JWT_* or REDIS_URL is set; as a plain require(), not an ES module import.
  plugins: [lazyBuiltins(), jwtVerifierAsSibling, redisStoreAsSibling],
  supported: { 'dynamic-import': false },
});
const { size } = await stat(outfile);
process.stdout.write(`built ${outfile} (${(size / 1024).toFixed(1)} KiB)\n`);

// Caller identity, loaded by dist/index.js only when JWT_* is configured (see shared/auth/caller-identity.ts).
await build({
  ...FUNCTION_BUNDLE,
  entryPoints: ['shared/auth/jwt-verifier.ts'],
  outfile: 'dist/jwt-verifier.js',
  keepNames: true,
});
const verifierSize = (await stat('dist/jwt-verifier.js')).size;
process.stdout.write(`built dist/jwt-verifier.js (${(verifierSize / 1024).toFixed(1)} KiB)\n`);

// The Redis/Tair stores with ioredis inside: deployed beside index.js, loaded only when REDIS_URL is set.
await build({
  ...FUNCTION_BUNDLE,
  entryPoints: ['shared/store/redis.ts'],
  outfile: 'dist/redis.js',
  keepNames: true,
});
const redisSize = (await stat('dist/redis.js')).size;
process.stdout.write(
  `built dist/redis.js (${(redisSize / 1024).toFixed(1)} KiB, loaded only with REDIS_URL)\n`,
);

/** What lib/ holds: one CommonJS file per entry point, for Node 20. */
const LIB_BUNDLE = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  logLevel: 'warning',
} as const satisfies BuildOptions;

// The caller module for other functions (`flow-preview/client`): its SDK stays a dependency, not inlined.
await build({
  ...LIB_BUNDLE,
  packages: 'external',
  entryPoints: ['client/index.ts'],
  outfile: 'lib/client.cjs',
});
process.stdout.write('built lib/client.cjs\n');

// The deploy steps s.yaml runs (deploy/deploy-cli.ts, deploy/ram-cli.ts), for plain node: nothing to transpile when
// a step starts, and their dependencies inlined too (one file to read instead of ~230 modules of `yaml` and the SDKs:
// ~0.1 CPU-s less per step, four steps a deploy).
await build({
  ...LIB_BUNDLE,
  entryPoints: { 'deploy-cli': 'deploy/deploy-cli.ts', 'ram-cli': 'deploy/ram-cli.ts' },
  outdir: 'lib',
  outExtension: { '.js': '.cjs' },
});
process.stdout.write('built lib/deploy-cli.cjs, lib/ram-cli.cjs\n');

/**
 * Serves the built-ins in `LAZY_BUILTINS` to the packages named there as modules whose exports load the real
 * module on first access (esbuild's ESM ↔ CJS interop reads them through getters), so an import at a package's top
 * costs nothing until the code path that uses it runs.
 */
function lazyBuiltins(): Plugin {
  return {
    name: 'lazy-builtins',
    setup(pluginBuild) {
      const names = new Set(LAZY_BUILTINS.flatMap(({ modules }) => modules));
      const filter = new RegExp(`^(${[...names].map((name) => name.replace(/[/.]/g, '\\$&')).join('|')})$`);
      pluginBuild.onResolve({ filter }, (args) => {
        const lazy = LAZY_BUILTINS.some(
          ({ importer, modules }) => args.importer.includes(importer) && modules.includes(args.path),
        );
        return lazy ? { path: args.path, namespace: 'lazy-builtin' } : undefined;
      });
      pluginBuild.onLoad({ filter: /.*/, namespace: 'lazy-builtin' }, async (args) => {
        const names = Object.keys(await import(args.path)).filter((name) => name !== 'default');
        return {
          loader: 'js',
          contents: [
            `let loaded;`,
            `const load = () => (loaded ??= require(${JSON.stringify(args.path)}));`,
            `for (const name of ${JSON.stringify(names)}) {`,
            `  Object.defineProperty(exports, name, { enumerable: true, get: () => load()[name] });`,
            `}`,
          ].join('\n'),
        };
      });
    },
  };
}
