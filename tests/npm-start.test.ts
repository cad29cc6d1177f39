/** `npm start` end to end: the real command, a real HTTP request, Ctrl-C. */
import { deepStrictEqual, match, strictEqual } from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startCamsSimulator } from '../dev/cams-simulator.js';
import { signedCamsRequest } from '../dev/signed-request.js';
import { cleanEnv, start } from './fixtures/process.js';

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
