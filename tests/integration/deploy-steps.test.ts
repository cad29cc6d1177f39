/**
 * The deploy steps' parts on their own, fast (no `s`): the CRC-64 FC reports, the deterministic code zip, the trigger
 * config check, the read-back's comparison, the STS refusal, and the FC simulator as the official FC SDK
 * (@alicloud/fc20230330) sees it — FC's 404 shapes, partial updates, versions and aliases — running a real zip's
 * handler for the smoke invocation.
 */

import { deepStrictEqual, doesNotMatch, match, ok, rejects, strictEqual } from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import FunctionCompute, {
  CreateAliasInput,
  CreateAliasRequest,
  CreateFunctionInput,
  CreateFunctionRequest,
  GetFunctionRequest,
  InputCodeLocation,
  PublishFunctionVersionRequest,
  PublishVersionInput,
  UpdateAliasInput,
  UpdateAliasRequest,
  UpdateFunctionInput,
  UpdateFunctionRequest,
} from '@alicloud/fc20230330';
import { Config as OpenApiConfig } from '@alicloud/openapi-client';
import { deployerCredentials, StsTrioError } from '../../deploy/access.js';
import { zipEntries } from '../../deploy/code-zip.js';
import { crc64 } from '../../deploy/crc64.js';
import { createFcApi, fcEndpoint } from '../../deploy/fc.js';
import type { DeploymentAsk } from '../../deploy/spec.js';
import { checkTriggerConfig, TriggerConfigError, tokenLookupString } from '../../deploy/trigger-config.js';
import { differences, type InvokeTarget, previewSmoke, smoke } from '../../deploy/verify.js';
import { FcSimulator } from '../../dev/fc-simulator.js';
import { readZip } from '../../dev/zip-reader.js';
import { GUARD } from '../fixtures/s-cli.js';

const CALLER = {
  accessKeyId: 'LTAI.Deployer',
  accessKeySecret: 'deployer-secret',
  accountId: '1234567890123456',
};

describe('CRC-64/ECMA-182 and the code zip', () => {
  it('computes FC’s codeChecksum: the published check value of CRC-64/XZ, as an unsigned decimal', () => {
    strictEqual(BigInt(crc64(Buffer.from('123456789'))).toString(16), '995dc9bbdf1939fa');
    strictEqual(crc64(Buffer.alloc(0)), '0');
  });

  it('zips the same files to the same bytes in any order, and an independent reader gets them back', () => {
    const files = [
      { name: 'index.js', data: Buffer.from('exports.handler = async () => 1;\n') },
      { name: 'lib/a.js', data: Buffer.from('a'.repeat(5000)) },
    ];
    const zip = zipEntries(files);
    deepStrictEqual(zipEntries([...files].reverse()), zip);
    deepStrictEqual(
      readZip(zip).map((file) => [file.name, file.data.toString(), file.mode.toString(8)]),
      files.map((file) => [file.name, file.data.toString(), '100644']),
    );
  });
});

/** A JWK the trigger check can be handed, from a real key pair. */
function rsaKey(bits: number, kid = 'k1') {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: bits });
  return {
    public: { kty: 'RSA', alg: 'RS256', use: 'sig', kid, ...publicKey.export({ format: 'jwk' }) },
    private: { kty: 'RSA', alg: 'RS256', use: 'sig', kid, ...privateKey.export({ format: 'jwk' }) },
  };
}
const jwtConfig = (keys: unknown[], extra: Record<string, unknown> = {}) => ({
  authType: 'jwt',
  methods: ['GET', 'OPTIONS'],
  authConfig: {
    jwks: { keys },
    tokenLookup: [{ readPosition: 'header', parameterName: 'Authorization', prefix: 'Bearer ' }],
    ...extra,
  },
});
const problems = (config: unknown): string[] => {
  try {
    checkTriggerConfig(config, 'trigger.json');
    return [];
  } catch (error) {
    ok(error instanceof TriggerConfigError);
    return [...error.problems];
  }
};

describe('the trigger config check (before anything is deployed)', () => {
  const good = rsaKey(2048);
  const { publicKey: ec } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const ecKey = { kty: 'EC', alg: 'ES256', kid: 'e1', ...ec.export({ format: 'jwk' }) };

  it('accepts function and anonymous auth, and jwt with real 2048-bit RSA and P-256 public keys', () => {
    deepStrictEqual(checkTriggerConfig({ authType: 'function', methods: ['GET', 'OPTIONS'] }, 'x'), {
      authType: 'function',
      methods: ['GET', 'OPTIONS'],
    });
    deepStrictEqual(checkTriggerConfig(jwtConfig([good.public, ecKey]), 'x').jwt, {
      keyIds: ['k1', 'e1'],
      tokenLookup: 'header:Authorization:Bearer ',
    });
  });

  it('refuses placeholders, private keys, short RSA moduli and keys that do not load, naming key and field', () => {
    const short = rsaKey(1024, 'short');
    deepStrictEqual(problems(jwtConfig([{ ...good.public, kid: 'replace-with-your-key-id' }])), [
      'authConfig.jwks.keys[0] (kid "replace-with-your-key-id"): kid still holds a placeholder (the example file as shipped): put your identity provider’s public key here',
    ]);
    match(
      problems(jwtConfig([good.private]))[0] ?? '',
      /keys\[0\] \(kid "k1"\): holds private key material \(d, p, q, dp, dq, qi\)/,
    );
    match(
      problems(jwtConfig([{ kty: 'oct', kid: 'h', k: 'c2VjcmV0' }]))[0] ?? '',
      /holds private key material \(k\)/,
    );
    deepStrictEqual(problems(jwtConfig([short.public])), [
      'authConfig.jwks.keys[0] (kid "short"): n is a 1024-bit RSA modulus; at least 2048 bits are needed',
    ]);
    match(
      problems(jwtConfig([{ ...ecKey, y: ecKey.x }])).join('\n'),
      /keys\[0\] \(kid "e1"\): is not a usable public key/,
    );
    match(
      problems(jwtConfig([{ ...good.public, alg: 'ES256' }])).join('\n'),
      /alg ES256 does not fit kty RSA/,
    );
    match(problems(jwtConfig([{ ...good.public, kid: undefined }])).join('\n'), /keys\[0\]: kid is missing/);
    match(
      problems(jwtConfig([good.public, good.public])).join('\n'),
      /keys\[1\] \(kid "k1"\): kid is used by another key too/,
    );
  });

  it('refuses whitelist with blacklist (fc3 would skip the trigger), no keys, no token lookup, and bad basics', () => {
    match(
      problems(jwtConfig([good.public], { whitelist: ['/a'], blacklist: ['/b'] })).join('\n'),
      /authConfig\.whitelist and authConfig\.blacklist are both set: fc3 0\.1\.22 would skip the trigger write/,
    );
    match(problems(jwtConfig([])).join('\n'), /authConfig\.jwks\.keys must list at least one public key/);
    match(
      problems({ ...jwtConfig([good.public]), authConfig: { jwks: { keys: [good.public] } } }).join('\n'),
      /authConfig\.tokenLookup: must say where the token is/,
    );
    deepStrictEqual(problems({ authType: 'jwt', methods: ['GET'] }), [
      'authType jwt needs authConfig with jwks and tokenLookup',
    ]);
    match(
      problems({ authType: 'signed', methods: [] }).join('\n'),
      /authType must be one of anonymous, function, jwt[\s\S]*methods must be/,
    );
  });

  it('turns tokenLookup into the string fc3 sends FC', () => {
    strictEqual(
      tokenLookupString([
        { readPosition: 'header', parameterName: 'Authorization', prefix: 'Bearer ' },
        { readPosition: 'cookie', parameterName: 'token' },
        { readPosition: 'query', parameterName: 'jwt', prefix: 'ignored' },
      ]),
      'header:Authorization:Bearer ,cookie:token,query:jwt',
    );
    strictEqual(tokenLookupString('header:X-Token'), 'header:X-Token');
  });
});

describe('the read-back comparison', () => {
  const ask: DeploymentAsk = {
    region: 'ap-southeast-1',
    functionName: 'flow-preview',
    runtime: 'nodejs20',
    handler: 'index.handler',
    roleName: 'flow-preview-cams',
    environmentNames: ['A', 'B'],
    codeZip: 'dist.zip',
    trigger: {
      name: 'http',
      file: 'x',
      authType: 'jwt',
      methods: ['GET', 'OPTIONS'],
      qualifier: 'LATEST',
      qualifierChosen: false,
      jwt: { keyIds: ['k1'], tokenLookup: 'header:Authorization:Bearer ' },
    },
  };
  const held = {
    fn: {
      runtime: 'nodejs20',
      handler: 'index.handler',
      role: 'acs:ram::1234567890123456:role/flow-preview-cams',
      environmentVariables: { A: 'secret-a', B: 'secret-b' },
      codeChecksum: '42',
    },
    trigger: {
      triggerType: 'http',
      qualifier: 'LATEST',
      triggerConfig: JSON.stringify({
        authType: 'jwt',
        methods: ['OPTIONS', 'GET'],
        authConfig: { jwks: { keys: [{ kid: 'k1' }] }, tokenLookup: 'header:Authorization:Bearer ' },
      }),
    },
  };
  const options = { codeChecksum: '42', accountId: '1234567890123456' };

  it('finds nothing when FC holds what was asked (role ARN case and method order aside)', () => {
    deepStrictEqual(
      differences(ask, { ...held, fn: { ...held.fn, role: held.fn.role.toUpperCase() } }, options),
      [],
    );
    // An FC that reports no codeChecksum cannot be compared on it (the deploy step prints a warning instead).
    deepStrictEqual(differences(ask, { ...held, fn: { ...held.fn, codeChecksum: undefined } }, options), []);
  });

  it('names every difference, and environment variables by name only, never by value', () => {
    const found = differences(
      ask,
      {
        fn: {
          ...held.fn,
          runtime: 'nodejs18',
          environmentVariables: { A: 'secret-a', C: 'secret-c' },
          codeChecksum: '7',
        },
        trigger: {
          ...held.trigger,
          qualifier: 'live',
          triggerConfig: JSON.stringify({ authType: 'function', methods: ['GET', 'OPTIONS'] }),
        },
      },
      { ...options, accountId: '999' },
    );
    deepStrictEqual(found, [
      'runtime: asked "nodejs20", FC holds "nodejs18"',
      'role: asked flow-preview-cams (acs:ram::999:role/flow-preview-cams), FC holds "acs:ram::1234567890123456:role/flow-preview-cams"',
      'environment variables missing on FC: B',
      'environment variables on FC that s.yaml does not set: C',
      'codeChecksum (CRC-64 of dist.zip): asked "42", FC holds "7"',
      'trigger http authType: asked "jwt", FC holds "function"',
      'trigger http qualifier: asked "LATEST", FC holds "live"',
      'trigger http jwt key ids: asked ["k1"], FC holds []',
      'trigger http jwt tokenLookup: asked "header:Authorization:Bearer ", FC holds "undefined"',
    ]);
    doesNotMatch(found.join('\n'), /secret/);
    deepStrictEqual(differences(ask, { ...held, trigger: undefined }, options), [
      'trigger http: asked for one, FC has none',
    ]);
  });
});

describe('deployer credentials: an STS key in the env trio', () => {
  it('is refused, saying s cannot take a token from the environment and how to use an alias instead', async () => {
    await rejects(
      deployerCredentials(
        'default',
        { AccessKeyID: 'STS.NKey', AccessKeySecret: 's', AccountID: '1' },
        '/nonexistent',
      ),
      (error: unknown) => {
        ok(error instanceof StsTrioError);
        match(error.message, /s cannot take a token from the environment/);
        match(
          error.message,
          /s config add -a sts --AccessKeyID <STS\.…> --AccessKeySecret <secret> --SecurityToken <token>/,
        );
        doesNotMatch(error.message, /NKey/);
        return true;
      },
    );
  });
});

describe('the FC simulator, as the official SDK and the deploy steps see it', () => {
  let fc: FcSimulator;
  let sdk: FunctionCompute;
  const zip = (source: string) =>
    zipEntries([{ name: 'index.js', data: Buffer.from(source) }]).toString('base64');
  const answers = (body: unknown) => `exports.handler = async () => (${JSON.stringify(body)});\n`;
  const target = (functionName: string, qualifier = 'LATEST'): InvokeTarget => ({
    endpoint: fcEndpoint(fc.url, 'ap-southeast-1'),
    credentials: CALLER,
    region: 'ap-southeast-1',
    accountId: CALLER.accountId,
    functionName,
    qualifier,
  });
  const create = (functionName: string, source: string) =>
    sdk.createFunction(
      new CreateFunctionRequest({
        body: new CreateFunctionInput({
          functionName,
          runtime: 'nodejs20',
          handler: 'index.handler',
          timeout: 5,
          environmentVariables: { MODE: 'first' },
          code: new InputCodeLocation({ zipFile: zip(source) }),
        }),
      }),
    );

  before(async () => {
    fc = await new FcSimulator({
      accountId: CALLER.accountId,
      region: 'ap-southeast-1',
      callers: [CALLER],
      instanceExecArgv: ['--require', GUARD],
    }).start();
    const url = new URL(fc.url);
    sdk = new FunctionCompute(new OpenApiConfig({ ...CALLER, endpoint: url.host, protocol: 'HTTP' }));
  });
  after(() => fc.stop());

  it('answers an unknown function, trigger or alias with FC’s 404 shape {Code, Message, RequestId}', async () => {
    await rejects(sdk.getFunction('nope', new GetFunctionRequest({})), (error: Record<string, unknown>) => {
      deepStrictEqual([error['code'], error['statusCode']], ['FunctionNotFound', 404]);
      // The SDK adds the HTTP status to what FC sent.
      deepStrictEqual(Object.keys(error['data'] as object).sort(), [
        'Code',
        'Message',
        'RequestId',
        'statusCode',
      ]);
      return true;
    });
    await create('shapes', answers({}));
    const api = createFcApi(fcEndpoint(fc.url, 'ap-southeast-1'), CALLER);
    await rejects(api.getTrigger('shapes', 'http'), { code: 'TriggerNotFound', status: 404 });
    await rejects(api.getAlias('shapes', 'live'), { code: 'AliasNotFound', status: 404 });
  });

  it('keeps the zip’s CRC-64 as codeChecksum, and changes only the fields an update sends', async () => {
    const source = answers({ error: { code: 'InvalidFlowId', status: 400, message: 'flowId is required' } });
    const created = await create('smoked', source);
    strictEqual(created.body?.codeChecksum, crc64(Buffer.from(zip(source), 'base64')));
    await sdk.updateFunction(
      'smoked',
      new UpdateFunctionRequest({ body: new UpdateFunctionInput({ timeout: 7 }) }),
    );
    const held = (await sdk.getFunction('smoked', new GetFunctionRequest({}))).body;
    deepStrictEqual(
      [held?.timeout, held?.environmentVariables, held?.codeChecksum],
      [7, { MODE: 'first' }, created.body?.codeChecksum],
    );
  });

  it('runs the deployed zip for the smoke, which passes only on the contract’s 400 InvalidFlowId', async () => {
    match(await smoke(target('smoked')), /smoke: smoked \(LATEST\) loaded and answered 400 InvalidFlowId/);
    await create('throws', 'exports.handler = async () => { throw new Error("boom at load"); };\n');
    await rejects(
      smoke(target('throws')),
      /smoke invocation of throws \(LATEST\) failed: function-error UnhandledInvocationError: .*boom at load/,
    );
    await create('broken', 'this is not javascript');
    await rejects(
      smoke(target('broken')),
      /failed: function-error UnhandledInvocationError: .*SyntaxError|Unexpected/,
    );
    await create(
      'previews',
      answers({ flowId: '', previewUrl: 'u', previewUrlExpires: 1, expiresAt: 'x', requestId: 'r' }),
    );
    await rejects(
      smoke(target('previews')),
      /answered a preview to an empty flow id instead of 400 InvalidFlowId/,
    );
    await create('denied', answers({ error: { code: 'Ram.PermissionDeny', status: 403, message: 'no' } }));
    await rejects(
      previewSmoke(target('denied'), 'welcome-flow', undefined, 'flow-preview-cams'),
      /CAMS refused the function's role \(Ram\.PermissionDeny\): the role flow-preview-cams may not call cams:GetFlowPreviewUrl/,
    );
  });

  it('publishes versions that keep their code, and aliases that weigh versions as FC documents', async () => {
    await create('versioned', answers({ v: 1 }));
    const publish = () =>
      sdk.publishFunctionVersion(
        'versioned',
        new PublishFunctionVersionRequest({ body: new PublishVersionInput({}) }),
      );
    strictEqual((await publish()).body?.versionId, '1');
    await sdk.updateFunction(
      'versioned',
      new UpdateFunctionRequest({
        body: new UpdateFunctionInput({ code: new InputCodeLocation({ zipFile: zip(answers({ v: 2 })) }) }),
      }),
    );
    strictEqual((await publish()).body?.versionId, '2');
    await sdk.createAlias(
      'versioned',
      new CreateAliasRequest({
        body: new CreateAliasInput({
          aliasName: 'live',
          versionId: '1',
          additionalVersionWeight: { '2': 0.3 },
        }),
      }),
    );
    await rejects(
      sdk.updateAlias(
        'versioned',
        'live',
        new UpdateAliasRequest({ body: new UpdateAliasInput({ additionalVersionWeight: { '1': 0.5 } }) }),
      ),
      { code: 'AdditionalVersionContainsMajorVersion' },
    );
    const invoke = async (qualifier: string) => {
      const api = createFcApi(fcEndpoint(fc.url, 'ap-southeast-1'), CALLER);
      strictEqual((await api.getFunction('versioned', qualifier))['functionName'], 'versioned');
      await rejects(smoke(target('versioned', qualifier)), /answered a preview|failed/);
      return fc.executions.at(-1)?.version;
    };
    fc.random = () => 0.2;
    strictEqual(await invoke('live'), '2');
    fc.random = () => 0.8;
    strictEqual(await invoke('live'), '1');
    strictEqual(await invoke('LATEST'), 'LATEST');
    await rejects(invoke('7'), { code: 'VersionNotFound' });
  });
});
