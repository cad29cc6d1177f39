/**
 * Handler ↔ CAMS simulator over real sockets: the simulator verifies every signature the SDK makes, so these
 * tests prove the wire contract, not just the mapping.
 */
import { deepStrictEqual, strictEqual } from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { type CamsSimulator, startCamsSimulator } from '../../dev/cams-simulator.js';
import type { Env } from '../../shared/config.js';
import { useCamsOnFakeClock } from '../fixtures/cams.js';
import { directEvent, fcContext, ROLE_CREDENTIALS } from '../fixtures/fc.js';
import { buildFunction, type FunctionUnderTest, useFunction } from '../fixtures/function.js';

const ROTATED = {
  accessKeyId: 'STS.NTestRoleKeyId0002',
  accessKeySecret: 'TestRoleSecretBBBBBBBBBBBBBBBBBBBBBBBB',
  securityToken: 'CAIS-test-security-token-0002',
};

// One clock for the function and the simulator: back-offs and the simulator's 5/s window pass without waiting.
const { cams, clock, fresh } = useCamsOnFakeClock({ credentials: [ROLE_CREDENTIALS, ROTATED] });
// These tests drive CAMS's own throttling (other callers in the account share its quota), so the function's
// limiter and refresh interval stand aside here; tests/redis-*.test.ts cover them.
const ENV = (): Env => ({
  CAMS_ENDPOINT: cams.url,
  CAMS_TIMEOUT_MS: '400',
  CAMS_RATE_LIMIT_PER_SECOND: '1000',
  PREVIEW_REFRESH_INTERVAL_S: '0',
});
const fn = useFunction(ENV, fresh);
/** Another instance, on the running test's clock, for a CAMS at another endpoint or other settings. */
const instance = (env: Env): FunctionUnderTest => buildFunction({ ...ENV(), ...env }, { clock: clock() });

const invoke = (payload: unknown, context = fcContext()) => fn().invoke(directEvent(payload), context);

describe('handler ↔ CAMS simulator', () => {
  it('signs with V3 and the STS token, and gets a preview', async () => {
    const result = (await invoke({ flowId: 'order_status_01', custSpaceId: 'cams-abc' })) as Record<
      string,
      unknown
    >;
    strictEqual(result['flowId'], 'order_status_01');
    strictEqual(result['requestId'], cams.calls[0]?.requestId);
    deepStrictEqual(
      cams.calls.map((c) => [c.status, c.code, c.accessKeyId, c.securityToken, c.action]),
      [[200, 'OK', ROLE_CREDENTIALS.accessKeyId, ROLE_CREDENTIALS.securityToken, 'GetFlowPreviewUrl']],
    );
  });

  it('uses the credentials of each invocation: rotated keys are the ones that reach CAMS', async () => {
    await invoke({ flowId: 'welcome-flow' }, fcContext({ credentials: ROLE_CREDENTIALS }));
    await invoke({ flowId: 'order_status_01' }, fcContext({ credentials: ROTATED }));
    await invoke({ flowId: 'survey-2026' }, fcContext({ credentials: ROLE_CREDENTIALS }));
    // Cached links are scoped to the account, not the key (each FC instance holds its own STS key): a hit.
    await invoke({ flowId: 'welcome-flow' }, fcContext({ credentials: ROTATED }));
    deepStrictEqual(
      cams.calls.map((c) => [c.status, c.accessKeyId, c.securityToken]),
      [
        [200, ROLE_CREDENTIALS.accessKeyId, ROLE_CREDENTIALS.securityToken],
        [200, ROTATED.accessKeyId, ROTATED.securityToken],
        [200, ROLE_CREDENTIALS.accessKeyId, ROLE_CREDENTIALS.securityToken],
      ],
    );
  });

  it('returns the same link for the same flow while it is valid', async () => {
    const first = (await invoke({ flowId: 'welcome-flow' })) as Record<string, unknown>;
    const second = (await invoke({ flowId: 'welcome-flow' })) as Record<string, unknown>;
    strictEqual(second['previewUrl'], first['previewUrl']);
    strictEqual(second['expiresAt'], new Date(Number(first['previewUrlExpires'])).toISOString());
  });

  it('maps a wrong key (SignatureDoesNotMatch at CAMS) to 502', async () => {
    const result = await invoke(
      { flowId: 'welcome-flow' },
      fcContext({ credentials: { ...ROTATED, accessKeySecret: 'wrong' } }),
    );
    deepStrictEqual(result, {
      error: {
        code: 'CamsError',
        message: 'CAMS answered with error SignatureDoesNotMatch (HTTP 400)',
        status: 502,
        requestId: cams.calls[0]?.requestId,
      },
    });
  });

  for (const businessErrorStatus of [400, 200] as const) {
    it(`maps each documented error code sent as HTTP ${businessErrorStatus}`, async () => {
      const sim = await startCamsSimulator({ credentials: [ROLE_CREDENTIALS], businessErrorStatus });
      const other = instance({ CAMS_ENDPOINT: sim.url });
      try {
        const outcomes: Array<[string, unknown, unknown]> = [];
        for (const flowId of ['denied-flow', 'unsubscribed-flow', 'foreign-flow', 'throttled-flow']) {
          const result = (await other.invoke(directEvent({ flowId }))) as {
            error: { code: string; status: number };
          };
          outcomes.push([flowId, result.error.status, result.error.code]);
        }
        deepStrictEqual(outcomes, [
          ['denied-flow', 403, 'Ram.PermissionDeny'],
          ['unsubscribed-flow', 403, 'Product.Unsubscript'],
          ['foreign-flow', 404, 'Unknown.ResourceOwnerId'],
          ['throttled-flow', 429, 'System.LimitControl'],
        ]);
        strictEqual(
          sim.calls.every((c) => c.status === businessErrorStatus),
          true,
        );
      } finally {
        await sim.stop();
      }
    });
  }

  it('waits out the simulator’s 5 requests/second limit with its TimeLeft hint, and logs the retry', async () => {
    for (let i = 0; i < 6; i += 1) {
      const result = (await invoke({ flowId: 'welcome-flow', refresh: true })) as { error?: unknown };
      strictEqual(result.error, undefined);
    }
    deepStrictEqual(
      cams.calls.map((c) => c.code),
      ['OK', 'OK', 'OK', 'OK', 'OK', 'System.LimitControl', 'OK'],
    );
    // The function's own limiter (1000/s here) spaces its calls 2 ms apart; the sixth, 10 ms after the first, is
    // throttled with TimeLeft 990 ms and waits exactly that plus the jitter (0.5 × 100 ms): the window has passed.
    deepStrictEqual(clock().sleeps, [2, 2, 2, 2, 2, 1040]);
    const retried = fn().logs()[5];
    strictEqual(retried?.camsCalls, 2);
    deepStrictEqual(retried?.['retries'], [{ attempt: 1, reason: 'System.LimitControl', delayMs: 1040 }]);
  });

  it('answers 429 when the limit outlasts the deadline', async () => {
    for (let i = 0; i < 5; i += 1) await invoke({ flowId: 'welcome-flow', refresh: true });
    const result = await invoke(
      { flowId: 'welcome-flow', refresh: true },
      fcContext({ function: { timeout: 0.5 } }),
    );
    // 300 ms to answer in: the 1040 ms wait for the next window does not fit, so it answers at once.
    deepStrictEqual(result, {
      error: {
        code: 'System.LimitControl',
        message: 'CAMS is throttling requests; retry after 1 s',
        status: 429,
        requestId: cams.calls.at(-1)?.requestId,
      },
    });
    deepStrictEqual(clock().sleeps, [2, 2, 2, 2, 2]);
  });

  const failures: Array<[string, Parameters<CamsSimulator['script']>[0], number, string, number]> = [
    [
      'a CAMS 500',
      { kind: 'json', status: 500, body: { RequestId: 'R5', Code: 'InternalError', Message: 'oops' } },
      502,
      'CamsError',
      4,
    ],
    ['a truncated JSON body', { kind: 'raw', status: 200, body: '{"RequestId":' }, 502, 'CamsBadResponse', 1],
    [
      'a JSON array body',
      { kind: 'json', status: 200, body: ['not', 'an', 'object'] },
      502,
      'CamsBadResponse',
      1,
    ],
    [
      'an HTML 502 from a gateway',
      { kind: 'raw', status: 502, body: '<html>bad gateway</html>' },
      502,
      'CamsBadResponse',
      4,
    ],
    ['a connection reset', { kind: 'reset' }, 502, 'CamsUnavailable', 4],
  ];
  for (const [what, step, status, code, attempts] of failures) {
    it(`maps ${what} to ${status} ${code} after ${attempts} attempt(s)`, async () => {
      cams.script(step, step, step, step);
      const result = (await invoke({ flowId: 'welcome-flow' })) as {
        error: { status: number; code: string };
      };
      deepStrictEqual([result.error.status, result.error.code], [status, code]);
      strictEqual(4 - cams.pendingScript, attempts);
      // Full jitter at the clock's 0.5: half of 100, 200 and 400 ms between the attempts.
      deepStrictEqual(clock().sleeps, attempts === 4 ? [50, 100, 200] : []);
    });
  }

  it('maps a slow answer to 504 CamsTimeout after 1 attempt', async () => {
    // The attempt's own timeout is real time (the SDK's socket): a short one keeps the wait short.
    const short = instance({ CAMS_TIMEOUT_MS: '100' });
    const step = { kind: 'delay', ms: 300 } as const;
    cams.script(step, step, step, step);
    deepStrictEqual(await short.invoke(directEvent({ flowId: 'welcome-flow' })), {
      error: { code: 'CamsTimeout', message: 'CAMS did not answer in time', status: 504 },
    });
    strictEqual(4 - cams.pendingScript, 1);
    deepStrictEqual(short.logs()[0]?.error?.cams, { kind: 'timeout', timeoutMs: 100 });
  });

  it('recovers when a retry succeeds after a reset (a stale pooled socket)', async () => {
    cams.script({ kind: 'reset' });
    const result = (await invoke({ flowId: 'welcome-flow' })) as Record<string, unknown>;
    strictEqual(result['flowId'], 'welcome-flow');
    deepStrictEqual(
      cams.calls.map((c) => c.code),
      ['ConnectionReset', 'OK'],
    );
  });

  it('maps an XML error body (parsed by the real @alicloud/tea-xml here, by its stand-in in the bundle)', async () => {
    cams.script({
      kind: 'raw',
      status: 400,
      contentType: 'text/xml;charset=utf-8',
      body: '<?xml version="1.0" encoding="UTF-8"?><Error><RequestId>XML-RID-1</RequestId><Code>Ram.PermissionDeny</Code><Message>denied</Message></Error>',
    });
    deepStrictEqual(await invoke({ flowId: 'welcome-flow' }), {
      error: {
        code: 'Ram.PermissionDeny',
        message: "The function's role is not allowed to call cams:GetFlowPreviewUrl",
        status: 403,
        requestId: 'XML-RID-1',
      },
    });
  });

  it('lets finished calls be freed at once (the SDK’s per-request read timers are released)', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const fast = await startCamsSimulator({ credentials: [ROLE_CREDENTIALS], rateLimitPerSecond: 0 });
    const long = instance({ CAMS_ENDPOINT: fast.url, CAMS_TIMEOUT_MS: '30000' });
    try {
      const call = () => long.invoke(directEvent({ flowId: 'welcome-flow', refresh: true }));
      for (let i = 0; i < 50; i += 1) await call();
      gc();
      const before = process.memoryUsage().heapUsed;
      for (let i = 0; i < 400; i += 1) await call();
      fast.reset();
      gc();
      const perCall = (process.memoryUsage().heapUsed - before) / 400;
      // Held until the SDK's timer fires, a finished call keeps about 9 KB alive.
      strictEqual(perCall < 3000, true, `${perCall.toFixed(0)} bytes retained per call`);
    } finally {
      await fast.stop();
    }
  });

  it('answers with the flow asked for even when CAMS echoes another FlowId', async () => {
    cams.script({
      kind: 'json',
      status: 200,
      body: {
        RequestId: 'R-FID',
        Code: 'OK',
        Data: {
          FlowId: 'other',
          PreviewUrl: 'https://x.example/p',
          PreviewUrlExpires: clock().now() + 86_400_000 * 2,
        },
      },
    });
    const result = (await invoke({ flowId: 'welcome-flow' })) as Record<string, unknown>;
    deepStrictEqual(
      [result['flowId'], result['previewUrl'], result['requestId']],
      ['welcome-flow', 'https://x.example/p', 'R-FID'],
    );
  });

  it('answers 502 CamsUnavailable when nothing listens at CAMS_ENDPOINT', async () => {
    const nowhere = instance({ CAMS_ENDPOINT: 'http://127.0.0.1:9' });
    deepStrictEqual(await nowhere.invoke(directEvent({ flowId: 'welcome-flow' })), {
      error: { code: 'CamsUnavailable', message: 'CAMS could not be reached', status: 502 },
    });
    strictEqual(nowhere.logs()[0]?.camsCalls, 4);
  });

  it('is refused by CAMS when the clocks disagree by more than 15 minutes', async () => {
    const skewed = await startCamsSimulator({
      credentials: [ROLE_CREDENTIALS],
      now: () => Date.now() + 20 * 60_000,
    });
    try {
      const result = (await instance({ CAMS_ENDPOINT: skewed.url }).invoke(
        directEvent({ flowId: 'welcome-flow' }),
      )) as { error: { message: string } };
      strictEqual(result.error.message, 'CAMS answered with error InvalidTimeStamp.Expired (HTTP 400)');
    } finally {
      await skewed.stop();
    }
  });

  it('logs one JSON line per invocation with the CAMS RequestId, and the denial summary without AccessDeniedDetail', async () => {
    await invoke({ flowId: 'welcome-flow' });
    await invoke({ flowId: 'denied-flow' });
    const { lines } = fn();
    strictEqual(lines.length, 2);
    const [ok, denied] = lines.map((line) => JSON.parse(line));
    deepStrictEqual(
      {
        level: ok.level,
        requestId: ok.requestId,
        flowId: ok.flowId,
        status: ok.status,
        outcome: ok.outcome,
        camsRequestId: ok.camsRequestId,
        camsCalls: ok.camsCalls,
      },
      {
        level: 'info',
        requestId: 'fc-req-0001',
        flowId: 'welcome-flow',
        status: 200,
        outcome: 'OK',
        camsRequestId: cams.calls[0]?.requestId,
        camsCalls: 1,
      },
    );
    strictEqual(typeof ok.latencyMs, 'number');
    deepStrictEqual(denied.error.cams.denied, {
      authAction: 'cams:GetFlowPreviewUrl',
      noPermissionType: 'ImplicitDeny',
      policyType: 'AccountLevelIdentityBasedPolicy',
    });
    for (const line of lines) {
      for (const secret of [
        'AccessDeniedDetail',
        'EncodedDiagnosticMessage',
        'AuthPrincipal',
        ROLE_CREDENTIALS.accessKeySecret,
        ROLE_CREDENTIALS.securityToken,
        ROLE_CREDENTIALS.accessKeyId,
      ]) {
        strictEqual(line.includes(secret), false, `log line contains ${secret}`);
      }
    }
  });
});
