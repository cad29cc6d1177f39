/**
 * The HTTP trigger's auth as FC's gateway applies it before the function runs, for `npm start`
 * (FLOW_PREVIEW_AUTH_TYPE): `anonymous` lets everything in; `function` needs an Alibaba Cloud V3 signature
 * (checked with dev/v3-signature.ts, an implementation that shares no code with the SDK signers); `jwt` needs a
 * bearer token the configured JWKS verifies (the function's own JWT_* settings, dev defaults when unset).
 *
 * What FC's gateway answers on a refusal, and whether it checks nonces or lets a CORS preflight through a JWT
 * trigger, are not documented; here: 403 for a bad signature (FC documents 403 for its API), 401 for a bad
 * token, and a preflight always passes a JWT trigger (a browser cannot attach a token to it).
 */
import { verifyJwt } from '../shared/auth/jwt-verifier.js';
import type { JwtConfig } from '../shared/config.js';
import type { GatedRequest, Refusal } from './local-server.js';
import { verify } from './v3-signature.js';

export type AuthType = 'anonymous' | 'function' | 'jwt';

export function parseAuthType(value: string | undefined): AuthType {
  const type = value?.trim() || 'anonymous';
  if (type === 'anonymous' || type === 'function' || type === 'jwt') return type;
  throw new Error(`FLOW_PREVIEW_AUTH_TYPE must be anonymous, function or jwt, got ${JSON.stringify(value)}`);
}

export interface TriggerCredential {
  readonly accessKeyId: string;
  readonly accessKeySecret: string;
  readonly securityToken?: string;
}

/** FC documents these for a signed trigger call: x-acs-date signed (and x-acs-security-token for STS keys). */
const TRIGGER_SIGNED_HEADERS = ['x-acs-date'];
const MAX_SKEW_MS = 15 * 60 * 1000;

/** The gate for `function` auth: a valid V3 signature by one of `credentials`. */
export function signatureGate(credentials: readonly TriggerCredential[]) {
  const byId = new Map(credentials.map((credential) => [credential.accessKeyId, credential]));
  return ({ req, target, body }: GatedRequest): Refusal | undefined => {
    const headers = new Map<string, string>();
    for (const [name, value] of Object.entries(req.headers)) {
      if (typeof value === 'string') headers.set(name, value);
    }
    const result = verify(
      { method: req.method ?? 'GET', path: target.rawPath, query: target.queryPairs, headers, body },
      {
        secretOf: (id) => byId.get(id)?.accessKeySecret,
        now: Date.now(),
        maxSkewMs: MAX_SKEW_MS,
        requiredSigned: TRIGGER_SIGNED_HEADERS,
      },
    );
    if (!result.ok) return { status: 403, code: result.code, message: result.message };
    const expected = byId.get(result.accessKeyId)?.securityToken;
    if (expected !== undefined && headers.get('x-acs-security-token') !== expected) {
      return {
        status: 403,
        code: 'InvalidSecurityToken',
        message: 'The security token does not match the access key.',
      };
    }
    return undefined;
  };
}

/** The gate for `jwt` auth: a bearer token valid for the function's JWT_* settings; a preflight passes. */
export function tokenGate(config: JwtConfig) {
  return async ({ req }: GatedRequest): Promise<Refusal | undefined> => {
    if (req.method === 'OPTIONS' && req.headers['access-control-request-method'] !== undefined)
      return undefined;
    const token = /^Bearer +(\S+)$/i.exec(req.headers.authorization?.trim() ?? '')?.[1];
    const challenge = { 'WWW-Authenticate': 'Bearer realm="flow-preview"' };
    if (token === undefined) {
      return {
        status: 401,
        code: 'Unauthorized',
        message: 'The trigger needs Authorization: Bearer <token>',
        headers: challenge,
      };
    }
    const result = await verifyJwt(token, config);
    if (result.ok) return undefined;
    if (result.kind === 'unavailable') {
      // Not the token's fault: no challenge, and the code the function itself answers with.
      return {
        status: 503,
        code: 'AuthUnavailable',
        message: 'The signing keys could not be fetched',
        headers: { 'Retry-After': '5' },
      };
    }
    return { status: 401, code: 'Unauthorized', message: result.message, headers: challenge };
  };
}
