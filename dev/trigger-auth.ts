/**
 * The HTTP trigger's auth as FC's gateway applies it before the function runs, for `npm start`
 * (FLOW_PREVIEW_AUTH_TYPE): `anonymous` lets everything in; `function` needs an Alibaba Cloud V3 signature
 * (checked with dev/v3-signature.ts, an implementation that shares no code with the SDK signers) and refuses a
 * replay; `jwt` needs a bearer token the configured JWKS verifies (the function's own JWT_* settings, dev defaults
 * when unset).
 *
 * Which of these checks FC's own gateway is documented to make, and which are only this stand-in's, is written
 * down in docs/trigger-auth.md. Here: 403 for a refused signature (FC documents 403 for its API), 401 for a bad
 * token, and a preflight always passes a JWT trigger (a browser cannot attach a token to it).
 */
import { verifyJwt } from '../shared/auth/jwt-verifier.js';
import type { JwtConfig } from '../shared/config.js';
import type { GatedRequest, Refusal } from './local-server.js';
import { parseAuthorization, verify } from './v3-signature.js';

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

/**
 * The V3 signature documents `x-acs-date` as "a time within the 15 minutes before the request is sent"; a signed
 * request is accepted that long, and remembered that long, so that it is accepted once.
 */
export const MAX_REQUEST_AGE_MS = 15 * 60 * 1000;
/**
 * The documented window has no future side; this much lets a caller whose clock runs a little ahead of this
 * machine's in (another host or a container), and no more: a date 14 minutes ahead is refused.
 */
export const MAX_CLOCK_AHEAD_MS = 60 * 1000;
/** Requests remembered at once (about 100 bytes each); past it, new requests wait for old ones to age out. */
const MAX_REMEMBERED_REQUESTS = 100_000;

export interface SignatureGateOptions {
  /** The gateway's clock, ms since the epoch. */
  readonly now?: () => number;
  readonly maxRequestAgeMs?: number;
  readonly maxClockAheadMs?: number;
  readonly maxRememberedRequests?: number;
}

/**
 * The gate for `function` auth: a valid V3 signature by one of `credentials`, dated within the window, and not
 * seen before. A request is recognised by its nonce (`x-acs-signature-nonce`, per access key) and by its signature
 * (which covers method, path, query, body, date and every `x-acs-*` header, so a replay of a request sent without a
 * nonce carries the same one). Headers added to a signed request change neither: the replay is still refused, and
 * an added `x-acs-*` header is refused on its own as unsigned (the V3 rule that every `x-acs-*` header is signed).
 */
export function signatureGate(credentials: readonly TriggerCredential[], options: SignatureGateOptions = {}) {
  const byId = new Map(credentials.map((credential) => [credential.accessKeyId, credential]));
  const now = options.now ?? Date.now;
  const maxAgeMs = options.maxRequestAgeMs ?? MAX_REQUEST_AGE_MS;
  const maxAheadMs = options.maxClockAheadMs ?? MAX_CLOCK_AHEAD_MS;
  const seen = new ReplayMemory(options.maxRememberedRequests ?? MAX_REMEMBERED_REQUESTS);
  return ({ req, target, body }: GatedRequest): Refusal | undefined => {
    const headers = new Map<string, string>();
    for (const [name, value] of Object.entries(req.headers)) {
      if (typeof value === 'string') headers.set(name, value);
    }
    const at = now();
    const result = verify(
      { method: req.method ?? 'GET', path: target.rawPath, query: target.queryPairs, headers, body },
      {
        secretOf: (id) => byId.get(id)?.accessKeySecret,
        now: at,
        maxSkewMs: maxAgeMs,
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
    // verify() has checked the format; the signature is one it parsed.
    const signedAt = Date.parse(headers.get('x-acs-date') ?? '');
    if (signedAt - at > maxAheadMs) {
      return {
        status: 403,
        code: 'InvalidTimeStamp.Expired',
        message: 'x-acs-date is ahead of the server time.',
      };
    }
    const signature = parseAuthorization(headers.get('authorization'))?.signature ?? '';
    const nonce = headers.get('x-acs-signature-nonce');
    const marks = [`signature ${signature}`];
    if (nonce !== undefined) marks.push(`nonce ${result.accessKeyId} ${nonce}`);
    return seen.admit(marks, signedAt + maxAgeMs, at);
  };
}

/**
 * What the gate remembers of the requests it let in: marks kept while the request's date is in the window
 * (`expiresAt` is the last instant verify() accepts it; after it the date check refuses the request anyway). Full of unexpired marks, it refuses new requests rather than
 * forget one early, which would let its replay in.
 */
class ReplayMemory {
  readonly #expiries = new Map<string, number>();
  constructor(readonly capacity: number) {}

  admit(marks: readonly string[], expiresAt: number, now: number): Refusal | undefined {
    for (const mark of marks) {
      if ((this.#expiries.get(mark) ?? Number.NEGATIVE_INFINITY) >= now) {
        return {
          status: 403,
          code: 'SignatureNonceUsed',
          message: mark.startsWith('nonce')
            ? 'The request signature nonce has been used.'
            : 'This signed request has been used; sign each request anew (with a new x-acs-signature-nonce).',
        };
      }
    }
    if (this.#expiries.size + marks.length > this.capacity) this.#forgetExpired(now);
    if (this.#expiries.size + marks.length > this.capacity) {
      return {
        status: 503,
        code: 'ServiceUnavailable',
        message: 'Too many signed requests within the replay window; retry later.',
        headers: { 'Retry-After': '60' },
      };
    }
    for (const mark of marks) this.#expiries.set(mark, expiresAt);
    return undefined;
  }

  #forgetExpired(now: number): void {
    for (const [mark, expiresAt] of this.#expiries) if (expiresAt < now) this.#expiries.delete(mark);
  }
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
      // Not the token's fault: no challenge, and the code the function itself answers with. The cause is plain,
      // log-safe data (no body, key or URL): the developer running npm start sees why.
      process.stderr.write(`trigger auth: signing keys unavailable ${JSON.stringify(result.failure)}\n`);
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
