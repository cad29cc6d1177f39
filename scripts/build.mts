/**
 * Builds dist/index.js: one self-contained CommonJS bundle (esbuild, platform node, target node20) exporting
 * `handler`, so that `code: ./dist` + `handler: index.handler` deploys it with no node_modules.
 */
import { rm, stat } from 'node:fs/promises';
import { build } from 'esbuild';

const outfile = 'dist/index.js';

await rm('dist', { recursive: true, force: true });
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
  alias: { '@alicloud/tea-xml': './shared/tea-xml-lite.ts' },
  logLevel: 'warning',
});
const { size } = await stat(outfile);
process.stdout.write(`built ${outfile} (${(size / 1024).toFixed(1)} KiB)\n`);
