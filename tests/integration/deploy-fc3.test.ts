/**
 * `npm run deploy` and `npm run remove` end to end with the real `s` 3.1.10 and the real fc3 0.1.22
 * (../shared/tools/fc3-0.1.22, installed in the test HOME), offline: the pre-deploy check, build, package and RAM step,
 * fc3's own requests to the FC and OSS simulators (dev/fc-simulator.ts), the read-back and the smoke invocation of
 * the deployed zip; then fc3's remove and the RAM step's, which deletes the role only once FC says the function is
 * gone, no other function in the region runs as the role, and the region is the one the role was deployed for. The
 * jwt trigger and the refusals are in tests/integration/deploy-jwt.test.ts, releases in tests/integration/deploy-release.test.ts; each file
 * has its own HOME, project copy and simulators, so they can run at once.
 */

import { deepStrictEqual, match, ok, strictEqual } from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { crc64 } from '../../deploy/crc64.js';
import { FcSimulator } from '../../dev/fc-simulator.js';
import { readZip } from '../../dev/zip-reader.js';
import { DEFAULT, type DeployRig, deployRig, output, STAGING, TRIO } from '../fixtures/deploy-rig.js';
import { fc3Missing, type SResult } from '../fixtures/s-cli.js';

/** A second deployment, as a developer keeps one in `.env`: its own names, logging on. */
const STAGING_ENV = {
  FLOW_PREVIEW_FUNCTION_NAME: 'flow-preview-staging',
  FLOW_PREVIEW_ROLE_NAME: 'flow-preview-staging-cams',
  FLOW_PREVIEW_POLICY_NAME: 'FlowPreviewStaging',
  FLOW_PREVIEW_LOG_PROJECT: 'staging-logs',
  FLOW_PREVIEW_LOG_STORE: 'flow-preview',
};

describe('npm run deploy and npm run remove with the real s and fc3 0.1.22', { skip: fc3Missing() }, () => {
  let rig: DeployRig;
  const fcCalls = (from: number) =>
    rig.fc.apiCalls
      .slice(from)
      .map((call) => `${call.action}${call.target ? ` ${call.target}` : ''} ${call.status}`);
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
  });
  after(() => rig.stop());

  describe('npm run deploy -- -a staging, the first time, with the deploy settings and logging in .env', () => {
    let result: SResult;
    before(async () => {
      rig.ram.roleReadLag = 1; // RAM shows a new role only on the second read
      result = await rig.run('npm run deploy -- -a staging', ['npm', 'deploy', '-a', 'staging'], STAGING_ENV);
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
        rig.fc.deployed.get('flow-preview-staging')?.['role'],
        `acs:ram::${STAGING.accountId}:role/flow-preview-staging-cams`,
      );
    });

    it('takes -a NAME and .env to fc3, the RAM step and the read-back alike', () => {
      deepStrictEqual(identities(0, 0), [STAGING.accessKeyId]);
      ok(rig.ram.attachments.has('flow-preview-staging-cams\u0000Custom:FlowPreviewStaging'));
      strictEqual(
        rig.ram.roles.get('flow-preview-staging-cams')?.description,
        'Flow Preview function: calls CAMS GetFlowPreviewUrl. Deployed in: ap-southeast-1',
      );
    });

    it('uploads the packaged dist.zip through FC’s temporary bucket, and FC holds its CRC-64 as codeChecksum', () => {
      const zip = readFileSync(join(rig.project.dir, 'dist.zip'));
      strictEqual(rig.fc.uploads.length, 1);
      strictEqual(rig.fc.uploads[0]?.checksum, crc64(zip));
      strictEqual(rig.fc.deployed.get('flow-preview-staging')?.['codeChecksum'], crc64(zip));
      deepStrictEqual(
        readZip(rig.fc.code.get('flow-preview-staging') ?? Buffer.alloc(0))
          .map((file) => file.name)
          .sort(),
        ['index.js', 'jwt-verifier.js', 'redis.js'],
      );
    });

    it('creates the HTTP trigger with function auth serving LATEST, and logging with FC’s request and instance metrics', () => {
      const trigger = rig.fc.triggers.get('flow-preview-staging')?.get('http');
      deepStrictEqual(JSON.parse(trigger?.triggerConfig ?? '{}'), {
        authType: 'function',
        methods: ['GET', 'OPTIONS'],
        disableURLInternet: false,
      });
      strictEqual(trigger?.qualifier, 'LATEST');
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

    it('then reads back what FC holds and invokes the deployed zip, which answers 400 InvalidFlowId from its code', () => {
      // The count is what FC now holds (every variable s.yaml sets), so a new setting in s.yaml needs no edit here.
      const held = Object.keys(
        (rig.fc.deployed.get('flow-preview-staging')?.['environmentVariables'] ?? {}) as Record<
          string,
          string
        >,
      );
      ok(
        ['CAMS_FAIR_SHARE', 'PREVIEW_FAILURE_CACHE_S', 'JWT_AUTHENTICATION_ONLY'].every((name) =>
          held.includes(name),
        ),
      );
      ok(
        result.stdout.includes(
          `verify: FC holds what was asked: nodejs20, index.handler, role flow-preview-staging-cams, ${held.length} environment variables`,
        ),
        result.stdout,
      );
      match(result.stdout, /smoke: flow-preview-staging \(LATEST\) loaded and answered 400 InvalidFlowId/);
      const calls = fcCalls(0);
      const triggerWritten = calls.indexOf('CreateTrigger 200');
      ok(triggerWritten > 0 && calls.slice(triggerWritten).includes('GetTrigger http 200'), calls.join('\n'));
      deepStrictEqual(rig.fc.executions, [
        { functionName: 'flow-preview-staging', version: 'LATEST', via: 'invoke', qualifier: 'LATEST' },
      ]);
      deepStrictEqual(
        rig.fc.invocations.map((call) => [call.accessKeyId, call.status, call.errorType]),
        [[STAGING.accessKeyId, 200, undefined]],
      );
    });
  });

  it('redeploys, fc3 skipping the unchanged zip; a setting the function refuses then fails the smoke, and the deploy', async () => {
    const from = rig.fc.apiCalls.length;
    const result = await rig.run(
      'redeploy, a setting the function refuses',
      ['npm', 'deploy', '-a', 'staging'],
      {
        ...STAGING_ENV,
        FLOW_PREVIEW_CAMS_TIMEOUT_MS: 'soon',
      },
    );
    strictEqual(result.code, 101, output(result));
    const calls = fcCalls(from);
    ok(calls.includes('UpdateFunction 200') && calls.includes('UpdateTrigger http 200'), calls.join('\n'));
    ok(!calls.includes('GetTempBucketToken 200'), calls.join('\n'));
    strictEqual(rig.fc.uploads.length, 1);
    match(result.stdout, /verify: FC holds what was asked/);
    match(
      output(result),
      /smoke invocation of flow-preview-staging \(LATEST\) failed: the function answered 500 ConfigInvalid \(.*CAMS_TIMEOUT_MS/,
    );
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

  describe('npm run remove', () => {
    it('with the wrong region finds no function there, and refuses to delete the role deployed for another region', async () => {
      // FC in cn-hangzhou: another endpoint, where this function does not exist.
      const elsewhere = await new FcSimulator({
        accountId: STAGING.accountId,
        region: 'cn-hangzhou',
        callers: [STAGING],
      }).start();
      const firstRamWrite = rig.ram.writes.length;
      const result = await rig.run(
        'remove, wrong region',
        ['npm', 'remove', '-a', 'staging'],
        { ...STAGING_ENV, FLOW_PREVIEW_REGION: 'cn-hangzhou' },
        { FC_CLIENT_CUSTOM_ENDPOINT: elsewhere.url, FC_CODE_TEMP_OSS_ENDPOINT: elsewhere.url },
      );
      await elsewhere.stop();
      strictEqual(result.code, 101, output(result));
      match(
        output(result),
        /the role flow-preview-staging-cams was deployed for ap-southeast-1, not cn-hangzhou: .*nothing removed\. Run the remove with FLOW_PREVIEW_REGION=ap-southeast-1/,
      );
      deepStrictEqual(rig.ram.writes.slice(firstRamWrite), []);
      ok(rig.ram.roles.has('flow-preview-staging-cams') && rig.fc.deployed.has('flow-preview-staging'));
    });

    it('keeps the role when fc3 only logged its error and s exited 0 for it, and fails saying so', async () => {
      rig.fc.refuse.set('DeleteFunction', { status: 403, code: 'AccessDenied' });
      const result = await rig.run(
        'remove, DeleteFunction refused',
        ['npm', 'remove', '-a', 'staging'],
        STAGING_ENV,
      );
      rig.fc.refuse.clear();
      strictEqual(result.code, 101, output(result));
      match(
        output(result),
        /function flow-preview-staging still exists in ap-southeast-1, so its role stays/,
      );
      ok(rig.ram.roles.has('flow-preview-staging-cams') && rig.fc.deployed.has('flow-preview-staging'));
    });

    it('npm run remove -- -a NAME keeps a role another function still runs as (a deployment that changed only its name)', async () => {
      const firstRamWrite = rig.ram.writes.length;
      const from = [rig.ram.calls.length, rig.fc.apiCalls.length] as const;
      const result = await rig.run('remove, shared role', ['npm', 'remove', '-a', 'staging'], {
        ...STAGING_ENV,
        FLOW_PREVIEW_FUNCTION_NAME: 'flow-preview-staging-2',
      });
      strictEqual(result.code, 0, output(result));
      match(
        output(result),
        /FC: flow-preview-staging in ap-southeast-1 still run\(s\) as flow-preview-staging-cams, so the role and its policy stay/,
      );
      deepStrictEqual(rig.ram.writes.slice(firstRamWrite), []);
      deepStrictEqual(identities(...from), [STAGING.accessKeyId]);
    });

    it('removes trigger and function, then (not found, no other user, its region) the policy; in CI with the CI alias', async () => {
      const from = [rig.ram.calls.length, rig.fc.apiCalls.length] as const;
      rig.ram.deny.add('DeleteRole'); // the RAM step stops half-way; the next remove finishes it (below)
      // In CI, s takes serverless_devs_access_cicd_alias_name over -a: fc3 and the RAM step alike.
      const result = await rig.run(
        'remove in CI, DeleteRole denied',
        ['remove', '-y', '-a', 'default'],
        STAGING_ENV,
        {
          GITHUB_ACTIONS: 'true',
          serverless_devs_access_cicd_alias_name: 'staging',
        },
      );
      rig.ram.deny.clear();
      strictEqual(result.code, 101, output(result));
      const calls = rig.fc.apiCalls.slice(from[1]).map((call) => `${call.action} ${call.status}`);
      const deleted = calls.indexOf('DeleteFunction 204');
      ok(calls.indexOf('DeleteTrigger 204') < deleted && deleted > 0, calls.join('\n'));
      deepStrictEqual(calls.slice(deleted), ['DeleteFunction 204', 'GetFunction 404', 'ListFunctions 200']);
      ok(!rig.fc.deployed.has('flow-preview-staging') && !rig.fc.triggers.has('flow-preview-staging'));
      match(output(result), /may not call ram:DeleteRole[\s\S]*not done: DeleteRole/);
      ok(!rig.ram.policies.has('FlowPreviewStaging') && rig.ram.roles.has('flow-preview-staging-cams'));
      deepStrictEqual(identities(...from), [STAGING.accessKeyId]);
    });

    it('finishes on a second npm run remove what the first could not', async () => {
      const result = await rig.run(
        'npm run remove -- -a staging, again',
        ['npm', 'remove', '-a', 'staging'],
        STAGING_ENV,
      );
      strictEqual(result.code, 0, output(result));
      ok(!rig.ram.roles.has('flow-preview-staging-cams') && !rig.ram.policies.has('FlowPreviewStaging'));
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
