/**
 * The verifier ships beside the bundle (dist/jwt-verifier.js, with jose inside) and is loaded only when JWT_* is
 * configured: a function without caller identity never reads it at cold start.
 */
import { deepStrictEqual, strictEqual } from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { useCamsSimulator } from '../fixtures/cams.js';
import { fcContext, httpEvent } from '../fixtures/fc.js';
import { AUDIENCE, ISSUER, jwks, makeKey, SPACE_CLAIM, sign } from '../fixtures/jwt.js';
import { cleanEnv } from '../fixtures/process.js';

const run = promisify(execFile);
const cams = useCamsSimulator();
let dir: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'flow-preview-jwt-dist-'));
  await copyFile('dist/index.js', join(dir, 'index.js'));
  await copyFile('dist/jwt-verifier.js', join(dir, 'jwt-verifier.js'));
});
after(() => rm(dir, { recursive: true, force: true }));

/** Invokes the copied bundle once in a fresh node; reports the answer and which bundle files were loaded. */
const INVOKE = `
const { handler } = require('./index.js');
const [event, context] = JSON.parse(process.argv[1]);
handler(Buffer.from(event), context).then((result) => {
  const loaded = Object.keys(require.cache).map((file) => require('node:path').basename(file)).sort();
  process.stderr.write('RESULT ' + JSON.stringify({ status: result.statusCode, body: JSON.parse(result.body), loaded }));
});
`;

async function invoke(env: Record<string, string>, headers: Record<string, string>) {
  const event = httpEvent({ headers });
  const { stderr } = await run(
    process.execPath,
    ['-e', INVOKE, JSON.stringify([event.toString('utf8'), fcContext()])],
    { cwd: dir, env: cleanEnv({ CAMS_ENDPOINT: 'http://127.0.0.1:9', ...env }) },
  );
  return JSON.parse(stderr.slice(stderr.indexOf('RESULT ') + 7)) as {
    status: number;
    body: { error: { code: string; message: string }; flowId?: string };
    loaded: string[];
  };
}

describe('dist/jwt-verifier.js', () => {
  it('keeps jose out of the main bundle', async () => {
    const main = await readFile('dist/index.js', 'utf8');
    const verifier = await readFile('dist/jwt-verifier.js', 'utf8');
    strictEqual(main.includes('createRemoteJWKSet'), false);
    strictEqual(verifier.includes('createRemoteJWKSet'), true);
  });

  it('is not loaded when JWT_* is not configured', async () => {
    // The whole path, CAMS's answer included, without it.
    const answer = await invoke({ CAMS_ENDPOINT: cams.url }, {});
    deepStrictEqual([answer.status, answer.body.flowId], [200, 'welcome-flow'], JSON.stringify(answer));
    deepStrictEqual(answer.loaded, ['index.js']);
    strictEqual(cams.calls.length, 1);
  });

  it('is loaded from beside the bundle and verifies tokens when JWT_* is configured', async () => {
    const key = await makeKey('ES256', 'bundle-key');
    const env = {
      JWT_JWKS: jwks(key),
      JWT_ISSUER: ISSUER,
      JWT_AUDIENCE: AUDIENCE,
      JWT_SPACE_CLAIM: SPACE_CLAIM,
    };
    const expired = await invoke(env, { Authorization: `Bearer ${await sign(key, { expiresIn: -3600 })}` });
    deepStrictEqual(
      [expired.status, expired.body.error.message, expired.loaded],
      [401, 'The token has expired', ['index.js', 'jwt-verifier.js']],
    );
  });
});
