/** `npm start` end to end: the real command, a real HTTP request, Ctrl-C. */
import { deepStrictEqual, match, strictEqual } from 'node:assert/strict';
import { describe, it } from 'node:test';
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
