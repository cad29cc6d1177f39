/**
 * The caller module against answers the FC simulator does not give: a body that trickles, an HTML 5xx page, an
 * error body without a Code. Each is reported as what it is (timeout, FC's status, a real code and request id).
 */
import { ok, rejects, strictEqual } from 'node:assert/strict';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { DEFAULT_TIMEOUT_MS, fetchFlowPreview, invokeFlowPreview } from '../../client/index.js';
import { makeSHome, sEnv, sPreview } from '../fixtures/s-cli.js';

let answer: (res: ServerResponse) => void = (res) => res.end();
const server = createServer((req, res) => {
  req.resume();
  answer(res);
});
let url = '';
before(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => {
  server.closeAllConnections();
  server.close();
});

const CALLER = { accessKeyId: 'AK.caller', accessKeySecret: 'caller-secret' };
const invoke = (timeoutMs = 2000) =>
  invokeFlowPreview(
    { flowId: 'welcome-flow' },
    {
      credentials: CALLER,
      region: 'ap-southeast-1',
      accountId: '1',
      functionName: 'flow-preview',
      endpoint: url,
      timeoutMs,
    },
  );
const trigger = (timeoutMs = 2000) =>
  fetchFlowPreview({ flowId: 'welcome-flow' }, { triggerUrl: url, credentials: CALLER, timeoutMs });

describe('the caller module, hardened', () => {
  for (const [name, call] of [
    ['invokeFlowPreview', invoke],
    ['fetchFlowPreview', trigger],
  ] as const) {
    it(`${name}: a body that starts but does not finish within the timeout is a timeout, not a network error`, async () => {
      answer = (res) => {
        res.writeHead(200, { 'content-type': 'application/json', 'x-request-id': 'r' });
        res.write('{"flowId":');
      };
      const started = Date.now();
      await rejects(call(200), { name: 'FunctionComputeError', kind: 'timeout', code: 'Timeout' });
      ok(Date.now() - started < 2000);
    });

    it(`${name}: an FC 5xx with an HTML body is reported with its status`, async () => {
      answer = (res) => {
        res.writeHead(502, { 'content-type': 'text/html', 'x-fc-request-id': 'fc-rid-502' });
        res.end('<html><body>502 Bad Gateway</body></html>');
      };
      await rejects(call(), {
        name: 'FunctionComputeError',
        kind: 'fc-error',
        code: 'BadGateway',
        httpStatus: 502,
        fcRequestId: 'fc-rid-502',
        message: 'Function Compute refused the call: BadGateway (HTTP 502) (a text/html body)',
      });
    });

    it(`${name}: an FC error body without Code keeps its request id and gets a real code`, async () => {
      answer = (res) => {
        res.writeHead(503, { 'content-type': 'application/json' });
        res.end('{"Message":"try later","RequestId":"fc-rid-503"}');
      };
      await rejects(call(), {
        kind: 'fc-error',
        code: 'ServiceUnavailable',
        httpStatus: 503,
        fcRequestId: 'fc-rid-503',
        message: 'Function Compute refused the call: ServiceUnavailable (HTTP 503) try later',
      });
    });
  }

  it('refuses the connection failing as a network error with its code', async () => {
    await rejects(
      fetchFlowPreview(
        { flowId: 'x' },
        { triggerUrl: 'http://127.0.0.1:9', credentials: CALLER, timeoutMs: 2000 },
      ),
      { kind: 'network', code: 'ECONNREFUSED' },
    );
  });

  it('waits by default longer than the function’s own timeout, leaving room for FC’s overhead', async () => {
    // The deployed timeout, as the real s resolves s.yaml.
    const home = makeSHome();
    const spec = await sPreview(process.cwd(), sEnv(home)).finally(() => home.cleanup());
    const resources = spec['resources'] as Record<string, { props: Record<string, unknown> }>;
    const timeoutS = resources['flow-preview']?.props['timeout'];
    strictEqual(typeof timeoutS, 'number');
    ok(DEFAULT_TIMEOUT_MS >= (timeoutS as number) * 1000 + 2000, `${DEFAULT_TIMEOUT_MS} ms`);
  });
});
