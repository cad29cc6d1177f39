/**
 * The key pair the embedded CAMS simulator accepts. Not a real key: it exists so that `npm start` and
 * `npm run simulator` sign requests the way FC's role keys would.
 */
export const LOCAL_SIMULATOR_CREDENTIAL = {
  accessKeyId: 'STS.LocalSimulatorKeyId',
  accessKeySecret: 'local-simulator-secret-not-a-real-key',
  securityToken: 'local-simulator-security-token',
} as const;

/**
 * The key `npm start` accepts from callers of its trigger with FLOW_PREVIEW_AUTH_TYPE=function (an STS-style key,
 * so the token check runs too). Not a real key.
 */
export const LOCAL_TRIGGER_CALLER = {
  accessKeyId: 'STS.LocalTriggerCallerKeyId',
  accessKeySecret: 'local-trigger-caller-secret-not-a-real-key',
  securityToken: 'local-trigger-caller-security-token',
} as const;
