/**
 * The `ConfigInvalid` path leaks nothing: every secret the process knows (the invocation's keys, the
 * `ALIBABA_CLOUD_*` keys, a ~1 KB STS token that contains the AccessKeyId, the Redis password in `REDIS_URL`) is
 * pasted into every environment variable the config reads, one at a time and all at once; every log line and
 * response is scanned for any 12-character piece of any of them.
 */
import { ok, strictEqual } from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { handler, stores } from '../functions/get-flow-preview-url/index.js';
import type { FcContext } from '../shared/fc/event.js';
import { useCamsSimulator } from './fixtures/cams.js';
import { captureLogs, directEvent, setEnv } from './fixtures/fc.js';

const piece = (label: string, bytes: number) => `${label}${randomBytes(bytes).toString('base64url')}`;
const ENV_KEY_ID = piece('LEAKAKID', 9);
const SECRETS = {
  roleKeyId: piece('ROLEAKID', 9),
  roleSecret: piece('ROLESECRET', 18),
  roleToken: piece('ROLETOKEN', 60),
  envKeyId: ENV_KEY_ID,
  envSecret: piece('ENVSECRET', 18),
  // An STS token is ~1 KB; this one also contains the env AccessKeyId, so the order of redaction would matter.
  envToken: `${piece('ENVTOKEN', 300)}${ENV_KEY_ID}${piece('', 450)}`,
  redisPassword: piece('REDISPW', 15),
};

const CONTEXT: FcContext = {
  requestId: 'leak-config',
  credentials: {
    accessKeyId: SECRETS.roleKeyId,
    accessKeySecret: SECRETS.roleSecret,
    securityToken: SECRETS.roleToken,
  },
  function: { timeout: 2 },
};

const BASE_ENV = {
  ALIBABA_CLOUD_ACCESS_KEY_ID: SECRETS.envKeyId,
  ALIBABA_CLOUD_ACCESS_KEY_SECRET: SECRETS.envSecret,
  ALIBABA_CLOUD_SECURITY_TOKEN: SECRETS.envToken,
  REDIS_URL: `redis://default:${SECRETS.redisPassword}@127.0.0.1:6379`,
};

/** Every variable shared/config.ts reads, found in its source, so a variable added later is scanned too. */
const VARIABLES = [
  ...new Set(
    [
      ...readFileSync(new URL('../shared/config.ts', import.meta.url), 'utf8').matchAll(
        /env\['([A-Z0-9_]+)'\]/g,
      ),
    ].map((match) => match[1] as string),
  ),
];

/** Values that hold a secret and that no setting accepts (a space and a `!` inside), so the call stays local. */
function pasted(secret: string): string[] {
  return [
    `${secret} !`,
    `  ${secret}\r\n!`,
    `https://${secret} !`,
    `! ${'x'.repeat(97)}${secret}`, // the secret starts right at the old 100-character cut
    `${secret}${secret} !`, // back to back
  ];
}

/** Every 12-character piece of every secret (a shorter piece could occur by chance). */
const PIECES = Object.values(SECRETS).flatMap((secret) =>
  Array.from({ length: secret.length - 11 }, (_, i) => secret.slice(i, i + 12)),
);

function leaks(text: string): string[] {
  return PIECES.filter((p) => text.includes(p)).slice(0, 3);
}

const cams = useCamsSimulator({ env: BASE_ENV });
// REDIS_URL names a Redis that is not there: the instance's client keeps trying until it is closed.
after(() => stores.close());

async function scan(values: Record<string, string>): Promise<{ status: unknown; text: string }> {
  const restore = setEnv(values);
  try {
    const { result, lines } = await captureLogs(() =>
      handler(directEvent({ flowId: 'welcome-flow', refresh: true }), CONTEXT),
    );
    const answer = result as { error?: { status?: unknown } };
    return { status: answer.error?.status ?? 200, text: `${JSON.stringify(result)}\n${lines.join('')}` };
  } finally {
    restore();
  }
}

describe('no secret leaks through ConfigInvalid', () => {
  it('scans every variable the config reads', () => {
    for (const name of [
      'CAMS_ENDPOINT',
      'CAMS_TIMEOUT_MS',
      'CORS_ALLOWED_ORIGINS',
      'ALIBABA_CLOUD_SECURITY_TOKEN',
    ]) {
      ok(VARIABLES.includes(name), `${name} not found in shared/config.ts`);
    }
  });

  it('logs no piece of any secret pasted into any variable, one at a time', async () => {
    const found: string[] = [];
    let configInvalid = 0;
    for (const variable of VARIABLES) {
      for (const secret of Object.values(SECRETS)) {
        for (const value of pasted(secret)) {
          const { status, text } = await scan({ [variable]: value });
          if (text.includes('"ConfigInvalid"')) configInvalid += 1;
          const leaked = leaks(text);
          if (leaked.length > 0) found.push(`${variable} (${String(status)}): ${leaked.join(', ')}`);
        }
      }
    }
    strictEqual(found.join('\n'), '');
    // The scan exercised the path it is about: the config's own variables all failed.
    ok(configInvalid >= 3 * Object.keys(SECRETS).length * 5, `only ${configInvalid} ConfigInvalid answers`);
    strictEqual(
      cams.calls.every((c) => c.accessKeyId === SECRETS.roleKeyId),
      true,
    );
  });

  it('logs no piece of any secret pasted into every variable at once', async () => {
    for (const secret of Object.values(SECRETS)) {
      const values = Object.fromEntries(VARIABLES.map((name) => [name, `${secret} !`]));
      const { status, text } = await scan(values);
      strictEqual(status, 500);
      ok(text.includes('"ConfigInvalid"'), text.slice(0, 300));
      strictEqual(leaks(text).join(', '), '');
    }
  });

  it('still names the variable and quotes a value that holds no secret', async () => {
    const { text } = await scan({ CAMS_TIMEOUT_MS: 'ten seconds' });
    ok(text.includes("CAMS_TIMEOUT_MS must be a positive integer (milliseconds), got 'ten seconds'"), text);
  });
});
