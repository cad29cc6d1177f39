/**
 * Builds dist/index.js: one self-contained CommonJS bundle (esbuild, platform node, target node20) exporting
 * `handler`, so that `code: ./dist` + `handler: index.handler` deploys it with no node_modules.
 */
import { rm, stat } from 'node:fs/promises';
import { build } from 'esbuild';

const outfile = 'dist/index.js';

await rm('dist', { recursive: true, force: true });
await rm('lib', { recursive: true, force: true });
await build({
  entryPoints: ['functions/get-flow-preview-url/index.ts'],
  outfile,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  minify: true,
  keepNames: true,
  legalComments: 'external',
  // openapi-client reads XML only for XML error bodies; a small reader of that shape replaces xml2js & co.
  alias: { '@alicloud/tea-xml': './shared/cams/tea-xml-lite.ts' },
  // The Redis client stays out of the main bundle: shared/store/select.ts requires ./redis.js at run time,
  // only when REDIS_URL is set, and finds dist/redis.js (built below) beside dist/index.js.
  plugins: [
    {
      name: 'redis-store-outside',
      setup(plugin) {
        plugin.onResolve({ filter: /^\.\/redis\.js$/ }, (args) =>
          args.importer.endsWith('shared/store/select.ts')
            ? { path: './redis.js', external: true }
            : undefined,
        );
      },
    },
  ],
  logLevel: 'warning',
});
const { size } = await stat(outfile);
process.stdout.write(`built ${outfile} (${(size / 1024).toFixed(1)} KiB)\n`);

// The Redis/Tair stores with ioredis inside: deployed beside index.js, loaded only when REDIS_URL is set.
await build({
  entryPoints: ['shared/store/redis.ts'],
  outfile: 'dist/redis.js',
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  minify: true,
  keepNames: true,
  legalComments: 'external',
  logLevel: 'warning',
});
const redisSize = (await stat('dist/redis.js')).size;
process.stdout.write(
  `built dist/redis.js (${(redisSize / 1024).toFixed(1)} KiB, loaded only with REDIS_URL)\n`,
);

// The caller module for other functions (`flow-preview/client`): its SDK stays a dependency, not inlined.
await build({
  entryPoints: ['client/index.ts'],
  outfile: 'lib/client.cjs',
  bundle: true,
  packages: 'external',
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  logLevel: 'warning',
});
process.stdout.write('built lib/client.cjs\n');
