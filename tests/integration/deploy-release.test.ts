/**
 * Releases you can take back, with the real `s` 3.1.10 and the real fc3 0.1.22's own `version publish` and
 * `alias publish`, offline: `npm run release` publishes the verified LATEST as an FC version and points the alias
 * `live` at it (or beside the previous version as a weighted canary), the HTTP trigger serves the alias from then
 * on, a deploy may not silently point it back at LATEST, `npm run rollback` takes a release back, and `npm run remove`
 * still removes everything. The FC simulator runs each version's own code, so which version served a trigger request
 * is what FC ran, not what a record says.
 */

import { deepStrictEqual, match, ok, strictEqual } from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { CamsSimulator, SAMPLE_ERROR_FLOWS, SAMPLE_FLOWS } from '../../dev/cams-simulator.js';
import { DEFAULT, type DeployRig, deployRig, output, ROLE_KEYS } from '../fixtures/deploy-rig.js';
import { fc3Missing } from '../fixtures/s-cli.js';

describe('npm run release and npm run rollback with the real s and fc3 0.1.22', {
  skip: fc3Missing(),
}, () => {
  let rig: DeployRig;
  /** An anonymous trigger keeps the trigger requests below unsigned; the auth is not what this file tests. */
  const settings = { FLOW_PREVIEW_AUTH_TYPE: 'anonymous' };
  const kept = { ...settings, FLOW_PREVIEW_TRIGGER_QUALIFIER: 'live' };
  let cams: CamsSimulator;
  /** LATEST's settings after the change: a new timeout, and the CAMS simulator for the preview smoke. */
  let changed: Record<string, string>;
  const alias = () => rig.fc.aliases.get('flow-preview')?.get('live');
  const serving = () => rig.fc.triggers.get('flow-preview')?.get('http')?.qualifier;

  /** A request on the HTTP trigger's host; returns the version of the code that answered it. */
  const viaTrigger = async (): Promise<string | undefined> => {
    const host = new URL(rig.fc.triggers.get('flow-preview')?.get('http')?.httpTrigger?.urlInternet ?? '')
      .host;
    const status = await new Promise<number>((resolve, reject) => {
      const port = Number(new URL(rig.fc.url).port);
      const req = request({ host: '127.0.0.1', port, path: '/not-a-route', headers: { host } }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
      req.end();
    });
    strictEqual(status, 404, 'the function’s own 404 for an unknown path');
    const last = rig.fc.executions.at(-1);
    strictEqual(last?.via, 'trigger:http');
    return last?.version;
  };

  before(async () => {
    cams = await new CamsSimulator({
      credentials: [ROLE_KEYS],
      flows: SAMPLE_FLOWS,
      errorFlows: SAMPLE_ERROR_FLOWS,
    }).start();
    changed = { ...kept, FLOW_PREVIEW_CAMS_TIMEOUT_MS: '6000', FLOW_PREVIEW_CAMS_ENDPOINT: cams.url };
    rig = await deployRig();
    const deployed = await rig.run('deploy', ['npm', 'deploy'], settings);
    strictEqual(deployed.code, 0, output(deployed));
  });
  after(async () => {
    await rig.stop();
    await cams.stop();
  });

  it('deploys with the default alias, and with logging off sends exactly what fc3 sends for a spec with no logConfig', () => {
    strictEqual(
      rig.fc.deployed.get('flow-preview')?.['role'],
      `acs:ram::${DEFAULT.accountId}:role/flow-preview-cams`,
    );
    deepStrictEqual(rig.fc.deployed.get('flow-preview')?.['logConfig'], {
      project: '',
      logstore: '',
      enableRequestMetrics: false,
      enableInstanceMetrics: false,
      logBeginRule: 'None',
    });
  });

  it('publishes the verified LATEST as version 1 through fc3, points alias live at it, and the trigger serves live', async () => {
    const result = await rig.run('npm run release', ['npm', 'release'], settings);
    strictEqual(result.code, 0, output(result));
    match(result.stdout, /verify: FC holds what was asked/);
    match(result.stdout, /published LATEST as version 1/);
    match(result.stdout, /trigger http: served LATEST, now serves alias live/);
    deepStrictEqual([alias()?.versionId, alias()?.additionalVersionWeight, serving()], ['1', {}, 'live']);
    const writes = rig.fc.apiCalls.filter((call) =>
      ['PublishFunctionVersion', 'CreateAlias'].includes(call.action),
    );
    deepStrictEqual(
      writes.map((call) => [call.action, call.accessKeyId, call.status]),
      [
        ['PublishFunctionVersion', DEFAULT.accessKeyId, 200],
        ['CreateAlias', DEFAULT.accessKeyId, 200],
      ],
    );
    ok(rig.fc.executions.some((run) => run.qualifier === 'live' && run.version === '1'));
    strictEqual(await viaTrigger(), '1');
  });

  it('refuses a deploy that would point the trigger back at LATEST without saying so', async () => {
    const firstRamCall = rig.ram.calls.length;
    const result = await rig.run('deploy without the qualifier', ['npm', 'deploy'], settings);
    strictEqual(result.code, 101, output(result));
    match(
      output(result),
      /serves live \(npm run release pointed it there\).*Set FLOW_PREVIEW_TRIGGER_QUALIFIER=live/,
    );
    deepStrictEqual(rig.ram.calls.slice(firstRamCall), []);
    strictEqual(serving(), 'live');
  });

  it('deploys a change to LATEST while the trigger keeps serving the release; the preview smoke asks CAMS as the role', async () => {
    const result = await rig.run('deploy a change, preview smoke', ['npm', 'deploy'], {
      ...changed,
      FLOW_PREVIEW_SMOKE_FLOW_ID: 'welcome-flow',
    });
    strictEqual(result.code, 0, output(result));
    match(result.stdout, /serves live\)/);
    match(
      result.stdout,
      /preview smoke: flow-preview \(LATEST\) got a preview link for flow welcome-flow from CAMS/,
    );
    deepStrictEqual(
      cams.calls.map((call) => [call.accessKeyId, call.params['FlowId'], call.code]),
      [[ROLE_KEYS.accessKeyId, 'welcome-flow', 'OK']],
    );
    strictEqual(serving(), 'live');
    strictEqual(await viaTrigger(), '1');
  });

  it('fails the read-back with what it means when CAMS refuses the role the preview smoke (Ram.PermissionDeny)', async () => {
    const result = await rig.run('npm run deploy:verify, CAMS denies', ['npm', 'deploy:verify'], {
      ...changed,
      FLOW_PREVIEW_SMOKE_FLOW_ID: 'denied-flow',
    });
    strictEqual(result.code, 1, output(result));
    match(
      result.stderr,
      /CAMS refused the function's role \(Ram\.PermissionDeny\): the role flow-preview-cams may not call cams:GetFlowPreviewUrl/,
    );
  });

  it('releases the change as a canary: version 2 gets 25% of live beside version 1', async () => {
    const result = await rig.run('release --canary 0.25', ['npm', 'release', '--canary', '0.25'], kept);
    strictEqual(result.code, 0, output(result));
    deepStrictEqual([alias()?.versionId, alias()?.additionalVersionWeight], ['1', { '2': 0.25 }]);
    rig.fc.random = () => 0.1;
    strictEqual(await viaTrigger(), '2');
    rig.fc.random = () => 0.9;
    strictEqual(await viaTrigger(), '1');
  });

  it('rollback withdraws the canary: version 1 serves alone', async () => {
    const result = await rig.run('rollback, canary', ['npm', 'rollback'], kept);
    strictEqual(result.code, 0, output(result));
    match(result.stdout, /canary 2 withdrawn, version 1 serves alone/);
    deepStrictEqual([alias()?.versionId, alias()?.additionalVersionWeight], ['1', {}]);
    rig.fc.random = () => 0.1;
    strictEqual(await viaTrigger(), '1');
  });

  it('a full release reuses version 2 (LATEST has not changed) and gives it the whole alias', async () => {
    const result = await rig.run('release again', ['npm', 'release'], kept);
    strictEqual(result.code, 0, output(result));
    match(result.stdout, /version 2 already holds LATEST/);
    strictEqual(rig.fc.versions.get('flow-preview')?.length, 2);
    deepStrictEqual(
      [alias()?.versionId, alias()?.additionalVersionWeight, alias()?.description],
      ['2', {}, 'release 2 (previous 1)'],
    );
    strictEqual(await viaTrigger(), '2');
  });

  it('rollback points live back at the version it served before the last release', async () => {
    const result = await rig.run('rollback', ['npm', 'rollback'], kept);
    strictEqual(result.code, 0, output(result));
    match(result.stdout, /alias live: back to version 1 \(from 2\)/);
    deepStrictEqual([alias()?.versionId, serving()], ['1', 'live']);
    strictEqual(await viaTrigger(), '1');
  });

  it('npm run remove removes the alias, the versions, the trigger, the function and the role', async () => {
    const result = await rig.run('remove', ['npm', 'remove'], kept);
    strictEqual(result.code, 0, output(result));
    ok(!rig.fc.deployed.has('flow-preview') && !rig.fc.aliases.has('flow-preview'));
    ok(!rig.fc.versions.has('flow-preview') && !rig.ram.roles.has('flow-preview-cams'));
    deepStrictEqual(
      rig.fc.apiCalls
        .filter((call) => ['DeleteAlias', 'DeleteFunctionVersion', 'DeleteFunction'].includes(call.action))
        .map((call) => `${call.action} ${call.target ?? ''}`.trim()),
      ['DeleteAlias live', 'DeleteFunctionVersion 2', 'DeleteFunctionVersion 1', 'DeleteFunction'],
    );
  });
});
