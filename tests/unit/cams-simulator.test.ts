/** The CAMS simulator as a component: what it accepts, what it refuses, and how it answers. */
import { deepStrictEqual, match, strictEqual } from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { type CamsSimulator, PREVIEW_TTL_MS, startCamsSimulator } from '../../dev/cams-simulator.js';
import { type SignedRequestOptions, signedCamsRequest } from '../../dev/signed-request.js';

const KEY = { accessKeyId: 'STS.SimKey', accessKeySecret: 'sim-secret', securityToken: 'sim-token' };
const LONG_TERM = { accessKeyId: 'LTAI.SimKey', accessKeySecret: 'long-term-secret' };

let clock = Date.parse('2026-11-25T12:00:00Z');
let sim: CamsSimulator;

before(async () => {
  sim = await startCamsSimulator({ credentials: [KEY, LONG_TERM], now: () => clock });
});
after(() => sim.stop());
beforeEach(() => {
  sim.reset();
  clock += 5000; // a fresh rate-limit window for each test
});

const call = (options: Partial<SignedRequestOptions> = {}) =>
  signedCamsRequest(sim.url, { ...KEY, form: { FlowId: 'welcome-flow' }, date: new Date(clock), ...options });
const json = (body: string): Record<string, unknown> => JSON.parse(body);

describe('CAMS simulator', () => {
  it('answers the documented success body', async () => {
    const response = await call();
    strictEqual(response.status, 200);
    const body = json(response.body);
    strictEqual(body['Code'], 'OK');
    match(String(body['RequestId']), /^[0-9A-F-]{36}$/);
    strictEqual(response.headers['x-acs-request-id'], body['RequestId']);
    const data = body['Data'] as Record<string, unknown>;
    strictEqual(data['FlowId'], 'welcome-flow');
    match(
      String(data['PreviewUrl']),
      /^https:\/\/business\.facebook\.com\/wa\/manage\/flows\/welcome-flow\/preview\/\?token=/,
    );
    strictEqual(data['PreviewUrlExpires'], clock + PREVIEW_TTL_MS);
  });

  it('keeps the same preview link until it expires, then issues a new one', async () => {
    const first = json((await call()).body)['Data'] as Record<string, unknown>;
    clock += 1000;
    const second = json((await call()).body)['Data'] as Record<string, unknown>;
    deepStrictEqual(second, first);
    clock += PREVIEW_TTL_MS;
    const third = json((await call()).body)['Data'] as Record<string, unknown>;
    strictEqual(third['PreviewUrl'] === first['PreviewUrl'], false);
  });

  it('reads parameters from the query as well as the form body', async () => {
    const response = await call({ form: {}, query: { FlowId: 'survey-2026', CustSpaceId: 'cams-1' } });
    strictEqual(response.status, 200);
    deepStrictEqual(sim.calls.at(-1)?.params, { FlowId: 'survey-2026', CustSpaceId: 'cams-1' });
  });

  it('accepts a long-term key without a security token', async () => {
    strictEqual((await call({ ...LONG_TERM, securityToken: undefined as unknown as string })).status, 200);
  });

  const refusals: Array<[string, Partial<SignedRequestOptions>, number, string]> = [
    ['a wrong secret', { accessKeySecret: 'wrong' }, 400, 'SignatureDoesNotMatch'],
    ['an unknown key', { accessKeyId: 'STS.Unknown' }, 404, 'InvalidAccessKeyId.NotFound'],
    [
      'a wrong security token',
      { securityToken: 'other-token' },
      400,
      'InvalidSecurityToken.MismatchWithAccessKey',
    ],
    ['a stale x-acs-date', { date: new Date(clock - 20 * 60_000) }, 400, 'InvalidTimeStamp.Expired'],
    ['another action', { action: 'GetFlow' }, 404, 'InvalidAction.NotFound'],
    ['another version', { version: '2021-01-01' }, 400, 'InvalidVersion'],
    ['no FlowId', { form: {} }, 400, 'MissingFlowId'],
  ];
  for (const [what, options, status, code] of refusals) {
    it(`refuses ${what} with ${status} ${code}`, async () => {
      const opts = what === 'a stale x-acs-date' ? { date: new Date(clock - 20 * 60_000) } : options;
      const response = await call(opts);
      strictEqual(response.status, status);
      strictEqual(json(response.body)['Code'], code);
    });
  }

  it('refuses a replayed nonce', async () => {
    strictEqual((await call({ nonce: 'same-nonce-1' })).status, 200);
    const replay = await call({ nonce: 'same-nonce-1' });
    deepStrictEqual([replay.status, json(replay.body)['Code']], [400, 'SignatureNonceUsed']);
  });

  it('answers the documented error codes for the configured flows, with AccessDeniedDetail on a RAM denial', async () => {
    const expected: Record<string, string> = {
      'denied-flow': 'Ram.PermissionDeny',
      'unsubscribed-flow': 'Product.Unsubscript',
      'foreign-flow': 'Unknown.ResourceOwnerId',
      'throttled-flow': 'System.LimitControl',
      'no-such-flow': 'Unknown.ResourceOwnerId',
    };
    for (const [flow, code] of Object.entries(expected)) {
      clock += 1000;
      const response = await call({ form: { FlowId: flow } });
      strictEqual(response.status, 400, flow);
      const body = json(response.body);
      strictEqual(body['Code'], code);
      strictEqual('AccessDeniedDetail' in body, code === 'Ram.PermissionDeny');
    }
  });

  it('limits each AccessKeyId to 5 requests per second with System.LimitControl and a TimeLeft hint', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 7; i += 1) {
      clock += 100;
      statuses.push((await call()).status);
    }
    deepStrictEqual(statuses, [200, 200, 200, 200, 200, 400, 400]);
    const throttled = await call();
    strictEqual(json(throttled.body)['Code'], 'System.LimitControl');
    // The oldest accepted request was 600 ms ago, so its slot frees in 400 ms.
    strictEqual(
      throttled.headers['x-ratelimit-user-api'],
      `Limit:5,Remain:0,TimeLeft:400,Reset:${clock + 400}`,
    );
    // Another key has its own budget.
    strictEqual((await call(LONG_TERM)).status, 200);
    clock += 1000;
    strictEqual((await call()).status, 200);
  });

  it('can answer business errors as HTTP 200 with Code ≠ OK', async () => {
    const other = await startCamsSimulator({ credentials: [KEY], businessErrorStatus: 200 });
    try {
      const response = await signedCamsRequest(other.url, { ...KEY, form: { FlowId: 'denied-flow' } });
      deepStrictEqual([response.status, json(response.body)['Code']], [200, 'Ram.PermissionDeny']);
    } finally {
      await other.stop();
    }
  });

  it('plays scripted answers in order, after verifying the signature', async () => {
    sim.script(
      { kind: 'error', code: 'InternalError', status: 500 },
      { kind: 'raw', status: 502, body: 'bad gateway' },
    );
    const bad = await call({ accessKeySecret: 'wrong' });
    strictEqual(json(bad.body)['Code'], 'SignatureDoesNotMatch');
    strictEqual(sim.pendingScript, 2);
    const first = await call();
    deepStrictEqual([first.status, json(first.body)['Code']], [500, 'InternalError']);
    const second = await call();
    deepStrictEqual([second.status, second.body], [502, 'bad gateway']);
    strictEqual((await call()).status, 200);
  });

  it('can reset the connection', async () => {
    sim.script({ kind: 'reset' });
    const outcome = await call().then(
      () => 'answered',
      (error: NodeJS.ErrnoException) => error.code,
    );
    strictEqual(outcome, 'ECONNRESET');
  });
});
