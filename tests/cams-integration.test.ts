/**
 * Handler ↔ CAMS simulator over real sockets: the simulator verifies every signature the SDK makes, so these
 * tests prove the wire contract, not just the mapping.
 */
import { deepStrictEqual, strictEqual } from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { type CamsSimulator, startCamsSimulator } from '../dev/cams-simulator.js';
import { handler } from '../functions/get-flow-preview-url/index.js';
import { captureLogs, directEvent, fcContext, ROLE_CREDENTIALS, setEnv, silenceLogs } from './fixtures/fc.js';

const ROTATED = {
  accessKeyId: 'STS.NTestRoleKeyId0002',
  accessKeySecret: 'TestRoleSecretBBBBBBBBBBBBBBBBBBBBBBBB',
  securityToken: 'CAIS-test-security-token-0002',
};

let cams: CamsSimulator;
let restoreEnv: () => void;

before(async () => {
  silenceLogs();
  cams = await startCamsSimulator({ credentials: [ROLE_CREDENTIALS, ROTATED] });
  restoreEnv = setEnv({ CAMS_ENDPOINT: cams.url, CAMS_TIMEOUT_MS: '400', CORS_ALLOWED_ORIGINS: undefined });
});
after(async () => {
  restoreEnv();
  await cams.stop();
});
beforeEach(() => cams.reset());

const invoke = (payload: unknown, context = fcContext()) => handler(directEvent(payload), context);

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
    await invoke({ flowId: 'welcome-flow' }, fcContext({ credentials: ROTATED }));
    await invoke({ flowId: 'welcome-flow' }, fcContext({ credentials: ROLE_CREDENTIALS }));
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
      const restore = setEnv({ CAMS_ENDPOINT: sim.url });
      try {
        const outcomes: Array<[string, unknown, unknown]> = [];
        for (const flowId of ['denied-flow', 'unsubscribed-flow', 'foreign-flow', 'throttled-flow']) {
          const result = (await invoke({ flowId })) as { error: { code: string; status: number } };
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
        restore();
        await sim.stop();
      }
    });
  }

  it('answers 429 once the simulator’s 5 requests/second limit is hit', async () => {
    const statuses: unknown[] = [];
    for (let i = 0; i < 6; i += 1) {
      const result = (await invoke({ flowId: 'welcome-flow' })) as { error?: { status: number } };
      statuses.push(result.error?.status ?? 200);
    }
    deepStrictEqual(statuses, [200, 200, 200, 200, 200, 429]);
  });

  it('maps a CAMS 5xx, a malformed body, a reset and a timeout', async () => {
    cams.script(
      { kind: 'json', status: 500, body: { RequestId: 'R5', Code: 'InternalError', Message: 'oops' } },
      { kind: 'raw', status: 200, body: '{"RequestId":' },
      { kind: 'json', status: 200, body: ['not', 'an', 'object'] },
      { kind: 'reset' },
      { kind: 'delay', ms: 800 },
    );
    const codes: unknown[] = [];
    for (let i = 0; i < 5; i += 1) {
      const result = (await invoke({ flowId: 'welcome-flow' })) as {
        error: { status: number; code: string };
      };
      codes.push([result.error.status, result.error.code]);
    }
    deepStrictEqual(codes, [
      [502, 'CamsError'],
      [502, 'CamsBadResponse'],
      [502, 'CamsBadResponse'],
      [502, 'CamsUnavailable'],
      [504, 'CamsTimeout'],
    ]);
  });

  it('answers 502 CamsUnavailable when nothing listens at CAMS_ENDPOINT', async () => {
    const restore = setEnv({ CAMS_ENDPOINT: 'http://127.0.0.1:9' });
    try {
      deepStrictEqual(await invoke({ flowId: 'welcome-flow' }), {
        error: { code: 'CamsUnavailable', message: 'CAMS could not be reached', status: 502 },
      });
    } finally {
      restore();
    }
  });

  it('is refused by CAMS when the clocks disagree by more than 15 minutes', async () => {
    const skewed = await startCamsSimulator({
      credentials: [ROLE_CREDENTIALS],
      now: () => Date.now() + 20 * 60_000,
    });
    const restore = setEnv({ CAMS_ENDPOINT: skewed.url });
    try {
      const result = (await invoke({ flowId: 'welcome-flow' })) as { error: { message: string } };
      strictEqual(result.error.message, 'CAMS answered with error InvalidTimeStamp.Expired (HTTP 400)');
    } finally {
      restore();
      await skewed.stop();
    }
  });

  it('logs one JSON line per invocation with the CAMS RequestId, and the denial summary without AccessDeniedDetail', async () => {
    const { lines } = await captureLogs(async () => {
      await invoke({ flowId: 'welcome-flow' });
      await invoke({ flowId: 'denied-flow' });
    });
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
