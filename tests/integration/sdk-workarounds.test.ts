/**
 * Each workaround in shared/cams/sdk-workarounds.ts against the real upstream package it works around: these tests
 * pass while the upstream behaviour is still there, and fail when it changes — then the workaround can go.
 */
import { deepStrictEqual, ok, rejects, strictEqual, throws } from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { readFileSync } from 'node:fs';
import { type ClientRequest, createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo, Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import RealCredential, { Config as RealCredentialConfig } from '@alicloud/credentials';
import { OpenApiRequest } from '@alicloud/openapi-client';
import { RuntimeOptions } from '@alicloud/tea-util';
import { openApiClient, rpcParams } from '../../shared/cams/openapi.js';
import {
  BUNDLE_ALIASES,
  HTTPX_READ_TIMER,
  httpxReadTimerOf,
  nativeDoAction,
  useNativeDoAction,
} from '../../shared/cams/sdk-workarounds.js';
import StaticCredential, { Config as StaticConfig } from '../../shared/cams/stubs/static-credentials.js';

const require = createRequire(import.meta.url);
const source = (path: string): string => readFileSync(require.resolve(path), 'utf8');
const versionOf = (name: string): string =>
  (JSON.parse(readFileSync(`node_modules/${name}/package.json`, 'utf8')) as { version: string }).version;

/** A loopback server: `/ok` answers a CAMS success, `/throttled` a 400 with the rate-limit header, `/drip` drips. */
class Upstream {
  readonly open = new Set<Socket>();
  lastHeaders: IncomingHttpHeaders = {};
  private readonly server: Server = createServer((req, res) => {
    this.lastHeaders = req.headers;
    req.resume();
    req.on('end', () => {
      const mode = req.headers['x-acs-action'];
      if (mode === 'Throttled') {
        res.writeHead(400, {
          'content-type': 'application/json',
          'x-ratelimit-user-api': 'Limit:5,Remain:0,TimeLeft:777,Reset:1',
        });
        res.end(JSON.stringify({ RequestId: 'R-T', Code: 'Throttling.User', Message: 'slow down' }));
      } else if (mode === 'Drip') {
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100000' });
        const drip = setInterval(() => res.write(' '), 20);
        res.on('close', () => clearInterval(drip));
      } else {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ RequestId: 'R-OK', Code: 'OK', Data: {} }));
      }
    });
  });
  host = '';

  async start(): Promise<void> {
    this.server.on('connection', (socket) => {
      this.open.add(socket);
      socket.on('close', () => this.open.delete(socket));
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.host = `127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    for (const socket of this.open) socket.destroy();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

const upstream = new Upstream();
before(() => upstream.start());
after(() => upstream.stop());

const KEYS = {
  accessKeyId: 'STS.UpstreamKeyId',
  accessKeySecret: 'upstream-secret',
  securityToken: 'upstream-tok',
};

/** A raw SDK call (no workaround in the way), with the action choosing the server's answer. */
function sdkCall(action: string, timeoutMs = 5000) {
  const client = openApiClient({ host: upstream.host, protocol: 'HTTP' }, KEYS);
  return client.callApi(
    rpcParams(action, '2020-06-06'),
    new OpenApiRequest({ body: { FlowId: 'f' } }),
    new RuntimeOptions({ readTimeout: timeoutMs, connectTimeout: timeoutMs }),
  );
}

/** Records the `ClientRequest`s the http diagnostics channel announces while `run` executes. */
async function requestsDuring<T>(run: () => Promise<T>): Promise<{ requests: ClientRequest[]; result: T }> {
  const requests: ClientRequest[] = [];
  const onStart = (message: unknown) => requests.push((message as { request: ClientRequest }).request);
  subscribe('http.client.request.start', onStart);
  try {
    return { requests, result: await run() };
  } finally {
    unsubscribe('http.client.request.start', onStart);
  }
}

describe('the upstream versions the workarounds cite', () => {
  it('are the installed ones (a bump must re-check every workaround below)', () => {
    deepStrictEqual(
      Object.fromEntries(
        [
          '@alicloud/openapi-client',
          '@alicloud/tea-typescript',
          '@alicloud/tea-util',
          '@alicloud/tea-xml',
          '@alicloud/credentials',
          'httpx',
          'debug',
          '@middy/core',
        ].map((name) => [name, versionOf(name)]),
      ),
      {
        '@alicloud/openapi-client': '0.4.15',
        '@alicloud/tea-typescript': '1.8.0',
        '@alicloud/tea-util': '1.4.9',
        '@alicloud/tea-xml': '0.0.3',
        '@alicloud/credentials': '2.4.7',
        httpx: '2.3.3',
        debug: '4.4.3',
        '@middy/core': '6.4.5',
      },
    );
  });
});

describe('noCancellation: the SDK cannot cancel a call', () => {
  it('callApi takes no signal, and nothing on its way to httpx passes one', () => {
    strictEqual(require('@alicloud/openapi-client').default.prototype.callApi.length, 3);
    const doAction = /function doAction\(request, runtime\) \{[\s\S]*?\n\}/.exec(
      source('@alicloud/tea-typescript/dist/tea.js'),
    )?.[0];
    ok(doAction !== undefined && !/signal|abort/i.test(doAction), 'tea doAction now passes a signal');
    ok(!/signal/i.test(new RuntimeOptions({}).constructor.toString()), 'RuntimeOptions now has a signal');
  });

  it('leaves the request running when its caller stops waiting (the SDK’s own timer is the only end)', async () => {
    const { requests } = await requestsDuring(async () => {
      const call = sdkCall('Drip', 60_000);
      call.catch(() => undefined);
      await new Promise((r) => setTimeout(r, 150));
    });
    const [request] = requests;
    ok(request !== undefined);
    strictEqual(request.destroyed, false, 'the abandoned SDK request ended by itself');
    request.destroy();
  });

  it('signs and sends the x-acs-signature-nonce the caller gives (what the workaround finds its request by)', async () => {
    const client = openApiClient({ host: upstream.host, protocol: 'HTTP' }, KEYS);
    await client.callApi(
      rpcParams('Ok', '2020-06-06'),
      new OpenApiRequest({
        body: { FlowId: 'f' },
        headers: { 'x-acs-signature-nonce': 'caller-chosen-nonce-1' },
      }),
      new RuntimeOptions({}),
    );
    const sent = upstream.lastHeaders;
    strictEqual(sent['x-acs-signature-nonce'], 'caller-chosen-nonce-1');
    ok(
      /SignedHeaders=[^,]*x-acs-signature-nonce/.test(String(sent['authorization'])),
      'the nonce is no longer signed',
    );
    deepStrictEqual(
      Object.keys(sent).filter((name) => !name.startsWith('x-acs-') && !STANDARD_HEADERS.has(name)),
      [],
      'a header outside the SDK’s own set reached the wire',
    );
  });
});

/** What openapi-client sends besides its `x-acs-*` headers. */
const STANDARD_HEADERS = new Set([
  'host',
  'user-agent',
  'accept',
  'authorization',
  'content-type',
  'content-length',
  'connection',
  'transfer-encoding',
]);

describe('errorWithoutHeaders: an HTTP ≥ 400 answer loses its headers', () => {
  it('throws without the x-ratelimit-user-api header CAMS sent', async () => {
    await rejects(sdkCall('Throttled'), (error: unknown) => {
      strictEqual((error as { code?: string }).code, 'Throttling.User');
      const everything = JSON.stringify(error, Object.getOwnPropertyNames(error));
      ok(!everything.includes('TimeLeft:777'), 'openapi-client now keeps the response headers on its error');
      return true;
    });
  });
});

describe('httpxReadTimer: httpx keeps a read timer per answered request', () => {
  it('leaves the timer armed on the socket after the SDK has read the whole answer', async () => {
    const { requests } = await requestsDuring(() => sdkCall('Ok', 60_000));
    const socket = requests[0]?.socket;
    const timer = httpxReadTimerOf(socket) as { _destroyed?: boolean } | undefined;
    ok(timer !== undefined && timer !== null, `no ${HTTPX_READ_TIMER} on the socket any more`);
    strictEqual(timer._destroyed, false, 'httpx (or tea-util) now clears its read timer');
    clearTimeout(timer as NodeJS.Timeout);
  });
});

describe('generatorDoAction, streamedBody: tea sends every request from an ES5 state-machine generator, its body as a stream', () => {
  type Tea = typeof import('@alicloud/tea-typescript');
  const tea = require('@alicloud/tea-typescript') as Tea;
  // Taken before anything here installs the native one.
  const upstreamDoAction = tea.doAction;

  it('is still __awaiter + __generator in tea, and openapi-client still calls it through tea’s own exports', () => {
    ok(upstreamDoAction !== nativeDoAction);
    const doAction = /function doAction\(request, runtime\) \{[\s\S]*?\n\}/.exec(
      source('@alicloud/tea-typescript/dist/tea.js'),
    )?.[0];
    ok(
      doAction?.includes('return __awaiter(this, void 0, void 0, function () {') &&
        doAction.includes('return __generator(this, function (_a) {'),
      'tea doAction is no longer a compiled generator: the workaround can go',
    );
    const client = source('@alicloud/openapi-client/dist/client.js');
    ok(client.includes('const $tea = __importStar(require("@alicloud/tea-typescript"));'));
    ok(client.includes('await $tea.doAction(request_, _runtime);'));
    strictEqual((tea as { __esModule?: boolean }).__esModule, true, '__importStar would copy tea’s exports');
  });

  it('the native doAction puts the same request on the wire (the body whole, not chunked) and returns the same Response', async () => {
    const seen: Array<{
      method: string | undefined;
      url: string | undefined;
      headers: IncomingHttpHeaders;
      body: string;
    }> = [];
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        seen.push({
          method: req.method,
          url: req.url,
          headers: req.headers,
          body: Buffer.concat(chunks).toString(),
        });
        res.writeHead(req.method === 'GET' ? 404 : 200, 'Custom Reason', {
          'content-type': 'application/json',
          'x-acs-request-id': 'R-1',
          date: 'Sun, 29 Nov 2026 08:00:00 GMT',
        });
        res.end('{"RequestId":"R-1"}');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    const cases: Array<{
      method: string;
      port?: number;
      query: Record<string, string>;
      body?: string;
      runtime: Record<string, unknown> | null;
    }> = [
      {
        method: 'post',
        query: {},
        body: 'FlowId=f&CustSpaceId=c',
        runtime: { readTimeout: 3000, connectTimeout: 2000 },
      },
      {
        method: 'POST',
        port,
        query: { a: '1', 'b c': 'd&e' },
        body: '',
        runtime: { timeout: 4000, keepAlive: true },
      },
      { method: 'GET', query: { only: 'query' }, runtime: null },
    ];
    try {
      for (const { method, port: requestPort, query, body, runtime } of cases) {
        const responses = [];
        for (const doAction of [upstreamDoAction, nativeDoAction]) {
          const request = new tea.Request();
          request.protocol = 'http';
          request.method = method;
          request.pathname = '/path';
          if (requestPort !== undefined) request.port = requestPort;
          request.query = query;
          request.headers = {
            host: requestPort === undefined ? `127.0.0.1:${port}` : '127.0.0.1',
            'x-acs-action': 'A',
          };
          if (body !== undefined) request.body = new tea.BytesReadable(body);
          const response = await doAction(request, runtime ?? undefined);
          const text = (await response.readBytes()).toString();
          responses.push({
            statusCode: response.statusCode,
            statusMessage: response.statusMessage,
            headers: { ...response.headers, 'keep-alive': '' },
            text,
          });
        }
        deepStrictEqual(responses[1], responses[0]);
        const [fromUpstream, fromNative] = seen.splice(0);
        strictEqual(fromUpstream?.method, method.toUpperCase());
        if (body) {
          // streamedBody: tea's stream goes out chunked; the native one sends the same bytes with Content-Length.
          strictEqual(
            fromUpstream?.headers['transfer-encoding'],
            'chunked',
            'httpx no longer streams the body',
          );
          strictEqual(fromUpstream.headers['content-length'], undefined);
          strictEqual(fromNative?.headers['content-length'], String(Buffer.byteLength(body)));
          strictEqual(fromNative.headers['transfer-encoding'], undefined);
        }
        const unframed = (seen?: { headers: IncomingHttpHeaders }) => {
          const {
            'transfer-encoding': _chunked,
            'content-length': _length,
            ...headers
          } = seen?.headers ?? {};
          return { ...seen, headers };
        };
        deepStrictEqual(unframed(fromNative), unframed(fromUpstream));
      }
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('once installed, openapi-client calls go through it and still arrive signed', async () => {
    useNativeDoAction();
    useNativeDoAction();
    strictEqual(tea.doAction, nativeDoAction);
    const answer = await sdkCall('Ok');
    deepStrictEqual(answer['body'], { RequestId: 'R-OK', Code: 'OK', Data: {} });
    ok(
      String(upstream.lastHeaders['authorization']).startsWith(
        'ACS3-HMAC-SHA256 Credential=STS.UpstreamKeyId,',
      ),
    );
    tea.doAction = upstreamDoAction;
  });
});

describe('bundle stand-ins', () => {
  it('static-credentials returns what @alicloud/credentials returns for static keys', async () => {
    for (const config of [
      { type: 'access_key', accessKeyId: 'id-1', accessKeySecret: 'secret-1' },
      { type: 'sts', accessKeyId: 'id-2', accessKeySecret: 'secret-2', securityToken: 'token-2' },
    ]) {
      const real = await new RealCredential(new RealCredentialConfig(config)).getCredential();
      const stub = await new StaticCredential(new StaticConfig(config)).getCredential();
      deepStrictEqual({ ...real }, stub);
    }
    throws(() => new StaticCredential(new StaticConfig({ type: 'ecs_ram_role' })), /only static/);
  });

  it('openapi-client still hands @alicloud/credentials only static keys, and parses XML only for XML errors', () => {
    const client = source('@alicloud/openapi-client/dist/client.js');
    ok(client.includes('config.type = "sts";') && client.includes('config.type = "access_key";'));
    ok(client.includes('this._credential = new credentials_1.default(credentialConfig);'));
    const xmlCalls = client.match(/tea_xml_1\.default\.\w+\(/g) ?? [];
    deepStrictEqual([...new Set(xmlCalls)], ['tea_xml_1.default.parseXml(']);
    ok(client.includes('equalString(response_.headers["content-type"], "text/xml;charset=utf-8")'));
  });

  it('httpx still prints request headers, the security token included, through debug (the stand-in stops it)', async () => {
    const script = `
      const httpx = require('httpx');
      httpx.request('http://${upstream.host}/', { method: 'POST', headers: { 'x-acs-security-token': 'tok-visible' }, data: '' })
        .then((res) => { res.resume(); res.on('end', () => process.exit(0)); });`;
    // Asynchronously: the loopback server answering it lives in this process.
    const run = await new Promise<{ stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        ['-e', script],
        { env: { ...process.env, DEBUG: 'httpx:header' }, encoding: 'utf8', timeout: 10_000 },
        (_error, _stdout, stderr) => resolve({ stderr }),
      );
    });
    ok(
      run.stderr.includes('x-acs-security-token: tok-visible'),
      `httpx no longer logs headers: ${run.stderr}`,
    );
    const stub = require(`../../${BUNDLE_ALIASES['debug'] ?? ''}`) as (name: string) => { enabled: boolean };
    strictEqual(stub('httpx:header').enabled, false);
  });

  it('@middy/core still imports node:stream at its top for streamifyResponse only', () => {
    const middy = source('@middy/core');
    ok(/^import \{ Readable \} from "node:stream";$/m.test(middy), 'middy no longer imports node:stream');
    // Every use is inside the streaming branch.
    const uses = [...middy.matchAll(/\b(Readable|pipeline|ReadableStream)\b/g)].map((m) => m.index ?? 0);
    const branch = middy.indexOf('plugin.streamifyResponse');
    ok(uses.filter((at) => at > 400).every((at) => at > branch));
  });

  it('httpx still needs zlib only to decompress, which tea-util’s reading never asks for', () => {
    const httpx = source('httpx');
    deepStrictEqual(
      [...httpx.matchAll(/^(?!\s*\/\/).*?\b(zlib\.\w+)/gm)].map((m) => m[1]),
      ['zlib.createGunzip', 'zlib.createInflate'],
    );
    ok(/function decompress\(response\) \{\n\s+switch/.test(httpx));
    ok(
      !/httpx|decompress/.test(source('@alicloud/tea-util/dist/client.js')),
      'tea-util now reads through httpx',
    );
  });

  it('the built bundle loads no stream, crypto, http or credentials code at cold start', () => {
    const loaded = execFileSync(
      process.execPath,
      [
        '-e',
        // The list is taken before stdout is touched: opening a pipe loads streams of its own.
        `const b = new Set(process.moduleLoadList); require('./dist/index.js');
         const added = process.moduleLoadList.filter((m) => !b.has(m));
         process.stdout.write(JSON.stringify(added))`,
      ],
      { encoding: 'utf8' },
    );
    const modules = JSON.parse(loaded) as string[];
    deepStrictEqual(
      modules.filter((m) => /NativeModule (stream|crypto|http|https|zlib|child_process|tls)$/.test(m)),
      [],
    );
  });

  it('the built bundle makes a CAMS call without loading zlib (httpx’s is lazy)', async () => {
    const script = `
      const context = { requestId: 'r', credentials: ${JSON.stringify(KEYS)} };
      require('./dist/index.js').handler(Buffer.from('{"flowId":"f"}'), context).then((answer) => {
        const zlib = process.moduleLoadList.filter((m) => /zlib/.test(m));
        process.stderr.write(JSON.stringify({ answer, zlib }));
      });`;
    // Asynchronously: the loopback server answering it lives in this process.
    const stderr = await new Promise<string>((resolve) => {
      execFile(
        process.execPath,
        ['-e', script],
        {
          env: { ...process.env, CAMS_ENDPOINT: `http://${upstream.host}` },
          encoding: 'utf8',
          timeout: 10_000,
        },
        (_error, _stdout, err) => resolve(err),
      );
    });
    const { answer, zlib } = JSON.parse(stderr) as { answer: unknown; zlib: string[] };
    // The stand-in upstream answers without a preview: the call reached it and was judged malformed.
    deepStrictEqual(answer, {
      error: {
        code: 'CamsBadResponse',
        message: 'CAMS answered with a response this function cannot read',
        status: 502,
        requestId: 'R-OK',
      },
    });
    deepStrictEqual(zlib, []);
  });
});
