/**
 * The key pair the embedded CAMS simulator accepts. Not a real key: it exists so that `npm start` and
 * `npm run simulator` sign requests the way FC's role keys would.
 */
export const LOCAL_SIMULATOR_CREDENTIAL = {
  accessKeyId: 'STS.LocalSimulatorKeyId',
  accessKeySecret: 'local-simulator-secret-not-a-real-key',
  securityToken: 'local-simulator-security-token',
} as const;
