/**
 * RAM provisioning against the RAM API simulator (V3 signatures verified): first run creates, second run writes
 * nothing, drift is corrected, the version limit is handled, failures are clear, dry runs write nothing, remove
 * leaves nothing behind. The CLI runs for real too, with credentials from the environment and from an `s` alias.
 */

import { deepStrictEqual, match, ok, rejects, strictEqual } from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { decryptAccessValue, deployerCredentials } from '../deploy/access.js';
import {
  createRamApi,
  PERMISSION_POLICY,
  RamError,
  ramEndpoint,
  sameDocument,
  TRUST_POLICY,
} from '../deploy/ram.js';
import { DEFAULT_POLICY_NAME, DEFAULT_ROLE_NAME, parseArgs, run } from '../deploy/ram-cli.js';
import { RamSimulator } from '../dev/ram-simulator.js';
import { cleanEnv } from './fixtures/process.js';

const DEPLOYER = { accessKeyId: 'LTAI.DeployerKey', accessKeySecret: 'deployer-secret' };
const S_ALIAS = { accessKeyId: 'LTAIexampleid', accessKeySecret: 'examplesecretvalue' }; // tests/fixtures/s-access.yaml
const OLD_DOCUMENT = JSON.stringify({
  Version: '1',
  Statement: [{ Effect: 'Allow', Action: ['cams:*'], Resource: '*' }],
});

let ram: RamSimulator;
let lines: string[];
const target = { roleName: DEFAULT_ROLE_NAME, policyName: DEFAULT_POLICY_NAME };
const options = (command: 'ensure' | 'remove', dryRun = false) => ({
  command,
  dryRun,
  target,
  access: 'default',
});
const api = () => createRamApi(ramEndpoint(ram.url), DEPLOYER);
const ensure = (dryRun = false) => run(options('ensure', dryRun), api(), (line) => lines.push(line));
const remove = () => run(options('remove'), api(), (line) => lines.push(line));
const writes = () => ram.writes.map((call) => call.action);

before(async () => {
  ram = await new RamSimulator([DEPLOYER, S_ALIAS]).start();
});
after(() => ram.stop());
beforeEach(() => {
  ram.calls.length = 0;
  ram.roles.clear();
  ram.policies.clear();
  ram.attachments.clear();
  ram.deny.clear();
  ram.before = undefined;
  lines = [];
});

describe('RAM ensure', () => {
  it('creates the role, the policy and the attachment on the first run', async () => {
    await ensure();
    deepStrictEqual(writes(), ['CreateRole', 'CreatePolicy', 'AttachPolicyToRole']);
    ok(sameDocument(JSON.parse(ram.roles.get(DEFAULT_ROLE_NAME)?.trust ?? 'null'), TRUST_POLICY));
    const policy = ram.policies.get(DEFAULT_POLICY_NAME);
    ok(sameDocument(JSON.parse(policy?.versions[0]?.document ?? 'null'), PERMISSION_POLICY));
    ok(ram.attachments.has(`${DEFAULT_ROLE_NAME}\u0000Custom:${DEFAULT_POLICY_NAME}`));
    ok(lines.includes('  role flow-preview-cams: missing'));
    ok(lines.some((line) => line.startsWith('  done: AttachPolicyToRole')));
  });

  it('makes zero write calls on a second run', async () => {
    await ensure();
    ram.calls.length = 0;
    lines = [];
    strictEqual(await ensure(), 0);
    deepStrictEqual(writes(), []);
    ok(lines.includes('nothing to do: role and policy are as documented'));
  });

  it('gives a drifted policy a new default version, and corrects a drifted trust policy', async () => {
    ram.seedRole(
      DEFAULT_ROLE_NAME,
      JSON.stringify({
        Version: '1',
        Statement: [
          { Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: ['ecs.aliyuncs.com'] } },
        ],
      }),
    );
    ram.seedPolicy(DEFAULT_POLICY_NAME, [OLD_DOCUMENT]);
    await ensure();
    deepStrictEqual(writes(), ['UpdateRole', 'CreatePolicyVersion', 'AttachPolicyToRole']);
    const versions = ram.policies.get(DEFAULT_POLICY_NAME)?.versions ?? [];
    deepStrictEqual(
      versions.map((v) => [v.id, v.isDefault]),
      [
        ['v1', false],
        ['v2', true],
      ],
    );
    ok(sameDocument(JSON.parse(versions[1]?.document ?? 'null'), PERMISSION_POLICY));
    ok(sameDocument(JSON.parse(ram.roles.get(DEFAULT_ROLE_NAME)?.trust ?? 'null'), TRUST_POLICY));
  });

  it('deletes the oldest non-default version when the 5-version limit is reached', async () => {
    ram.seedPolicy(
      DEFAULT_POLICY_NAME,
      [OLD_DOCUMENT, OLD_DOCUMENT, OLD_DOCUMENT, OLD_DOCUMENT, OLD_DOCUMENT],
      2,
    );
    await ensure();
    deepStrictEqual(writes(), [
      'CreateRole',
      'DeletePolicyVersion',
      'CreatePolicyVersion',
      'AttachPolicyToRole',
    ]);
    strictEqual(ram.writes[1]?.params['VersionId'], 'v1');
    const versions = ram.policies.get(DEFAULT_POLICY_NAME)?.versions ?? [];
    deepStrictEqual(
      versions.map((v) => `${v.id}${v.isDefault ? '*' : ''}`),
      ['v2', 'v3', 'v4', 'v5', 'v6*'],
    );
  });

  it('treats a document with other key order or a single Action string as unchanged', async () => {
    const reordered = JSON.stringify({
      Statement: [{ Resource: '*', Action: 'cams:GetFlowPreviewUrl', Effect: 'Allow' }],
      Version: '1',
    });
    ram.seedPolicy(DEFAULT_POLICY_NAME, [reordered]);
    await ensure();
    deepStrictEqual(writes(), ['CreateRole', 'AttachPolicyToRole']);
  });

  it('makes zero write calls with --dry-run, and prints the plan', async () => {
    ram.seedPolicy(DEFAULT_POLICY_NAME, [OLD_DOCUMENT]);
    await ensure(true);
    deepStrictEqual(writes(), []);
    deepStrictEqual(lines.slice(lines.indexOf('plan:')), [
      'plan:',
      '  CreateRole (the role does not exist)',
      '  CreatePolicyVersion (the default version v1 drifted from deploy/ram-permission-policy.json)',
      '  AttachPolicyToRole (the policy is not attached to the role)',
      'dry run: nothing changed',
    ]);
  });

  it('stops with a clear message when the deployer lacks a permission, saying what was and was not done', async () => {
    ram.deny.add('CreatePolicy');
    await rejects(ensure(), (error: unknown) => {
      ok(error instanceof RamError);
      match(
        error.message,
        /^CreatePolicy failed: the deploying identity may not call ram:CreatePolicy \(NoPermission\)/,
      );
      match(error.message, /done before it: CreateRole\n {2}not done: CreatePolicy, AttachPolicyToRole/);
      return true;
    });
    ok(ram.roles.has(DEFAULT_ROLE_NAME));
    strictEqual(ram.policies.size, 0);
  });

  it('stops with a clear message when a read is not allowed', async () => {
    ram.deny.add('GetRole');
    await rejects(ensure(), (error: unknown) => error instanceof RamError && error.code === 'NoPermission');
    deepStrictEqual(writes(), []);
  });

  it('stops with a clear message when someone else creates the role concurrently', async () => {
    ram.before = (action) => {
      if (action === 'CreateRole') ram.seedRole(DEFAULT_ROLE_NAME, JSON.stringify(TRUST_POLICY));
    };
    await rejects(ensure(), (error: unknown) => {
      ok(error instanceof RamError);
      strictEqual(error.code, 'EntityAlreadyExists.Role');
      match(
        error.message,
        /RoleName=flow-preview-cams was created by someone else while this run was working/,
      );
      match(error.message, /not done: CreateRole, CreatePolicy, AttachPolicyToRole/);
      return true;
    });
    ram.before = undefined;
    await ensure(); // and a second run finishes the job
    ok(ram.attachments.has(`${DEFAULT_ROLE_NAME}\u0000Custom:${DEFAULT_POLICY_NAME}`));
  });

  it('stops with a clear message when the policy disappears mid-run', async () => {
    ram.seedPolicy(DEFAULT_POLICY_NAME, [OLD_DOCUMENT]);
    ram.before = (action) => {
      if (action === 'CreatePolicyVersion') ram.policies.delete(DEFAULT_POLICY_NAME);
    };
    await rejects(ensure(), /disappeared while this run was working \(EntityNotExist\.Policy\)/);
  });
});

describe('RAM remove', () => {
  it('detaches and deletes the policy (with its old versions) and the role, leaving nothing behind', async () => {
    ram.seedPolicy(DEFAULT_POLICY_NAME, [OLD_DOCUMENT]);
    await ensure();
    ram.calls.length = 0;
    await remove();
    deepStrictEqual(writes(), ['DetachPolicyFromRole', 'DeletePolicyVersion', 'DeletePolicy', 'DeleteRole']);
    deepStrictEqual([ram.roles.size, ram.policies.size, ram.attachments.size], [0, 0, 0]);
    ram.calls.length = 0;
    lines = [];
    await remove();
    deepStrictEqual(writes(), []);
    ok(lines.includes('nothing to remove'));
  });

  it('leaves other policies on the role alone and says why the role stays', async () => {
    await ensure();
    ram.attachments.add(`${DEFAULT_ROLE_NAME}\u0000System:AliyunLogFullAccess`);
    await rejects(remove(), /DeleteConflict\.Role\.Policy/);
    ok(ram.attachments.has(`${DEFAULT_ROLE_NAME}\u0000System:AliyunLogFullAccess`));
    strictEqual(ram.policies.size, 0);
    ok(
      lines.some((line) =>
        line.includes('other policies on the role (left alone): System:AliyunLogFullAccess'),
      ),
    );
  });
});

describe('RAM CLI', () => {
  const cli = (args: string[], env: Record<string, string>) =>
    promisify(execFile)('npx', ['--no-install', 'tsx', 'deploy/ram-cli.ts', ...args], {
      env: cleanEnv({ RAM_ENDPOINT: ram.url, ...env }),
    }).then(
      ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
      (error: { code: number; stdout: string; stderr: string }) => ({
        code: error.code,
        stdout: error.stdout,
        stderr: error.stderr,
      }),
    );
  let home: string;
  beforeEach(() => {
    home = mkdtempSync(join(tmpdir(), 'flow-preview-s-home-'));
    mkdirSync(join(home, '.s'));
    cpSync('tests/fixtures/s-access.yaml', join(home, '.s', 'access.yaml'));
  });
  afterEach(() => rmSync(home, { recursive: true, force: true }));

  it('ensures with ALIBABA_CLOUD_* credentials and reports what it found and did', async () => {
    const result = await cli(['ensure'], {
      ALIBABA_CLOUD_ACCESS_KEY_ID: DEPLOYER.accessKeyId,
      ALIBABA_CLOUD_ACCESS_KEY_SECRET: DEPLOYER.accessKeySecret,
      HOME: home,
    });
    strictEqual(result.code, 0, result.stderr);
    match(result.stdout, /credentials from ALIBABA_CLOUD_\* environment/);
    match(result.stdout, /ensured: role, policy and attachment are as documented/);
    ok(!result.stdout.includes(DEPLOYER.accessKeySecret));
  });

  it('reads the `s config add` alias from ~/.s/access.yaml (npm run ram:plan)', async () => {
    const result = await cli(['ensure', '--dry-run', '--access', 'testalias'], { HOME: home });
    strictEqual(result.code, 0, result.stderr);
    match(result.stdout, /credentials from s access alias 'testalias'/);
    match(result.stdout, /dry run: nothing changed/);
    deepStrictEqual(writes(), []);
    // The alias' keys signed every call: RAM answered them (GetRole: the role is missing), none was refused.
    deepStrictEqual(
      ram.calls.map((call) => [call.action, call.code]),
      [
        ['GetRole', 'EntityNotExist.Role'],
        ['GetPolicy', 'EntityNotExist.Policy'],
      ],
    );
  });

  it('exits 1 with a clear message when the deployer lacks a permission', async () => {
    ram.deny.add('CreateRole');
    const result = await cli(['ensure', '--access', 'testalias'], { HOME: home });
    strictEqual(result.code, 1);
    match(
      result.stderr,
      /RAM ensure failed: CreateRole failed: the deploying identity may not call ram:CreateRole \(NoPermission\)/,
    );
  });

  it('exits 1 naming the missing alias, and 2 for bad usage', async () => {
    const missing = await cli(['ensure', '--access', 'nope'], { HOME: home });
    strictEqual(missing.code, 1);
    match(missing.stderr, /access alias 'nope' is not in .*access\.yaml/);
    const usage = await cli(['enusre'], { HOME: home });
    strictEqual(usage.code, 2);
    match(usage.stderr, /usage: ram-cli ensure\|remove/);
  });
});

describe('deployer credentials', () => {
  it('decrypts values as Serverless Devs stores them, and passes plain ones through', () => {
    strictEqual(decryptAccessValue('U2FsdGVkX18i2n7VGykrl7m1h54swnFHLxYV+7V0j9Q='), 'LTAIexampleid');
    strictEqual(decryptAccessValue('plain-value'), 'plain-value');
  });

  it('prefers ALIBABA_CLOUD_* over the alias', async () => {
    const credentials = await deployerCredentials(
      'testalias',
      { ALIBABA_CLOUD_ACCESS_KEY_ID: 'a', ALIBABA_CLOUD_ACCESS_KEY_SECRET: 'b' },
      '/nonexistent',
    );
    deepStrictEqual(credentials, {
      accessKeyId: 'a',
      accessKeySecret: 'b',
      source: 'ALIBABA_CLOUD_* environment',
    });
  });

  it('validates role and policy names before calling RAM', () => {
    deepStrictEqual(parseArgs(['ensure', '--role', 'my.role-1'], {}).target.roleName, 'my.role-1');
    let message = '';
    try {
      parseArgs(['ensure', '--policy', 'bad name'], {});
    } catch (error) {
      message = (error as Error).message;
    }
    match(message, /policy name must be/);
  });
});
