/**
 * `npm run deploy` end to end with the real `s` 3.1.10 and the real fc3 0.1.22 (../shared/tools/fc3-0.1.22, installed
 * in the test HOME), offline: the pre-deploy check, build, package and RAM step, fc3's own requests to the FC and OSS
 * simulators (dev/fc-simulator.ts), then the read-back and the smoke invocation of the deployed zip. Removes are in
 * tests/remove-fc3.test.ts, the jwt trigger and the refusals in tests/deploy-jwt.test.ts, releases in
 * tests/deploy-release.test.ts; each file has its own HOME, project copy and simulators, so they can run at once.
 */

import { deepStrictEqual, match, ok, strictEqual } from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { crc64 } from '../deploy/crc64.js';
import { readZip } from '../dev/zip-reader.js';
import { DEFAULT, type DeployRig, deployRig, output, STAGING } from './fixtures/deploy-rig.js';
import { fc3Missing, type SResult } from './fixtures/s-cli.js';

describe('npm run deploy with the real s and fc3 0.1.22', { skip: fc3Missing() }, () => {
  let rig: DeployRig;
  const fcCalls = (from: number) =>
    rig.fc.apiCalls
      .slice(from)
      .map((call) => `${call.action}${call.target ? ` ${call.target}` : ''} ${call.status}`);

  before(async () => {
    rig = await deployRig({
      aliases: [
        ['default', DEFAULT],
        ['staging', STAGING],
      ],
    });
  });
  after(() => rig.stop());

  describe('s deploy -y, the first time', () => {
    let result: SResult;
    let firstFcCall: number;
    before(async () => {
      firstFcCall = rig.fc.apiCalls.length;
      rig.ram.roleReadLag = 1; // RAM shows a new role only on the second read
      result = await rig.run('deploy', ['deploy', '-y']);
      rig.ram.roleReadLag = 0;
    });

    it('ensures the role (waiting until RAM shows it) before fc3 creates the function with the role’s ARN', () => {
      strictEqual(result.code, 0, output(result));
      const created = rig.fc.apiCalls.find((call) => call.action === 'CreateFunction');
      ok(created, output(result));
      ok(rig.ram.writes.every((call) => call.at <= created.at));
      deepStrictEqual(
        rig.ram.calls.filter((call) => call.action === 'GetRole').map((call) => call.code),
        ['EntityNotExist.Role', 'EntityNotExist.Role', 'OK'],
      );
      strictEqual(
        rig.fc.deployed.get('flow-preview')?.['role'],
        `acs:ram::${DEFAULT.accountId}:role/flow-preview-cams`,
      );
      deepStrictEqual(
        [...new Set([...rig.fc.apiCalls, ...rig.ram.calls].map((call) => call.accessKeyId))],
        [DEFAULT.accessKeyId],
      );
    });

    it('uploads the packaged dist.zip through FC’s temporary bucket, and FC holds its CRC-64 as codeChecksum', () => {
      const zip = readFileSync(join(rig.project.dir, 'dist.zip'));
      strictEqual(rig.fc.uploads.length, 1);
      strictEqual(rig.fc.uploads[0]?.checksum, crc64(zip));
      strictEqual(rig.fc.deployed.get('flow-preview')?.['codeChecksum'], crc64(zip));
      deepStrictEqual(
        readZip(rig.fc.code.get('flow-preview') ?? Buffer.alloc(0))
          .map((file) => file.name)
          .sort(),
        ['index.js', 'jwt-verifier.js', 'redis.js'],
      );
    });

    it('creates the HTTP trigger with function auth serving LATEST, and logging off as fc3 sends it with no logConfig', () => {
      const trigger = rig.fc.triggers.get('flow-preview')?.get('http');
      deepStrictEqual(JSON.parse(trigger?.triggerConfig ?? '{}'), {
        authType: 'function',
        methods: ['GET', 'OPTIONS'],
        disableURLInternet: false,
      });
      strictEqual(trigger?.qualifier, 'LATEST');
      deepStrictEqual(rig.fc.deployed.get('flow-preview')?.['logConfig'], {
        project: '',
        logstore: '',
        enableRequestMetrics: false,
        enableInstanceMetrics: false,
        logBeginRule: 'None',
      });
    });

    it('then reads back what FC holds and invokes the deployed zip, which answers 400 InvalidFlowId from its code', () => {
      match(
        result.stdout,
        /verify: FC holds what was asked: nodejs20, index\.handler, role flow-preview-cams, 16 environment variables/,
      );
      match(result.stdout, /smoke: flow-preview \(LATEST\) loaded and answered 400 InvalidFlowId/);
      const calls = fcCalls(firstFcCall);
      const triggerWritten = calls.indexOf('CreateTrigger 200');
      ok(triggerWritten > 0 && calls.slice(triggerWritten).includes('GetTrigger http 200'), calls.join('\n'));
      deepStrictEqual(rig.fc.executions, [
        { functionName: 'flow-preview', version: 'LATEST', via: 'invoke', qualifier: 'LATEST' },
      ]);
      deepStrictEqual(
        rig.fc.invocations.map((call) => [call.accessKeyId, call.status, call.errorType]),
        [[DEFAULT.accessKeyId, 200, undefined]],
      );
    });
  });

  it('redeploys with npm run deploy: fc3 skips the unchanged zip, updates function and trigger, and the read-back passes', async () => {
    const from = rig.fc.apiCalls.length;
    const result = await rig.run('redeploy', ['npm', 'deploy']);
    strictEqual(result.code, 0, output(result));
    const calls = fcCalls(from);
    ok(calls.includes('UpdateFunction 200') && calls.includes('UpdateTrigger http 200'), calls.join('\n'));
    ok(!calls.includes('GetTempBucketToken 200'), calls.join('\n'));
    strictEqual(rig.fc.uploads.length, 1);
    match(result.stdout, /smoke: flow-preview \(LATEST\) loaded/);
  });

  it('fails the deploy when the deployed code cannot answer: the smoke names what came back', async () => {
    const result = await rig.run('deploy, config the function refuses', ['deploy', '-y'], {
      FLOW_PREVIEW_FUNCTION_NAME: 'flow-preview-misconfigured',
      FLOW_PREVIEW_ROLE_NAME: 'flow-preview-misconfigured-cams',
      FLOW_PREVIEW_CAMS_TIMEOUT_MS: 'soon',
    });
    strictEqual(result.code, 101, output(result));
    match(
      output(result),
      /smoke invocation of flow-preview-misconfigured \(LATEST\) failed: the function answered 500 ConfigInvalid \(.*CAMS_TIMEOUT_MS/,
    );
    ok(rig.fc.deployed.has('flow-preview-misconfigured'), 'fc3 did deploy; the smoke is what failed');
  });

  describe('npm run deploy -- -a staging, with the deploy settings and logging in .env', () => {
    let result: SResult;
    let firstRamCall: number;
    let firstFcCall: number;
    before(async () => {
      firstRamCall = rig.ram.calls.length;
      firstFcCall = rig.fc.apiCalls.length;
      result = await rig.run('npm run deploy -- -a staging', ['npm', 'deploy', '-a', 'staging'], {
        FLOW_PREVIEW_FUNCTION_NAME: 'flow-preview-staging',
        FLOW_PREVIEW_ROLE_NAME: 'flow-preview-staging-cams',
        FLOW_PREVIEW_POLICY_NAME: 'FlowPreviewStaging',
        FLOW_PREVIEW_LOG_PROJECT: 'staging-logs',
        FLOW_PREVIEW_LOG_STORE: 'flow-preview',
      });
    });

    it('takes -a NAME and .env to fc3, the RAM step and the read-back alike', () => {
      strictEqual(result.code, 0, output(result));
      deepStrictEqual(
        [
          ...new Set(
            [...rig.ram.calls.slice(firstRamCall), ...rig.fc.apiCalls.slice(firstFcCall)].map(
              (c) => c.accessKeyId,
            ),
          ),
        ],
        [STAGING.accessKeyId],
      );
      strictEqual(
        rig.fc.deployed.get('flow-preview-staging')?.['role'],
        `acs:ram::${STAGING.accountId}:role/flow-preview-staging-cams`,
      );
      ok(rig.ram.attachments.has('flow-preview-staging-cams\u0000Custom:FlowPreviewStaging'));
      match(result.stdout, /smoke: flow-preview-staging \(LATEST\) loaded/);
    });

    it('turns FC’s request and instance metrics on with logging, and grants the role that one logstore', () => {
      deepStrictEqual(rig.fc.deployed.get('flow-preview-staging')?.['logConfig'], {
        project: 'staging-logs',
        logstore: 'flow-preview',
        enableRequestMetrics: true,
        enableInstanceMetrics: true,
        logBeginRule: 'None',
      });
      const document = JSON.parse(
        rig.ram.policies.get('FlowPreviewStaging')?.versions[0]?.document ?? 'null',
      );
      deepStrictEqual(document.Statement[1], {
        Effect: 'Allow',
        Action: ['log:PostLogStoreLogs'],
        Resource: [`acs:log:ap-southeast-1:${STAGING.accountId}:project/staging-logs/logstore/flow-preview`],
      });
    });
  });

  it('refuses props fc3’s schema rejects before any action runs (validation: true)', async () => {
    const before = { ram: rig.ram.calls.length, fc: rig.fc.apiCalls.length };
    const result = await rig.run('deploy, invalid props', ['deploy', '-y'], {
      FLOW_PREVIEW_MEMORY_MB: '100',
    });
    strictEqual(result.code, 100, output(result));
    match(output(result), /memorySize/);
    deepStrictEqual([rig.ram.calls.length, rig.fc.apiCalls.length], [before.ram, before.fc]);
  });

  it('stops before fc3 when the RAM step fails, and says why', async () => {
    const before = rig.fc.apiCalls.length;
    rig.ram.deny.add('CreatePolicy');
    const result = await rig.run('deploy, RAM denied', ['deploy', '-y'], {
      FLOW_PREVIEW_FUNCTION_NAME: 'flow-preview-denied',
      FLOW_PREVIEW_POLICY_NAME: 'FlowPreviewDenied',
    });
    rig.ram.deny.clear();
    strictEqual(result.code, 101, output(result));
    match(output(result), /may not call ram:CreatePolicy/);
    // Only the check's look at the trigger reached FC: fc3 never ran.
    deepStrictEqual(fcCalls(before), ['GetTrigger http 404']);
    ok(!rig.fc.deployed.has('flow-preview-denied'));
  });

  it('never let s, fc3 or the deployed code reach past loopback: only config add’s STS account check tried, and was refused', () => {
    const attempts = rig.home.attempts();
    ok(attempts.length > 0, 'the guard saw config add try STS');
    deepStrictEqual(
      attempts.filter((line) => !/^lookup sts\.cn-hangzhou\.aliyuncs\.com <- .*config add/.test(line)),
      [],
    );
  });
});
