/**
 * `npm run simulator`: the CAMS simulator on its own, for pointing any client at it.
 * PORT (default 9100) picks the port; the printed key pair is the one it accepts.
 */
import { describeSampleFlows, startCamsSimulator } from './cams-simulator.js';
import { LOCAL_SIMULATOR_CREDENTIAL } from './simulator-credential.js';

async function main(): Promise<void> {
  const simulator = await startCamsSimulator({
    credentials: [LOCAL_SIMULATOR_CREDENTIAL],
    port: Number(process.env['PORT'] ?? 9100),
  });
  process.stdout.write(
    [
      `CAMS simulator listening on ${simulator.url}`,
      `Set CAMS_ENDPOINT=${simulator.url}`,
      `Accepted key: ALIBABA_CLOUD_ACCESS_KEY_ID=${LOCAL_SIMULATOR_CREDENTIAL.accessKeyId} ALIBABA_CLOUD_ACCESS_KEY_SECRET=${LOCAL_SIMULATOR_CREDENTIAL.accessKeySecret} ALIBABA_CLOUD_SECURITY_TOKEN=${LOCAL_SIMULATOR_CREDENTIAL.securityToken}`,
      ...describeSampleFlows(),
      '',
    ].join('\n'),
  );
  const stop = (): void => {
    void simulator.stop().then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((error: unknown) => {
  process.stderr.write(`simulator failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
