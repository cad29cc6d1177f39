/**
 * The process measured by the burst benchmarks: `npm start`'s local server in front of the built dist/index.js,
 * run by plain node (scripts/bench.mts bundles this file first, so no TypeScript loader inflates its memory).
 * Prints `READY <url>`; `GET /__bench/rss` answers its peak resident set size.
 */
import { startLocalServer } from '../dev/local-server.js';

const handlerPath = process.env['BENCH_HANDLER'] ?? '';
const credentials = JSON.parse(process.env['BENCH_CREDENTIALS'] ?? '{}');
// A runtime path: the bundle must load the built artifact, not inline the sources.
const { handler } = require(handlerPath);

startLocalServer({
  handler,
  credentials,
  extraRoutes: (req, res) => {
    if (!req.url?.startsWith('/__bench/rss')) return false;
    // With --expose-gc, `?gc=1` collects first, so heapUsed shows what is alive.
    const gc = (globalThis as { gc?: () => void }).gc;
    if (req.url.endsWith('?gc=1') && gc) gc();
    res.writeHead(200, { 'content-type': 'application/json' });
    const { heapUsed, heapTotal, rss } = process.memoryUsage();
    res.end(JSON.stringify({ maxRssKb: process.resourceUsage().maxRSS, rss, heapUsed, heapTotal }));
    return true;
  },
}).then((server) => process.stdout.write(`READY ${server.url}\n`));
