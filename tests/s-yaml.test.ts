/**
 * The deployment descriptor, proven offline: s.yaml resolved as `s` resolves defaults, its fc3 props validated
 * against the fc3 schema, and the checks the schema cannot make (build output, runtime, env types, trigger methods,
 * default auth, the role the RAM step ensures, the policy's single permission).
 */

import { deepStrictEqual, ok, strictEqual, throws } from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import Ajv from 'ajv';
import { DEFAULT_POLICY_NAME, DEFAULT_ROLE_NAME, parseArgs } from '../deploy/ram-cli.js';
import { type ResolvedSpec, resolveSpec } from './fixtures/s-yaml.js';

const schema = JSON.parse(readFileSync('deploy/fc3-props.schema.json', 'utf8'));
const validate = new Ajv({ strict: false, allErrors: true }).compile(schema);
const props = (spec: ResolvedSpec) => spec.resources['flow-preview']?.props ?? {};
const trigger = (spec: ResolvedSpec) => (props(spec)['triggers'] as Array<Record<string, unknown>>)[0] ?? {};
const triggerConfig = (spec: ResolvedSpec) => trigger(spec)['triggerConfig'] as Record<string, unknown>;

function assertValid(spec: ResolvedSpec): void {
  const valid = validate(props(spec));
  ok(valid, JSON.stringify(validate.errors, null, 2));
  const known = new Set(Object.keys(schema.properties));
  deepStrictEqual(
    Object.keys(props(spec)).filter((key) => !known.has(key)),
    [],
    'props the fc3 schema does not know',
  );
}

describe('s.yaml', () => {
  const spec = resolveSpec('s.yaml');

  it('is one fc3 resource of edition 3.0.0 whose defaults validate against the fc3 props schema', () => {
    strictEqual(spec.edition, '3.0.0');
    deepStrictEqual(Object.keys(spec.resources), ['flow-preview']);
    strictEqual(spec.resources['flow-preview']?.component, 'fc3');
    assertValid(spec);
  });

  it('deploys the build output: code ./dist with handler index.handler, an exported function', () => {
    strictEqual(props(spec)['code'], './dist');
    strictEqual(props(spec)['handler'], 'index.handler');
    const [file, exported] = String(props(spec)['handler']).split('.');
    const bundle = require(join(process.cwd(), 'dist', `${file}.js`)) as Record<string, unknown>;
    strictEqual(typeof bundle[exported ?? ''], 'function');
  });

  it('runs on nodejs20 with internet access, 128 MB and a 10 s timeout by default', () => {
    const p = props(spec);
    deepStrictEqual(
      [p['runtime'], p['internetAccess'], p['memorySize'], p['timeout'], p['region'], p['functionName']],
      ['nodejs20', true, 128, 10, 'ap-southeast-1', 'flow-preview'],
    );
  });

  it('passes the function its configuration as string environment variables, CAMS timeout below the function’s', () => {
    const env = props(spec)['environmentVariables'] as Record<string, unknown>;
    deepStrictEqual(Object.keys(env).sort(), [
      'CAMS_ENDPOINT',
      'CAMS_RATE_LIMIT_PER_SECOND',
      'CAMS_TIMEOUT_MS',
      'CORS_ALLOWED_ORIGINS',
      'NODE_OPTIONS',
      'PREVIEW_CACHE_MAX_AGE_S',
      'PREVIEW_REFRESH_INTERVAL_S',
      'REDIS_KEY_PREFIX',
      'REDIS_URL',
    ]);
    for (const [name, value] of Object.entries(env)) strictEqual(typeof value, 'string', name);
    ok(Number(env['CAMS_TIMEOUT_MS']) < Number(props(spec)['timeout']) * 1000);
  });

  it('is configured by environment variables, typed as fc3 expects, without editing the file', () => {
    const custom = resolveSpec('s.yaml', {
      FLOW_PREVIEW_REGION: 'cn-hangzhou',
      FLOW_PREVIEW_FUNCTION_NAME: 'flow-preview-staging',
      FLOW_PREVIEW_MEMORY_MB: '256',
      FLOW_PREVIEW_TIMEOUT_S: '20',
      FLOW_PREVIEW_CAMS_TIMEOUT_MS: '8000',
      FLOW_PREVIEW_CORS_ALLOWED_ORIGINS: 'https://app.example.com',
      FLOW_PREVIEW_LOG_PROJECT: 'my-project',
      FLOW_PREVIEW_LOG_STORE: 'flow-preview',
    });
    assertValid(custom);
    const p = props(custom);
    deepStrictEqual(
      [p['region'], p['functionName'], p['memorySize'], p['timeout'], p['logConfig']],
      ['cn-hangzhou', 'flow-preview-staging', 256, 20, { project: 'my-project', logstore: 'flow-preview' }],
    );
    deepStrictEqual(p['environmentVariables'], {
      CAMS_ENDPOINT: 'cams.ap-southeast-1.aliyuncs.com',
      CAMS_TIMEOUT_MS: '8000',
      CORS_ALLOWED_ORIGINS: 'https://app.example.com',
      NODE_OPTIONS: '--max-semi-space-size=2',
      REDIS_URL: '',
      REDIS_KEY_PREFIX: 'flow-preview:',
      CAMS_RATE_LIMIT_PER_SECOND: '5',
      PREVIEW_CACHE_MAX_AGE_S: '900',
      PREVIEW_REFRESH_INTERVAL_S: '60',
    });
  });

  it('has an HTTP trigger covering the routes (GET, OPTIONS) whose default auth is signed callers, not anonymous', () => {
    strictEqual(trigger(spec)['triggerType'], 'http');
    const config = triggerConfig(spec);
    strictEqual(config['authType'], 'function');
    ok(
      (config['methods'] as string[]).includes('GET') && (config['methods'] as string[]).includes('OPTIONS'),
    );
  });

  it('switches to anonymous only when asked, and to jwt with an authConfig file', () => {
    const anonymous = resolveSpec('s.yaml', { FLOW_PREVIEW_AUTH_TYPE: 'anonymous' });
    assertValid(anonymous);
    strictEqual(triggerConfig(anonymous)['authType'], 'anonymous');
    const jwt = resolveSpec('s.yaml', {
      FLOW_PREVIEW_AUTH_TYPE: 'jwt',
      FLOW_PREVIEW_TRIGGER_CONFIG: './deploy/http-trigger-jwt.example.json',
    });
    assertValid(jwt);
    const auth = triggerConfig(jwt)['authConfig'] as Record<string, unknown>;
    ok(auth['jwks'] && auth['tokenLookup']);
  });

  it('fails loudly for jwt without the deployer’s JWKS file', () => {
    throws(
      () => resolveSpec('s.yaml', { FLOW_PREVIEW_AUTH_TYPE: 'jwt' }),
      /file\('\.\/deploy\/http-trigger-jwt\.json'\) not found/,
    );
  });

  it('gives the function the role the pre-deploy RAM step ensures, after building the bundle', () => {
    strictEqual(props(spec)['role'], DEFAULT_ROLE_NAME);
    const steps = spec.resources['flow-preview']?.actions?.['pre-deploy'] ?? [];
    deepStrictEqual(
      steps.map((s) => s.run.split(' ').slice(0, 4).join(' ')),
      ['npm run build', 'npx tsx deploy/ram-cli.ts ensure'],
    );
    const args = steps[1]?.run.split(' ').slice(3) ?? [];
    const parsed = parseArgs(args, {});
    deepStrictEqual(parsed.target, { roleName: DEFAULT_ROLE_NAME, policyName: DEFAULT_POLICY_NAME });
    strictEqual(parsed.access, spec.access);
    strictEqual(parsed.dryRun, false);
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

  it('keeps its fc3 schema copy identical to the shared reference when that is present', () => {
    let reference: string;
    try {
      reference = readFileSync('../shared/reference/fc3-props.schema.json', 'utf8');
    } catch {
      return; // outside the workplace the repo's copy stands alone
    }
    strictEqual(readFileSync('deploy/fc3-props.schema.json', 'utf8'), reference);
  });

  it('runs `npx s --version` from the project’s own devDependency', async () => {
    const { stdout } = await promisify(execFile)('npx', ['--no-install', 's', '--version'], {
      env: { ...process.env, HOME: process.env['HOME'] ?? '/tmp' },
    });
    ok(/@serverless-devs\/s: 3\.\d+\.\d+/.test(stdout), stdout);
  });
});
