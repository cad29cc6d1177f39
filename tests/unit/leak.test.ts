/**
 * No secret ever leaves: every scenario of the status table (both invocation forms, CORS, retries, timeouts,
 * crashes) runs with recognizable fake keys, and every captured log line and response is scanned for them and
 * for AccessDeniedDetail. A scenario that would leak fails here whatever the other tests check.
 */
import { ok, strictEqual } from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ScriptedStep } from '../../dev/cams-simulator.js';
import type { Env } from '../../shared/config.js';
import type { FcContext } from '../../shared/fc/event.js';
import { useCamsOnFakeClock } from '../fixtures/cams.js';
import { directEvent, httpEvent } from '../fixtures/fc.js';
import { buildFunction } from '../fixtures/function.js';

const ROLE = {
  accessKeyId: 'STS.LEAKCHECK-AKID-9d2e',
  accessKeySecret: 'LEAKCHECK-SECRET-4f7a1b',
  securityToken: 'LEAKCHECK-TOKEN-c0ffee',
};
const ENV = {
  accessKeyId: 'LEAKCHECK-ENV-AKID-51',
  accessKeySecret: 'LEAKCHECK-ENV-SECRET-62',
  securityToken: 'LEAKCHECK-ENV-TOKEN-73',
};
const FORBIDDEN = [
  ...Object.values(ROLE),
  ...Object.values(ENV),
  'AccessDeniedDetail',
  'EncodedDiagnosticMessage',
  'AuthPrincipalOwnerId',
  'AuthPrincipalDisplayName',
];
const FORBIDDEN_IN_RESPONSES = [...FORBIDDEN, 'stack', '    at ', 'node_modules'];

interface Scenario {
  name: string;
  event: Buffer;
  script?: ScriptedStep[];
  context?: FcContext;
  env?: Env;
}

const context = (extra: Partial<FcContext> = {}): FcContext => ({
  requestId: 'leak-1',
  credentials: ROLE,
  function: { timeout: 2 },
  ...extra,
});
const times = (step: ScriptedStep): ScriptedStep[] => [step, step, step, step];
const cors = { Origin: 'https://app.example.com' };

const scenarios: Scenario[] = [
  { name: '200 http', event: httpEvent({ headers: cors }) },
  { name: '200 direct', event: directEvent({ flowId: 'welcome-flow', custSpaceId: 'cams-1' }) },
  { name: '200 refresh', event: httpEvent({ headers: { 'Cache-Control': 'no-cache' } }) },
  { name: '200 env keys', event: directEvent({ flowId: 'survey-2026' }), context: { requestId: 'leak-2' } },
  {
    name: '204 preflight',
    event: httpEvent({ method: 'OPTIONS', headers: { ...cors, 'Access-Control-Request-Method': 'GET' } }),
  },
  { name: '400 http', event: httpEvent({ path: '/flows/a.b/preview-url' }) },
  { name: '400 direct', event: directEvent('not json') },
  { name: '400 pollution', event: directEvent('{"__proto__":{"x":1},"flowId":"x"}') },
  { name: '403 denied', event: directEvent({ flowId: 'denied-flow' }) },
  {
    name: '403 denied over 200',
    event: httpEvent(),
    script: [{ kind: 'error', code: 'Ram.PermissionDeny', status: 200 }],
  },
  { name: '403 unsubscribed', event: httpEvent({ path: '/flows/unsubscribed-flow/preview-url' }) },
  { name: '404 foreign', event: httpEvent({ path: '/flows/foreign-flow/preview-url' }) },
  { name: '404 route', event: httpEvent({ path: '/admin' }) },
  { name: '405', event: httpEvent({ method: 'DELETE' }) },
  { name: '429', event: directEvent({ flowId: 'throttled-flow' }) },
  {
    name: '200 after a throttled retry',
    event: httpEvent({ path: '/flows/order_status_01/preview-url' }),
    script: [{ kind: 'error', code: 'Throttling.User' }],
  },
  {
    name: '500 no keys',
    event: httpEvent(),
    context: { requestId: 'leak-3' },
    env: { ALIBABA_CLOUD_ACCESS_KEY_ID: undefined },
  },
  { name: '500 config', event: httpEvent(), env: { CAMS_ENDPOINT: 'ftp://LEAKCHECK-SECRET-4f7a1b' } },
  {
    name: '500 crash',
    event: httpEvent(),
    context: Object.defineProperty(context(), 'function', {
      enumerable: true,
      get() {
        throw new Error(`crash with ${ROLE.accessKeySecret} and ${ROLE.securityToken} in it`);
      },
    }),
  },
  {
    name: '502 5xx',
    event: httpEvent(),
    script: times({ kind: 'error', code: 'InternalError', status: 500 }),
  },
  {
    name: '502 malformed',
    event: httpEvent(),
    script: [{ kind: 'raw', status: 200, body: `<html>${ROLE.accessKeyId}</html>` }],
  },
  { name: '502 reset', event: httpEvent(), script: times({ kind: 'reset' }) },
  {
    name: '502 bad key',
    event: directEvent({ flowId: 'welcome-flow' }),
    context: context({ credentials: { ...ROLE, accessKeySecret: 'LEAKCHECK-SECRET-wrong' } }),
  },
  { name: '502 refused', event: httpEvent(), env: { CAMS_ENDPOINT: 'http://127.0.0.1:9' } },
  {
    name: '504',
    event: httpEvent(),
    // The attempt's own timeout is real time (the SDK's socket): a short one keeps the wait short.
    script: [{ kind: 'delay', ms: 1000 }],
    context: context({ function: { timeout: 1 } }),
    env: { CAMS_TIMEOUT_MS: '100' },
  },
];

// One clock for the function and the simulator: back-offs and the simulator's 5/s window pass without waiting.
const { cams, fresh } = useCamsOnFakeClock({ credentials: [ROLE, ENV] });

/** A fresh instance (an empty cache) with the scenario's settings, on a fresh clock. */
function instance(env: Env = {}) {
  return buildFunction(
    {
      CAMS_ENDPOINT: cams.url,
      CAMS_TIMEOUT_MS: '500',
      CORS_ALLOWED_ORIGINS: 'https://app.example.com',
      ALIBABA_CLOUD_ACCESS_KEY_ID: ENV.accessKeyId,
      ALIBABA_CLOUD_ACCESS_KEY_SECRET: ENV.accessKeySecret,
      ALIBABA_CLOUD_SECURITY_TOKEN: ENV.securityToken,
      ...env,
    },
    fresh(),
  );
}

describe('no secret in any response or log line', () => {
  for (const scenario of scenarios) {
    it(`leaks nothing: ${scenario.name}`, async () => {
      cams.script(...(scenario.script ?? []));
      const fn = instance(scenario.env);
      const result = await fn.handler(scenario.event, scenario.context ?? context());
      const { lines } = fn;
      const response = JSON.stringify(result);
      strictEqual(lines.length, 1, 'one log line per invocation');
      for (const secret of FORBIDDEN_IN_RESPONSES)
        ok(!response.includes(secret), `the response contains ${secret}`);
      for (const secret of FORBIDDEN)
        ok(!lines[0]?.includes(secret), `the log line contains ${secret}: ${lines[0]}`);
      // The scenario answered what its name says.
      const status = /^\d+/.exec(scenario.name)?.[0];
      ok(
        response.includes(`"statusCode":${status}`) ||
          response.includes(`"status":${status}`) ||
          status === '200',
        response,
      );
      strictEqual(fn.logs()[0]?.status, Number(status));
    });
  }

  it('redacts a key that reaches the log through an error message', async () => {
    const crash = scenarios.find((s) => s.name === '500 crash');
    ok(crash);
    const fn = instance();
    await fn.handler(crash.event, crash.context ?? context());
    ok(fn.lines[0]?.includes('crash with [REDACTED] and [REDACTED] in it'), fn.lines[0]);
  });
});
