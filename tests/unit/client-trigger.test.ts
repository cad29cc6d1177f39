/**
 * fetchFlowPreview end to end: the signer → a local HTTP trigger with `function` auth (the V3 signature checked by
 * dev/v3-signature.ts, an implementation independent of the SDK signer) → the real handler → the CAMS simulator.
 */
import { deepStrictEqual, match, rejects, strictEqual } from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { type FlowPreview, fetchFlowPreview } from '../../client/index.js';
import { type LocalServer, startLocalServer } from '../../dev/local-server.js';
import { signatureGate } from '../../dev/trigger-auth.js';
import type { FcHandler } from '../../shared/fc/adapter.js';
import { useCamsOnFakeClock } from '../fixtures/cams.js';
import { ROLE_CREDENTIALS } from '../fixtures/fc.js';
import { useFunction } from '../fixtures/function.js';

const STS_CALLER = {
  accessKeyId: 'STS.TriggerCaller',
  accessKeySecret: 'sts-caller-secret',
  securityToken: 'sts-token',
};
const AK_CALLER = { accessKeyId: 'LTAI.TriggerCaller', accessKeySecret: 'ak-caller-secret' };

// One clock for the function and the simulator: the 5/s budget's waits between CAMS calls pass at once.
const { cams, fresh } = useCamsOnFakeClock();
// Every refresh reaches CAMS here (no refresh interval), so the test can see the signed refresh arrive.
// A fresh instance per test (an empty cache), behind the front door that was started once.
const fn = useFunction(
  () => ({ CAMS_ENDPOINT: cams.url, CAMS_TIMEOUT_MS: '1000', PREVIEW_REFRESH_INTERVAL_S: '0' }),
  fresh,
);
const handler: FcHandler = (event, context) => fn().handler(event, context);
let trigger: LocalServer;
let gateCalls = 0;
before(async () => {
  const gate = signatureGate([STS_CALLER, AK_CALLER]);
  trigger = await startLocalServer({
    handler,
    credentials: ROLE_CREDENTIALS,
    authorize: (request) => {
      gateCalls += 1;
      return gate(request);
    },
  });
});
after(() => trigger.close());

const options = (credentials: Parameters<typeof fetchFlowPreview>[1]['credentials'] = STS_CALLER) => ({
  triggerUrl: trigger.url,
  credentials,
  timeoutMs: 5000,
});

describe('fetchFlowPreview (HTTP trigger, function auth)', () => {
  it('returns the typed preview for an STS key and for a plain AccessKey', async () => {
    for (const credentials of [STS_CALLER, AK_CALLER]) {
      const preview: FlowPreview = await fetchFlowPreview(
        { flowId: 'welcome-flow', custSpaceId: 'cams-a' },
        options(credentials),
      );
      deepStrictEqual(Object.keys(preview), [
        'flowId',
        'previewUrl',
        'previewUrlExpires',
        'expiresAt',
        'requestId',
      ]);
      strictEqual(preview.flowId, 'welcome-flow');
      match(preview.previewUrl, /^https:\/\/business\.facebook\.com\//);
    }
    deepStrictEqual(
      cams.calls.map((call) => call.params['CustSpaceId']),
      ['cams-a'],
    );
  });

  it('signs the query and asks for a fresh link with refresh', async () => {
    await fetchFlowPreview({ flowId: 'welcome-flow', custSpaceId: 'cams.b_1' }, options());
    await fetchFlowPreview({ flowId: 'welcome-flow', custSpaceId: 'cams.b_1', refresh: true }, options());
    strictEqual(cams.calls.length, 2);
  });

  it('throws FlowPreviewError with the function’s code, status and CAMS request id', async () => {
    await rejects(fetchFlowPreview({ flowId: 'denied-flow' }, options()), (error: unknown) => {
      const e = error as {
        name: string;
        code: string;
        status: number;
        camsRequestId: string;
        fcRequestId: string;
      };
      deepStrictEqual([e.name, e.code, e.status], ['FlowPreviewError', 'Ram.PermissionDeny', 403]);
      strictEqual(e.camsRequestId, cams.calls.at(-1)?.requestId);
      match(e.fcRequestId, /^1-/);
      return true;
    });
    await rejects(fetchFlowPreview({ flowId: 'bad id!' }, options()), {
      name: 'FlowPreviewError',
      code: 'InvalidFlowId',
      status: 400,
    });
  });

  it('names on FlowPreviewError the trace id the function logged, even for a traceparent it could not use', async () => {
    const traceparent = `00-${'0'.repeat(32)}-${'b'.repeat(16)}-01`;
    await rejects(
      fetchFlowPreview({ flowId: 'bad id!' }, { ...options(), traceparent }),
      (error: unknown) => {
        const logged = fn().logs().at(-1)?.traceId;
        match(logged ?? '', /^[0-9a-f]{32}$/);
        strictEqual((error as { traceId?: string }).traceId, logged);
        return true;
      },
    );
  });

  it('is refused by the gateway (403) with a wrong secret or a missing STS token, and the function never runs', async () => {
    const before = cams.calls.length;
    await rejects(
      fetchFlowPreview({ flowId: 'welcome-flow' }, options({ ...STS_CALLER, accessKeySecret: 'wrong' })),
      {
        name: 'FunctionComputeError',
        kind: 'fc-error',
        code: 'SignatureDoesNotMatch',
        httpStatus: 403,
      },
    );
    await rejects(
      fetchFlowPreview({ flowId: 'welcome-flow' }, options({ ...STS_CALLER, securityToken: 'stolen' })),
      {
        code: 'InvalidSecurityToken',
        httpStatus: 403,
      },
    );
    await rejects(
      fetchFlowPreview(
        { flowId: 'welcome-flow' },
        options({ accessKeyId: 'LTAI.Unknown', accessKeySecret: 'x' }),
      ),
      {
        code: 'InvalidAccessKeyId.NotFound',
        httpStatus: 403,
      },
    );
    strictEqual(cams.calls.length, before);
  });

  it('an unsigned request gets 403 from the gateway', async () => {
    const response = await fetch(`${trigger.url}/flows/welcome-flow/preview-url`);
    strictEqual(response.status, 403);
    strictEqual(((await response.json()) as { Code: string }).Code, 'IncompleteSignature');
  });

  it('needs credentials and an http(s) trigger URL', async () => {
    const calls = gateCalls;
    await rejects(fetchFlowPreview({ flowId: 'x' }, options({})), { code: 'CredentialsMissing' });
    await rejects(fetchFlowPreview({ flowId: 'x' }, { ...options(), triggerUrl: 'ftp://x' }), {
      code: 'InvalidTriggerUrl',
    });
    strictEqual(gateCalls, calls);
  });
});

describe('fetchFlowPreview with Meta’s link parameters', () => {
  it('sends them signed and gets the link with them applied', async () => {
    const preview = await fetchFlowPreview(
      {
        flowId: 'welcome-flow',
        link: {
          interactive: true,
          flow_action: 'navigate',
          flow_action_payload: { screen: 'WELCOME', data: { a: 1 } },
          debug: false,
        },
      },
      options(),
    );
    const link = new URL(preview.previewUrl);
    deepStrictEqual(
      [
        link.searchParams.get('interactive'),
        link.searchParams.get('flow_action_payload'),
        link.searchParams.get('debug'),
      ],
      ['true', '{"screen":"WELCOME","data":{"a":1}}', 'false'],
    );
  });
});

describe('fetchFlowPreview’s request on the wire', () => {
  it('is written as it is signed (RFC 3986: a space as %20, never +), so it reads the same with + taken literally', async () => {
    const seen: string[] = [];
    const raw = createServer((req, res) => {
      seen.push(req.url ?? '');
      res.writeHead(403, { 'content-type': 'application/json' });
      res.end('{"Code":"AccessDenied","Message":"recorded"}');
    });
    await new Promise<void>((resolve) => raw.listen(0, '127.0.0.1', resolve));
    const payload = { screen: 'WELCOME', data: { name: "Ann O'Neil (VIP) *", note: 'a+b ~ c' } };
    try {
      await rejects(
        fetchFlowPreview(
          { flowId: 'welcome-flow', link: { interactive: true, flow_action_payload: payload } },
          { ...options(), triggerUrl: `http://127.0.0.1:${(raw.address() as AddressInfo).port}` },
        ),
        { code: 'AccessDenied' },
      );
    } finally {
      await new Promise((resolve) => raw.close(resolve));
    }
    const query = (seen[0] ?? '').split('?')[1] ?? '';
    strictEqual(/[+ *'()]/.test(query), false, query);
    const literal = Object.fromEntries(
      query.split('&').map((pair) => pair.split('=').map((part) => decodeURIComponent(part))),
    );
    deepStrictEqual(literal, { interactive: 'true', flow_action_payload: JSON.stringify(payload) });
  });

  it('signs a trigger URL whose path holds +, *, spaces and non-ASCII as it sends it', async () => {
    for (const prefix of ['/a+b', '/x*y', '/my api/ü', '/t~1/%41']) {
      // Past the gateway, the function answers 404 for the unknown path: the signature held.
      await rejects(
        fetchFlowPreview(
          { flowId: 'welcome-flow' },
          { ...options(), triggerUrl: `${trigger.url}${prefix}/` },
        ),
        { name: 'FlowPreviewError', code: 'NotFound', status: 404 },
        prefix,
      );
    }
    await rejects(
      fetchFlowPreview({ flowId: 'welcome-flow' }, { ...options(), triggerUrl: `${trigger.url}/%zz/` }),
      {
        code: 'InvalidTriggerUrl',
      },
    );
  });

  it('passes the signature check with spaces and reserved characters in the payload', async () => {
    const preview = await fetchFlowPreview(
      {
        flowId: 'welcome-flow',
        link: { interactive: true, flow_action_payload: { screen: 'A B', data: { q: "x+y * (it's)" } } },
      },
      options(),
    );
    strictEqual(
      new URL(preview.previewUrl).searchParams.get('flow_action_payload'),
      '{"screen":"A B","data":{"q":"x+y * (it\'s)"}}',
    );
  });
});
