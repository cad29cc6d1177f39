/**
 * Caller identity at the FC edge. When JWT_* is configured, every HTTP request except a CORS preflight must carry
 * `Authorization: Bearer <JWT>`; the middleware verifies it before any input is read (401 otherwise, CAMS never
 * called) and keeps the claims for `bindCaller`, which narrows the request to the spaces the token grants.
 * Direct invocations are left alone: FC already authorised their caller through RAM, and they may name any space.
 */
import type { MiddlewareObj } from '@middy/core';
import type { JwtConfig } from '../config.js';
import type { InvocationContext } from '../fc/adapter.js';
import type { HttpInvocation, Invocation } from '../fc/event.js';
import type { FlowPreviewRequest } from '../preview/ports.js';
import { AuthUnavailableError, UnauthorizedError } from './errors.js';
import type { VerifiedClaims, verifyJwt } from './jwt-verifier.js';
import { bindSpace } from './tenant.js';

/** The context once this middleware has run: the verified claims of an HTTP caller, when JWT_* is configured. */
export type IdentifiedContext = InvocationContext & { caller?: VerifiedClaims };

type VerifierModule = typeof import('./jwt-verifier.js');
let verifier: VerifierModule | undefined;

/**
 * The verifier and its `jose` are loaded on first use only. The build keeps `./jwt-verifier.js` out of the main
 * bundle (dist/jwt-verifier.js beside it), so a function without JWT_* never loads it. `require`, not `import()`, as
 * for the CAMS SDK (shared/cams/client.ts): synchronous, the same under tsx and in the bundle, and a failed load is
 * simply tried again by the next request.
 */
function loadVerifier(): VerifierModule {
  verifier ??= require('./jwt-verifier.js') as VerifierModule;
  return verifier;
}

/**
 * Verifies HTTP callers against `jwt`; without it (caller identity off) it lets every request through. `now` is the
 * clock the invocation's deadline was set by (epoch ms).
 */
export function callerIdentity(
  jwt: JwtConfig | undefined,
  now: () => number = Date.now,
): MiddlewareObj<unknown, unknown, Error, IdentifiedContext> {
  return {
    before: async (request) => {
      const event = request.event as Invocation;
      if (jwt === undefined || event.kind !== 'http' || event.method === 'OPTIONS') return;
      const token = bearerToken(event);
      const { verifyJwt } = loadVerifier();
      const verification = await beforeDeadline(verifyJwt(token, jwt), request.context.deadline - now());
      if (verification.ok) {
        request.context.caller = verification.claims;
        return;
      }
      if (verification.kind === 'unavailable') throw new AuthUnavailableError(verification.failure);
      throw new UnauthorizedError(verification.message, { invalidToken: true, cause: verification.cause });
    },
  };
}

type Verification = Awaited<ReturnType<typeof verifyJwt>>;

/**
 * A slow JWT_JWKS_URL (its fetch may take 3 s) must not outlast the invocation: past the deadline the keys count
 * as unavailable (503 with CORS), rather than FC stopping the function with no answer a browser can read.
 */
function beforeDeadline(verification: Promise<Verification>, remainingMs: number): Promise<Verification> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<Verification>((resolve) => {
    timer = setTimeout(
      () => resolve({ ok: false, kind: 'unavailable', failure: { reason: 'deadline' } }),
      Math.max(0, remainingMs),
    );
  });
  return Promise.race([verification, late]).finally(() => clearTimeout(timer));
}

/** The request the core may serve: unchanged for direct invocations and without JWT_*, else bound to the token. */
export function bindCaller(
  request: FlowPreviewRequest,
  context: IdentifiedContext,
  jwt: JwtConfig | undefined,
): FlowPreviewRequest {
  if (jwt === undefined || context.caller === undefined) return request;
  return bindSpace(request, context.caller, jwt);
}

/**
 * The token from `Authorization`. Nothing of the header reaches the log (headers are never logged), so it is
 * not a secret of the log's either: redaction only ever rewrites values the function owns.
 */
function bearerToken(http: HttpInvocation): string {
  const header = http.headers.get('authorization');
  if (header === undefined || header.trim() === '') {
    throw new UnauthorizedError('This endpoint needs a token: send Authorization: Bearer <token>', {
      invalidToken: false,
    });
  }
  const match = /^Bearer +([A-Za-z0-9._~+/-]+=*)$/i.exec(header.trim());
  if (match?.[1] === undefined) {
    throw new UnauthorizedError('The Authorization header must be "Bearer <token>"', { invalidToken: true });
  }
  return match[1];
}
