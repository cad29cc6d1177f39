/**
 * npm start's front door hands the function what FC would: the raw path, every query parameter and header, and
 * no request target stops it. A recording handler stands in for the function, so each event can be asserted.
 */
import { deepStrictEqual, strictEqual } from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import { type LocalServer, startLocalServer } from '../../dev/local-server.js';
import { servePage } from '../../dev/web-page.js';
import { get, rawRequest, statusOf } from '../fixtures/raw-http.js';

interface SeenEvent {
  rawPath: string;
  headers: Record<string, string>;
  queryParameters: Record<string, string>;
  requestContext: { http: { path: string; method: string } };
}

let server: LocalServer;
let seen: SeenEvent[] = [];
before(async () => {
  server = await startLocalServer({
    handler: async (event) => {
      seen.push(JSON.parse(event.toString('utf8')) as SeenEvent);
      return {
        statusCode: 200,
        headers: { 'content-type': 'text/plain' },
        isBase64Encoded: false,
        body: 'ok',
      };
    },
    extraRoutes: servePage,
  });
});
after(() => server.close());
beforeEach(() => {
  seen = [];
});

describe('the local FC front door', () => {
  const raw: Array<[string, string]> = [
    ['/flows/x/../welcome-flow/preview-url', '/flows/x/../welcome-flow/preview-url'],
    ['/flows/x/%2e%2e/welcome-flow/preview-url', '/flows/x/%2e%2e/welcome-flow/preview-url'],
    ['/flows/welcome%2Dflow/preview-url', '/flows/welcome%2Dflow/preview-url'],
    ['/flows\\welcome-flow/preview-url', '/flows\\welcome-flow/preview-url'],
    ['//flows/welcome-flow/preview-url', '//flows/welcome-flow/preview-url'],
    ['http://example.com/flows/a/preview-url?custSpaceId=s', '/flows/a/preview-url'],
  ];
  for (const [target, rawPath] of raw) {
    it(`hands over the raw path of ${target}, not a normalised one`, async () => {
      strictEqual(statusOf(await rawRequest(server.port, get(target))), 200);
      strictEqual(seen[0]?.rawPath, rawPath);
      strictEqual(seen[0]?.requestContext.http.path, rawPath);
    });
  }

  it('keeps __proto__ and constructor query parameters and headers, and joins repeats with commas', async () => {
    const target = '/flows/a/preview-url?__proto__=x&constructor=y&custSpaceId=a&custSpaceId=b&q=%zz';
    strictEqual(
      statusOf(await rawRequest(server.port, get(target, ['__proto__: h', 'X-Twice: 1', 'X-Twice: 2']))),
      200,
    );
    const event = seen[0];
    // JSON.parse makes `__proto__` an own property; entries show it (an object literal would not).
    deepStrictEqual(Object.entries(event?.queryParameters ?? {}), [
      ['__proto__', 'x'],
      ['constructor', 'y'],
      ['custSpaceId', 'a,b'],
      ['q', '%zz'],
    ]);
    strictEqual(Object.getOwnPropertyDescriptor(event?.headers ?? {}, '__proto__')?.value, 'h');
    strictEqual(event?.headers['X-Twice'], '1,2');
  });

  const malformed = ['http://[::1', '//[', 'http://%zz/', '*', 'http://[::1]:99999999/x', 'nonsense', '/%'];
  for (const target of malformed) {
    it(`answers GET ${target} without stopping`, async () => {
      const status = statusOf(await rawRequest(server.port, get(target)));
      strictEqual(status >= 200 && status < 500, true, `status ${status}`);
      strictEqual(statusOf(await rawRequest(server.port, get('/flows/a/preview-url'))), 200);
    });
  }

  it('refuses a target that is neither a path nor an absolute URL with 400, without calling the function', async () => {
    const response = await rawRequest(server.port, get('*'));
    strictEqual(statusOf(response), 400);
    strictEqual(response.includes('"code":"BadRequest"'), true);
    strictEqual(seen.length, 0);
  });

  it('answers headers over Node’s limit with 431 and a request line it cannot parse with 400, and keeps serving', async () => {
    strictEqual(statusOf(await rawRequest(server.port, get('/', [`X-Big: ${'x'.repeat(20_000)}`]))), 431);
    strictEqual(statusOf(await rawRequest(server.port, 'GET /a b c HTTP/1.1\r\n\r\n')), 400);
    strictEqual(statusOf(await rawRequest(server.port, get('/flows/a/preview-url'))), 200);
  });

  it('serves the example page only at / and /index.html', async () => {
    strictEqual(statusOf(await rawRequest(server.port, get('/?api=http://x'))), 200);
    strictEqual(seen.length, 0);
    await rawRequest(server.port, get('/./'));
    strictEqual(seen[0]?.rawPath, '/./');
  });
});
