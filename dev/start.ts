/**
 * `npm start`: the function behind a local HTTP server that speaks FC's HTTP-trigger format.
 *
 * Without ALIBABA_CLOUD_* credentials in the environment it starts the CAMS simulator in-process and points
 * CAMS_ENDPOINT at it, so a fresh machine with no cloud account gets real answers. With credentials it calls the
 * real endpoint (CAMS_ENDPOINT or the default). Ctrl-C stops it cleanly.
 */
import { handler } from '../functions/get-flow-preview-url/index.js';
import { loadConfig } from '../shared/config.js';
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

/** The trigger's auth for this run, and the lines that tell a developer how to get past it. */
async function triggerAuth(
  type: AuthType,
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
    if (!process.env['JWT_JWKS'] && !process.env['JWT_JWKS_URL']) {
      process.env['JWT_JWKS'] = await devJwks();
      process.env['JWT_ISSUER'] = DEV_ISSUER;
      process.env['JWT_AUDIENCE'] = DEV_AUDIENCE;
      process.env['JWT_SPACE_CLAIM'] ??= DEV_SPACE_CLAIM;
    }
    return {
      gate: tokenGate(),
      lines: [
        'Trigger auth: jwt (Authorization: Bearer <token>; missing or invalid tokens get 401)',
        `JWT: issuer ${process.env['JWT_ISSUER']}, audience ${process.env['JWT_AUDIENCE']}, space claim ${process.env['JWT_SPACE_CLAIM'] ?? '(none: no tenant binding)'}`,
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
  const auth = await triggerAuth(parseAuthType(process.env['FLOW_PREVIEW_AUTH_TYPE']));
  const config = loadConfig();
  let simulator: CamsSimulator | undefined;
  let credentials: FcCredentials | undefined;
  if (config.envCredentials === undefined) {
    // Only the latest calls are kept: npm start may run for days, and nothing reads older ones.
    simulator = await startCamsSimulator({
      credentials: [LOCAL_SIMULATOR_CREDENTIAL],
      maxRecordedCalls: 100,
    });
    process.env['CAMS_ENDPOINT'] = simulator.url;
    credentials = LOCAL_SIMULATOR_CREDENTIAL;
  }
  const port = Number(process.env['PORT'] ?? 3000);
  const server = await startLocalServer({
    handler,
    ...(credentials ? { credentials } : {}),
    port,
    host: process.env['HOST'] ?? '127.0.0.1',
    extraRoutes: servePage,
    ...(auth.gate ? { authorize: auth.gate } : {}),
  });
  const camsLine = simulator
    ? `CAMS: embedded simulator at ${simulator.url} (no ALIBABA_CLOUD_* credentials in the environment)`
    : `CAMS: ${config.camsEndpoint.protocol.toLowerCase()}://${config.camsEndpoint.host} with the ALIBABA_CLOUD_* credentials`;
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
