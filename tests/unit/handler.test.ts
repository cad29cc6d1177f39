/**
 * The composed handler in-process, against the CAMS simulator: one whole-response assertion per row of the
 * status table, for both invocation forms, plus CORS, base64 bodies and header case.
 */
import { deepStrictEqual, strictEqual } from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CamsSimulator } from '../../dev/cams-simulator.js';
import { useCamsOnFakeClock } from '../fixtures/cams.js';
import { baseHeaders, directEvent, fcContext, type HttpEventInit, ROLE_CREDENTIALS } from '../fixtures/fc.js';
import { buildFunction, useFunction } from '../fixtures/function.js';

const SUCCESS = {
  RequestId: 'C4A1B2C3-0000-4000-8000-000000000001',
  Code: 'OK',
  Message: 'SUCCESS',
  Data: {
    FlowId: 'welcome-flow',
    PreviewUrl: 'https://business.facebook.com/wa/manage/flows/welcome-flow/preview/?token=abc',
    PreviewUrlExpires: 1700617436633,
  },
};
const PREVIEW = {
  flowId: 'welcome-flow',
  previewUrl: 'https://business.facebook.com/wa/manage/flows/welcome-flow/preview/?token=abc',
  previewUrlExpires: 1700617436633,
  expiresAt: '2023-11-22T01:43:56.633Z',
  requestId: 'C4A1B2C3-0000-4000-8000-000000000001',
};

// One clock for the function and the simulator: back-offs and the simulator's 5/s window pass without waiting.
const { cams, clock, fresh } = useCamsOnFakeClock();
// A CAMS timeout well above the simulator's answer even on a loaded machine; the timeout test sets its own.
const ENV = () => ({
  CAMS_ENDPOINT: cams.url,
  CAMS_TIMEOUT_MS: '2000',
  CORS_ALLOWED_ORIGINS: 'https://app.example.com,https://admin.example.com',
});
const fn = useFunction(ENV, fresh);

/** Four answers: the first attempt and every retry. */
const always = (step: Parameters<CamsSimulator['script']>[0]) => [step, step, step, step];

/** The headers of every response while CORS_ALLOWED_ORIGINS lists origins. */
const base = (): Record<string, string> => ({ ...baseHeaders(), Vary: 'Origin' });

const lastCamsRequestId = (): string => cams.calls.at(-1)?.requestId ?? 'none';

const http = (init: HttpEventInit = {}, context = fcContext()) => fn().http(init, context);
const handler = (event: Buffer, context = fcContext()) => fn().invoke(event, context);

function errorBody(code: string, message: string, status: number, requestId?: string) {
  return { error: { code, message, status, ...(requestId ? { requestId } : {}) } };
}

describe('200', () => {
  it('answers GET /flows/{flowId}/preview-url with the preview JSON', async () => {
    cams.script({ kind: 'json', status: 200, body: SUCCESS });
    const response = await http();
    deepStrictEqual(response, {
      statusCode: 200,
      // The sample link expired in 2023: browsers must not keep it.
      headers: { ...base(), 'X-Cache': 'miss', 'Cache-Control': 'private, max-age=0' },
      isBase64Encoded: false,
      body: JSON.stringify(PREVIEW),
      json: PREVIEW,
    });
  });

  it('returns the same object to a direct invocation', async () => {
    cams.script({ kind: 'json', status: 200, body: SUCCESS });
    deepStrictEqual(await handler(directEvent({ flowId: 'welcome-flow' }), fcContext()), PREVIEW);
  });

  it('accepts the API casing FlowId / CustSpaceId on direct invocation and passes CustSpaceId on', async () => {
    cams.script({ kind: 'json', status: 200, body: SUCCESS });
    const result = await handler(
      directEvent({ FlowId: 'welcome-flow', CustSpaceId: 'cams-abc' }),
      fcContext(),
    );
    deepStrictEqual(result, PREVIEW);
    deepStrictEqual(cams.calls.at(-1)?.params, { FlowId: 'welcome-flow', CustSpaceId: 'cams-abc' });
  });

  it('passes the custSpaceId query parameter to CAMS', async () => {
    const response = await http({ query: { custSpaceId: 'cams-abc.1_x' } });
    strictEqual(response.statusCode, 200);
    deepStrictEqual(cams.calls.at(-1)?.params, { FlowId: 'welcome-flow', CustSpaceId: 'cams-abc.1_x' });
  });

  it('decodes a percent-encoded flow id in the path', async () => {
    const response = await http({ path: '/flows/welcome%2Dflow/preview-url' });
    strictEqual(response.statusCode, 200);
    strictEqual(cams.calls.at(-1)?.params['FlowId'], 'welcome-flow');
  });

  it('accepts an empty base64 body', async () => {
    const response = await http({ body: '', isBase64Encoded: true });
    strictEqual(response.statusCode, 200);
  });
});

describe('400: invalid input never reaches CAMS', () => {
  const cases: Array<[string, HttpEventInit, string, string]> = [
    [
      'a flow id with a dot',
      { path: '/flows/bad.flow/preview-url' },
      'InvalidFlowId',
      'flowId must be 1–64 characters of letters, digits, _ and -',
    ],
    [
      'a 65-character flow id',
      { path: `/flows/${'a'.repeat(65)}/preview-url` },
      'InvalidFlowId',
      'flowId must be 1–64 characters of letters, digits, _ and -',
    ],
    ['an empty flow id', { path: '/flows//preview-url' }, 'InvalidFlowId', 'flowId is required'],
    [
      'an encoded slash in the flow id',
      { path: '/flows/a%2Fb/preview-url' },
      'InvalidFlowId',
      'flowId must be 1–64 characters of letters, digits, _ and -',
    ],
    [
      'broken percent-encoding',
      { path: '/flows/a%zz/preview-url' },
      'InvalidFlowId',
      'flowId in the path is not valid percent-encoding',
    ],
    [
      'a custSpaceId with a space',
      { query: { custSpaceId: 'cams abc' } },
      'InvalidCustSpaceId',
      'custSpaceId must be 1–64 characters of letters, digits, _, . and -',
    ],
    [
      'an empty custSpaceId',
      { query: { custSpaceId: '' } },
      'InvalidCustSpaceId',
      'custSpaceId must be 1–64 characters of letters, digits, _, . and -',
    ],
    [
      'a repeated custSpaceId (comma-joined by FC)',
      { query: { custSpaceId: 'a,b' } },
      'InvalidCustSpaceId',
      'custSpaceId must be 1–64 characters of letters, digits, _, . and -',
    ],
    [
      'an unknown query parameter',
      { query: { custspaceid: 'x' } },
      'InvalidRequest',
      'Unknown query parameter "custspaceid"; accepted: custSpaceId, interactive, flow_token, flow_action, flow_action_payload, phone_number, debug',
    ],
    [
      'a request body',
      { body: '{"flowId":"x"}' },
      'InvalidRequest',
      'GET takes no request body; send the flow id in the path',
    ],
    [
      'a base64 request body',
      { body: Buffer.from('{}').toString('base64'), isBase64Encoded: true },
      'InvalidRequest',
      'GET takes no request body; send the flow id in the path',
    ],
    [
      'a body marked base64 that is not',
      { body: '%%%', isBase64Encoded: true },
      'InvalidRequest',
      'The request body is marked base64 but is not valid base64',
    ],
  ];
  for (const [what, init, code, message] of cases) {
    it(`answers 400 ${code} for ${what}`, async () => {
      const response = await http(init);
      deepStrictEqual(response, {
        statusCode: 400,
        headers: base(),
        isBase64Encoded: false,
        body: JSON.stringify(errorBody(code, message, 400)),
        json: errorBody(code, message, 400),
      });
      strictEqual(cams.calls.length, 0);
    });
  }

  const direct: Array<[string, unknown, string, string]> = [
    [
      'a payload that is not JSON',
      'flowId=x',
      'InvalidRequest',
      'The payload is not JSON; the payload must be a JSON object like {"flowId": "...", "custSpaceId": "..."}',
    ],
    [
      'an empty payload',
      '',
      'InvalidRequest',
      'The payload is not JSON; the payload must be a JSON object like {"flowId": "...", "custSpaceId": "..."}',
    ],
    [
      'a JSON array',
      [{ flowId: 'x' }],
      'InvalidRequest',
      'Invalid payload; the payload must be a JSON object like {"flowId": "...", "custSpaceId": "..."}',
    ],
    [
      'a JSON string',
      '"welcome-flow"',
      'InvalidRequest',
      'Invalid payload; the payload must be a JSON object like {"flowId": "...", "custSpaceId": "..."}',
    ],
    ['no flowId', {}, 'InvalidFlowId', 'flowId is required'],
    [
      'a numeric flowId',
      { flowId: 42 },
      'InvalidFlowId',
      'flowId must be 1–64 characters of letters, digits, _ and -',
    ],
    [
      'an unknown field',
      { flowId: 'x', flowID: 'y' },
      'InvalidRequest',
      'Unknown field "flowID"; the payload must be a JSON object like {"flowId": "...", "custSpaceId": "..."}',
    ],
    [
      'a __proto__ key',
      '{"flowId":"x","__proto__":{"polluted":true}}',
      'InvalidRequest',
      'Unknown field "__proto__"; the payload must be a JSON object like {"flowId": "...", "custSpaceId": "..."}',
    ],
    [
      'disagreeing casings',
      { flowId: 'a', FlowId: 'b' },
      'InvalidRequest',
      'flowId and FlowId disagree; send one of them',
    ],
    [
      'a bad custSpaceId',
      { flowId: 'x', custSpaceId: 'a/b' },
      'InvalidCustSpaceId',
      'custSpaceId must be 1–64 characters of letters, digits, _, . and -',
    ],
  ];
  for (const [what, payload, code, message] of direct) {
    it(`returns the 400 ${code} object for a direct invocation with ${what}`, async () => {
      deepStrictEqual(await handler(directEvent(payload), fcContext()), errorBody(code, message, 400));
      strictEqual(cams.calls.length, 0);
      strictEqual(({} as Record<string, unknown>)['polluted'], undefined);
    });
  }
});

describe('403 / 404 / 429 / 502 from CAMS codes', () => {
  const rows: Array<[string, number, string, string]> = [
    [
      'Ram.PermissionDeny',
      403,
      'Ram.PermissionDeny',
      "The function's role is not allowed to call cams:GetFlowPreviewUrl",
    ],
    [
      'Product.Unsubscript',
      403,
      'Product.Unsubscript',
      'The account is not subscribed to Chat App Message Service',
    ],
    [
      'Unknown.ResourceOwnerId',
      404,
      'Unknown.ResourceOwnerId',
      'The flow does not belong to this account or space',
    ],
    ['SignatureDoesNotMatch', 502, 'CamsError', 'CAMS answered with error SignatureDoesNotMatch (HTTP 400)'],
    ['InvalidParameter', 502, 'CamsError', 'CAMS answered with error InvalidParameter (HTTP 400)'],
  ];
  for (const [camsCode, status, code, message] of rows) {
    for (const camsStatus of [400, 200]) {
      it(`answers ${status} ${code} when CAMS says ${camsCode} with HTTP ${camsStatus}`, async () => {
        cams.script({ kind: 'error', code: camsCode, status: camsStatus });
        const response = await http();
        const expectedMessage = message.replace('(HTTP 400)', `(HTTP ${camsStatus})`);
        const body = errorBody(code, expectedMessage, status, lastCamsRequestId());
        deepStrictEqual(response, {
          statusCode: status,
          headers: base(),
          isBase64Encoded: false,
          body: JSON.stringify(body),
          json: body,
        });
      });
    }
  }

  it('never returns AccessDeniedDetail', async () => {
    cams.script({ kind: 'error', code: 'Ram.PermissionDeny' });
    const response = await http();
    strictEqual(response.body.includes('AccessDeniedDetail'), false);
    strictEqual(response.body.includes('EncodedDiagnosticMessage'), false);
    strictEqual(response.body.includes('AuthPrincipal'), false);
  });

  for (const camsCode of ['System.LimitControl', 'Throttling', 'Throttling.User', 'Throttling.Api']) {
    it(`answers 429 with Retry-After from the rate-limit hint for ${camsCode} when no retry fits the deadline`, async () => {
      cams.script(
        ...always({
          kind: 'error',
          code: camsCode,
          headers: { 'x-ratelimit-user-api': 'Limit:5,Remain:0,TimeLeft:1800,Reset:1764052872000' },
        }),
      );
      // A 1 s function: waiting 1.8 s for the next slot would pass the deadline, so the 429 comes at once.
      const response = await http({}, fcContext({ function: { timeout: 1 } }));
      const body = errorBody(
        camsCode,
        'CAMS is throttling requests; retry after 2 s',
        429,
        lastCamsRequestId(),
      );
      deepStrictEqual(response, {
        statusCode: 429,
        headers: { ...base(), 'Retry-After': '2' },
        isBase64Encoded: false,
        body: JSON.stringify(body),
        json: body,
      });
    });
  }

  it('answers 429 with Retry-After: 1 when CAMS keeps throttling without a hint', async () => {
    cams.script(...always({ kind: 'error', code: 'Throttling.User' }));
    const response = await http();
    strictEqual(response.statusCode, 429);
    strictEqual(response.headers['Retry-After'], '1');
    strictEqual(cams.calls.length, 4);
    // Full jitter at the clock's 0.5 (half of 100, 200, 400 ms), each back-off followed by the wait for the next
    // slot of the 5/s budget (220 ms apart with its headroom): 50 + 170, 100 + 120, 200 + 20.
    deepStrictEqual(clock().sleeps, [50, 170, 100, 120, 200, 20]);
  });

  it('returns the 429 error object to a direct invocation', async () => {
    cams.script(...always({ kind: 'error', code: 'System.LimitControl' }));
    const result = await handler(directEvent({ flowId: 'welcome-flow' }), fcContext());
    deepStrictEqual(
      result,
      errorBody(
        'System.LimitControl',
        'CAMS is throttling requests; retry after 1 s',
        429,
        lastCamsRequestId(),
      ),
    );
  });
});

describe('404 / 405 routes', () => {
  for (const path of [
    '/',
    '/flows/welcome-flow',
    '/flows/welcome-flow/preview-url/extra',
    '/FLOWS/x/preview-url',
  ]) {
    it(`answers 404 NotFound for ${path}`, async () => {
      const body = errorBody('NotFound', 'No such route; use GET /flows/{flowId}/preview-url', 404);
      deepStrictEqual(await http({ path }), {
        statusCode: 404,
        headers: base(),
        isBase64Encoded: false,
        body: JSON.stringify(body),
        json: body,
      });
      strictEqual(cams.calls.length, 0);
    });
  }

  for (const method of ['POST', 'PUT', 'DELETE', 'PATCH', 'HEAD']) {
    it(`answers 405 with Allow: GET, OPTIONS for ${method}`, async () => {
      const body = errorBody('MethodNotAllowed', 'Only GET (and OPTIONS) are allowed on this route', 405);
      deepStrictEqual(await http({ method }), {
        statusCode: 405,
        headers: { ...base(), Allow: 'GET, OPTIONS' },
        isBase64Encoded: false,
        body: JSON.stringify(body),
        json: body,
      });
    });
  }
});

describe('500', () => {
  it('answers 500 CredentialsMissing when neither the context nor the environment has keys', async () => {
    const { credentials: _omit, ...noCredentials } = fcContext();
    const body = errorBody('CredentialsMissing', 'No credentials are available to call CAMS', 500);
    deepStrictEqual(await http({}, noCredentials), {
      statusCode: 500,
      headers: base(),
      isBase64Encoded: false,
      body: JSON.stringify(body),
      json: body,
    });
    strictEqual(cams.calls.length, 0);
  });

  it('falls back to the ALIBABA_CLOUD_* environment keys', async () => {
    const local = buildFunction({
      ...ENV(),
      ALIBABA_CLOUD_ACCESS_KEY_ID: ROLE_CREDENTIALS.accessKeyId,
      ALIBABA_CLOUD_ACCESS_KEY_SECRET: ROLE_CREDENTIALS.accessKeySecret,
      ALIBABA_CLOUD_SECURITY_TOKEN: ROLE_CREDENTIALS.securityToken,
    });
    const { credentials: _omit, ...noCredentials } = fcContext();
    strictEqual((await local.http({}, noCredentials)).statusCode, 200);
  });

  it('answers 500 ConfigInvalid naming the variable for a bad setting', async () => {
    const broken = buildFunction({ ...ENV(), CAMS_TIMEOUT_MS: 'abc' });
    const body = errorBody('ConfigInvalid', 'CAMS_TIMEOUT_MS must be a positive integer (milliseconds)', 500);
    deepStrictEqual(await broken.invoke(directEvent({ flowId: 'x' })), body);
    // The same answer on the HTTP trigger, with the headers every response carries (no CORS: no configuration).
    deepStrictEqual(await broken.http(), {
      statusCode: 500,
      headers: baseHeaders(),
      isBase64Encoded: false,
      body: JSON.stringify(body),
      json: body,
    });
  });

  it('answers a generic 500 for an unexpected error, with no detail', async () => {
    const context = fcContext();
    Object.defineProperty(context, 'credentials', {
      enumerable: true,
      get() {
        throw new Error('boom: TestRoleSecretAAAA');
      },
    });
    const body = errorBody('InternalError', 'Internal error', 500);
    const response = await http({}, context);
    deepStrictEqual(response.json, body);
    strictEqual(response.statusCode, 500);
  });
});

describe('502 / 504', () => {
  it('answers 502 CamsError when CAMS keeps answering 5xx', async () => {
    cams.script(...always({ kind: 'error', code: 'ServiceUnavailable', status: 503 }));
    const response = await http();
    deepStrictEqual(
      response.json,
      errorBody(
        'CamsError',
        'CAMS answered with error ServiceUnavailable (HTTP 503)',
        502,
        lastCamsRequestId(),
      ),
    );
  });

  it('answers 502 CamsBadResponse for a non-JSON body', async () => {
    cams.script({ kind: 'raw', status: 200, body: '<html>gateway</html>' });
    deepStrictEqual(
      (await http()).json,
      errorBody('CamsBadResponse', 'CAMS answered with a response this function cannot read', 502),
    );
  });

  it('answers 502 CamsBadResponse for an incomplete success body, with the CAMS RequestId', async () => {
    cams.script({
      kind: 'json',
      status: 200,
      body: { RequestId: 'RID-1', Code: 'OK', Data: { FlowId: 'welcome-flow' } },
    });
    deepStrictEqual(
      (await http()).json,
      errorBody('CamsBadResponse', 'CAMS answered with a response this function cannot read', 502, 'RID-1'),
    );
  });

  it('answers 502 CamsUnavailable when CAMS keeps resetting the connection', async () => {
    cams.script(...always({ kind: 'reset' }));
    deepStrictEqual((await http()).json, errorBody('CamsUnavailable', 'CAMS could not be reached', 502));
  });

  it('answers 504 CamsTimeout when CAMS does not answer within CAMS_TIMEOUT_MS', async () => {
    // The attempt's own timeout is real time (the SDK's socket), so this one test waits CAMS_TIMEOUT_MS (300 ms).
    const short = buildFunction({ ...ENV(), CAMS_TIMEOUT_MS: '300' }, fresh());
    cams.script({ kind: 'delay', ms: 1000 });
    const started = Date.now();
    const response = await short.http({}, fcContext()).finally(() => short.close());
    deepStrictEqual(response, {
      statusCode: 504,
      headers: base(),
      isBase64Encoded: false,
      body: JSON.stringify(errorBody('CamsTimeout', 'CAMS did not answer in time', 504)),
      json: errorBody('CamsTimeout', 'CAMS did not answer in time', 504),
    });
    strictEqual(Date.now() - started < 900, true);
  });
});

describe('CORS', () => {
  /** What a fresh link's 200 carries: the simulator's links live 30 days. */
  const fresh = { 'X-Cache': 'miss', 'Cache-Control': 'private, max-age=3600' };
  const corsGet = {
    'Access-Control-Allow-Origin': 'https://app.example.com',
    'Access-Control-Expose-Headers': 'Retry-After, WWW-Authenticate, X-Cache, X-Request-Id, traceparent',
    Vary: 'Origin',
  };

  it('allows a listed origin on GET', async () => {
    const response = await http({ headers: { Origin: 'https://app.example.com' } });
    deepStrictEqual(response.headers, { ...baseHeaders(), ...corsGet, ...fresh });
  });

  it('reads the Origin header whatever its case', async () => {
    for (const name of ['origin', 'ORIGIN', 'oRiGiN']) {
      const response = await http({ headers: { [name]: 'https://app.example.com' } });
      strictEqual(response.headers['Access-Control-Allow-Origin'], 'https://app.example.com');
    }
  });

  it('adds CORS headers to error responses too', async () => {
    const response = await http({
      path: '/flows/bad.id/preview-url',
      headers: { Origin: 'https://app.example.com' },
    });
    deepStrictEqual(response.headers, { ...baseHeaders(), ...corsGet });
  });

  it('gives a disallowed origin no Access-Control-Allow-Origin', async () => {
    const response = await http({ headers: { Origin: 'https://evil.example.net' } });
    deepStrictEqual(response.headers, { ...base(), ...fresh });
  });

  it('answers a preflight from an allowed origin with 204 and the CORS headers', async () => {
    const response = await http({
      method: 'OPTIONS',
      headers: {
        Origin: 'https://admin.example.com',
        'Access-Control-Request-Method': 'GET',
        'Access-Control-Request-Headers': 'authorization,cache-control',
      },
    });
    deepStrictEqual(response, {
      statusCode: 204,
      headers: {
        ...baseHeaders(),
        'Access-Control-Allow-Origin': 'https://admin.example.com',
        'Access-Control-Allow-Methods': 'GET, OPTIONS',
        'Access-Control-Allow-Headers': 'Authorization, Cache-Control, Content-Type, traceparent',
        'Access-Control-Max-Age': '600',
        Vary: 'Origin',
      },
      isBase64Encoded: false,
      body: '',
      json: undefined,
    });
    strictEqual(cams.calls.length, 0);
  });

  it('answers a preflight from a disallowed origin with 204 and no CORS headers', async () => {
    const response = await http({
      method: 'OPTIONS',
      headers: { Origin: 'https://evil.example.net', 'Access-Control-Request-Method': 'GET' },
    });
    strictEqual(response.statusCode, 204);
    deepStrictEqual(response.headers, base());
  });

  it('allows no cross-origin access when CORS_ALLOWED_ORIGINS is unset', async () => {
    const local = buildFunction({ ...ENV(), CORS_ALLOWED_ORIGINS: undefined });
    const response = await local.http({ headers: { Origin: 'https://app.example.com' } });
    deepStrictEqual(response.headers, { ...baseHeaders(), ...fresh });
  });

  it("answers '*' when any origin is allowed", async () => {
    const local = buildFunction({ ...ENV(), CORS_ALLOWED_ORIGINS: '*' });
    const response = await local.http({ headers: { Origin: 'https://anyone.example.org' } });
    deepStrictEqual(response.headers, {
      ...baseHeaders(),
      'Access-Control-Allow-Origin': '*',
      'Access-Control-Expose-Headers': 'Retry-After, WWW-Authenticate, X-Cache, X-Request-Id, traceparent',
      ...fresh,
    });
  });
});
