/**
 * `npm run deploy` and `npm run remove` end to end with the real `s` 3.1.10, offline: a temp copy of the project whose
 * s.yaml names a local fc3 stand-in (tests/fixtures/fc3-stand-in: records its inputs, checks fc3's schema, creates and
 * deletes the function in the FC API simulator), aliases written by the real `s config add`, the RAM step against the
 * RAM API simulator. Each scenario runs `s` once; they share one HOME, one project copy and the simulators.
 */

import { deepStrictEqual, match, ok, strictEqual } from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FcSimulator } from '../../dev/fc-simulator.js';
import { RamSimulator } from '../../dev/ram-simulator.js';
import {
  configAdd,
  makeSHome,
  projectCopy,
  runNpm,
  runS,
  type SHome,
  type SResult,
  sEnv,
} from '../fixtures/s-cli.js';

const DEFAULT = {
  accessKeyId: 'LTAI.DefaultAlias',
  accessKeySecret: 'default-alias-secret',
  accountId: '1111111111111111',
};
const STAGING = {
  accessKeyId: 'LTAI.StagingAlias',
  accessKeySecret: 'staging-alias-secret',
  accountId: '2222222222222222',
};
const TRIO = {
  accessKeyId: 'LTAI.EnvTrio',
  accessKeySecret: 'env-trio-secret',
  accountId: '3333333333333333',
};

interface Recorded {
  at: number;
  command: string;
  access: string;
  args: string[];
  props: Record<string, unknown>;
  accessKeyId: string;
  accountId: string;
  unresolved: string[];
  codeBuilt?: boolean;
}

describe('npm run deploy / npm run remove with the real s (fc3 replaced by a recording stand-in)', () => {
  let ram: RamSimulator;
  let fc: FcSimulator;
  let home: SHome;
  let project: { dir: string; cleanup: () => void };
  let recordFile: string;
  const timings: string[] = [];

  const records = (): Recorded[] => {
    try {
      return readFileSync(recordFile, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as Recorded);
    } catch {
      return [];
    }
  };
  /**
   * One `s` run in the project copy, with `.env` holding `dotEnv` (as a developer's would). `npm run deploy -- …`
   * and `npm run remove -- …` (args starting with `npm`) go through the package.json scripts, as a person types them.
   */
  const s = async (
    label: string,
    args: string[],
    dotEnv: Record<string, string> = {},
    extra: Record<string, string> = {},
  ): Promise<SResult> => {
    const envFile = join(project.dir, '.env');
    rmSync(envFile, { force: true });
    const lines = Object.entries(dotEnv).map(([key, value]) => `${key}=${value}`);
    if (lines.length > 0) writeFileSync(envFile, `${lines.join('\n')}\n`);
    const env = sEnv(home, {
      RAM_ENDPOINT: ram.url,
      FC_CLIENT_CUSTOM_ENDPOINT: fc.url,
      FC3_STAND_IN_RECORD: recordFile,
      ...extra,
    });
    const [first = '', script = '', ...rest] = args;
    const result =
      first === 'npm' ? await runNpm(script, rest, project.dir, env) : await runS(args, project.dir, env);
    timings.push(`${label}: ${result.ms} ms`);
    return result;
  };
  const output = (result: SResult) =>
    `exit ${result.code}\n${result.stdout}\n--- stderr ---\n${result.stderr}`;
  const ramCallsSince = (from: number) => ram.calls.slice(from);

  before(async () => {
    ram = await new RamSimulator([DEFAULT, STAGING, TRIO]).start();
    fc = await new FcSimulator({
      accountId: DEFAULT.accountId,
      region: 'ap-southeast-1',
      callers: [DEFAULT, STAGING, TRIO],
      functions: {},
    }).start();
    home = makeSHome();
    project = projectCopy();
    recordFile = join(home.dir, 'fc3-stand-in.jsonl');
    for (const [alias, keys] of [
      ['default', DEFAULT],
      ['staging', STAGING],
    ] as const) {
      const added = await configAdd(home, alias, keys);
      strictEqual(added.code, 0, output(added));
    }
  });
  after(async () => {
    process.stdout.write(`# real s timings: ${timings.join(', ')}\n`);
    project.cleanup();
    home.cleanup();
    await Promise.all([ram.stop(), fc.stop()]);
  });

  describe('s deploy -y', () => {
    let result: SResult;
    let deployed: Recorded;
    let firstRamCall: number;

    before(async () => {
      firstRamCall = ram.calls.length;
      ram.roleReadLag = 1; // RAM shows a new role only on the second read
      result = await s('deploy', ['deploy', '-y']);
      ram.roleReadLag = 0;
      deployed = records().at(-1) as Recorded;
    });

    it('succeeds, and hands fc3 fully resolved props that match fc3’s schema', () => {
      strictEqual(result.code, 0, output(result));
      strictEqual(deployed.command, 'deploy');
      deepStrictEqual(deployed.unresolved, []);
      strictEqual(deployed.props['functionName'], 'flow-preview');
    });

    it('builds the bundle and ensures the role before the component runs', () => {
      strictEqual(deployed.codeBuilt, true);
      const calls = ramCallsSince(firstRamCall);
      deepStrictEqual(
        calls.filter((call) => call.code === 'OK' && call.action.startsWith('Create')).map((c) => c.action),
        ['CreateRole', 'CreatePolicy'],
      );
      ok(calls.every((call) => call.at <= deployed.at));
    });

    it('waits until RAM shows the new role before handing over to fc3', () => {
      const reads = ramCallsSince(firstRamCall).filter((call) => call.action === 'GetRole');
      deepStrictEqual(
        reads.map((call) => call.code),
        ['EntityNotExist.Role', 'EntityNotExist.Role', 'OK'],
      );
    });

    it('signs the RAM step and fc3 with the same alias, s.yaml’s literal `default`', () => {
      strictEqual(deployed.access, 'default');
      strictEqual(deployed.accessKeyId, DEFAULT.accessKeyId);
      deepStrictEqual(
        [...new Set(ramCallsSince(firstRamCall).map((call) => call.accessKeyId))],
        [DEFAULT.accessKeyId],
      );
    });

    it('gives the function the ensured role as fc3 does: acs:ram::<AccountID>:role/<name>', () => {
      strictEqual(
        fc.deployed.get('flow-preview')?.['role'],
        `acs:ram::${DEFAULT.accountId}:role/flow-preview-cams`,
      );
      ok(ram.roles.has('flow-preview-cams'));
    });
  });

  describe('npm run deploy -- -a staging, with the deploy settings in .env', () => {
    let result: SResult;
    let deployed: Recorded;
    let firstRamCall: number;
    before(async () => {
      firstRamCall = ram.calls.length;
      result = await s('npm run deploy -- -a staging', ['npm', 'deploy', '-a', 'staging'], {
        FLOW_PREVIEW_FUNCTION_NAME: 'flow-preview-staging',
        FLOW_PREVIEW_ROLE_NAME: 'flow-preview-staging-cams',
        FLOW_PREVIEW_POLICY_NAME: 'FlowPreviewStaging',
        FLOW_PREVIEW_LOG_PROJECT: 'staging-logs',
        FLOW_PREVIEW_LOG_STORE: 'flow-preview',
      });
      deployed = records().at(-1) as Recorded;
    });

    it('takes -a NAME to both fc3 and the RAM step', () => {
      strictEqual(result.code, 0, output(result));
      strictEqual(deployed.access, 'staging');
      strictEqual(deployed.accessKeyId, STAGING.accessKeyId);
      deepStrictEqual(
        [...new Set(ramCallsSince(firstRamCall).map((call) => call.accessKeyId))],
        [STAGING.accessKeyId],
      );
    });

    it('takes .env values to both fc3 and the RAM step', () => {
      deepStrictEqual(
        [deployed.props['functionName'], deployed.props['role'], deployed.props['logConfig']],
        [
          'flow-preview-staging',
          'flow-preview-staging-cams',
          { project: 'staging-logs', logstore: 'flow-preview' },
        ],
      );
      ok(ram.attachments.has('flow-preview-staging-cams\u0000Custom:FlowPreviewStaging'));
      strictEqual(
        fc.deployed.get('flow-preview-staging')?.['role'],
        `acs:ram::${STAGING.accountId}:role/flow-preview-staging-cams`,
      );
    });

    it('grants log:PostLogStoreLogs on that one logstore, in the account fc3 deploys to', () => {
      const document = JSON.parse(ram.policies.get('FlowPreviewStaging')?.versions[0]?.document ?? 'null');
      deepStrictEqual(document.Statement[1], {
        Effect: 'Allow',
        Action: ['log:PostLogStoreLogs'],
        Resource: [`acs:log:ap-southeast-1:${STAGING.accountId}:project/staging-logs/logstore/flow-preview`],
      });
    });
  });

  it('uses the AccessKeyID/AccessKeySecret/AccountID trio over any alias, for fc3 and the RAM step alike', async () => {
    const firstRamCall = ram.calls.length;
    const result = await s('deploy, env trio', ['deploy', '-y', '-a', 'staging'], {
      AccessKeyID: TRIO.accessKeyId,
      AccessKeySecret: TRIO.accessKeySecret,
      AccountID: TRIO.accountId,
      FLOW_PREVIEW_FUNCTION_NAME: 'flow-preview-trio',
      FLOW_PREVIEW_ROLE_NAME: 'flow-preview-trio-cams',
      FLOW_PREVIEW_POLICY_NAME: 'FlowPreviewTrio',
    });
    strictEqual(result.code, 0, output(result));
    const deployed = records().at(-1) as Recorded;
    deepStrictEqual([deployed.accessKeyId, deployed.accountId], [TRIO.accessKeyId, TRIO.accountId]);
    deepStrictEqual(
      [...new Set(ramCallsSince(firstRamCall).map((call) => call.accessKeyId))],
      [TRIO.accessKeyId],
    );
    strictEqual(
      fc.deployed.get('flow-preview-trio')?.['role'],
      `acs:ram::${TRIO.accountId}:role/flow-preview-trio-cams`,
    );
  });

  it('in CI, takes serverless_devs_access_cicd_alias_name over -a to fc3 and the RAM step alike', async () => {
    const firstRamCall = ram.calls.length;
    const result = await s(
      'deploy in CI',
      ['deploy', '-y', '-a', 'default'],
      {
        FLOW_PREVIEW_FUNCTION_NAME: 'flow-preview-ci',
        FLOW_PREVIEW_ROLE_NAME: 'flow-preview-ci-cams',
        FLOW_PREVIEW_POLICY_NAME: 'FlowPreviewCi',
      },
      { GITHUB_ACTIONS: 'true', serverless_devs_access_cicd_alias_name: 'staging' },
    );
    strictEqual(result.code, 0, output(result));
    strictEqual((records().at(-1) as Recorded).accessKeyId, STAGING.accessKeyId);
    deepStrictEqual(
      [...new Set(ramCallsSince(firstRamCall).map((call) => call.accessKeyId))],
      [STAGING.accessKeyId],
    );
  });

  it('refuses props fc3’s schema rejects before any action runs (validation: true)', async () => {
    const before = { records: records().length, ram: ram.calls.length };
    const result = await s('deploy, invalid props', ['deploy', '-y'], { FLOW_PREVIEW_MEMORY_MB: '100' });
    strictEqual(result.code, 100, output(result));
    match(output(result), /memorySize/);
    deepStrictEqual([records().length, ram.calls.length], [before.records, before.ram]);
  });

  it('stops before the component when the RAM step fails, and says why', async () => {
    const before = records().length;
    ram.deny.add('CreatePolicy');
    const result = await s('deploy, RAM denied', ['deploy', '-y'], {
      FLOW_PREVIEW_FUNCTION_NAME: 'flow-preview-denied',
      FLOW_PREVIEW_POLICY_NAME: 'FlowPreviewDenied',
    });
    ram.deny.clear();
    strictEqual(result.code, 101, output(result));
    match(output(result), /may not call ram:CreatePolicy/);
    strictEqual(records().length, before);
    ok(!fc.deployed.has('flow-preview-denied'));
  });

  describe('s remove -y', () => {
    it('keeps a role another function still runs as: a second deployment that changed only the function name', async () => {
      const shared = { FLOW_PREVIEW_FUNCTION_NAME: 'flow-preview-shared' };
      const deployed = await s('deploy, shared role', ['deploy', '-y'], shared);
      strictEqual(deployed.code, 0, output(deployed));
      strictEqual(
        fc.deployed.get('flow-preview-shared')?.['role'],
        `acs:ram::${DEFAULT.accountId}:role/flow-preview-cams`,
      );
      const firstRamWrite = ram.writes.length;
      const result = await s('remove, shared role', ['remove', '-y'], shared);
      strictEqual(result.code, 0, output(result));
      ok(!fc.deployed.has('flow-preview-shared'));
      match(
        output(result),
        /FC: flow-preview in ap-southeast-1 still run\(s\) as flow-preview-cams, so the role and its policy stay/,
      );
      deepStrictEqual(ram.writes.slice(firstRamWrite), []);
      ok(ram.roles.has('flow-preview-cams') && ram.policies.has('FlowPreviewGetFlowPreviewUrl'));
    });

    it('removes the function, then (FC GetFunction: not found) the role and policy', async () => {
      const firstFcCall = fc.apiCalls.length;
      const result = await s('remove', ['remove', '-y']);
      strictEqual(result.code, 0, output(result));
      deepStrictEqual(
        fc.apiCalls.slice(firstFcCall).map((call) => [call.action, call.functionName, call.status]),
        [
          ['DeleteFunction', 'flow-preview', 204],
          ['GetFunction', 'flow-preview', 404],
          ['ListFunctions', '', 200],
        ],
      );
      ok(!ram.roles.has('flow-preview-cams'));
      ok(!ram.policies.has('FlowPreviewGetFlowPreviewUrl'));
    });

    it('finishes the RAM cleanup on a second npm run remove after the first stopped half-way', async () => {
      const names = {
        FLOW_PREVIEW_FUNCTION_NAME: 'flow-preview-retry',
        FLOW_PREVIEW_ROLE_NAME: 'flow-preview-retry-cams',
        FLOW_PREVIEW_POLICY_NAME: 'FlowPreviewRetry',
      };
      const deployed = await s('deploy, retried remove', ['deploy', '-y'], names);
      strictEqual(deployed.code, 0, output(deployed));
      ram.deny.add('DeleteRole');
      const first = await s('remove, DeleteRole denied', ['npm', 'remove'], names);
      ram.deny.clear();
      strictEqual(first.code, 101, output(first));
      match(output(first), /may not call ram:DeleteRole[\s\S]*not done: DeleteRole/);
      ok(!fc.deployed.has('flow-preview-retry') && ram.roles.has('flow-preview-retry-cams'));
      const second = await s('remove again', ['npm', 'remove'], names);
      strictEqual(second.code, 0, output(second));
      ok(!ram.roles.has('flow-preview-retry-cams') && !ram.policies.has('FlowPreviewRetry'));
    });

    it('keeps the role when fc3 only logged its error and s exited 0 for it, and fails saying so', async () => {
      const result = await s(
        'remove -a staging, fc3 error',
        ['remove', '-y', '-a', 'staging'],
        {
          FLOW_PREVIEW_FUNCTION_NAME: 'flow-preview-staging',
          FLOW_PREVIEW_ROLE_NAME: 'flow-preview-staging-cams',
        },
        { FC3_STAND_IN_REMOVE: 'log-error' },
      );
      strictEqual(result.code, 101, output(result));
      match(
        output(result),
        /function flow-preview-staging still exists in ap-southeast-1, so its role stays/,
      );
      ok(ram.roles.has('flow-preview-staging-cams'));
      ok(fc.deployed.has('flow-preview-staging'));
    });

    it('npm run remove -- -a NAME takes the alias and .env to both fc3’s remove and the RAM step', async () => {
      const firstRamCall = ram.calls.length;
      const result = await s('npm run remove -- -a staging', ['npm', 'remove', '-a', 'staging'], {
        FLOW_PREVIEW_FUNCTION_NAME: 'flow-preview-staging',
        FLOW_PREVIEW_ROLE_NAME: 'flow-preview-staging-cams',
        FLOW_PREVIEW_POLICY_NAME: 'FlowPreviewStaging',
      });
      strictEqual(result.code, 0, output(result));
      const removed = records().at(-1) as Recorded;
      deepStrictEqual(
        [removed.command, removed.access, removed.accessKeyId],
        ['remove', 'staging', STAGING.accessKeyId],
      );
      deepStrictEqual(
        [...new Set(ramCallsSince(firstRamCall).map((call) => call.accessKeyId))],
        [STAGING.accessKeyId],
      );
      ok(!fc.deployed.has('flow-preview-staging'));
      ok(!ram.roles.has('flow-preview-staging-cams') && !ram.policies.has('FlowPreviewStaging'));
    });
  });

  it('never let s reach past loopback: only config add’s STS account check was tried, and refused', () => {
    const attempts = home.attempts();
    ok(attempts.length > 0, 'the guard saw config add try STS');
    deepStrictEqual(
      attempts.filter((line) => !/^lookup sts\.cn-hangzhou\.aliyuncs\.com <- .*config add/.test(line)),
      [],
    );
  });
});
