/// <reference lib="dom" />
/**
 * The example page in a real browser (Debian's Chromium, driven by playwright-core): served from one origin, it
 * calls the function on another. With the page's origin in CORS_ALLOWED_ORIGINS it shows the preview link (also with
 * a preflighted fresh-link request) and embeds it in a sandboxed frame, with Meta's interactive parameters as a
 * person fills them in (and the function's 400 when one of Meta's rules is broken); without it, the browser blocks
 * the answer and the page says so. A link that is not https is never shown nor embedded.
 *
 * Chromium stays offline: every host but loopback resolves to nothing, and the frame's request to Meta's preview
 * page is answered by the test.
 *
 * As npm start composes it (dev/start.ts): the function is a handler built from an environment object
 * (`createHandler(readConfig(env))`, here through tests/fixtures/function.ts) behind dev/local-server.ts. One Chromium
 * serves the whole file, a new context (its own cache) per block, as a new browser would; the real `npm start` of the
 * last block starts with the file, as it takes seconds to come up.
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
import { type Browser, type BrowserContext, chromium, type Page, type Request } from 'playwright-core';
import { type CamsSimulator, startCamsSimulator } from '../../dev/cams-simulator.js';
import { type FcHandler, type LocalServer, startLocalServer } from '../../dev/local-server.js';
import { servePage } from '../../dev/web-page.js';
import type { Env } from '../../shared/config.js';
import { ROLE_CREDENTIALS } from '../fixtures/fc.js';
import { buildFunction } from '../fixtures/function.js';
import { AUDIENCE, ISSUER, jwks, makeKey, SPACE_CLAIM, sign, type TestKey } from '../fixtures/jwt.js';
import { cleanEnv, type Started, start } from '../fixtures/process.js';

const run = promisify(execFile);

const CHROMIUM = '/usr/bin/chromium';
/** Nothing but loopback resolves: the embedded preview must never reach the internet from a test. */
const OFFLINE = '--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1';
const META_PREVIEW = 'https://business.facebook.com/**';
const missing = existsSync(CHROMIUM)
  ? undefined
  : `Chromium is not installed at ${CHROMIUM}${process.env['FLOW_PREVIEW_CHROMIUM_UNAVAILABLE'] ? ` (${process.env['FLOW_PREVIEW_CHROMIUM_UNAVAILABLE']})` : ''}; .ci/run installs it with apt (apt-get install chromium)`;
if (missing) process.stdout.write(`# browser test skipped: ${missing}\n`);

let chromiumStarted: Promise<Browser> | undefined;
/** The file's one Chromium, launched on first use. */
function launchedChromium(): Promise<Browser> {
  chromiumStarted ??= chromium.launch({
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
      OFFLINE,
    ],
  });
  return chromiumStarted;
}
after(async () => {
  await (await chromiumStarted)?.close();
});

interface NpmStart {
  readonly server: Started;
  /** `npm run token -- --space cams-abc` for the same development key, run once npm start is listening. */
  readonly token: Promise<{ stdout: string }>;
  readonly dir: string;
}
let npmStarted: Promise<NpmStart> | undefined;
/** The real `npm start` with FLOW_PREVIEW_AUTH_TYPE=jwt (its development key in a temporary file), begun once. */
function npmStart(): Promise<NpmStart> {
  npmStarted ??= (async () => {
    const dir = await mkdtemp(join(tmpdir(), 'flow-preview-browser-key-'));
    const env = cleanEnv({
      PORT: '0',
      FLOW_PREVIEW_AUTH_TYPE: 'jwt',
      FLOW_PREVIEW_DEV_KEY_FILE: join(dir, 'key.json'),
    });
    const server = start('npm', ['start', '--silent'], env);
    const token = server
      .waitFor(/listening on/)
      .then(() => run('npm', ['run', 'token', '--silent', '--', '--space', 'cams-abc'], { env }));
    token.catch(() => undefined); // the test that reads it reports its failure
    return { server, token, dir };
  })();
  return npmStarted;
}
// It takes seconds of CPU to come up: it does so while the other blocks run, once Chromium has started.
if (!missing)
  before(async () => {
    await launchedChromium();
    void npmStart();
  });
after(async () => {
  const started = await npmStarted;
  if (started === undefined) return;
  await started.server.interrupt();
  await started.token.catch(() => undefined);
  await rm(started.dir, { recursive: true, force: true });
});

/**
 * The function behind a local server as npm start serves it: the server is started once, and the instance it calls
 * is built from an environment object and can be replaced by a new one (a fresh cache, or other settings), as a
 * new FC instance would be. Its log lines are kept, not printed.
 */
class FunctionBehindServer {
  #handler: FcHandler = async () => {
    throw new Error('no instance built yet');
  };
  /** What the local server calls: the current instance. */
  readonly handler: FcHandler = (event, context) => this.#handler(event, context);
  /** Builds a new instance from `env` and serves it from now on. */
  serve(env: Env): void {
    this.#handler = buildFunction(env).handler;
  }
}

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
  let context: BrowserContext;
  let page: Page;
  const fn = new FunctionBehindServer();
  const served: string[] = [];
  /** The function's environment: the page's origin allowed. */
  let env: Env = {};

  before(async () => {
    cams = await startCamsSimulator({ credentials: [ROLE_CREDENTIALS] });
    pageServer = await startLocalServer({
      handler: fn.handler,
      credentials: ROLE_CREDENTIALS,
      extraRoutes: servePage,
    });
    functionServer = await startLocalServer({
      handler: (event, context) => {
        served.push(String(JSON.parse(event.toString()).requestContext.http.method));
        return fn.handler(event, context);
      },
      credentials: ROLE_CREDENTIALS,
    });
    // The fresh-link case asks right after a fetch: no refresh interval here (tests/redis-refresh covers it).
    env = { CAMS_ENDPOINT: cams.url, CORS_ALLOWED_ORIGINS: pageServer.url, PREVIEW_REFRESH_INTERVAL_S: '0' };
    fn.serve(env);
    browser = await launchedChromium();
    context = await browser.newContext();
    page = await context.newPage();
    // Meta's preview page, as the embedded frame asks for it (offline, it goes no further). Observed, not routed:
    // routing would turn off Chromium's cache and add `Cache-Control: no-cache` to the page's own requests.
    page.on('request', (request) => {
      if (request.url().startsWith('https://business.facebook.com/')) framed.push(request);
    });
    await page.goto(`${pageServer.url}/?api=${functionServer.url}`);
  });
  after(async () => {
    await context?.close();
    await functionServer?.close();
    await pageServer?.close();
    await cams?.stop();
  });

  const framed: Request[] = [];

  /** Meta's parameters as a person fills them in; every field is set on each submission (empty when not given). */
  interface LinkFields {
    interactive?: boolean;
    flowAction?: '' | 'navigate' | 'data_exchange';
    payload?: string;
    flowToken?: string;
    phoneNumber?: string;
    debug?: boolean;
  }

  /** Submits the form and waits for this submission's outcome (the previous one is cleared first). */
  async function ask(flowId: string, fresh = false, link: LinkFields = {}): Promise<void> {
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
    await page.setChecked('#interactive', link.interactive ?? false);
    await page.selectOption('#flowAction', link.flowAction ?? '');
    await page.fill('#payload', link.payload ?? '');
    await page.fill('#flowToken', link.flowToken ?? '');
    await page.fill('#phoneNumber', link.phoneNumber ?? '');
    await page.setChecked('#debug', link.debug ?? false);
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
    fn.serve(env); // a new instance: nothing cached yet
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

  it('embeds the returned link, with the parameters a person filled in, in a sandboxed frame whose src is exactly the link', async () => {
    fn.serve(env);
    framed.length = 0;
    const payload = '{"screen": "FIRST_SCREEN", "data": {"screen_heading": "hello world"}}';
    const frameAsked = page.waitForRequest((request) =>
      request.url().startsWith('https://business.facebook.com/'),
    );
    await ask('welcome-flow', false, {
      interactive: true,
      flowAction: 'navigate',
      payload,
      flowToken: 'tok en+1/é',
      phoneNumber: '+1 555 000 1111',
      debug: true,
    });
    ok(await page.isVisible('#result'), (await page.textContent('#error')) ?? '');
    const href = (await page.getAttribute('#preview-link', 'href')) ?? '';
    const link = new URL(href);
    const token = link.searchParams.get('token') ?? '';
    match(token, /^[0-9a-f-]{36}$/);
    // Each value exactly as typed, written as Meta shows it (a space is %20, never +).
    deepStrictEqual(
      [...link.searchParams],
      [
        ['token', token],
        ['interactive', 'true'],
        ['flow_token', 'tok en+1/é'],
        ['flow_action', 'navigate'],
        ['flow_action_payload', payload],
        ['phone_number', '+1 555 000 1111'],
        ['debug', 'true'],
      ],
    );
    ok(href.includes('hello%20world') && !href.includes('+'), JSON.stringify(href));
    // The frame: exactly the link, Meta's suggested size, sandboxed, no referrer.
    const frame = await page.$eval('#preview-frame', (element) =>
      Object.fromEntries(
        ['src', 'width', 'height', 'sandbox', 'referrerpolicy', 'title'].map((name) => [
          name,
          element.getAttribute(name),
        ]),
      ),
    );
    deepStrictEqual(frame, {
      src: href,
      width: '430',
      height: '800',
      sandbox: 'allow-scripts allow-same-origin allow-forms',
      referrerpolicy: 'no-referrer',
      title: 'WhatsApp Flow preview',
    });
    // What the browser asked for: the link, as the frame's navigation, without a Referer.
    const request = await frameAsked;
    deepStrictEqual(
      [request.url(), request.isNavigationRequest(), request.frame() === page.mainFrame()],
      [href, true, false],
    );
    strictEqual(await request.headerValue('referer'), null);
    deepStrictEqual(framed, [request]);
  });

  it('shows the function’s 400 message when one of Meta’s rules is broken, and embeds nothing', async () => {
    framed.length = 0;
    const refusals: Array<[LinkFields, string]> = [
      [
        { interactive: true, flowAction: 'navigate' },
        'flow_action_payload is required when flow_action is navigate',
      ],
      [
        { flowAction: 'data_exchange', phoneNumber: '+15550001111' },
        'flow_token is required when flow_action is data_exchange',
      ],
      [
        {
          flowAction: 'data_exchange',
          flowToken: 't',
          phoneNumber: '+15550001111',
          payload: '{"screen":"A"}',
        },
        'flow_action_payload must be omitted when flow_action is data_exchange',
      ],
      [
        { flowAction: 'navigate', payload: '{screen: A}' },
        'flow_action_payload must be JSON text, like {"screen": "WELCOME", "data": {}}',
      ],
    ];
    for (const [fields, message] of refusals) {
      await ask('welcome-flow', false, fields);
      strictEqual(await page.textContent('#error'), message);
      strictEqual(await page.isVisible('#result'), false);
      strictEqual(await page.$('#preview-frame'), null);
    }
    deepStrictEqual(framed, []);
  });

  it('never links nor embeds a previewUrl that is not https (a javascript: or http: URL from whatever ?api= names)', async () => {
    let previewUrl = '';
    const fake = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'access-control-allow-origin': '*' });
      res.end(
        JSON.stringify({
          flowId: 'welcome-flow',
          previewUrl,
          previewUrlExpires: Date.now() + 60_000,
          expiresAt: new Date(Date.now() + 60_000).toISOString(),
          requestId: 'fake',
        }),
      );
    });
    await new Promise<void>((resolve) => fake.listen(0, '127.0.0.1', resolve));
    const other = await context.newPage();
    const requested: string[] = [];
    other.on('request', (request) => requested.push(request.url()));
    await other.route(META_PREVIEW, (route) =>
      route.fulfill({ status: 200, contentType: 'text/html', body: '<title>Meta preview stand-in</title>' }),
    );
    const submit = async (): Promise<void> => {
      await other.evaluate(() => {
        for (const id of ['result', 'error']) {
          const element = document.getElementById(id);
          if (element) element.hidden = true;
        }
      });
      await other.fill('#flowId', 'welcome-flow');
      await other.click('#go');
      await waitForAnswer(other);
    };
    try {
      await other.goto(`${pageServer.url}/?api=http://127.0.0.1:${(fake.address() as AddressInfo).port}`);
      // The control: from this same fake, an https link is linked and embedded.
      previewUrl = 'https://business.facebook.com/wa/manage/flows/welcome-flow/preview/?token=fake';
      await submit();
      strictEqual(await other.getAttribute('#preview-frame', 'src'), previewUrl);
      const httpLink = 'http://business.facebook.com/wa/manage/flows/welcome-flow/preview/?token=fake';
      for (const notHttps of ['javascript:document.title="pwned"', httpLink, ' javascript:alert(1)']) {
        previewUrl = notHttps;
        await submit();
        strictEqual(
          await other.textContent('#error'),
          'Flow Preview answered with a preview link that is not an https:// URL; it is not shown.',
          notHttps,
        );
        strictEqual(await other.isVisible('#result'), false);
        strictEqual(await other.$('#preview-frame'), null, notHttps);
        deepStrictEqual(
          other.frames().map((frame) => frame.url()),
          [other.url()],
        );
      }
      strictEqual(await other.title(), 'Flow Preview — example web app');
      ok(!requested.some((url) => url.startsWith('http://business.facebook.com')), requested.join('\n'));
    } finally {
      await other.close();
      await new Promise((resolve) => fake.close(resolve));
    }
  });

  it('is blocked by the browser when the page’s origin is not allowed, and says so', async () => {
    fn.serve({ ...env, CORS_ALLOWED_ORIGINS: 'https://some-other-app.example.com' });
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
      fn.serve(env);
    }
  });
});

describe('the example page in Chromium, with caller identity (JWT_*)', { skip: missing ?? false }, () => {
  let cams: CamsSimulator;
  let pageServer: LocalServer;
  let functionServer: LocalServer;
  let context: BrowserContext;
  let page: Page;
  const fn = new FunctionBehindServer();
  let env: Env = {};
  let key: TestKey;
  const seen: Array<{ method: string; authorization: string | undefined; query: Record<string, string> }> =
    [];

  before(async () => {
    key = await makeKey('ES256', 'browser-key');
    cams = await startCamsSimulator({ credentials: [ROLE_CREDENTIALS] });
    pageServer = await startLocalServer({
      handler: fn.handler,
      credentials: ROLE_CREDENTIALS,
      extraRoutes: servePage,
    });
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
        return fn.handler(event, context);
      },
      credentials: ROLE_CREDENTIALS,
    });
    env = {
      CAMS_ENDPOINT: cams.url,
      CORS_ALLOWED_ORIGINS: pageServer.url,
      JWT_JWKS: jwks(key),
      JWT_ISSUER: ISSUER,
      JWT_AUDIENCE: AUDIENCE,
      JWT_SPACE_CLAIM: SPACE_CLAIM,
    };
    fn.serve(env);
    context = await (await launchedChromium()).newContext();
    page = await context.newPage();
    await page.goto(`${pageServer.url}/?api=${functionServer.url}`);
  });
  after(async () => {
    await context?.close();
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
    fn.serve(env); // a new instance: nothing cached yet
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
  let context: BrowserContext;
  let page: Page;

  before(async () => {
    const { server } = await npmStart();
    const url = (await server.waitFor(/listening on (http:\/\/127\.0\.0\.1:\d+)/))[1] ?? '';
    context = await (await launchedChromium()).newContext();
    page = await context.newPage();
    await page.goto(`${url}/`);
  });
  after(async () => {
    await context?.close();
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
    const { stdout } = await (await npmStart()).token;
    await submit(stdout.trim());
    ok(await page.isVisible('#result'), (await page.textContent('#error')) ?? '');
    match((await page.getAttribute('#preview-link', 'href')) ?? '', /^https:\/\/business\.facebook\.com\//);
  });
});
