/// <reference lib="dom" />
/**
 * The example page in a real browser (Debian's Chromium, driven by playwright-core): served from one origin, it
 * calls the function on another. With the page's origin in CORS_ALLOWED_ORIGINS it shows the preview link (also with
 * a preflighted fresh-link request); without it, the browser blocks the answer and the page says so.
 */

import { deepStrictEqual, match, ok, strictEqual } from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { type Browser, chromium, type Page } from 'playwright-core';
import { type CamsSimulator, startCamsSimulator } from '../dev/cams-simulator.js';
import { type LocalServer, startLocalServer } from '../dev/local-server.js';
import { servePage } from '../dev/web-page.js';
import { handler, previewCache } from '../functions/get-flow-preview-url/index.js';
import { ROLE_CREDENTIALS, setEnv, silenceLogs } from './fixtures/fc.js';
import { AUDIENCE, ISSUER, jwks, makeKey, SPACE_CLAIM, sign, type TestKey } from './fixtures/jwt.js';
import { cleanEnv, type Started, start } from './fixtures/process.js';

const run = promisify(execFile);

const CHROMIUM = '/usr/bin/chromium';
const missing = existsSync(CHROMIUM)
  ? undefined
  : `Chromium is not installed at ${CHROMIUM}${process.env['FLOW_PREVIEW_CHROMIUM_UNAVAILABLE'] ? ` (${process.env['FLOW_PREVIEW_CHROMIUM_UNAVAILABLE']})` : ''}; .ci/run installs it with apt (apt-get install chromium)`;
if (missing) process.stdout.write(`# browser test skipped: ${missing}\n`);

/** Waits until the page is no longer busy and shows either the link or an error. */
async function waitForAnswer(page: Page): Promise<void> {
  await page.waitForFunction(() => {
    const busy = document.getElementById('go') as HTMLButtonElement | null;
    const result = document.getElementById('result');
    const error = document.getElementById('error');
    return !busy?.disabled && ((result && !result.hidden) || (error && !error.hidden));
  });
}

describe('the example page in Chromium', { skip: missing ?? false }, () => {
  let cams: CamsSimulator;
  let pageServer: LocalServer;
  let functionServer: LocalServer;
  let browser: Browser;
  let page: Page;
  let restoreEnv: () => void;
  const served: string[] = [];

  before(async () => {
    silenceLogs();
    cams = await startCamsSimulator({ credentials: [ROLE_CREDENTIALS] });
    pageServer = await startLocalServer({ handler, credentials: ROLE_CREDENTIALS, extraRoutes: servePage });
    functionServer = await startLocalServer({
      handler: (event, context) => {
        served.push(String(JSON.parse(event.toString()).requestContext.http.method));
        return handler(event, context);
      },
      credentials: ROLE_CREDENTIALS,
    });
    // The fresh-link case asks right after a fetch: no refresh interval here (tests/redis-refresh covers it).
    restoreEnv = setEnv({
      CAMS_ENDPOINT: cams.url,
      CORS_ALLOWED_ORIGINS: pageServer.url,
      PREVIEW_REFRESH_INTERVAL_S: '0',
    });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-quic',
        '--no-first-run',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    page = await browser.newPage();
    await page.goto(`${pageServer.url}/?api=${functionServer.url}`);
  });
  after(async () => {
    await browser?.close();
    restoreEnv?.();
    await functionServer?.close();
    await pageServer?.close();
    await cams?.stop();
  });

  /** Submits the form and waits for this submission's outcome (the previous one is cleared first). */
  async function ask(flowId: string, fresh = false): Promise<void> {
    await page.evaluate(() => {
      for (const id of ['result', 'error']) {
        const element = document.getElementById(id);
        if (element) element.hidden = true;
      }
      const error = document.getElementById('error');
      if (error) error.textContent = '';
    });
    await page.fill('#flowId', flowId);
    await page.setChecked('#fresh', fresh);
    await page.click('#go');
    await page.waitForFunction(() => {
      const result = document.getElementById('result');
      const error = document.getElementById('error');
      return (result && !result.hidden) || (error && !error.hidden && (error.textContent ?? '') !== '');
    });
  }

  it('is served with the origin of the function it calls shown', async () => {
    strictEqual(await page.textContent('#api'), functionServer.url);
    ok(new URL(pageServer.url).origin !== new URL(functionServer.url).origin);
  });

  it('shows the preview link and its expiry when the page’s origin is allowed', async () => {
    previewCache.clear();
    await ask('welcome-flow');
    const href = await page.getAttribute('#preview-link', 'href');
    match(
      href ?? '',
      /^https:\/\/business\.facebook\.com\/wa\/manage\/flows\/welcome-flow\/preview\/\?token=/,
    );
    ok(((await page.textContent('#expires')) ?? '').length > 0);
    strictEqual(await page.textContent('#cache'), '(cache: miss)'); // X-Cache is readable: it is exposed
    await page.screenshot({ path: 'tests/.browser-allowed.png' }).catch(() => undefined);
  });

  it('passes the CORS preflight that a fresh-link request (Cache-Control header) needs', async () => {
    served.length = 0;
    await ask('welcome-flow', true);
    ok(await page.isVisible('#result'));
    strictEqual(await page.textContent('#cache'), '(cache: refresh)');
    strictEqual(served[0], 'OPTIONS');
    strictEqual(served[1], 'GET');
  });

  it('shows the function’s error.message for an error', async () => {
    await ask('denied-flow');
    strictEqual(
      await page.textContent('#error'),
      "The function's role is not allowed to call cams:GetFlowPreviewUrl",
    );
  });

  it('never turns a previewUrl that is not https into a link (a javascript: URL from whatever ?api= names)', async () => {
    const fake = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'access-control-allow-origin': '*' });
      res.end(
        JSON.stringify({
          flowId: 'welcome-flow',
          previewUrl: 'javascript:document.title="pwned"',
          previewUrlExpires: Date.now() + 60_000,
          expiresAt: new Date(Date.now() + 60_000).toISOString(),
          requestId: 'fake',
        }),
      );
    });
    await new Promise<void>((resolve) => fake.listen(0, '127.0.0.1', resolve));
    const other = await browser.newPage();
    try {
      await other.goto(`${pageServer.url}/?api=http://127.0.0.1:${(fake.address() as AddressInfo).port}`);
      await other.fill('#flowId', 'welcome-flow');
      await other.click('#go');
      await other.waitForFunction(() => !(document.getElementById('error')?.hidden ?? true));
      strictEqual(
        await other.textContent('#error'),
        'Flow Preview answered with a preview link that is not an https:// URL; it is not shown.',
      );
      strictEqual(await other.getAttribute('#preview-link', 'href'), '#result');
      strictEqual(await other.isVisible('#result'), false);
    } finally {
      await other.close();
      await new Promise((resolve) => fake.close(resolve));
    }
  });

  it('is blocked by the browser when the page’s origin is not allowed, and says so', async () => {
    const restore = setEnv({ CORS_ALLOWED_ORIGINS: 'https://some-other-app.example.com' });
    const consoleErrors: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error') consoleErrors.push(message.text());
    });
    try {
      served.length = 0;
      // A flow this browser has not cached: a cached 200 (Cache-Control: private, max-age) needs no request.
      await ask('survey-2026');
      match(
        (await page.textContent('#error')) ?? '',
        /^Could not reach Flow Preview at http:\/\/127\.0\.0\.1:\d+: the request failed or the browser blocked it/,
      );
      strictEqual(await page.isVisible('#result'), false);
      // The function did answer; it was the browser that withheld the answer from the page.
      strictEqual(served[0], 'GET');
      ok(
        consoleErrors.some((text) => /CORS/.test(text)),
        consoleErrors.join('\n'),
      );
      await page.screenshot({ path: 'tests/.browser-blocked.png' }).catch(() => undefined);
    } finally {
      restore();
    }
  });
});

describe('the example page in Chromium, with caller identity (JWT_*)', { skip: missing ?? false }, () => {
  let cams: CamsSimulator;
  let pageServer: LocalServer;
  let functionServer: LocalServer;
  let browser: Browser;
  let page: Page;
  let restoreEnv: () => void;
  let key: TestKey;
  const seen: Array<{ method: string; authorization: string | undefined; query: Record<string, string> }> =
    [];

  before(async () => {
    silenceLogs();
    key = await makeKey('ES256', 'browser-key');
    cams = await startCamsSimulator({ credentials: [ROLE_CREDENTIALS] });
    pageServer = await startLocalServer({ handler, credentials: ROLE_CREDENTIALS, extraRoutes: servePage });
    functionServer = await startLocalServer({
      handler: (event, context) => {
        const parsed = JSON.parse(event.toString()) as {
          requestContext: { http: { method: string } };
          headers: Record<string, string>;
          queryParameters: Record<string, string>;
        };
        seen.push({
          method: parsed.requestContext.http.method,
          authorization: parsed.headers['Authorization'] ?? parsed.headers['authorization'],
          query: parsed.queryParameters,
        });
        return handler(event, context);
      },
      credentials: ROLE_CREDENTIALS,
    });
    restoreEnv = setEnv({
      CAMS_ENDPOINT: cams.url,
      CORS_ALLOWED_ORIGINS: pageServer.url,
      JWT_JWKS: jwks(key),
      JWT_ISSUER: ISSUER,
      JWT_AUDIENCE: AUDIENCE,
      JWT_SPACE_CLAIM: SPACE_CLAIM,
    });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu'],
    });
    page = await browser.newPage();
    await page.goto(`${pageServer.url}/?api=${functionServer.url}`);
  });
  after(async () => {
    await browser?.close();
    restoreEnv?.();
    await functionServer?.close();
    await pageServer?.close();
    await cams?.stop();
  });

  async function ask(fields: { flowId: string; custSpaceId?: string; token?: string }): Promise<void> {
    await page.evaluate(() => {
      for (const id of ['result', 'error']) {
        const element = document.getElementById(id);
        if (element) element.hidden = true;
      }
    });
    await page.fill('#flowId', fields.flowId);
    await page.fill('#custSpaceId', fields.custSpaceId ?? '');
    await page.fill('#token', fields.token ?? '');
    await page.click('#go');
    await waitForAnswer(page);
  }

  it('sends the token from the token field, trimmed, and shows the link for the token’s own space', async () => {
    previewCache.clear();
    seen.length = 0;
    const token = await sign(key, { claims: { [SPACE_CLAIM]: 'cams-a' } });
    await ask({ flowId: '  welcome-flow ', token: ` ${token}\n` });
    ok(await page.isVisible('#result'), (await page.textContent('#error')) ?? '');
    strictEqual(seen.at(-1)?.authorization, `Bearer ${token}`);
    deepStrictEqual(
      cams.calls.map((call) => call.params['CustSpaceId']),
      ['cams-a'],
    );
  });

  it('says a token is needed when none is given (401), and that it was not accepted when expired', async () => {
    await ask({ flowId: 'welcome-flow' });
    strictEqual(
      await page.textContent('#error'),
      'This function needs a token: paste one in the Token field. (This endpoint needs a token: send Authorization: Bearer <token>)',
    );
    await ask({ flowId: 'welcome-flow', token: await sign(key, { expiresIn: -3600 }) });
    strictEqual(
      await page.textContent('#error'),
      'Your token was not accepted — get a new one and try again. (The token has expired)',
    );
  });

  it('lets the page’s script read a 401’s WWW-Authenticate challenge and a 403’s status', async () => {
    const url = `${functionServer.url}/flows/welcome-flow/preview-url`;
    const expired = await sign(key, { expiresIn: -3600 });
    const otherSpace = await sign(key, { claims: { [SPACE_CLAIM]: 'cams-a' } });
    // A loop, not a helper: tsx would wrap a named function in a helper the page does not have.
    const seenByScript = await page.evaluate(
      async (requests) => {
        const results: Array<[number, string | null]> = [];
        for (const [target, authorization] of requests) {
          const response = await fetch(
            target,
            authorization ? { headers: { Authorization: authorization } } : {},
          );
          results.push([response.status, response.headers.get('WWW-Authenticate')]);
        }
        return results;
      },
      [
        [url, ''],
        [url, `Bearer ${expired}`],
        [`${url}?custSpaceId=cams-b`, `Bearer ${otherSpace}`],
      ] as Array<[string, string]>,
    );
    deepStrictEqual(seenByScript, [
      [401, 'Bearer realm="flow-preview"'],
      [401, 'Bearer realm="flow-preview", error="invalid_token"'],
      [403, null],
    ]);
  });

  it('says the token does not allow another tenant’s space (403)', async () => {
    const calls = cams.calls.length;
    await ask({
      flowId: 'welcome-flow',
      custSpaceId: ' cams-b ',
      token: await sign(key, { claims: { [SPACE_CLAIM]: 'cams-a' } }),
    });
    strictEqual(
      await page.textContent('#error'),
      'Your token does not allow this space — check the Space id, or leave it empty to use your own. (Your token does not grant access to this custSpaceId)',
    );
    strictEqual(seen.at(-1)?.query['custSpaceId'], 'cams-b');
    strictEqual(cams.calls.length, calls);
  });

  it('shows that it is busy while waiting, and cannot be submitted twice', async () => {
    cams.script({ kind: 'delay', ms: 700 });
    const token = await sign(key, { claims: { [SPACE_CLAIM]: 'cams-busy' } });
    await page.fill('#flowId', 'order_status_01');
    await page.fill('#custSpaceId', '');
    await page.fill('#token', token);
    const before = seen.length;
    await page.click('#go');
    await page.waitForFunction(
      () => (document.getElementById('go') as HTMLButtonElement | null)?.disabled === true,
    );
    strictEqual(await page.getAttribute('#form', 'aria-busy'), 'true');
    strictEqual(await page.textContent('#busy'), 'Asking Flow Preview…');
    await page.evaluate(() => (document.getElementById('form') as HTMLFormElement | null)?.requestSubmit());
    await page.waitForFunction(
      () => (document.getElementById('go') as HTMLButtonElement | null)?.disabled === false,
    );
    strictEqual(await page.getAttribute('#form', 'aria-busy'), 'false');
    ok(await page.isVisible('#result'));
    strictEqual(
      seen.filter((entry) => entry.method === 'GET').length -
        seen.slice(0, before).filter((e) => e.method === 'GET').length,
      1,
    );
  });
});

describe('the example page in Chromium, served by npm start with FLOW_PREVIEW_AUTH_TYPE=jwt', {
  skip: missing ?? false,
}, () => {
  let server: Started;
  let browser: Browser;
  let page: Page;
  let url = '';
  let dir = '';
  let env: NodeJS.ProcessEnv = {};

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'flow-preview-browser-key-'));
    env = cleanEnv({
      PORT: '0',
      FLOW_PREVIEW_AUTH_TYPE: 'jwt',
      FLOW_PREVIEW_DEV_KEY_FILE: join(dir, 'key.json'),
    });
    server = start('npm', ['start', '--silent'], env);
    url = (await server.waitFor(/listening on (http:\/\/127\.0\.0\.1:\d+)/))[1] ?? '';
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu'],
    });
    page = await browser.newPage();
    await page.goto(`${url}/`);
  });
  after(async () => {
    await browser?.close();
    await server?.interrupt();
    await rm(dir, { recursive: true, force: true });
  });

  async function submit(token: string): Promise<void> {
    await page.evaluate(() => {
      for (const id of ['result', 'error']) {
        const element = document.getElementById(id);
        if (element) element.hidden = true;
      }
    });
    await page.fill('#flowId', 'welcome-flow');
    await page.fill('#token', token);
    await page.click('#go');
    await waitForAnswer(page);
  }

  it('is refused by the trigger without a token and shows the link with one from npm run token', async () => {
    await submit('');
    strictEqual(
      await page.textContent('#error'),
      'This function needs a token: paste one in the Token field. (The trigger needs Authorization: Bearer <token>)',
    );
    const { stdout } = await run('npm', ['run', 'token', '--silent', '--', '--space', 'cams-abc'], { env });
    await submit(stdout.trim());
    ok(await page.isVisible('#result'), (await page.textContent('#error')) ?? '');
    match((await page.getAttribute('#preview-link', 'href')) ?? '', /^https:\/\/business\.facebook\.com\//);
  });
});
