/**
 * One FC instance as the anchor benchmark runs it: a plain node process (default V8 flags; scripts/bench.mts
 * bundles this file first, so no TypeScript loader is in it) that requires one handler, makes the first invocation,
 * then makes one warm invocation each time the parent asks — so the parent can interleave the four handlers call by
 * call while each keeps its own process, heap and sockets. Reports over IPC.
 *
 * Environment: BENCH_HANDLER (the file), BENCH_FIRST and BENCH_WARM (the JSON payloads), BENCH_CONTEXT (the FC
 * context), CAMS_ENDPOINT (the simulator).
 */

type Handler = (event: Buffer, context: unknown) => Promise<unknown>;

const send = (message: unknown): void => {
  process.send?.(message);
};

const elapsedMs = (start: bigint): number => Number(process.hrtime.bigint() - start) / 1e6;

function checked(result: unknown): void {
  const body = result as { error?: unknown; previewUrl?: unknown } | undefined;
  if (body?.error !== undefined || typeof body?.previewUrl !== 'string') {
    throw new Error(`bench call failed: ${JSON.stringify(result)}`);
  }
}

async function main(): Promise<void> {
  const context = JSON.parse(process.env['BENCH_CONTEXT'] ?? '{}') as unknown;
  const first = Buffer.from(process.env['BENCH_FIRST'] ?? '{}');
  const warm = Buffer.from(process.env['BENCH_WARM'] ?? '{}');
  const start = process.hrtime.bigint();
  // A runtime path: the runner loads the artifact under test, never a copy inlined at bundle time.
  const { handler } = require(process.env['BENCH_HANDLER'] ?? '') as { handler: Handler };
  const requireMs = elapsedMs(start);
  checked(await handler(first, context));
  send({ type: 'first', requireMs, firstMs: elapsedMs(start) });
  process.on('message', async (message: { type: string }) => {
    if (message.type === 'call') {
      const at = process.hrtime.bigint();
      const cpu = process.cpuUsage();
      checked(await handler(warm, context));
      const ms = elapsedMs(at);
      const { user, system } = process.cpuUsage(cpu);
      send({ type: 'call', ms, cpuMs: (user + system) / 1000 });
    } else if (message.type === 'rss') {
      send({ type: 'rss', maxRssKb: process.resourceUsage().maxRSS });
    }
  });
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
