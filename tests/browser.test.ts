/// <reference lib="dom" />
/**
 * The example page in a real browser (Debian's Chromium, driven by playwright-core): served from one origin, it
 * calls the function on another. With the page's origin in CORS_ALLOWED_ORIGINS it shows the preview link (also with
 * a preflighted fresh-link request); without it, the browser blocks the answer and the page says so.
 */

import { match, ok, strictEqual } from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { type Browser, chromium, type Page } from 'playwright-core';
import { type CamsSimulator, startCamsSimulator } from '../dev/cams-simulator.js';
import { type LocalServer, startLocalServer } from '../dev/local-server.js';
import { servePage } from '../dev/web-page.js';
import { handler, previewCache } from '../functions/get-flow-preview-url/index.js';
import { ROLE_CREDENTIALS, setEnv, silenceLogs } from './fixtures/fc.js';

const CHROMIUM = '/usr/bin/chromium';
const missing = existsSync(CHROMIUM)
  ? undefined
  : `Chromium is not installed at ${CHROMIUM}${process.env['FLOW_PREVIEW_CHROMIUM_UNAVAILABLE'] ? ` (${process.env['FLOW_PREVIEW_CHROMIUM_UNAVAILABLE']})` : ''}; .ci/run installs it with apt (apt-get install chromium)`;
if (missing) process.stdout.write(`# browser test skipped: ${missing}\n`);

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
