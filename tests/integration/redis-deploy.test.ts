/**
 * Deploying with Redis/Tair, proven with the real `s` 3.1.10 (`s preview` resolves the descriptor offline): s.yaml
 * passes the fleet settings through and has no vpcConfig; s.vpc.yaml extends it with the VPC from the environment.
 */
import { deepStrictEqual, ok, strictEqual } from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import Ajv from 'ajv';
import { loadConfig } from '../../shared/config.js';

const home = mkdtempSync(join(tmpdir(), 'flow-preview-s-home-'));
// No update checks or telemetry from `s` (they would try to reach the network).
mkdirSync(join(home, '.s', 'config'), { recursive: true });
writeFileSync(
  join(home, '.s', 'config', 'update-notifier.json'),
  JSON.stringify({ lastUpdateCheck: 8.64e15 }),
);
writeFileSync(join(home, '.s', 'set-config.yml'), 'analysis: disable\n');
after(() => rmSync(home, { recursive: true, force: true }));

const schema = JSON.parse(readFileSync('deploy/fc3-props.schema.json', 'utf8'));
const validate = new Ajv({ strict: false, allErrors: true }).compile(schema);

async function preview(template: string, env: Record<string, string> = {}): Promise<Props> {
  const { stdout } = await promisify(execFile)(
    'node_modules/.bin/s',
    ['preview', '-t', template, '-o', 'json'],
    {
      env: {
        PATH: process.env['PATH'] ?? '',
        HOME: home,
        AccessKeyID: 'a',
        AccessKeySecret: 'b',
        AccountID: '1',
        ...env,
      },
    },
  );
  const spec = JSON.parse(stdout.slice(stdout.indexOf('{'))) as {
    resources: Record<string, { props: Record<string, unknown> }>;
  };
  return spec.resources['flow-preview']?.props ?? {};
}

type Props = Record<string, unknown>;
/** The three descriptors, resolved by three runs of `s` at once (each is mostly its own start-up). */
let resolved: { redis: Promise<Props>; plain: Promise<Props>; vpc: Promise<Props> };
before(() => {
  resolved = {
    redis: preview('s.yaml', {
      FLOW_PREVIEW_REDIS_URL: 'rediss://flow:secret@r-abc.redis.rds.aliyuncs.com:6380/0',
      FLOW_PREVIEW_CAMS_RATE_LIMIT_PER_SECOND: '4',
    }),
    plain: preview('s.yaml'),
    vpc: preview('s.vpc.yaml', {
      FLOW_PREVIEW_VPC_ID: 'vpc-t4n123',
      FLOW_PREVIEW_VSWITCH_IDS: '["vsw-t4na","vsw-t4nb"]',
      FLOW_PREVIEW_SECURITY_GROUP_ID: 'sg-t4n456',
    }),
  };
  // A run that fails is reported by the test that awaits it, not as an unhandled rejection before.
  for (const run of Object.values(resolved)) run.catch(() => undefined);
});

describe('deploying with Redis / Tair', () => {
  it('passes REDIS_URL and the fleet settings through, with no vpcConfig when none is asked for', async () => {
    const [props, plain] = await Promise.all([resolved.redis, resolved.plain]);
    strictEqual('vpcConfig' in props, false);
    const env = props['environmentVariables'] as Record<string, string>;
    // What the function reads from them is what the deployer set.
    const { fleet } = loadConfig(env);
    deepStrictEqual(fleet.redis, {
      url: 'rediss://flow:secret@r-abc.redis.rds.aliyuncs.com:6380/0',
      keyPrefix: 'flow-preview:',
      commandTimeoutMs: 250,
    });
    strictEqual(fleet.camsRateLimitPerSecond, 4);
    strictEqual(loadConfig(plain['environmentVariables'] as Record<string, string>).fleet.redis, undefined);
  });

  it('adds the VPC from the environment with s.vpc.yaml, keeps internet access for CAMS, and fc3’s schema accepts it', async () => {
    const props = await resolved.vpc;
    deepStrictEqual(props['vpcConfig'], {
      vpcId: 'vpc-t4n123',
      vSwitchIds: ['vsw-t4na', 'vsw-t4nb'],
      securityGroupId: 'sg-t4n456',
    });
    strictEqual(props['internetAccess'], true);
    strictEqual(props['runtime'], 'nodejs20');
    ok(validate(props), JSON.stringify(validate.errors));
  });
});
