/** `npm start` end to end: the real command, a real HTTP request, Ctrl-C. */
import { deepStrictEqual, match, rejects, strictEqual } from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { fetchFlowPreview } from '../../client/index.js';
import { signHeaders } from '../../client/signed-request.js';
import { startCamsSimulator } from '../../dev/cams-simulator.js';
import { signedCamsRequest } from '../../dev/signed-request.js';
import { authorize } from '../../dev/v3-signature.js';
import { cleanEnv, start } from '../fixtures/process.js';
import { get as rawGet, rawRequest, statusOf } from '../fixtures/raw-http.js';

const run = promisify(execFile);

describe('npm start', () => {
  it('serves a preview URL from the embedded CAMS simulator with no cloud credentials, and stops on Ctrl-C', async () => {
    const server = start('npm', ['start', '--silent'], cleanEnv({ PORT: '0' }));
    try {
      const [, url] = await server.waitFor(/listening on (http:\/\/127\.0\.0\.1:\d+)/);
      match(server.output(), /CAMS: embedded simulator at http:\/\/127\.0\.0\.1:\d+/);
      match(server.output(), /Try: curl -s http:\/\/127\.0\.0\.1:\d+\/flows\/welcome-flow\/preview-url/);

      const response = await fetch(`${url}/flows/welcome-flow/preview-url`);
      strictEqual(response.status, 200);
      strictEqual(response.headers.get('content-type'), 'application/json; charset=utf-8');
      match(response.headers.get('x-request-id') ?? '', /^1-[0-9a-f-]{36}$/);
      const body = (await response.json()) as Record<string, unknown>;
      deepStrictEqual(Object.keys(body), [
        'flowId',
        'previewUrl',
        'previewUrlExpires',
        'expiresAt',
        'requestId',
      ]);
      strictEqual(body['flowId'], 'welcome-flow');
      match(String(body['previewUrl']), /^https:\/\/business\.facebook\.com\//);
      strictEqual(body['expiresAt'], new Date(Number(body['previewUrlExpires'])).toISOString());

      const page = await fetch(`${url}/`);
      strictEqual(page.headers.get('content-type'), 'text/html; charset=utf-8');
      match(await page.text(), /<title>Flow Preview — example web app<\/title>/);
      match(server.output(), /Example web page: http:\/\/127\.0\.0\.1:\d+\//);

      const denied = await fetch(`${url}/flows/denied-flow/preview-url`);
      strictEqual(denied.status, 403);
      strictEqual(((await denied.json()) as { error: { code: string } }).error.code, 'Ram.PermissionDeny');
    } finally {
      // npm itself ends by the signal (as a shell's Ctrl-C shows), or with 0; the server must say it stopped.
      const { code, signal } = await server.interrupt();
      strictEqual(code === 0 || signal === 'SIGINT', true, server.output());
    }
    match(server.output(), /\nstopped\n/);
  });
});

describe('npm start with cloud credentials', () => {
  it('calls the configured CAMS endpoint with the ALIBABA_CLOUD_* keys instead of starting the simulator', async () => {
    const key = { accessKeyId: 'LTAI.RealLookingKey', accessKeySecret: 'real-looking-secret' };
    const cams = await startCamsSimulator({ credentials: [key] });
    const server = start(
      'npm',
      ['start', '--silent'],
      cleanEnv({
        PORT: '0',
        CAMS_ENDPOINT: cams.url,
        ALIBABA_CLOUD_ACCESS_KEY_ID: key.accessKeyId,
        ALIBABA_CLOUD_ACCESS_KEY_SECRET: key.accessKeySecret,
      }),
    );
    try {
      const [, url] = await server.waitFor(/listening on (http:\/\/127\.0\.0\.1:\d+)/);
      match(
        server.output(),
        new RegExp(`CAMS: ${cams.url.replace(/[/.]/g, '\\$&')} with the ALIBABA_CLOUD_\\* credentials`),
      );
      strictEqual(server.output().includes('embedded simulator'), false);
      strictEqual((await fetch(`${url}/flows/welcome-flow/preview-url`)).status, 200);
      deepStrictEqual(
        cams.calls.map((call) => [call.accessKeyId, call.code]),
        [[key.accessKeyId, 'OK']],
      );
    } finally {
      await server.interrupt();
      await cams.stop();
    }
  });
});

describe('npm run simulator', () => {
  it('runs the CAMS simulator alone and prints the key it accepts', async () => {
    const simulator = start('npm', ['run', 'simulator', '--silent'], cleanEnv({ PORT: '0' }));
    try {
      const [, url] = await simulator.waitFor(/CAMS simulator listening on (http:\/\/127\.0\.0\.1:\d+)/);
      const [, id, secret, token] = await simulator.waitFor(
        /ALIBABA_CLOUD_ACCESS_KEY_ID=(\S+) ALIBABA_CLOUD_ACCESS_KEY_SECRET=(\S+) ALIBABA_CLOUD_SECURITY_TOKEN=(\S+)/,
      );
      const response = await signedCamsRequest(url ?? '', {
        accessKeyId: id ?? '',
        accessKeySecret: secret ?? '',
        securityToken: token ?? '',
        form: { FlowId: 'welcome-flow' },
      });
      strictEqual(response.status, 200, response.body);
      strictEqual(JSON.parse(response.body).Code, 'OK');
    } finally {
      const { code, signal } = await simulator.interrupt();
      strictEqual(code === 0 || signal === 'SIGINT', true);
    }
  });
});

describe('npm start is as strict as FC’s front door', () => {
  it('survives malformed request targets and 1,000 hostile requests, and still answers', async () => {
    const server = start('npm', ['start', '--silent'], cleanEnv({ PORT: '0' }));
    try {
      const [, url] = await server.waitFor(/listening on (http:\/\/127\.0\.0\.1:(\d+))/);
      const port = Number(new URL(url ?? '').port);
      for (const target of ['http://[::1', '//[', 'http://%zz/']) {
        const status = statusOf(await rawRequest(port, rawGet(target)));
        strictEqual(status > 0 && status < 500, true, `${target}: ${status}`);
      }
      // The function, not the front door, decides about these: it sees them raw (404/400), as on FC.
      const asOnFc: Array<[string, number]> = [
        ['/flows/x/../welcome-flow/preview-url', 404],
        ['/flows/x/%2e%2e/welcome-flow/preview-url', 404],
        ['/flows\\welcome-flow/preview-url', 404],
        ['/flows/welcome-flow/preview-url?__proto__=1', 400],
        ['/flows/welcome-flow/preview-url?constructor=1', 400],
      ];
      for (const [target, status] of asOnFc) {
        strictEqual(statusOf(await rawRequest(port, rawGet(target))), status, target);
      }
      const hostile = (i: number): string | Buffer => {
        const pick = [
          () => rawGet(`/flows/${'%'.repeat(i % 7)}zz/preview-url`),
          () => rawGet(`http://[${i}`),
          () => rawGet(`/flows/welcome-flow/preview-url?${'a=1&'.repeat(200)}`),
          () => rawGet('/', [`X-Big: ${'x'.repeat(20_000)}`]),
          () => rawGet('/flows/welcome-flow/preview-url', ['__proto__: {"polluted":true}', 'constructor: x']),
          () => Buffer.from([0x47, 0x45, 0x54, 0x20, 0xff, 0xfe, 0x00, 0x0d, 0x0a, 0x0d, 0x0a]),
          () => `BREW /pot HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
          () =>
            `GET /flows/a/preview-url HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n`,
          () => `POST /flows/a/preview-url HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc`,
          () => 'GET / HTTP/1.1\r\nHost',
        ];
        return (pick[i % pick.length] ?? pick[0])?.() ?? '';
      };
      // Four rounds of 250 at once: a request left incomplete holds its round for the 300 ms it is given.
      for (let round = 0; round < 4; round += 1) {
        await Promise.all(
          Array.from({ length: 250 }, (_, i) => rawRequest(port, hostile(round * 250 + i), 300)),
        );
      }
      strictEqual(server.child.exitCode, null, server.output());
      strictEqual((await fetch(`${url}/flows/welcome-flow/preview-url`)).status, 200);
    } finally {
      await server.interrupt();
    }
  });
});

describe('npm start enforces the trigger’s auth (FLOW_PREVIEW_AUTH_TYPE)', () => {
  it('function: a request signed by the caller module passes, an unsigned one gets 403', async () => {
    const server = start(
      'npm',
      ['start', '--silent'],
      cleanEnv({ PORT: '0', FLOW_PREVIEW_AUTH_TYPE: 'function' }),
    );
    try {
      const [, url] = await server.waitFor(/listening on (http:\/\/127\.0\.0\.1:\d+)/);
      const [, accessKeyId, accessKeySecret, securityToken] = await server.waitFor(
        /Accepted caller key: accessKeyId=(\S+) accessKeySecret=(\S+) securityToken=(\S+)/,
      );
      const credentials = {
        accessKeyId: accessKeyId ?? '',
        accessKeySecret: accessKeySecret ?? '',
        securityToken: securityToken ?? '',
      };
      const preview = await fetchFlowPreview(
        { flowId: 'welcome-flow' },
        { triggerUrl: url ?? '', credentials },
      );
      strictEqual(preview.flowId, 'welcome-flow');
      await rejects(
        fetchFlowPreview(
          { flowId: 'welcome-flow' },
          { triggerUrl: url ?? '', credentials: { ...credentials, accessKeySecret: 'guess' } },
        ),
        {
          code: 'SignatureDoesNotMatch',
          httpStatus: 403,
        },
      );
      strictEqual((await fetch(`${url}/flows/welcome-flow/preview-url`)).status, 403);
    } finally {
      await server.interrupt();
    }
  });

  it('function: one signed request is served once; its replays, with headers added or not, and dates 14 minutes ahead get 403', async () => {
    const server = start(
      'npm',
      ['start', '--silent'],
      cleanEnv({ PORT: '0', FLOW_PREVIEW_AUTH_TYPE: 'function' }),
    );
    try {
      const [, url] = await server.waitFor(/listening on (http:\/\/127\.0\.0\.1:\d+)/);
      const [, accessKeyId = '', accessKeySecret = '', securityToken = ''] = await server.waitFor(
        /Accepted caller key: accessKeyId=(\S+) accessKeySecret=(\S+) securityToken=(\S+)/,
      );
      const target = new URL('/flows/welcome-flow/preview-url', url);
      const port = Number(target.port);
      /** The request exactly as these headers say, with no client adding or changing any. */
      const replay = async (headers: Record<string, string>, extra: string[] = []) =>
        statusOf(
          await rawRequest(
            port,
            [
              `GET ${target.pathname} HTTP/1.1`,
              ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
              ...extra,
              'Connection: close',
              '',
              '',
            ].join('\r\n'),
          ),
        );
      // Signed by the caller module's signer (@alicloud/openapi-util), as fetchFlowPreview signs.
      const signed = signHeaders({
        method: 'GET',
        url: target,
        credentials: { accessKeyId, accessKeySecret, securityToken },
        timeoutMs: 5000,
      });
      const statuses = [];
      for (let i = 0; i < 5; i += 1) statuses.push(await replay(signed));
      statuses.push(await replay(signed, ['Cache-Control: no-cache', 'X-Forwarded-For: 10.0.0.1']));
      deepStrictEqual(statuses, [200, 403, 403, 403, 403, 403]);

      // Dated by hand and signed by the independent signer (dev/v3-signature.ts).
      const dated = (offsetMs: number) => {
        const headers = new Map([
          ['host', target.host],
          ['x-acs-date', new Date(Date.now() + offsetMs).toISOString().replace(/\.\d{3}Z$/, 'Z')],
          ['x-acs-security-token', securityToken],
        ]);
        const signable = { method: 'GET', path: target.pathname, query: [], headers, body: Buffer.alloc(0) };
        headers.set('authorization', authorize(signable, accessKeyId, accessKeySecret));
        return Object.fromEntries(headers);
      };
      deepStrictEqual(
        [
          await replay(dated(-14 * 60_000)),
          await replay(dated(14 * 60_000)),
          await replay(dated(-16 * 60_000)),
        ],
        [200, 403, 403],
      );
    } finally {
      await server.interrupt();
    }
  });

  it('jwt: a token from npm run token passes and is bound to its space; none gets 401', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'flow-preview-devkey-'));
    const env = cleanEnv({
      PORT: '0',
      FLOW_PREVIEW_AUTH_TYPE: 'jwt',
      FLOW_PREVIEW_DEV_KEY_FILE: join(dir, 'key.json'),
    });
    for (const key of Object.keys(env)) if (key.startsWith('JWT_')) delete env[key];
    const server = start('npm', ['start', '--silent'], env);
    try {
      const [, url] = await server.waitFor(/listening on (http:\/\/127\.0\.0\.1:\d+)/);
      match(server.output(), /Trigger auth: jwt/);
      const { stdout } = await run('npm', ['run', 'token', '--silent', '--', '--space', 'cams-abc'], { env });
      const token = stdout.trim();
      match(token, /^[\w-]+\.[\w-]+\.[\w-]+$/);
      const auth = { Authorization: `Bearer ${token}` };
      const ok = await fetch(`${url}/flows/welcome-flow/preview-url`, { headers: auth });
      strictEqual(ok.status, 200);
      const other = await fetch(`${url}/flows/welcome-flow/preview-url?custSpaceId=cams-other`, {
        headers: auth,
      });
      strictEqual(other.status, 403);
      strictEqual(((await other.json()) as { error: { code: string } }).error.code, 'SpaceNotAllowed');
      const none = await fetch(`${url}/flows/welcome-flow/preview-url`);
      strictEqual(none.status, 401);
      strictEqual(none.headers.get('www-authenticate'), 'Bearer realm="flow-preview"');
      strictEqual(server.output().includes(token), false);
    } finally {
      await server.interrupt();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses an unknown FLOW_PREVIEW_AUTH_TYPE at start', async () => {
    const server = start(
      'npm',
      ['start', '--silent'],
      cleanEnv({ PORT: '0', FLOW_PREVIEW_AUTH_TYPE: 'jwks' }),
    );
    const { code } = await new Promise<{ code: number | null }>((resolve) =>
      server.child.on('exit', (exitCode) => resolve({ code: exitCode })),
    );
    strictEqual(code, 1);
    match(server.output(), /FLOW_PREVIEW_AUTH_TYPE must be anonymous, function or jwt, got "jwks"/);
  });
});
