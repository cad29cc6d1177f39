/**
 * The deployment descriptor as the real `s` resolves it (`s preview -o json`, offline, with and without the deploy
 * environment variables, on a copy of the repository's spec so a developer's `.env` and JWKS file do not count):
 * nothing left unresolved, fc3 props valid against fc3's schema, and the checks the schema cannot make (build output,
 * runtime, env types, trigger methods, default auth, the RAM step's arguments and quoting).
 */

import { deepStrictEqual, ok, strictEqual, throws } from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import Ajv from 'ajv';
import { writeCodePackage } from '../../deploy/code-zip.js';
import { DEFAULTS, parseArgs } from '../../deploy/ram-cli.js';
import { deploymentAsk } from '../../deploy/spec.js';
import { readZip } from '../../dev/zip-reader.js';
import { loadConfig } from '../../shared/config.js';
import { makeSHome, runS, type SHome, sEnv, sPreview, specCopy } from '../fixtures/s-cli.js';

type Spec = Record<string, unknown>;
const schema = JSON.parse(readFileSync('deploy/fc3-props.schema.json', 'utf8'));
const validate = new Ajv({ strict: false, allErrors: true }).compile(schema);
const resource = (spec: Spec) =>
  (spec['resources'] as Record<string, Record<string, unknown>>)['flow-preview'] ?? {};
const props = (spec: Spec) => (resource(spec)['props'] ?? {}) as Record<string, unknown>;
const vars = (spec: Spec) => spec['vars'] as Record<string, unknown>;
const trigger = (spec: Spec) => (props(spec)['triggers'] as Array<Record<string, unknown>>)[0] ?? {};
const triggerConfig = (spec: Spec) => trigger(spec)['triggerConfig'] as Record<string, unknown>;
const action = (spec: Spec, hook: string, index: number) =>
  String(((resource(spec)['actions'] as Record<string, Array<{ run: string }>>)[hook] ?? [])[index]?.run);

/** Every string in the spec that still holds `${`. */
function unresolved(value: unknown, path = ''): string[] {
  if (typeof value === 'string') return value.includes('${') ? [`${path}: ${value}`] : [];
  if (Array.isArray(value)) return value.flatMap((item, i) => unresolved(item, `${path}[${i}]`));
  if (typeof value === 'object' && value !== null) {
    return Object.entries(value).flatMap(([key, item]) => unresolved(item, `${path}.${key}`));
  }
  return [];
}

function assertValid(spec: Spec): void {
  deepStrictEqual(unresolved(spec), [], 'values s leaves unresolved');
  ok(validate(props(spec)), JSON.stringify(validate.errors, null, 2));
  const known = new Set(Object.keys(schema.properties));
  deepStrictEqual(
    Object.keys(props(spec)).filter((key) => !known.has(key)),
    [],
    'props the fc3 schema does not know',
  );
}

/** The words a POSIX shell makes of a `run:` line: the arguments the RAM step really receives. */
async function shellWords(runLine: string): Promise<string[]> {
  const prefix = /^node lib\/ram-cli\.cjs /.exec(runLine)?.[0];
  ok(prefix !== undefined, runLine);
  const { stdout } = await promisify(execFile)('sh', [
    '-c',
    `printf '%s\\0' ${runLine.slice(prefix.length)}`,
  ]);
  return stdout.split('\0').slice(0, -1);
}

/** Caller identity is off unless FLOW_PREVIEW_JWT_* is set: every JWT_* variable empty. */
const NO_JWT = {
  JWT_JWKS: '',
  JWT_JWKS_URL: '',
  JWT_ISSUER: '',
  JWT_AUDIENCE: '',
  JWT_SPACE_CLAIM: '',
  JWT_ALLOW_NO_SPACE: '',
  JWT_CLOCK_LEEWAY_S: '',
  JWT_AUTHENTICATION_ONLY: '',
};
const JWKS = JSON.stringify({ keys: [{ kty: 'EC', crv: 'P-256', x: 'x', y: 'y', kid: 'k1' }] });
const JWT_ENV = {
  FLOW_PREVIEW_JWT_JWKS: JWKS,
  FLOW_PREVIEW_JWT_ISSUER: 'https://idp.example.com/',
  FLOW_PREVIEW_JWT_AUDIENCE: 'flow-preview',
  FLOW_PREVIEW_JWT_SPACE_CLAIM: 'https://example.com/spaces',
  FLOW_PREVIEW_JWT_ALLOW_NO_SPACE: 'true',
  FLOW_PREVIEW_JWT_CLOCK_LEEWAY_S: '45',
};

const JWT_TRIGGER_ENV = {
  FLOW_PREVIEW_AUTH_TYPE: 'jwt',
  FLOW_PREVIEW_TRIGGER_CONFIG: './deploy/http-trigger-jwt.example.json',
};

const HOSTILE = `a b'; touch /tmp/x; echo "$HOME`;
const DEPLOY_ENV = {
  FLOW_PREVIEW_REGION: 'cn-hangzhou',
  FLOW_PREVIEW_FUNCTION_NAME: 'flow-preview-staging',
  FLOW_PREVIEW_MEMORY_MB: '256',
  FLOW_PREVIEW_TIMEOUT_S: '20',
  FLOW_PREVIEW_CAMS_TIMEOUT_MS: '8000',
  FLOW_PREVIEW_CORS_ALLOWED_ORIGINS: 'https://app.example.com',
  FLOW_PREVIEW_ROLE_NAME: 'flow-preview-staging-cams',
  FLOW_PREVIEW_POLICY_NAME: 'FlowPreviewStaging',
  FLOW_PREVIEW_LOG_PROJECT: 'my-project',
  FLOW_PREVIEW_LOG_STORE: 'flow-preview',
};

describe('s.yaml as the real s resolves it', () => {
  let home: SHome;
  let spec: { dir: string; cleanup: () => void };
  let plain: Spec;
  let custom: Spec;
  let anonymous: Spec;
  let jwt: Spec;
  let hostile: Spec;
  let blank: Spec;
  let identity: Spec;
  let jwtMissing: Awaited<ReturnType<typeof runS>>;
  let qualified: Spec;
  const BLANK = Object.fromEntries(Object.keys(DEPLOY_ENV).map((key) => [key, '']));

  before(async () => {
    home = makeSHome();
    spec = specCopy();
    const env = (extra: Record<string, string> = {}) => sEnv(home, extra);
    // One `s preview` per scenario, all at once: each costs ~0.5 s of CPU.
    [plain, custom, anonymous, jwt, hostile, blank, identity, jwtMissing, qualified] = await Promise.all([
      sPreview(spec.dir, env()),
      sPreview(spec.dir, env(DEPLOY_ENV)),
      sPreview(spec.dir, env({ FLOW_PREVIEW_AUTH_TYPE: 'anonymous' })),
      sPreview(spec.dir, env(JWT_TRIGGER_ENV)),
      sPreview(spec.dir, env({ FLOW_PREVIEW_ROLE_NAME: HOSTILE })),
      sPreview(spec.dir, env(BLANK)),
      sPreview(spec.dir, env(JWT_ENV)),
      runS(['preview'], spec.dir, env({ FLOW_PREVIEW_AUTH_TYPE: 'jwt' })),
      sPreview(spec.dir, env({ FLOW_PREVIEW_TRIGGER_QUALIFIER: 'live' })),
    ]);
  });
  after(() => {
    spec.cleanup();
    home.cleanup();
  });

  it('resolves every value with no deploy variables set, and the fc3 props validate against fc3’s schema', () => {
    assertValid(plain);
    strictEqual(plain['edition'], '3.0.0');
    deepStrictEqual(Object.keys(plain['resources'] as object), ['flow-preview']);
  });

  it('resolves every value with all the deploy variables set, typed as fc3 expects', () => {
    assertValid(custom);
    const p = props(custom);
    deepStrictEqual(
      [p['region'], p['functionName'], p['memorySize'], p['timeout'], p['role'], p['logConfig']],
      [
        'cn-hangzhou',
        'flow-preview-staging',
        256,
        20,
        'flow-preview-staging-cams',
        {
          project: 'my-project',
          logstore: 'flow-preview',
          enableRequestMetrics: true,
          enableInstanceMetrics: true,
          logBeginRule: 'None',
        },
      ],
    );
    deepStrictEqual(p['environmentVariables'], {
      CAMS_ENDPOINT: 'cams.ap-southeast-1.aliyuncs.com',
      CAMS_TIMEOUT_MS: '8000',
      CORS_ALLOWED_ORIGINS: 'https://app.example.com',
      NODE_OPTIONS: '--max-semi-space-size=2',
      ...NO_JWT,
      REDIS_URL: '',
      REDIS_KEY_PREFIX: 'flow-preview:',
      CAMS_RATE_LIMIT_PER_SECOND: '5',
      PREVIEW_CACHE_MAX_AGE_S: '900',
      PREVIEW_REFRESH_INTERVAL_S: '60',
      PREVIEW_FAILURE_CACHE_S: '10',
      CAMS_FAIR_SHARE: 'space',
    });
  });

  it('passes caller identity settings through to the function, which accepts them; none by default', () => {
    strictEqual('jwt' in loadConfig(props(plain)['environmentVariables'] as Record<string, string>), false);
    assertValid(identity);
    const env = props(identity)['environmentVariables'] as Record<string, string>;
    deepStrictEqual(loadConfig(env).jwt, {
      jwks: { kind: 'inline', json: JWKS },
      issuer: 'https://idp.example.com/',
      audience: 'flow-preview',
      spaceClaim: 'https://example.com/spaces',
      allowNoSpace: true,
      clockLeewayS: 45,
    });
  });

  it('names a literal access alias, validates props before actions, and pins the fc3 version', () => {
    strictEqual(plain['access'], 'default');
    strictEqual(plain['validation'], true);
    ok(
      /^fc3@\d+\.\d+\.\d+$/.test(String(resource(plain)['component'])),
      String(resource(plain)['component']),
    );
  });

  it('deploys the build output: dist/ packaged as ./dist.zip, handler index.handler an exported function in it', () => {
    strictEqual(props(plain)['code'], './dist.zip');
    strictEqual(props(plain)['handler'], 'index.handler');
    const [file, exported] = String(props(plain)['handler']).split('.');
    const bundle = require(join(process.cwd(), 'dist', `${file}.js`)) as Record<string, unknown>;
    strictEqual(typeof bundle[exported ?? ''], 'function');
    const built = mkdtempSync(join(tmpdir(), 'flow-preview-package-'));
    try {
      symlinkSync(join(process.cwd(), 'dist'), join(built, 'dist'));
      const made = writeCodePackage(built);
      const packaged = readZip(readFileSync(made.path)).map((entry) => entry.name);
      deepStrictEqual(packaged.sort(), readdirSync('dist').sort());
      ok(packaged.includes(`${file}.js`));
    } finally {
      rmSync(built, { recursive: true, force: true });
    }
  });

  it('turns logging off exactly as fc3 does with no logConfig, and FC’s request and instance metrics on with logging', () => {
    deepStrictEqual(props(plain)['logConfig'], {
      project: '',
      logstore: '',
      enableRequestMetrics: false,
      enableInstanceMetrics: false,
      logBeginRule: 'None',
    });
  });

  it('tells the deploy steps what s resolves: deploy/spec.ts agrees with s preview with and without the settings', () => {
    for (const [resolved, env] of [
      [plain, {}],
      [custom, DEPLOY_ENV],
      [blank, BLANK],
      [jwt, JWT_TRIGGER_ENV],
      [qualified, { FLOW_PREVIEW_TRIGGER_QUALIFIER: 'live' }],
    ] as const) {
      // The jwt example file is refused by the check; the ask it makes is still what s resolves.
      const ask = deploymentAsk(env, spec.dir, resolved !== jwt);
      const p = props(resolved);
      const t = trigger(resolved);
      deepStrictEqual(
        [ask.region, ask.functionName, ask.runtime, ask.handler, ask.roleName, `./${ask.codeZip}`],
        [p['region'], p['functionName'], p['runtime'], p['handler'], p['role'], p['code']],
      );
      deepStrictEqual(ask.environmentNames, Object.keys(p['environmentVariables'] as object).sort());
      deepStrictEqual(
        [ask.trigger.name, ask.trigger.qualifier, ask.trigger.authType, ask.trigger.methods],
        [
          t['triggerName'],
          t['qualifier'],
          triggerConfig(resolved)['authType'],
          triggerConfig(resolved)['methods'],
        ],
      );
    }
    strictEqual(trigger(qualified)['qualifier'], 'live');
  });

  it('runs on nodejs20 with internet access, 128 MB and a 10 s timeout by default', () => {
    const p = props(plain);
    deepStrictEqual(
      [p['runtime'], p['internetAccess'], p['memorySize'], p['timeout'], p['region'], p['functionName']],
      ['nodejs20', true, 128, 10, DEFAULTS.region, DEFAULTS.functionName],
    );
  });

  it('passes the function its configuration as string environment variables, CAMS timeout below the function’s', () => {
    const env = props(plain)['environmentVariables'] as Record<string, unknown>;
    for (const [name, value] of Object.entries(env)) strictEqual(typeof value, 'string', name);
    ok(Number(env['CAMS_TIMEOUT_MS']) < Number(props(plain)['timeout']) * 1000);
  });

  it('has an HTTP trigger covering the routes (GET, OPTIONS) whose default auth is signed callers', () => {
    strictEqual(trigger(plain)['triggerType'], 'http');
    const config = triggerConfig(plain);
    strictEqual(config['authType'], 'function');
    ok(
      (config['methods'] as string[]).includes('GET') && (config['methods'] as string[]).includes('OPTIONS'),
    );
  });

  it('switches to anonymous only when asked, and to jwt with an authConfig file', () => {
    assertValid(anonymous);
    strictEqual(triggerConfig(anonymous)['authType'], 'anonymous');
    assertValid(jwt);
    const auth = triggerConfig(jwt)['authConfig'] as Record<string, unknown>;
    ok(auth['jwks'] && auth['tokenLookup']);
  });

  it('fails loudly for jwt without the deployer’s JWKS file', () => {
    ok(jwtMissing.code !== 0, jwtMissing.stdout);
    ok(
      /http-trigger-jwt\.json/.test(jwtMissing.stdout + jwtMissing.stderr),
      jwtMissing.stdout + jwtMissing.stderr,
    );
  });

  it('builds, checks, packages, then runs the RAM step with the alias fc3 gets, reading the names and region the props use', async () => {
    deepStrictEqual(
      [0, 1, 2].map((index) => action(plain, 'pre-deploy', index)),
      [
        'node scripts/build.mjs',
        "node lib/deploy-cli.cjs check -a 'default'",
        'node lib/deploy-cli.cjs package',
      ],
    );
    strictEqual(action(plain, 'success-deploy', 0), "node lib/deploy-cli.cjs verify -a 'default'");
    strictEqual(action(custom, 'pre-deploy', 1), action(plain, 'pre-deploy', 1));
    for (const [spec, env] of [
      [plain, {}],
      [custom, DEPLOY_ENV],
      [blank, BLANK], // s takes an empty variable as unset; so must the RAM step
    ] as const) {
      const parsed = parseArgs(await shellWords(action(spec, 'pre-deploy', 3)), env);
      const v = vars(spec);
      deepStrictEqual(
        [
          parsed.command,
          parsed.access,
          parsed.roleName,
          parsed.policyName,
          parsed.region,
          parsed.functionName,
        ],
        [
          'ensure',
          spec['access'],
          props(spec)['role'],
          v['policyName'],
          props(spec)['region'],
          props(spec)['functionName'],
        ],
      );
      const log = props(spec)['logConfig'] as Record<string, unknown>;
      deepStrictEqual([parsed.logProject, parsed.logStore], [log['project'], log['logstore']]);
    }
  });

  it('removes the role only after a successful remove, with the same alias and names', async () => {
    // The bundled step, built first (a clone that never deployed has no lib/).
    strictEqual(action(custom, 'success-remove', 0), 'node scripts/build.mjs');
    ok(action(custom, 'success-remove', 1).startsWith('node lib/ram-cli.cjs remove '));
    const parsed = parseArgs(await shellWords(action(custom, 'success-remove', 1)), DEPLOY_ENV);
    deepStrictEqual(
      [parsed.command, parsed.access, parsed.roleName, parsed.policyName, parsed.region, parsed.functionName],
      [
        'remove',
        'default',
        'flow-preview-staging-cams',
        'FlowPreviewStaging',
        'cn-hangzhou',
        'flow-preview-staging',
      ],
    );
  });

  it('keeps the RAM step’s own defaults equal to what s resolves (npm run ram:plan agrees with npm run deploy)', () => {
    const v = vars(plain);
    deepStrictEqual(
      [plain['access'], v['region'], v['functionName'], v['roleName'], v['policyName']],
      [DEFAULTS.access, DEFAULTS.region, DEFAULTS.functionName, DEFAULTS.roleName, DEFAULTS.policyName],
    );
  });

  it('never pastes an environment value into a shell line: a hostile one stays data, and the RAM step refuses it', async () => {
    deepStrictEqual(resource(hostile)['actions'], resource(plain)['actions']);
    strictEqual(props(hostile)['role'], HOSTILE);
    throws(() => parseArgs(['ensure'], { FLOW_PREVIEW_ROLE_NAME: HOSTILE }), /role name must be/);
  });

  it('never reached for the network while resolving', () => {
    deepStrictEqual(home.attempts(), []);
  });

  it('grants exactly cams:GetFlowPreviewUrl, and lets only FC assume the role', () => {
    deepStrictEqual(JSON.parse(readFileSync('deploy/ram-permission-policy.json', 'utf8')), {
      Version: '1',
      Statement: [{ Effect: 'Allow', Action: ['cams:GetFlowPreviewUrl'], Resource: '*' }],
    });
    deepStrictEqual(JSON.parse(readFileSync('deploy/ram-trust-policy.json', 'utf8')), {
      Version: '1',
      Statement: [{ Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: ['fc.aliyuncs.com'] } }],
    });
  });

  it('keeps its fc3 schema copy identical to the shared reference when that is present', (t) => {
    let reference: string;
    try {
      reference = readFileSync('../shared/reference/fc3-props.schema.json', 'utf8');
    } catch {
      // Outside the workplace the repo's copy stands alone: say so instead of passing without a check.
      t.skip('no ../shared/reference/fc3-props.schema.json beside this checkout');
      return;
    }
    strictEqual(readFileSync('deploy/fc3-props.schema.json', 'utf8'), reference);
  });
});
