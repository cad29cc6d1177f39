/**
 * The `ConfigInvalid` path leaks nothing: every secret the process knows (the invocation's keys, the
 * `ALIBABA_CLOUD_*` keys, a ~1 KB STS token that contains the AccessKeyId, the Redis password in `REDIS_URL`) is
 * pasted into every environment variable the config reads, one at a time and all at once; every log line and
 * response is scanned for any 12-character piece of any of them. Each scanned environment is its own instance, as
 * FC would start one from it, on a fake clock (the few values the config accepts make CAMS calls without waiting).
 * And no value that can hold a secret is ever quoted: no `JWT_*`, no `REDIS_URL`, nothing shaped like a key.
 */
import { ok, strictEqual } from 'node:assert/strict';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { type Env, readConfig } from '../../shared/config.js';
import type { FcContext } from '../../shared/fc/event.js';
import { FleetStores } from '../../shared/store/select.js';
import { useCamsOnFakeClock } from '../fixtures/cams.js';
import { directEvent } from '../fixtures/fc.js';
import { buildFunction } from '../fixtures/function.js';

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

/**
 * Every variable shared/config.ts reads, found in its source (every quoted NAME_WITH_UNDERSCORES: read as
 * `env['…']`, through `parseNumber(env, '…')` or the JWT_* list), so a variable added later is scanned too.
 */
const VARIABLES = [
  ...new Set(
    [
      ...readFileSync(new URL('../../shared/config.ts', import.meta.url), 'utf8').matchAll(
        /'([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+)'/g,
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

const { cams, clock, fresh } = useCamsOnFakeClock();

/**
 * One instance started from `BASE_ENV` plus `values`, asked once. REDIS_URL names a Redis that is not there and
 * is here only for its password (a secret the log must know): the instance's stores stand in for it in memory.
 */
async function scan(values: Env): Promise<{ status: unknown; text: string; lines: string[] }> {
  const env = { ...BASE_ENV, CAMS_ENDPOINT: cams.url, ...values };
  const options = fresh();
  const startup = readConfig(env);
  const stores = startup.ok
    ? new FleetStores(startup.config.fleet, {
        loadRedis: () => {
          throw new Error('no Redis in this test');
        },
        now: () => clock().now(),
      })
    : undefined;
  const fn = buildFunction(env, { ...options, ...(stores ? { stores } : {}) });
  const result = await fn.invoke(directEvent({ flowId: 'welcome-flow', refresh: true }), CONTEXT);
  const answer = result as { error?: { status?: unknown } };
  return {
    status: answer.error?.status ?? 200,
    text: `${JSON.stringify(result)}\n${fn.lines.join('')}`,
    lines: fn.lines,
  };
}

describe('no secret leaks through ConfigInvalid', () => {
  it('scans every variable the config reads', () => {
    for (const name of [
      'CAMS_ENDPOINT',
      'CAMS_TIMEOUT_MS',
      'CORS_ALLOWED_ORIGINS',
      'ALIBABA_CLOUD_SECURITY_TOKEN',
      'REDIS_URL',
      'REDIS_KEY_PREFIX',
      'CAMS_RATE_LIMIT_PER_SECOND',
      'PREVIEW_CACHE_MAX_AGE_S',
      'JWT_JWKS',
      'JWT_JWKS_URL',
      'JWT_ISSUER',
      'JWT_AUDIENCE',
      'JWT_SPACE_CLAIM',
      'JWT_AUTHENTICATION_ONLY',
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

  // Issue 17: a private key pasted into JWT_JWKS_URL, JWT_AUDIENCE or JWT_ISSUER was quoted in the ConfigInvalid line.
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const PEM = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const JWK = JSON.stringify(privateKey.export({ format: 'jwk' }));
  const KEY_PIECES = [PEM.replace(/-----[A-Z ]+-----|\s/g, ''), JSON.parse(JWK).d as string].flatMap((key) =>
    Array.from({ length: key.length - 11 }, (_, i) => key.slice(i, i + 12)),
  );
  const JWT_BLOCK = {
    JWT_JWKS_URL: 'https://idp.example.com/jwks',
    JWT_ISSUER: 'https://idp.example.com/',
    JWT_AUDIENCE: 'flow-preview',
    JWT_SPACE_CLAIM: 'spaces',
  };

  /** The one ConfigInvalid line for `values`: the variable named, nothing quoted, no piece of the key. */
  async function refusedUnquoted(values: Env, variable: string): Promise<void> {
    const { status, lines } = await scan(values);
    strictEqual(status, 500);
    strictEqual(lines.length, 1);
    const line = JSON.parse(lines[0] ?? '') as { outcome?: string; error?: { message?: string } };
    strictEqual(line.outcome, 'ConfigInvalid');
    const message = line.error?.message ?? '';
    ok(message.startsWith(`${variable} `), message);
    ok(!message.includes(', got '), `quoted: ${message}`);
    strictEqual(
      KEY_PIECES.filter((p) => (lines[0] ?? '').includes(p)).length,
      0,
      `the line holds key material: ${lines[0]}`,
    );
  }

  for (const variable of ['JWT_JWKS_URL', 'JWT_ISSUER', 'JWT_AUDIENCE', 'JWT_SPACE_CLAIM']) {
    for (const [what, key] of [
      ['a PEM private key', PEM],
      ['a private JWK', JWK],
    ] as const) {
      it(`logs no piece of ${what} pasted into ${variable}, and quotes nothing`, async () => {
        await refusedUnquoted({ ...JWT_BLOCK, [variable]: key }, variable);
      });
    }
  }

  it('never quotes a JWT_* or REDIS_URL value, however plain', async () => {
    const cases: Array<[Env, string]> = [
      [{ JWT_ISSUER: 'plain' }, 'JWT_ISSUER'],
      [{ JWT_SPACE_CLAIM: 'spaces' }, 'JWT_SPACE_CLAIM'],
      [{ ...JWT_BLOCK, JWT_JWKS_URL: 'http://idp.example.com/jwks' }, 'JWT_JWKS_URL'],
      [{ ...JWT_BLOCK, JWT_CLOCK_LEEWAY_S: '61' }, 'JWT_CLOCK_LEEWAY_S'],
      [{ ...JWT_BLOCK, JWT_ALLOW_NO_SPACE: 'yes' }, 'JWT_ALLOW_NO_SPACE'],
      [{ ...JWT_BLOCK, JWT_AUTHENTICATION_ONLY: 'maybe' }, 'JWT_AUTHENTICATION_ONLY'],
      [{ JWT_JWKS: 'not json' }, 'JWT_JWKS'],
      [{ REDIS_URL: 'http://cache:6379' }, 'REDIS_URL'],
      [{ REDIS_URL: 'redis://cache:6379/db' }, 'REDIS_URL'],
    ];
    for (const [values, variable] of cases) await refusedUnquoted(values, variable);
  });

  it('never quotes a key-shaped value, whatever variable it was pasted into', async () => {
    for (const variable of [
      'CAMS_ENDPOINT',
      'CAMS_TIMEOUT_MS',
      'CORS_ALLOWED_ORIGINS',
      'PREVIEW_CACHE_MAX_AGE_S',
    ]) {
      for (const key of [PEM, JWK, `-----BEGIN ${'A'.repeat(10)}`])
        await refusedUnquoted({ [variable]: key }, variable);
    }
    await refusedUnquoted({ REDIS_KEY_PREFIX: PEM }, 'REDIS_KEY_PREFIX');
  });
});
