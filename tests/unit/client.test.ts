/**
 * The caller module end to end: invokeFlowPreview → FC API simulator (verifies the caller's V3 signature) → the
 * real handler in-process (with the function's own role keys) → CAMS simulator. Success, input error, CAMS error,
 * a crashing function, FC's refusals and a timeout.
 */
import { deepStrictEqual, match, ok, rejects, strictEqual } from 'node:assert/strict';
import { Readable } from 'node:stream';
import { after, before, beforeEach, describe, it } from 'node:test';
import FunctionCompute, { InvokeFunctionHeaders, InvokeFunctionRequest } from '@alicloud/fc20230330';
import { Config as OpenApiConfig } from '@alicloud/openapi-client';
import { RuntimeOptions } from '@alicloud/tea-util';
import {
  type FlowPreview,
  FlowPreviewError,
  FunctionComputeError,
  invokeFlowPreview,
} from '../../client/index.js';
import { FcSimulator } from '../../dev/fc-simulator.js';
import type { FcHandler } from '../../shared/fc/adapter.js';
import type { FlowPreview as FunctionFlowPreview } from '../../shared/preview/get-flow-preview.js';
import { useCamsOnFakeClock } from '../fixtures/cams.js';
import { ROLE_CREDENTIALS } from '../fixtures/fc.js';
import { useFunction } from '../fixtures/function.js';

// client/ is copied into other projects on its own, so it declares the answer type itself: tsc keeps the two equal.
type Same<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
true satisfies Same<FlowPreview, FunctionFlowPreview>;

const CALLER = {
  accessKeyId: 'STS.CallerFunctionKey',
  accessKeySecret: 'caller-secret',
  securityToken: 'caller-token',
};
const ACCOUNT = '1234567890123456';

// One clock for the function and the simulator: the 5/s budget's waits between CAMS calls pass at once.
const { cams, fresh } = useCamsOnFakeClock();
// No refresh interval: 'passes refresh through' refreshes right after a fetch (tests/redis-refresh covers it).
// A fresh instance per test (an empty cache), behind the front door that was started once.
const fn = useFunction(
  () => ({ CAMS_ENDPOINT: cams.url, CAMS_TIMEOUT_MS: '1000', PREVIEW_REFRESH_INTERVAL_S: '0' }),
  fresh,
);
const handler: FcHandler = (event, context) => fn().handler(event, context);
let fc: FcSimulator;

before(async () => {
  fc = await new FcSimulator({
    accountId: ACCOUNT,
    region: 'ap-southeast-1',
    callers: [CALLER],
    functions: {
      'flow-preview': { handler, roleCredentials: ROLE_CREDENTIALS, qualifiers: ['prod'] },
      'flow-preview-broken': {
        handler: async () => {
          throw new TypeError("Cannot read properties of undefined (reading 'flowId')");
        },
        roleCredentials: ROLE_CREDENTIALS,
      },
      'flow-preview-slow': {
        // Answers after the caller has given up; the timer does not hold the test process open.
        handler: () => new Promise((resolve) => setTimeout(() => resolve({}), 2000).unref()),
        roleCredentials: ROLE_CREDENTIALS,
      },
    },
  }).start();
});
after(() => fc.stop());
beforeEach(() => {
  fc.invocations.length = 0;
  fc.denied.clear();
});

const options = (overrides: Partial<Parameters<typeof invokeFlowPreview>[1]> = {}) => ({
  credentials: CALLER,
  region: 'ap-southeast-1',
  accountId: ACCOUNT,
  functionName: 'flow-preview',
  endpoint: fc.url,
  ...overrides,
});

describe('invokeFlowPreview', () => {
  it('returns the typed preview; the caller signs for FC and the function’s role signs for CAMS', async () => {
    const preview: FlowPreview = await invokeFlowPreview(
      { flowId: 'welcome-flow', custSpaceId: 'cams-1' },
      options({ qualifier: 'prod' }),
    );
    deepStrictEqual(Object.keys(preview), [
      'flowId',
      'previewUrl',
      'previewUrlExpires',
      'expiresAt',
      'requestId',
    ]);
    strictEqual(preview.flowId, 'welcome-flow');
    strictEqual(preview.requestId, cams.calls[0]?.requestId);
    deepStrictEqual(fc.invocations, [
      {
        functionName: 'flow-preview',
        qualifier: 'prod',
        accessKeyId: CALLER.accessKeyId,
        invocationType: 'Sync',
        status: 200,
        errorType: undefined,
      },
    ]);
    deepStrictEqual(
      [cams.calls[0]?.accessKeyId, cams.calls[0]?.params['CustSpaceId']],
      [ROLE_CREDENTIALS.accessKeyId, 'cams-1'],
    );
  });

  it('is accepted by FC where the official SDK (@alicloud/fc20230330, the reference client) is, and reads the same answer', async () => {
    const sdk = new FunctionCompute(
      new OpenApiConfig({
        ...CALLER,
        endpoint: new URL(fc.url).host,
        protocol: 'HTTP',
        regionId: 'ap-southeast-1',
      }),
    );
    const reference = await sdk.invokeFunctionWithOptions(
      'flow-preview',
      new InvokeFunctionRequest({ body: Readable.from([Buffer.from('{"flowId":"welcome-flow"}')]) }),
      new InvokeFunctionHeaders({ xFcInvocationType: 'Sync' }),
      new RuntimeOptions({}),
    );
    const chunks: Buffer[] = [];
    for await (const chunk of reference.body ?? []) chunks.push(Buffer.from(chunk as Buffer));
    const ours = await invokeFlowPreview({ flowId: 'welcome-flow' }, options());
    deepStrictEqual(ours, JSON.parse(Buffer.concat(chunks).toString('utf8')));
    deepStrictEqual(
      fc.invocations.map((call) => [call.accessKeyId, call.status]),
      [
        [CALLER.accessKeyId, 200],
        [CALLER.accessKeyId, 200],
      ],
    );
  });

  it('passes Meta’s link parameters through and returns the link with them set', async () => {
    const preview = await invokeFlowPreview(
      {
        flowId: 'welcome-flow',
        link: {
          interactive: true,
          flow_token: 'ft 1',
          flow_action: 'data_exchange',
          phone_number: '+15550001111',
          // Meta types debug as a string; the client takes one as well as a boolean.
          debug: 'actions',
        },
      },
      options(),
    );
    const link = new URL(preview.previewUrl);
    deepStrictEqual(
      ['interactive', 'flow_token', 'flow_action', 'phone_number', 'debug'].map((name) =>
        link.searchParams.get(name),
      ),
      ['true', 'ft 1', 'data_exchange', '+15550001111', 'actions'],
    );
  });

  it('passes refresh through', async () => {
    await invokeFlowPreview({ flowId: 'welcome-flow' }, options());
    await invokeFlowPreview({ flowId: 'welcome-flow', refresh: true }, options());
    strictEqual(cams.calls.length, 2);
  });

  it('throws FlowPreviewError with the function’s error.code and status for an input error', async () => {
    await rejects(invokeFlowPreview({ flowId: 'bad.id' }, options()), (error: unknown) => {
      ok(error instanceof FlowPreviewError);
      deepStrictEqual([error.code, error.status, error.camsRequestId], ['InvalidFlowId', 400, undefined]);
      match(error.fcRequestId ?? '', /^1-/);
      strictEqual(
        error.message,
        'Flow Preview 400 InvalidFlowId: flowId must be 1–64 characters of letters, digits, _ and -',
      );
      return true;
    });
    strictEqual(cams.calls.length, 0);
  });

  it('names on FlowPreviewError the trace id the function logged, whatever traceparent the caller gave', async () => {
    const trace = 'a'.repeat(32);
    for (const [traceparent, same] of [
      [`00-${trace}-${'b'.repeat(16)}-01`, true],
      // Invalid by W3C Trace Context: the function starts a new trace, so the error must name that one.
      [`00-${'0'.repeat(32)}-${'b'.repeat(16)}-01`, false],
      [`ff-${trace}-${'b'.repeat(16)}-01`, false],
      [`00-${trace}-${'b'.repeat(16)}-01-extra`, false],
      [`00-${trace.toUpperCase()}-${'b'.repeat(16)}-01`, false],
    ] as const) {
      await rejects(invokeFlowPreview({ flowId: 'bad.id' }, options({ traceparent })), (error: unknown) => {
        ok(error instanceof FlowPreviewError);
        const logged = fn().logs().at(-1)?.traceId;
        strictEqual(error.traceId, logged, traceparent);
        strictEqual(logged === trace, same, traceparent);
        return true;
      });
    }
  });

  it('throws FlowPreviewError carrying the CAMS RequestId for a CAMS error', async () => {
    await rejects(invokeFlowPreview({ flowId: 'denied-flow' }, options()), (error: unknown) => {
      ok(error instanceof FlowPreviewError);
      deepStrictEqual(
        [error.code, error.status, error.camsRequestId],
        ['Ram.PermissionDeny', 403, cams.calls[0]?.requestId],
      );
      return true;
    });
  });

  it('recognises a crashed function (x-fc-error-type on HTTP 200) and says so', async () => {
    await rejects(
      invokeFlowPreview({ flowId: 'welcome-flow' }, options({ functionName: 'flow-preview-broken' })),
      (error: unknown) => {
        ok(error instanceof FunctionComputeError);
        deepStrictEqual(
          [error.kind, error.code, error.httpStatus],
          ['function-error', 'UnhandledInvocationError', 200],
        );
        strictEqual(
          error.message,
          "Function Compute reports UnhandledInvocationError: Cannot read properties of undefined (reading 'flowId')",
        );
        return true;
      },
    );
  });

  it('recognises FC’s own refusals by their codes', async () => {
    await rejects(invokeFlowPreview({ flowId: 'x' }, options({ functionName: 'nope' })), (error: unknown) => {
      ok(error instanceof FunctionComputeError);
      deepStrictEqual([error.kind, error.code, error.httpStatus], ['fc-error', 'FunctionNotFound', 404]);
      return true;
    });
    await rejects(invokeFlowPreview({ flowId: 'x' }, options({ qualifier: 'staging' })), {
      code: 'AliasNotFound',
    });
    fc.denied.add(CALLER.accessKeyId);
    await rejects(invokeFlowPreview({ flowId: 'x' }, options()), (error: unknown) => {
      ok(error instanceof FunctionComputeError);
      deepStrictEqual([error.kind, error.code, error.httpStatus], ['fc-error', 'AccessDenied', 403]);
      return true;
    });
  });

  it('is refused by FC when its signature is wrong', async () => {
    await rejects(
      invokeFlowPreview({ flowId: 'x' }, options({ credentials: { ...CALLER, accessKeySecret: 'wrong' } })),
      {
        name: 'FunctionComputeError',
        code: 'SignatureDoesNotMatch',
      },
    );
    strictEqual(fc.invocations[0]?.status, 400);
  });

  it('gives up after its timeout', async () => {
    const started = Date.now();
    await rejects(
      invokeFlowPreview({ flowId: 'x' }, options({ functionName: 'flow-preview-slow', timeoutMs: 300 })),
      {
        name: 'FunctionComputeError',
        kind: 'timeout',
      },
    );
    ok(Date.now() - started < 1500);
  });

  it('needs the caller’s credentials', async () => {
    await rejects(invokeFlowPreview({ flowId: 'x' }, options({ credentials: {} })), {
      code: 'CredentialsMissing',
    });
    strictEqual(fc.invocations.length, 0);
  });
});
