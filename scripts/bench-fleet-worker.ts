/**
 * One FC instance of `npm run bench:fleet`: loads the built bundle (dist/index.js, and dist/redis.js when
 * REDIS_URL is set) and serves one invocation at a time, as FC's standard runtimes do. The dispatcher sends
 * `{ id, flowId }` over IPC; the answer carries the status, the handler's own time and what its log line says.
 * scripts/bench-fleet.mts bundles this file for plain node.
 */
const handlerPath = process.env['BENCH_HANDLER'] ?? '';
const credentials = JSON.parse(process.env['BENCH_CREDENTIALS'] ?? '{}');
const accountId = process.env['BENCH_ACCOUNT_ID'] ?? '';
// A runtime path: the worker loads the built artifact, never the sources.
const { handler } = require(handlerPath);

let lastLine = '';
// The handler's log line (one write per invocation) is read here instead of going to a pipe.
process.stdout.write = ((chunk: string | Uint8Array) => {
  lastLine = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString();
  return true;
}) as typeof process.stdout.write;

interface Job {
  readonly id: number;
  /** The direct-invocation payload (`flowId`, and `custSpaceId` for a tenant's space). */
  readonly payload: Record<string, unknown>;
}

let invocations = 0;
process.on('message', async (job: Job) => {
  lastLine = '';
  invocations += 1;
  const firstOnInstance = invocations === 1;
  const startedAt = performance.now();
  const result = (await handler(Buffer.from(JSON.stringify(job.payload)), {
    requestId: `bench-${job.id}`,
    accountId,
    credentials,
    function: { timeout: 10 },
  })) as { error?: { status?: number } };
  const handlerMs = performance.now() - startedAt;
  let log: { store?: string; cache?: string; camsCalls?: number; slotWaitMs?: number } = {};
  try {
    log = JSON.parse(lastLine);
  } catch {
    log = {};
  }
  process.send?.({
    id: job.id,
    status: result.error?.status ?? 200,
    handlerMs,
    store: log.store,
    cache: log.cache,
    camsCalls: log.camsCalls,
    slotWaitMs: log.slotWaitMs,
    firstOnInstance,
  });
});
process.send?.({ ready: true });
