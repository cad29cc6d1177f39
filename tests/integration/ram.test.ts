/**
 * RAM provisioning against the RAM API simulator (V3 signatures verified): first run creates, second run writes
 * nothing, drift is corrected, the version limit is handled, failures are clear, dry runs write nothing, remove
 * leaves nothing behind. The CLI runs for real too, with credentials from the environment and from an `s` alias.
 */

import { deepStrictEqual, match, ok, rejects, strictEqual, throws } from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { decryptAccessValue, deployerCredentials } from '../../deploy/access.js';
import { type FunctionPresence, fcEndpoint, fcInvokeEndpoint, functionsUsingRole } from '../../deploy/fc.js';
import {
  createRamApi,
  PERMISSION_POLICY,
  RamError,
  ramEndpoint,
  roleRegions,
  sameDocument,
  TRUST_POLICY,
} from '../../deploy/ram.js';
import { DEFAULT_POLICY_NAME, DEFAULT_ROLE_NAME, type Deps, parseArgs, run } from '../../deploy/ram-cli.js';
import { FcSimulator } from '../../dev/fc-simulator.js';
import { RamSimulator } from '../../dev/ram-simulator.js';
import { cleanEnv } from '../fixtures/process.js';

const DEPLOYER = { accessKeyId: 'LTAI.DeployerKey', accessKeySecret: 'deployer-secret' };
const S_ALIAS = { accessKeyId: 'LTAIexampleid', accessKeySecret: 'examplesecretvalue' }; // tests/fixtures/s-access.yaml
const OLD_DOCUMENT = JSON.stringify({
  Version: '1',
  Statement: [{ Effect: 'Allow', Action: ['cams:*'], Resource: '*' }],
});

let ram: RamSimulator;
let lines: string[];
let presence: FunctionPresence;
let roleUsers: string[];
const api = () => createRamApi(ramEndpoint(ram.url), DEPLOYER);
const deps = (): Deps => ({
  ram: api(),
  functionPresence: async () => presence,
  roleUsers: async () => roleUsers,
  accountId: '1234567890123456',
  sleep: async () => {},
});
const cli = (...argv: string[]) => run(parseArgs(argv, {}), deps(), (line) => lines.push(line));
const ensure = (dryRun = false) => cli('ensure', ...(dryRun ? ['--dry-run'] : []));
const remove = (...flags: string[]) => cli('remove', ...flags);
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
  ram.roleReadLag = 0;
  presence = 'not-found';
  roleUsers = [];
  lines = [];
});

/** A HOME whose ~/.s/access.yaml holds the `testalias` alias, as `s config add` writes it (s-access.yaml). */
function aliasHome(): string {
  const home = mkdtempSync(join(tmpdir(), 'flow-preview-s-home-'));
  mkdirSync(join(home, '.s'));
  cpSync('tests/fixtures/s-access.yaml', join(home, '.s', 'access.yaml'));
  return home;
}

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

describe('RAM least privilege', () => {
  const ADMIN = `${DEFAULT_ROLE_NAME}\u0000System:AdministratorAccess`;

  it('reports any other policy on the role as drift, and never calls that "as documented"', async () => {
    await ensure();
    ram.attachments.add(ADMIN);
    ram.calls.length = 0;
    lines = [];
    strictEqual(await ensure(), 0);
    deepStrictEqual(writes(), []);
    ok(
      lines.includes(
        '  DRIFT: other policies on the role, so it can do more than documented: System:AdministratorAccess',
      ),
    );
    strictEqual(
      lines.at(-1),
      'role and policy match the documents, but the role can do more: DRIFT: System:AdministratorAccess stays attached ' +
        '(--on-drift detach takes it off, --on-drift fail stops on it)',
    );
    ok(
      !lines.some(
        (line) => line.includes('as documented') && !line.includes('DRIFT') && !line.startsWith('  '),
      ),
    );
  });

  it('with --on-drift fail (or FLOW_PREVIEW_RAM_ON_DRIFT=fail), stops before any write', async () => {
    ram.seedRole(DEFAULT_ROLE_NAME, JSON.stringify(TRUST_POLICY));
    ram.attachments.add(ADMIN);
    await rejects(
      cli('ensure', '--on-drift', 'fail'),
      /can do more than documented: System:AdministratorAccess is attached \(--on-drift fail\); nothing changed/,
    );
    deepStrictEqual(writes(), []);
    strictEqual(parseArgs(['ensure'], { FLOW_PREVIEW_RAM_ON_DRIFT: 'fail' }).onDrift, 'fail');
  });

  it('with --on-drift detach, takes the other policies off and ends as documented', async () => {
    await ensure();
    ram.attachments.add(ADMIN);
    ram.calls.length = 0;
    lines = [];
    await cli('ensure', '--on-drift', 'detach');
    deepStrictEqual(
      ram.writes.map((call) => [call.action, call.params['PolicyType'], call.params['PolicyName']]),
      [['DetachPolicyFromRole', 'System', 'AdministratorAccess']],
    );
    ok(!ram.attachments.has(ADMIN));
    strictEqual(lines.at(-1), 'ensured: role, policy and attachment are as documented');
  });

  it('grants log:PostLogStoreLogs on the one configured logstore, and adds it to an existing policy', async () => {
    await ensure();
    ram.calls.length = 0;
    await cli('ensure', '--log-project', 'my-project', '--log-store', 'flow-preview');
    deepStrictEqual(writes(), ['CreatePolicyVersion']);
    const versions = ram.policies.get(DEFAULT_POLICY_NAME)?.versions ?? [];
    deepStrictEqual(JSON.parse(versions.at(-1)?.document ?? 'null'), {
      Version: '1',
      Statement: [
        { Effect: 'Allow', Action: ['cams:GetFlowPreviewUrl'], Resource: '*' },
        {
          Effect: 'Allow',
          Action: ['log:PostLogStoreLogs'],
          Resource: ['acs:log:ap-southeast-1:1234567890123456:project/my-project/logstore/flow-preview'],
        },
      ],
    });
  });

  it('waits (bounded) for a new role to become readable, and fails clearly when it never does', async () => {
    ram.roleReadLag = 2;
    await ensure();
    ok(lines.includes('  waiting for RAM to show the new role flow-preview-cams (read 2 of 10)'));
    ram.roles.clear();
    ram.policies.clear();
    ram.attachments.clear();
    ram.roleReadLag = 50;
    await rejects(ensure(), /the new role flow-preview-cams is still not readable after 10 reads/);
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

  it('leaves a policy another role still uses, removing only this role and its attachment', async () => {
    await ensure();
    ram.seedRole('other-deployment', JSON.stringify(TRUST_POLICY));
    ram.attachments.add(`other-deployment\u0000Custom:${DEFAULT_POLICY_NAME}`);
    ram.calls.length = 0;
    await remove();
    deepStrictEqual(writes(), ['DetachPolicyFromRole', 'DeleteRole']);
    ok(ram.policies.has(DEFAULT_POLICY_NAME));
    ok(
      lines.includes(
        `  policy ${DEFAULT_POLICY_NAME} is also attached elsewhere: a remove leaves it in place`,
      ),
    );
  });

  it('removes nothing while policies it did not attach are on the role, and says how to proceed', async () => {
    await ensure();
    ram.attachments.add(`${DEFAULT_ROLE_NAME}\u0000System:AliyunLogFullAccess`);
    ram.calls.length = 0;
    await rejects(
      remove(),
      /has policies this step did not attach \(System:AliyunLogFullAccess\); nothing removed\. .*--on-drift detach/,
    );
    deepStrictEqual(writes(), []);
    deepStrictEqual([ram.roles.size, ram.policies.size, ram.attachments.size], [1, 1, 2]);
  });

  it('with --on-drift detach, takes the other policies off and removes everything', async () => {
    await ensure();
    ram.attachments.add(`${DEFAULT_ROLE_NAME}\u0000System:AliyunLogFullAccess`);
    ram.calls.length = 0;
    await remove('--on-drift', 'detach');
    deepStrictEqual(writes(), ['DetachPolicyFromRole', 'DetachPolicyFromRole', 'DeletePolicy', 'DeleteRole']);
    deepStrictEqual([ram.roles.size, ram.policies.size, ram.attachments.size], [0, 0, 0]);
  });

  it('keeps the role and its policy while another function in the region still runs as it, and writes nothing', async () => {
    await ensure();
    ram.calls.length = 0;
    roleUsers = ['flow-preview', 'flow-preview-b'];
    strictEqual(await remove(), 0);
    deepStrictEqual(ram.calls, []);
    deepStrictEqual([ram.roles.size, ram.policies.size, ram.attachments.size], [1, 1, 1]);
    strictEqual(
      lines.at(-1),
      'FC: flow-preview-b in ap-southeast-1 still run(s) as flow-preview-cams, so the role and its policy stay ' +
        '(nothing removed); they go with the last function that uses them',
    );
    const unsure = deps();
    await rejects(
      run(
        parseArgs(['remove'], {}),
        { ...unsure, roleUsers: () => Promise.reject(new Error('FC ListFunctions failed')) },
        () => {},
      ),
      /FC ListFunctions failed/,
    );
    deepStrictEqual(ram.calls, []);
  });

  it('keeps the role while FC still has the function, or cannot say, and writes nothing', async () => {
    await ensure();
    ram.calls.length = 0;
    presence = 'exists';
    await rejects(
      remove(),
      /function flow-preview still exists in ap-southeast-1, so its role stays \(nothing removed\)/,
    );
    deepStrictEqual(ram.calls, []);
    const lost = deps();
    await rejects(
      run(
        parseArgs(['remove'], {}),
        { ...lost, functionPresence: () => Promise.reject(new Error('FC GetFunction failed')) },
        () => {},
      ),
      /FC GetFunction failed/,
    );
    deepStrictEqual(ram.calls, []);
    ok(ram.roles.has(DEFAULT_ROLE_NAME));
  });
});

describe('RAM remove in the region the role was deployed for (issue 17)', () => {
  const inRegion = (command: 'ensure' | 'remove', region: string) =>
    run(parseArgs([command], { FLOW_PREVIEW_REGION: region }), deps(), (line) => lines.push(line));
  const description = () => ram.roles.get(DEFAULT_ROLE_NAME)?.description;

  it('records the region in the role’s description on ensure, and a second region beside it', async () => {
    await inRegion('ensure', 'ap-southeast-1');
    strictEqual(
      description(),
      'Flow Preview function: calls CAMS GetFlowPreviewUrl. Deployed in: ap-southeast-1',
    );
    ram.calls.length = 0;
    await inRegion('ensure', 'ap-southeast-1');
    deepStrictEqual(writes(), []);
    await inRegion('ensure', 'cn-hangzhou');
    deepStrictEqual(writes(), ['UpdateRole']);
    deepStrictEqual(roleRegions(description() ?? ''), ['ap-southeast-1', 'cn-hangzhou']);
  });

  it('refuses a remove run with another region than the role’s, and writes nothing', async () => {
    await inRegion('ensure', 'ap-southeast-1');
    ram.calls.length = 0;
    await rejects(
      inRegion('remove', 'cn-hangzhou'),
      /the role flow-preview-cams was deployed for ap-southeast-1, not cn-hangzhou: .*nothing removed\. Run the remove with FLOW_PREVIEW_REGION=ap-southeast-1/,
    );
    deepStrictEqual(writes(), []);
    deepStrictEqual([ram.roles.size, ram.policies.size, ram.attachments.size], [1, 1, 1]);
  });

  it('removes a role that records no region only once FC in every region says nothing runs as it', async () => {
    const legacy = () => {
      ram.seedRole(
        DEFAULT_ROLE_NAME,
        JSON.stringify(TRUST_POLICY),
        'Flow Preview function: calls CAMS GetFlowPreviewUrl',
      );
    };
    await ensure();
    legacy();
    const everywhere = (answer: () => Promise<Array<{ region: string; users: string[] }>>) =>
      run(parseArgs(['remove'], {}), { ...deps(), roleUsersEverywhere: answer }, (line) => lines.push(line));
    ram.calls.length = 0;
    strictEqual(await everywhere(async () => [{ region: 'cn-hangzhou', users: ['other-app'] }]), 0);
    deepStrictEqual(writes(), []);
    ok(
      lines
        .at(-1)
        ?.startsWith(
          'FC: other-app (cn-hangzhou) still run(s) as flow-preview-cams, which records no region',
        ),
    );
    await rejects(
      everywhere(() => Promise.reject(new Error('FC ListFunctions failed (AccessDenied)'))),
      /records no region it was deployed for, and FC could not list every region's functions .*nothing was removed/,
    );
    await rejects(remove(), /records no region .*FC cannot be asked in every region here/);
    deepStrictEqual(writes(), []);
    await everywhere(async () => [
      { region: 'ap-southeast-1', users: ['flow-preview'] },
      { region: 'cn-hangzhou', users: [] },
    ]);
    deepStrictEqual(writes(), ['DetachPolicyFromRole', 'DeletePolicy', 'DeleteRole']);
  });

  it('takes only its own region off a role two regions use; the last region’s remove deletes everything', async () => {
    await inRegion('ensure', 'ap-southeast-1');
    await inRegion('ensure', 'cn-hangzhou');
    ram.calls.length = 0;
    strictEqual(await inRegion('remove', 'cn-hangzhou'), 1);
    deepStrictEqual(writes(), ['UpdateRole']);
    deepStrictEqual(roleRegions(description() ?? ''), ['ap-southeast-1']);
    ok(lines.at(-1)?.startsWith('the role flow-preview-cams and its policy stay for ap-southeast-1'));
    ram.calls.length = 0;
    await inRegion('remove', 'ap-southeast-1');
    deepStrictEqual(writes(), ['DetachPolicyFromRole', 'DeletePolicy', 'DeleteRole']);
    deepStrictEqual([ram.roles.size, ram.policies.size, ram.attachments.size], [0, 0, 0]);
  });
});

describe('FC: which functions run as the role (asked before a remove deletes it)', () => {
  let fc: FcSimulator;
  before(async () => {
    fc = await new FcSimulator({
      accountId: '1234567890123456',
      region: 'ap-southeast-1',
      callers: [DEPLOYER],
      functions: {},
    }).start();
  });
  after(() => fc.stop());

  it('reads every page of ListFunctions and matches the role by ARN in any case, or by bare name', async () => {
    for (let i = 0; i < 230; i += 1) {
      fc.deployed.set(`fn-${String(i).padStart(3, '0')}`, {
        role: `acs:ram::1234567890123456:role/other-${i}`,
      });
    }
    fc.deployed.set('fn-050', { role: 'acs:ram::1234567890123456:role/flow-preview-cams' });
    fc.deployed.set('fn-150', { role: 'acs:ram::1234567890123456:role/Flow-Preview-CAMS' });
    fc.deployed.set('fn-229', { role: 'flow-preview-cams' });
    fc.deployed.set('fn-100', { role: 'acs:ram::1234567890123456:role/flow-preview-cams-old' });
    fc.deployed.set('fn-101', { role: 'acs:ram::1234567890123456:role/x-flow-preview-cams' });
    const users = await functionsUsingRole(
      fcEndpoint(fc.url, 'ap-southeast-1'),
      DEPLOYER,
      'flow-preview-cams',
    );
    deepStrictEqual(users, ['fn-050', 'fn-150', 'fn-229']);
    strictEqual(fc.apiCalls.filter((call) => call.action === 'ListFunctions').length, 3);
  });

  it('asks the FC fc3 asks: fcv3.<region>, or FC_CLIENT_CUSTOM_ENDPOINT as fc3’s getCustomEndpoint reads it', () => {
    deepStrictEqual(fcEndpoint(undefined, 'cn-hangzhou'), {
      host: 'fcv3.cn-hangzhou.aliyuncs.com',
      protocol: 'HTTPS',
    });
    deepStrictEqual(fcEndpoint('http://127.0.0.1:9000', 'cn-hangzhou'), {
      host: '127.0.0.1:9000',
      protocol: 'HTTP',
    });
    // devsapp/fc3 src/resources/fc/impl/utils.ts: a bare host is used over HTTPS.
    deepStrictEqual(fcEndpoint('fc.internal.example.com', 'cn-hangzhou'), {
      host: 'fc.internal.example.com',
      protocol: 'HTTPS',
    });
    deepStrictEqual(fcInvokeEndpoint(undefined, 'cn-hangzhou', '1234567890123456'), {
      host: '1234567890123456.cn-hangzhou.fc.aliyuncs.com',
      protocol: 'HTTPS',
    });
    deepStrictEqual(fcInvokeEndpoint('http://127.0.0.1:9000', 'cn-hangzhou', undefined), {
      host: '127.0.0.1:9000',
      protocol: 'HTTP',
    });
    throws(() => fcInvokeEndpoint(undefined, 'cn-hangzhou', undefined), /carry no AccountID/);
    throws(() => fcEndpoint('http://user:pw@127.0.0.1:9000', 'cn-hangzhou'), /must not carry credentials/);
  });

  it('throws, so the role stays, when FC will not list the functions', async () => {
    fc.denied.add(DEPLOYER.accessKeyId);
    await rejects(
      functionsUsingRole(fcEndpoint(fc.url, 'ap-southeast-1'), DEPLOYER, 'flow-preview-cams'),
      /FC ListFunctions failed \(AccessDenied\): cannot tell whether another function runs as flow-preview-cams/,
    );
    fc.denied.clear();
  });
});

describe('RAM CLI', () => {
  const cli = (args: string[], env: Record<string, string>) => {
    const base = cleanEnv({ RAM_ENDPOINT: ram.url, ...env });
    for (const key of ['AccessKeyID', 'AccessKeySecret', 'AccountID', 'FLOW_PREVIEW_ROLE_NAME']) {
      if (!(key in env)) delete base[key];
    }
    // Run from a folder of its own: the CLI reads the `.env` of the folder it runs in, and the developer's own must
    // not steer these tests.
    const script = join(process.cwd(), 'deploy', 'ram-cli.ts');
    const tsx = pathToFileURL(require.resolve('tsx')).href;
    return promisify(execFile)(process.execPath, ['--import', tsx, script, ...args], {
      env: base,
      cwd: home,
    }).then(
      ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
      (error: { code: number; stdout: string; stderr: string }) => ({
        code: error.code,
        stdout: error.stdout,
        stderr: error.stderr,
      }),
    );
  };
  let home: string;
  before(() => {
    home = aliasHome();
  });
  after(() => rmSync(home, { recursive: true, force: true }));

  it('ensures with the AccessKeyID/AccessKeySecret/AccountID trio, as s does, ignoring ALIBABA_CLOUD_* keys', async () => {
    const result = await cli(['ensure'], {
      AccessKeyID: DEPLOYER.accessKeyId,
      AccessKeySecret: DEPLOYER.accessKeySecret,
      AccountID: '1234567890123456',
      ALIBABA_CLOUD_ACCESS_KEY_ID: 'LTAI.NotTheDeployer',
      ALIBABA_CLOUD_ACCESS_KEY_SECRET: 'not-the-deployer',
      HOME: home,
    });
    strictEqual(result.code, 0, result.stderr);
    match(
      result.stdout,
      /credentials from the AccessKeyID\/AccessKeySecret\/AccountID environment variables/,
    );
    match(result.stdout, /ensured: role, policy and attachment are as documented/);
    ok(!result.stdout.includes(DEPLOYER.accessKeySecret));
    deepStrictEqual([...new Set(ram.calls.map((call) => call.accessKeyId))], [DEPLOYER.accessKeyId]);
  });

  it('reads the `s config add` alias given with -a from ~/.s/access.yaml (npm run ram:plan -- -a NAME)', async () => {
    const result = await cli(['ensure', '--dry-run', '-a', 'testalias'], { HOME: home });
    strictEqual(result.code, 0, result.stderr);
    match(result.stdout, /credentials from s access 'testalias'/);
    match(result.stdout, /dry run: nothing changed/);
    deepStrictEqual(writes(), []);
    // The alias' keys signed every call: RAM answered them (GetRole: the role is missing), none was refused.
    deepStrictEqual(
      ram.calls.map((call) => [call.action, call.code, call.accessKeyId]),
      [
        ['GetRole', 'EntityNotExist.Role', S_ALIAS.accessKeyId],
        ['GetPolicy', 'EntityNotExist.Policy', S_ALIAS.accessKeyId],
      ],
    );
  });

  it('exits 1 with a clear message when the deployer lacks a permission', async () => {
    ram.deny.add('CreateRole');
    const result = await cli(['ensure', '-a', 'testalias'], { HOME: home });
    strictEqual(result.code, 1);
    match(
      result.stderr,
      /RAM ensure failed: CreateRole failed: the deploying identity may not call ram:CreateRole \(NoPermission\)/,
    );
  });

  it('run alone (npm run ram:plan), reads .env from the folder it runs in, and the environment wins over it', async () => {
    writeFileSync(
      join(home, '.env'),
      'FLOW_PREVIEW_ROLE_NAME=from-dotenv-cams\nFLOW_PREVIEW_POLICY_NAME=FromDotEnv\n',
    );
    try {
      const result = await cli(['ensure', '--dry-run', '-a', 'testalias'], {
        HOME: home,
        FLOW_PREVIEW_POLICY_NAME: 'FromEnvironment',
      });
      strictEqual(result.code, 0, result.stderr);
      match(result.stdout, /^RAM ensure \(dry run\): role from-dotenv-cams, policy FromEnvironment,/);
    } finally {
      rmSync(join(home, '.env'));
    }
  });

  it('exits 1 naming the missing alias as s does, and 2 for bad usage or a bad name, before calling RAM', async () => {
    const missing = await cli(['ensure', '-a', 'nope'], { HOME: home });
    strictEqual(missing.code, 1);
    match(missing.stderr, /Not found access: nope \(not in .*access\.yaml; run 's config add -a nope'\)/);
    const usage = await cli(['enusre'], { HOME: home });
    strictEqual(usage.code, 2);
    match(usage.stderr, /usage: ram-cli ensure\|remove/);
    const badName = await cli(['ensure', '-a', 'testalias'], { HOME: home, FLOW_PREVIEW_ROLE_NAME: 'x; rm' });
    strictEqual(badName.code, 2);
    match(badName.stderr, /role name must be/);
    deepStrictEqual(ram.calls, []);
  });
});

describe('deployer credentials (the order s 3.1.10 uses for fc3)', () => {
  const TRIO = { AccessKeyID: 'LTAI.trio', AccessKeySecret: 'trio-secret', AccountID: '42' };
  let home: string;
  before(() => {
    home = aliasHome();
  });
  after(() => rmSync(home, { recursive: true, force: true }));

  it('decrypts values as Serverless Devs stores them, and passes plain ones through', () => {
    strictEqual(decryptAccessValue('U2FsdGVkX18i2n7VGykrl7m1h54swnFHLxYV+7V0j9Q='), 'LTAIexampleid');
    strictEqual(decryptAccessValue('plain-value'), 'plain-value');
  });

  it('takes the env trio over any alias, and the alias when one of the three is missing', async () => {
    deepStrictEqual(await deployerCredentials('testalias', TRIO, home), {
      accessKeyId: 'LTAI.trio',
      accessKeySecret: 'trio-secret',
      accountId: '42',
      source: 'the AccessKeyID/AccessKeySecret/AccountID environment variables',
    });
    const { AccountID: _, ...two } = TRIO;
    strictEqual((await deployerCredentials('testalias', two, home)).accessKeyId, S_ALIAS.accessKeyId);
    await rejects(
      deployerCredentials('testalias', { ...TRIO, AccountID: '' }, home),
      /AccountID is set but empty/,
    );
  });

  it('never reads ALIBABA_CLOUD_* (neither s nor fc3 does)', async () => {
    await rejects(
      deployerCredentials(
        'default',
        { ALIBABA_CLOUD_ACCESS_KEY_ID: 'a', ALIBABA_CLOUD_ACCESS_KEY_SECRET: 'b' },
        home,
      ),
      /Not found access: default/,
    );
  });

  it('uses serverless_devs_access_cicd_alias_name in CI only, and aliases held in *_serverless_devs_key variables', async () => {
    const ci = { GITHUB_ACTIONS: 'true', serverless_devs_access_cicd_alias_name: 'testalias' };
    strictEqual((await deployerCredentials('default', ci, home)).source, "s access 'testalias'");
    await rejects(
      deployerCredentials('default', { serverless_devs_access_cicd_alias_name: 'testalias' }, home),
      /Not found access: default/,
    );
    const fromEnv = await deployerCredentials(
      'ci_serverless_devs_key',
      { ci_serverless_devs_key: JSON.stringify({ AccessKeyID: 'k', AccessKeySecret: 's', AccountID: '7' }) },
      home,
    );
    deepStrictEqual([fromEnv.accessKeyId, fromEnv.accountId], ['k', '7']);
  });

  it('validates names before calling RAM', () => {
    strictEqual(parseArgs(['ensure', '--role', 'my.role-1'], {}).roleName, 'my.role-1');
    throws(() => parseArgs(['ensure', '--policy', 'bad name'], {}), /policy name must be/);
    throws(
      () => parseArgs(['ensure'], { FLOW_PREVIEW_LOG_PROJECT: 'p-1' }),
      /both a log project and a logstore/,
    );
    throws(() => parseArgs(['ensure', '--on-drift', 'ignore'], {}), /must be report, fail or detach/);
  });
});
