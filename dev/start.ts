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
import { startLocalServer } from './local-server.js';
import { LOCAL_SIMULATOR_CREDENTIAL } from './simulator-credential.js';
import { servePage } from './web-page.js';

async function main(): Promise<void> {
  const config = loadConfig();
  let simulator: CamsSimulator | undefined;
  let credentials: FcCredentials | undefined;
  if (config.envCredentials === undefined) {
    simulator = await startCamsSimulator({ credentials: [LOCAL_SIMULATOR_CREDENTIAL] });
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
