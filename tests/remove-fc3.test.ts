/**
 * `npm run remove` end to end with the real `s` 3.1.10 and the real fc3 0.1.22, offline: fc3's remove against the FC
 * simulator, then (only when it succeeded) the RAM step's remove, which deletes the role only once FC says the
 * function is gone, no other function in the region runs as the role, and the region is the one the role was
 * deployed for (issue 17). Credentials reach fc3 and the RAM step alike whichever way they are given.
 */

import { deepStrictEqual, match, ok, strictEqual } from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { FcSimulator } from '../dev/fc-simulator.js';
import { DEFAULT, type DeployRig, deployRig, output, STAGING, TRIO } from './fixtures/deploy-rig.js';
import { fc3Missing } from './fixtures/s-cli.js';

describe('npm run remove with the real s and fc3 0.1.22', { skip: fc3Missing() }, () => {
  let rig: DeployRig;
  const identities = (ramFrom: number, fcFrom: number) => [
    ...new Set(
      [...rig.ram.calls.slice(ramFrom), ...rig.fc.apiCalls.slice(fcFrom)].map((call) => call.accessKeyId),
    ),
  ];

  before(async () => {
    rig = await deployRig({
      aliases: [
        ['default', DEFAULT],
        ['staging', STAGING],
      ],
    });
    const deployed = await rig.run('deploy', ['deploy', '-y']);
    strictEqual(deployed.code, 0, output(deployed));
  });
  after(() => rig.stop());

  it('with the wrong region finds no function there, and refuses to delete the role deployed for another region', async () => {
    // FC in cn-hangzhou: another endpoint, where this function does not exist.
    const elsewhere = await new FcSimulator({
      accountId: DEFAULT.accountId,
      region: 'cn-hangzhou',
      callers: [DEFAULT],
    }).start();
    const firstRamWrite = rig.ram.writes.length;
    const result = await rig.run(
      'remove, wrong region',
      ['npm', 'remove'],
      { FLOW_PREVIEW_REGION: 'cn-hangzhou' },
      { FC_CLIENT_CUSTOM_ENDPOINT: elsewhere.url, FC_CODE_TEMP_OSS_ENDPOINT: elsewhere.url },
    );
    await elsewhere.stop();
    strictEqual(result.code, 101, output(result));
    match(
      output(result),
      /the role flow-preview-cams was deployed for ap-southeast-1, not cn-hangzhou: .*nothing removed\. Run the remove with FLOW_PREVIEW_REGION=ap-southeast-1/,
    );
    deepStrictEqual(rig.ram.writes.slice(firstRamWrite), []);
    ok(rig.ram.roles.has('flow-preview-cams') && rig.fc.deployed.has('flow-preview'));
  });

  it('keeps the role when fc3 only logged its error and s exited 0 for it, and fails saying so', async () => {
    rig.fc.refuse.set('DeleteFunction', { status: 403, code: 'AccessDenied' });
    const result = await rig.run('remove, DeleteFunction refused', ['remove', '-y']);
    rig.fc.refuse.clear();
    strictEqual(result.code, 101, output(result));
    match(output(result), /function flow-preview still exists in ap-southeast-1, so its role stays/);
    ok(rig.ram.roles.has('flow-preview-cams') && rig.fc.deployed.has('flow-preview'));
  });

  it('keeps a role another function still runs as: a second deployment that changed only the function name', async () => {
    const firstRamWrite = rig.ram.writes.length;
    const result = await rig.run('remove, shared role', ['remove', '-y'], {
      FLOW_PREVIEW_FUNCTION_NAME: 'flow-preview-shared',
    });
    strictEqual(result.code, 0, output(result));
    match(
      output(result),
      /FC: flow-preview in ap-southeast-1 still run\(s\) as flow-preview-cams, so the role and its policy stay/,
    );
    deepStrictEqual(rig.ram.writes.slice(firstRamWrite), []);
  });

  it('removes trigger and function, then (FC: not found, no other user, its region) the role and policy', async () => {
    const firstFcCall = rig.fc.apiCalls.length;
    const result = await rig.run('remove', ['remove', '-y']);
    strictEqual(result.code, 0, output(result));
    const calls = rig.fc.apiCalls.slice(firstFcCall).map((call) => `${call.action} ${call.status}`);
    const deleted = calls.indexOf('DeleteFunction 204');
    ok(calls.indexOf('DeleteTrigger 204') < deleted && deleted > 0, calls.join('\n'));
    deepStrictEqual(calls.slice(deleted), ['DeleteFunction 204', 'GetFunction 404', 'ListFunctions 200']);
    ok(!rig.fc.deployed.has('flow-preview') && !rig.fc.triggers.has('flow-preview'));
    ok(!rig.ram.roles.has('flow-preview-cams') && !rig.ram.policies.has('FlowPreviewGetFlowPreviewUrl'));
  });

  it('uses the AccessKeyID/AccessKeySecret/AccountID trio over any alias, for fc3 and the RAM step alike', async () => {
    const from = [rig.ram.calls.length, rig.fc.apiCalls.length] as const;
    const result = await rig.run('remove, env trio', ['remove', '-y', '-a', 'staging'], {
      AccessKeyID: TRIO.accessKeyId,
      AccessKeySecret: TRIO.accessKeySecret,
      AccountID: TRIO.accountId,
      FLOW_PREVIEW_FUNCTION_NAME: 'flow-preview-trio',
    });
    strictEqual(result.code, 0, output(result));
    deepStrictEqual(identities(...from), [TRIO.accessKeyId]);
  });

  it('in CI, takes serverless_devs_access_cicd_alias_name over -a to fc3 and the RAM step alike', async () => {
    const from = [rig.ram.calls.length, rig.fc.apiCalls.length] as const;
    const result = await rig.run(
      'remove in CI',
      ['remove', '-y', '-a', 'default'],
      { FLOW_PREVIEW_FUNCTION_NAME: 'flow-preview-ci' },
      { GITHUB_ACTIONS: 'true', serverless_devs_access_cicd_alias_name: 'staging' },
    );
    strictEqual(result.code, 0, output(result));
    deepStrictEqual(identities(...from), [STAGING.accessKeyId]);
  });

  it('npm run remove -- -a NAME takes the alias and .env to both, and a second run finishes what the first could not', async () => {
    const names = {
      FLOW_PREVIEW_FUNCTION_NAME: 'flow-preview-staging',
      FLOW_PREVIEW_ROLE_NAME: 'flow-preview-staging-cams',
      FLOW_PREVIEW_POLICY_NAME: 'FlowPreviewStaging',
    };
    const ensured = await rig.run('ram:ensure -- -a staging', ['npm', 'ram:ensure', '-a', 'staging'], names);
    strictEqual(ensured.code, 0, output(ensured));
    const from = [rig.ram.calls.length, rig.fc.apiCalls.length] as const;
    rig.ram.deny.add('DeleteRole');
    const first = await rig.run(
      'remove -a staging, DeleteRole denied',
      ['npm', 'remove', '-a', 'staging'],
      names,
    );
    rig.ram.deny.clear();
    strictEqual(first.code, 101, output(first));
    match(output(first), /may not call ram:DeleteRole[\s\S]*not done: DeleteRole/);
    ok(rig.ram.roles.has('flow-preview-staging-cams'));
    const second = await rig.run('remove -a staging again', ['npm', 'remove', '-a', 'staging'], names);
    strictEqual(second.code, 0, output(second));
    ok(!rig.ram.roles.has('flow-preview-staging-cams') && !rig.ram.policies.has('FlowPreviewStaging'));
    deepStrictEqual(identities(...from), [STAGING.accessKeyId]);
  });
});
