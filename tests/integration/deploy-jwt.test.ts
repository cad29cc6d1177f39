/**
 * The jwt trigger and the refusals, with the real `s` 3.1.10 and the real fc3 0.1.22, offline: a jwt trigger deploys
 * with the keys and token lookup fc3 sends and the read-back checks; what fc3 would skip silently (whitelist with
 * blacklist), the shipped example file, and an STS key in the env trio are refused before the RAM step runs; and when
 * fc3 does skip a trigger write (run without the check), the read-back names what FC kept.
 */

import { deepStrictEqual, doesNotMatch, match, ok, strictEqual } from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { type DeployRig, deployRig, output } from '../fixtures/deploy-rig.js';
import { fc3Missing } from '../fixtures/s-cli.js';

/** A trigger config with a real 2048-bit RSA public key under `kid`, as an identity provider publishes it. */
function jwtTrigger(kid: string, extra: Record<string, unknown> = {}): string {
  const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const { n, e } = publicKey.export({ format: 'jwk' });
  return JSON.stringify({
    authType: 'jwt',
    methods: ['GET', 'OPTIONS'],
    disableURLInternet: false,
    authConfig: {
      jwks: { keys: [{ kty: 'RSA', alg: 'RS256', use: 'sig', kid, n, e }] },
      tokenLookup: [{ readPosition: 'header', parameterName: 'Authorization', prefix: 'Bearer ' }],
      claimPassBy: [
        { claimName: 'sub', mappingParameterName: 'x-jwt-sub', mappingParameterPosition: 'header' },
      ],
      ...extra,
    },
  });
}

describe('the jwt trigger and the refusals, with the real s and fc3 0.1.22', { skip: fc3Missing() }, () => {
  let rig: DeployRig;
  let jwt: Record<string, string>;
  before(async () => {
    rig = await deployRig();
    jwt = {
      FLOW_PREVIEW_AUTH_TYPE: 'jwt',
      FLOW_PREVIEW_TRIGGER_CONFIG: rig.write('jwt-k1.json', jwtTrigger('k1')),
    };
  });
  after(() => rig.stop());

  /** A deploy that must stop at the check: exit 101, the message, and no RAM call, no FC call, no build. */
  const refused = async (label: string, dotEnv: Record<string, string>, message: RegExp) => {
    const before = { ram: rig.ram.calls.length, fc: rig.fc.apiCalls.length };
    const result = await rig.run(label, ['npm', 'deploy'], dotEnv);
    strictEqual(result.code, 101, output(result));
    match(output(result), message);
    doesNotMatch(result.stdout, /tsx scripts\/build\.mts|RAM ensure/);
    deepStrictEqual([rig.ram.calls.length, rig.fc.apiCalls.length], [before.ram, before.fc]);
  };

  it('deploys a jwt trigger: FC holds the keys, and the token lookup and claim pass-by as fc3 sends them', async () => {
    const result = await rig.run('deploy, jwt', ['npm', 'deploy'], jwt);
    strictEqual(result.code, 0, output(result));
    const config = JSON.parse(rig.fc.triggers.get('flow-preview')?.get('http')?.triggerConfig ?? '{}');
    strictEqual(config.authType, 'jwt');
    deepStrictEqual(
      [config.authConfig.jwks.keys.map((key: { kid: string }) => key.kid), config.authConfig.tokenLookup],
      [['k1'], 'header:Authorization:Bearer '],
    );
    strictEqual(config.authConfig.claimPassBy, 'header:sub:x-jwt-sub');
    match(result.stdout, /verify: FC holds what was asked: .*trigger http \(jwt, keys k1, serves LATEST\)/);
  });

  it('catches, in the read-back, a trigger write fc3 skipped: whitelist with blacklist, deployed without the check', async () => {
    const skipped = {
      ...jwt,
      FLOW_PREVIEW_TRIGGER_CONFIG: rig.write(
        'jwt-k2-both-lists.json',
        jwtTrigger('k2', { whitelist: ['/flows/*'], blacklist: ['/admin/*'] }),
      ),
    };
    const deployed = await rig.run(
      's deploy --skip-actions, both lists',
      ['deploy', '-y', '--skip-actions'],
      skipped,
    );
    strictEqual(deployed.code, 0, output(deployed)); // fc3 0.1.22 logs an ERROR, skips the trigger, exits 0
    match(output(deployed), /You cannot use blacklist and whitelist together/);
    const verified = await rig.run('npm run deploy:verify', ['npm', 'deploy:verify'], skipped);
    strictEqual(verified.code, 1, output(verified));
    match(verified.stderr, /FC does not hold what was deployed \(flow-preview in ap-southeast-1\):/);
    match(verified.stderr, /- trigger http jwt key ids: asked \["k2"\], FC holds \["k1"\]/);
  });

  it('refuses whitelist with blacklist before the RAM step, naming both fields', () =>
    refused(
      'deploy, both lists',
      {
        ...jwt,
        FLOW_PREVIEW_TRIGGER_CONFIG: './jwt-k2-both-lists.json',
      },
      /jwt-k2-both-lists\.json cannot be deployed \(nothing was deployed\):\n\s+- authConfig\.whitelist and authConfig\.blacklist are both set/,
    ));

  it('refuses deploy/http-trigger-jwt.example.json as shipped, naming the key and its placeholder fields', () =>
    refused(
      'deploy, example jwt file',
      {
        FLOW_PREVIEW_AUTH_TYPE: 'jwt',
        FLOW_PREVIEW_TRIGGER_CONFIG: './deploy/http-trigger-jwt.example.json',
      },
      /authConfig\.jwks\.keys\[0\] \(kid "replace-with-your-key-id"\): kid, n still hold a placeholder/,
    ));

  it('refuses an STS key in the AccessKeyID/AccessKeySecret/AccountID trio, and says how to use an alias', () =>
    refused(
      'deploy, STS key in the env trio',
      {
        AccessKeyID: 'STS.NTemporaryKey',
        AccessKeySecret: 'temporary-secret',
        AccountID: '1111111111111111',
      },
      /s cannot take a token from the environment[\s\S]*s config add -a sts .*--SecurityToken/,
    ));

  it('sent fc3 nothing it refused: FC still holds the jwt trigger with key k1', () => {
    const config = JSON.parse(rig.fc.triggers.get('flow-preview')?.get('http')?.triggerConfig ?? '{}');
    deepStrictEqual(
      config.authConfig.jwks.keys.map((key: { kid: string }) => key.kid),
      ['k1'],
    );
    ok(!rig.fc.apiCalls.some((call) => call.action === 'UpdateTrigger' && call.status !== 200));
  });
});
