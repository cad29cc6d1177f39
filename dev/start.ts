/**
 * `npm start`: the function behind a local HTTP server that speaks FC's HTTP-trigger format.
 *
 * Without ALIBABA_CLOUD_* credentials in the environment it starts the CAMS simulator in-process and points
 * CAMS_ENDPOINT at it, so a fresh machine with no cloud account gets real answers. With credentials it calls the
 * real endpoint (CAMS_ENDPOINT or the default). Ctrl-C stops it cleanly.
 */
import { createHandler } from '../functions/get-flow-preview-url/handler.js';
import { type Env, readConfig } from '../shared/config.js';
import type { FcCredentials } from '../shared/fc/event.js';
import {
  type CamsSimulator,
  describeSampleFlows,
  SAMPLE_FLOWS,
  startCamsSimulator,
} from './cams-simulator.js';
import { DEV_AUDIENCE, DEV_ISSUER, DEV_SPACE_CLAIM, devJwks } from './dev-jwt.js';
import { type LocalServerOptions, startLocalServer } from './local-server.js';
import { LOCAL_SIMULATOR_CREDENTIAL, LOCAL_TRIGGER_CALLER } from './simulator-credential.js';
import { type AuthType, parseAuthType, signatureGate, tokenGate } from './trigger-auth.js';
import { servePage } from './web-page.js';

/**
 * The trigger's auth for this run, and the lines that tell a developer how to get past it. `env` is the function's
 * environment for this run: jwt auth adds the local development key to it unless JWT_* is set.
 */
async function triggerAuth(
  type: AuthType,
  env: Record<string, string | undefined>,
): Promise<{ gate: LocalServerOptions['authorize']; lines: string[] }> {
  if (type === 'function') {
    const { accessKeyId, accessKeySecret, securityToken } = LOCAL_TRIGGER_CALLER;
    return {
      gate: signatureGate([LOCAL_TRIGGER_CALLER]),
      lines: [
        'Trigger auth: function (Alibaba Cloud V3 signature; unsigned requests get 403)',
        `Accepted caller key: accessKeyId=${accessKeyId} accessKeySecret=${accessKeySecret} securityToken=${securityToken}`,
        "Sign with fetchFlowPreview() from 'flow-preview/client' (see README, Callers).",
      ],
    };
  }
  if (type === 'jwt') {
    // The function verifies tokens too (tenant binding); unless JWT_* is set, both use the local dev key.
    if (!env['JWT_JWKS'] && !env['JWT_JWKS_URL']) {
      env['JWT_JWKS'] = await devJwks();
      env['JWT_ISSUER'] = DEV_ISSUER;
      env['JWT_AUDIENCE'] = DEV_AUDIENCE;
      env['JWT_SPACE_CLAIM'] ??= DEV_SPACE_CLAIM;
    }
    const startup = readConfig(env);
    if (!startup.ok) throw new Error(startup.error.message);
    const jwt = startup.config.jwt;
    if (jwt === undefined) throw new Error('jwt auth needs JWT_JWKS or JWT_JWKS_URL');
    return {
      gate: tokenGate(jwt),
      lines: [
        'Trigger auth: jwt (Authorization: Bearer <token>; missing or invalid tokens get 401)',
        `JWT: issuer ${jwt.issuer}, audience ${jwt.audience}, space claim ${jwt.spaceClaim ?? '(none: authentication only)'}`,
        'A development token: npm run token -- --space <custSpaceId>',
      ],
    };
  }
  return {
    gate: undefined,
    lines: ['Trigger auth: anonymous (FLOW_PREVIEW_AUTH_TYPE=function or jwt to enforce one)'],
  };
}

async function main(): Promise<void> {
  // The function's environment for this run: the shell's, plus what npm start sets up for a machine without a
  // cloud account. The function reads it once, as on FC.
  const env: Env & Record<string, string | undefined> = { ...process.env };
  const auth = await triggerAuth(parseAuthType(env['FLOW_PREVIEW_AUTH_TYPE']), env);
  // On FC a bad setting is answered to every request; here it stops npm start at once, naming it.
  const first = readConfig(env);
  if (!first.ok) throw first.error;
  let simulator: CamsSimulator | undefined;
  let credentials: FcCredentials | undefined;
  if (first.config.envCredentials === undefined) {
    // Only the latest calls are kept: npm start may run for days, and nothing reads older ones.
    simulator = await startCamsSimulator({
      credentials: [LOCAL_SIMULATOR_CREDENTIAL],
      maxRecordedCalls: 100,
    });
    env['CAMS_ENDPOINT'] = simulator.url;
    credentials = LOCAL_SIMULATOR_CREDENTIAL;
  }
  const startup = readConfig(env);
  if (!startup.ok) throw startup.error;
  const port = Number(process.env['PORT'] ?? 3000);
  const server = await startLocalServer({
    handler: createHandler(startup),
    ...(credentials ? { credentials } : {}),
    port,
    host: process.env['HOST'] ?? '127.0.0.1',
    extraRoutes: servePage,
    ...(auth.gate ? { authorize: auth.gate } : {}),
  });
  const camsLine = simulator
    ? `CAMS: embedded simulator at ${simulator.url} (no ALIBABA_CLOUD_* credentials in the environment)`
    : `CAMS: ${startup.config.camsEndpoint.protocol.toLowerCase()}://${startup.config.camsEndpoint.host} with the ALIBABA_CLOUD_* credentials`;
  const sample = SAMPLE_FLOWS[0] ?? 'welcome-flow';
  process.stdout.write(
    [
      `Flow Preview listening on ${server.url}`,
      camsLine,
      ...(simulator ? describeSampleFlows() : []),
      ...auth.lines,
      `Try: curl -s ${server.url}/flows/${sample}/preview-url`,
      `Example web page: ${server.url}/`,
      'Ctrl-C to stop.',
      '',
    ].join('\n'),
  );

  let stopping = false;
  const stop = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    await server.close();
    await simulator?.stop();
    process.stdout.write('stopped\n');
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
}

main().catch((error: unknown) => {
  process.stderr.write(`npm start failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
