/**
 * W3C Trace Context through the function (https://www.w3.org/TR/trace-context/): the caller's trace continues
 * through the handler into its log line and back on the response; a bad `traceparent` starts a new trace.
 */
import { deepStrictEqual, match, notStrictEqual, strictEqual } from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FcHttpResponse } from '../../shared/fc/event.js';
import { traceContext } from '../../shared/fc/trace-context.js';
import { useCamsSimulator } from '../fixtures/cams.js';
import { directEvent, fcContext, httpEvent } from '../fixtures/fc.js';
import { useFunction } from '../fixtures/function.js';

const cams = useCamsSimulator();
const fn = useFunction(() => ({ CAMS_ENDPOINT: cams.url }));

const CALLER = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

async function httpTrace(headers: Record<string, string>): Promise<{ sent: string; logged: unknown }> {
  const response = (await fn().handler(httpEvent({ headers }), fcContext())) as FcHttpResponse;
  const sent = response.headers['traceparent'] ?? '';
  return { sent, logged: fn().logs().at(-1)?.traceId };
}

describe('traceparent', () => {
  it("continues the caller's trace with this invocation's own span, and logs the trace id", async () => {
    const { sent, logged } = await httpTrace({ traceparent: CALLER });
    const [, traceId, spanId, flags] = TRACEPARENT.exec(sent) ?? [];
    strictEqual(traceId, '4bf92f3577b34da6a3ce929d0e0e4736');
    notStrictEqual(spanId, '00f067aa0ba902b7');
    strictEqual(flags, '01');
    strictEqual(logged, traceId);
    strictEqual(fn().logs().at(-1)?.['parentSpanId'], '00f067aa0ba902b7');
  });

  it('reads the header whatever its case, as FC hands headers over as sent', async () => {
    const { sent } = await httpTrace({ TraceParent: CALLER });
    match(sent, /^00-4bf92f3577b34da6a3ce929d0e0e4736-/);
  });

  it('starts a new trace when there is none, and says so on the response and in the log', async () => {
    const { sent, logged } = await httpTrace({});
    const traceId = TRACEPARENT.exec(sent)?.[1];
    match(String(traceId), /^[0-9a-f]{32}$/);
    strictEqual(logged, traceId);
    strictEqual(fn().logs().at(-1)?.['parentSpanId'], undefined);
  });

  for (const [what, value] of [
    ['an all-zero trace id', '00-00000000000000000000000000000000-00f067aa0ba902b7-01'],
    ['an all-zero parent id', '00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01'],
    ['version ff', 'ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'],
    ['upper-case hex', '00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01'],
    ['a fifth field on version 00', `${CALLER}-extra`],
    ['a short trace id', '00-4bf92f3577b34da6-00f067aa0ba902b7-01'],
    ['a JSON injection', '00-4bf92f3577b34da6a3ce929d0e0e4736","level":"error'],
  ] as const) {
    it(`ignores ${what} and starts a new trace`, async () => {
      const { sent, logged } = await httpTrace({ traceparent: value });
      const traceId = TRACEPARENT.exec(sent)?.[1];
      notStrictEqual(traceId, '4bf92f3577b34da6a3ce929d0e0e4736');
      strictEqual(logged, traceId);
    });
  }

  it('gives every new trace and span its own random id, across many invocations', () => {
    // Ids are drawn from a pool of random bytes refilled every 64 invocations: 500 cross it several times.
    const ids = Array.from({ length: 500 }, () => traceContext(undefined));
    for (const { traceparent } of ids) match(traceparent, TRACEPARENT);
    strictEqual(new Set(ids.map((id) => id.traceId)).size, 500);
    strictEqual(new Set(ids.map((id) => id.spanId)).size, 500);
    // Random bytes, not a counter or a constant: the trace ids use all sixteen hex digits.
    const digits = new Set(ids.flatMap((id) => [...id.traceId]));
    strictEqual(digits.size, 16);
  });

  it('reads a later version by its first four fields (§3.2.4)', () => {
    strictEqual(
      traceContext(`01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-future`).traceId,
      '4bf92f3577b34da6a3ce929d0e0e4736',
    );
  });

  it("returns a direct invocation's trace beside the answer only when the payload sent one", async () => {
    const withTrace = (await fn().invoke(
      directEvent({ flowId: 'welcome-flow', traceparent: CALLER }),
    )) as Record<string, unknown>;
    match(String(withTrace['traceparent']), /^00-4bf92f3577b34da6a3ce929d0e0e4736-[0-9a-f]{16}-01$/);
    strictEqual(withTrace['flowId'], 'welcome-flow');
    const without = (await fn().invoke(directEvent({ flowId: 'welcome-flow' }))) as Record<string, unknown>;
    strictEqual('traceparent' in without, false);
    // Errors carry it too.
    const error = (await fn().invoke(directEvent({ flowId: 'bad.id', traceparent: CALLER }))) as Record<
      string,
      unknown
    >;
    deepStrictEqual(Object.keys(error).sort(), ['error', 'traceparent']);
  });
});
