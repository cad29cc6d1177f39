/**
 * The built artifact: dist/index.js copied alone into an empty folder (as `code: ./dist` deploys it, with no
 * node_modules anywhere up the tree) loads in a fresh node process and answers one invocation.
 */

import { deepStrictEqual, match, strictEqual } from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFile, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { type CamsSimulator, startCamsSimulator } from '../../dev/cams-simulator.js';
import { ROLE_CREDENTIALS } from '../fixtures/fc.js';
import { cleanEnv } from '../fixtures/process.js';

const run = promisify(execFile);
let dir: string;
let cams: CamsSimulator;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'flow-preview-dist-'));
  await copyFile('dist/index.js', join(dir, 'index.js'));
  cams = await startCamsSimulator({ credentials: [ROLE_CREDENTIALS] });
});
after(async () => {
  await cams.stop();
  await rm(dir, { recursive: true, force: true });
});

const INVOKE = `
const { handler } = require('./index.js');
const [event, context] = JSON.parse(process.argv[1]);
handler(Buffer.from(event), context).then((result) => process.stderr.write('RESULT ' + JSON.stringify(result) + '\\n'));
`;

describe('dist/index.js', () => {
  it('is one file that needs nothing beside it', async () => {
    deepStrictEqual(await readdir(dir), ['index.js']);
    const { stdout } = await run(
      process.execPath,
      ['-e', "console.log(typeof require('./index.js').handler)"],
      { cwd: dir },
    );
    strictEqual(stdout.trim(), 'function');
  });

  it('leaves the XML parsers out: the bundle carries no xml2js, sax or xmlbuilder', async () => {
    const source = await readFile('dist/index.js', 'utf8');
    for (const marker of ['xml2js', 'sax.SAXParser', 'XMLBuilder', 'xmlbuilder']) {
      strictEqual(source.includes(marker), false, marker);
    }
  });

  it('still maps an XML error body from CAMS (the only XML openapi-client reads)', async () => {
    cams.script({
      kind: 'raw',
      status: 400,
      contentType: 'text/xml;charset=utf-8',
      body: '<?xml version="1.0" encoding="UTF-8"?><Error><RequestId>XML-RID-1</RequestId><Code>Ram.PermissionDeny</Code><Message>denied</Message></Error>',
    });
    const context = { requestId: 'dist-req-2', credentials: ROLE_CREDENTIALS, function: { timeout: 10 } };
    const env = cleanEnv({ CAMS_ENDPOINT: cams.url, NODE_PATH: '' });
    const { stderr } = await run(
      process.execPath,
      ['-e', INVOKE, JSON.stringify(['{"flowId":"welcome-flow"}', context])],
      {
        cwd: dir,
        env,
      },
    );
    deepStrictEqual(JSON.parse(/RESULT (.*)/.exec(stderr)?.[1] ?? 'null'), {
      error: {
        code: 'Ram.PermissionDeny',
        message: "The function's role is not allowed to call cams:GetFlowPreviewUrl",
        status: 403,
        requestId: 'XML-RID-1',
      },
    });
  });

  it('answers a direct invocation and an HTTP event against CAMS', async () => {
    const context = { requestId: 'dist-req-1', credentials: ROLE_CREDENTIALS, function: { timeout: 10 } };
    const env = cleanEnv({ CAMS_ENDPOINT: cams.url, NODE_PATH: '' });
    const direct = await run(
      process.execPath,
      ['-e', INVOKE, JSON.stringify(['{"flowId":"welcome-flow"}', context])],
      { cwd: dir, env },
    );
    const result = JSON.parse(/RESULT (.*)/.exec(direct.stderr)?.[1] ?? 'null');
    strictEqual(result.flowId, 'welcome-flow');
    strictEqual(result.requestId, cams.calls.at(-1)?.requestId);
    // The log line goes to stdout, one JSON object.
    strictEqual(JSON.parse(direct.stdout.trim()).outcome, 'OK');

    const httpEvent = JSON.stringify({
      version: 'v1',
      rawPath: '/flows/survey-2026/preview-url',
      headers: {},
      queryParameters: {},
      body: '',
      isBase64Encoded: false,
      requestContext: { http: { method: 'GET', path: '/flows/survey-2026/preview-url' } },
    });
    const http = await run(process.execPath, ['-e', INVOKE, JSON.stringify([httpEvent, context])], {
      cwd: dir,
      env,
    });
    const response = JSON.parse(/RESULT (.*)/.exec(http.stderr)?.[1] ?? 'null');
    strictEqual(response.statusCode, 200);
    strictEqual(response.headers['X-Request-Id'], 'dist-req-1');
    match(JSON.parse(response.body).previewUrl, /^https:\/\//);
  });
});

describe('the callers’ client bundle', () => {
  it('is exported from the package as flow-preview/client (lib/client.cjs, built by npm run build)', () => {
    const exported = require('flow-preview/client') as Record<string, unknown>;
    deepStrictEqual(
      ['invokeFlowPreview', 'FlowPreviewError', 'FunctionComputeError'].map((name) => typeof exported[name]),
      ['function', 'function', 'function'],
    );
  });
});
