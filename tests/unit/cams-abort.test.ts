/**
 * A CAMS attempt that ends early leaves nothing behind: against a CAMS that sends its headers and then drips the
 * body, every timeout and every caller's abort destroys the request and its socket, and the heap returns to its
 * level. A tiny loopback server of our own plays that CAMS (the simulator answers whole bodies).
 */
import { deepStrictEqual, ok, rejects, strictEqual } from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { createCamsClient } from '../../shared/cams/client.js';
import { CamsError } from '../../shared/cams/errors.js';
import { FakeClock } from '../fixtures/clock.js';
import { directEvent, fcContext, ROLE_CREDENTIALS } from '../fixtures/fc.js';
import { buildFunction, type FunctionUnderTest } from '../fixtures/function.js';

/** Answers 200 with its headers at once, then one byte of a never-ending JSON body every 20 ms. */
class DrippingCams {
  readonly open = new Set<Socket>();
  requests = 0;
  private readonly server: Server = createServer((req, res) => {
    this.requests += 1;
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '1000000' });
      res.write('{"RequestId":"');
      const drip = setInterval(() => res.write('x'), 20);
      res.on('close', () => clearInterval(drip));
    });
  });

  async start(): Promise<string> {
    this.server.on('connection', (socket) => {
      this.open.add(socket);
      socket.on('close', () => this.open.delete(socket));
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    for (const socket of this.open) socket.destroy();
    await new Promise((resolve) => this.server.close(resolve));
  }

  /** Waits (a generous bound: the machine is shared) until no socket to this server is open. */
  async settled(timeoutMs = 2000): Promise<number> {
    const until = Date.now() + timeoutMs;
    while (this.open.size > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    return this.open.size;
  }
}

const cams = new DrippingCams();
let url = '';
let fn: FunctionUnderTest;

before(async () => {
  url = await cams.start();
  // The fake clock lets the refreshes pass the 5/s budget at once; each attempt's own timeout is real (the socket's).
  fn = buildFunction(
    { CAMS_ENDPOINT: url, CAMS_TIMEOUT_MS: '200' },
    { clock: new FakeClock({ start: Date.now() }) },
  );
});
after(async () => {
  await cams.stop();
});

const host = () => new URL(url).host;

describe('an abandoned CAMS call', () => {
  it('answers 504 and leaves no socket open and no heap behind, ten times over', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const invoke = () => fn.invoke(directEvent({ flowId: 'welcome-flow', refresh: true }), fcContext());
    await invoke(); // warm-up: modules, JIT, the agent
    strictEqual(await cams.settled(), 0);
    gc();
    const before = process.memoryUsage();
    const results = [];
    for (let i = 0; i < 10; i += 1) results.push(await invoke());
    for (const result of results) {
      deepStrictEqual(result, {
        error: { code: 'CamsTimeout', message: 'CAMS did not answer in time', status: 504 },
      });
    }
    strictEqual(await cams.settled(), 0, 'sockets to CAMS still open after the 504s');
    // Give the dripping server time to have sent more, had anything kept listening.
    await new Promise((r) => setTimeout(r, 300));
    gc();
    const afterCalls = process.memoryUsage();
    const grown = afterCalls.heapUsed + afterCalls.arrayBuffers - (before.heapUsed + before.arrayBuffers);
    // Ten calls kept alive would hold their requests, responses and buffers (MBs before the fix): allow noise.
    ok(grown < 1024 * 1024, `heap + buffers grew by ${(grown / 1024).toFixed(0)} KiB`);
    strictEqual(cams.requests, 11);
    // Each of them one CAMS call that timed out, never retried.
    deepStrictEqual(
      fn.logs().map((line) => [line.status, line.outcome, line.camsCalls, line.error?.cams]),
      Array.from({ length: 11 }, () => [504, 'CamsTimeout', 1, { kind: 'timeout', timeoutMs: 200 }]),
    );
  });

  it('ends the request when the caller aborts, with the caller’s reason', async () => {
    const client = createCamsClient({ host: host(), protocol: 'HTTP' }, ROLE_CREDENTIALS);
    const controller = new AbortController();
    const reason = new Error('caller gave up');
    let sent = 0;
    const call = client.fetchPreviewUrl(
      { flowId: 'welcome-flow' },
      { timeoutMs: 30_000, signal: controller.signal, onSent: () => (sent += 1) },
    );
    // Abort once the body has started to drip: the request is out and its answer half read.
    const started = cams.requests;
    while (cams.requests === started) await new Promise((r) => setTimeout(r, 5));
    await new Promise((r) => setTimeout(r, 60));
    controller.abort(reason);
    await rejects(call, (error) => error === reason);
    strictEqual(sent, 1);
    strictEqual(await cams.settled(), 0);
  });

  it('destroys a request the SDK creates after the caller has already aborted', async () => {
    const client = createCamsClient({ host: host(), protocol: 'HTTP' }, ROLE_CREDENTIALS);
    const controller = new AbortController();
    const requests = cams.requests;
    let sent = 0;
    const call = client.fetchPreviewUrl(
      { flowId: 'welcome-flow' },
      { timeoutMs: 30_000, signal: controller.signal, onSent: () => (sent += 1) },
    );
    controller.abort(new Error('changed my mind')); // the SDK is still signing: no request exists yet
    await rejects(call, { message: 'changed my mind' });
    await new Promise((r) => setTimeout(r, 200));
    strictEqual(cams.requests, requests, 'the abandoned request reached CAMS');
    strictEqual(sent, 0);
    strictEqual(await cams.settled(), 0);
  });

  it('does not start when the signal is already aborted', async () => {
    const client = createCamsClient({ host: host(), protocol: 'HTTP' }, ROLE_CREDENTIALS);
    const requests = cams.requests;
    await rejects(
      client.fetchPreviewUrl({ flowId: 'welcome-flow' }, { timeoutMs: 1000, signal: AbortSignal.abort() }),
      { name: 'AbortError' },
    );
    strictEqual(cams.requests, requests);
  });

  it('ends the request at its own timeout, reported as a timeout', async () => {
    const client = createCamsClient({ host: host(), protocol: 'HTTP' }, ROLE_CREDENTIALS);
    await rejects(
      client.fetchPreviewUrl({ flowId: 'welcome-flow' }, { timeoutMs: 100 }),
      (error) =>
        error instanceof CamsError && error.failure.kind === 'timeout' && error.failure.timeoutMs === 100,
    );
    strictEqual(await cams.settled(), 0);
  });
});
