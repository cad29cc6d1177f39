/**
 * Caller identity at the FC edge. When JWT_* is configured, every HTTP request except a CORS preflight must carry
 * `Authorization: Bearer <JWT>`; the middleware verifies it before any input is read (401 otherwise, CAMS never
 * called) and keeps the claims for `bindCaller`, which narrows the request to the spaces the token grants.
 * Direct invocations are left alone: FC already authorised their caller through RAM, and they may name any space.
 */
import type { MiddlewareObj } from '@middy/core';
import type { verifyJwt } from '../auth/jwt-verifier.js';
import { bindSpace, type VerifiedClaims } from '../auth/tenant.js';
import { AuthUnavailableError, UnauthorizedError } from '../errors.js';
import type { FlowPreviewRequest } from '../preview/ports.js';
import type { FlowPreviewContext, HttpInvocation, Invocation } from './event.js';

/** The context once this middleware has run: the verified claims of an HTTP caller, when JWT_* is configured. */
export type IdentifiedContext = FlowPreviewContext & { caller?: VerifiedClaims };

type Verifier = { readonly verifyJwt: typeof verifyJwt };
let verifier: Promise<Verifier> | undefined;

/**
 * The verifier and its `jose` are loaded on first use only. The build keeps `../auth/jwt-verifier.js` out of the
 * main bundle (dist/jwt-verifier.js beside it), so a function without JWT_* never loads it.
 */
function loadVerifier(): Promise<Verifier> {
  verifier ??= import('../auth/jwt-verifier.js').catch((error: unknown) => {
    verifier = undefined;
    throw error;
  });
  return verifier;
}

export function callerIdentity(): MiddlewareObj<unknown, unknown, Error, IdentifiedContext> {
  return {
    before: async (request) => {
      const config = request.context.config?.jwt;
      const event = request.event as Invocation;
      if (config === undefined || event.kind !== 'http' || event.method === 'OPTIONS') return;
      const token = bearerToken(event, request.context);
      const { verifyJwt } = await loadVerifier();
      const verification = await beforeDeadline(verifyJwt(token, config), request.context.trace.deadline);
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
function beforeDeadline(verification: Promise<Verification>, deadline: number): Promise<Verification> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<Verification>((resolve) => {
    timer = setTimeout(
      () => resolve({ ok: false, kind: 'unavailable', failure: { reason: 'deadline' } }),
      Math.max(0, deadline - Date.now()),
    );
  });
  return Promise.race([verification, late]).finally(() => clearTimeout(timer));
}

/** The request the core may serve: unchanged for direct invocations and without JWT_*, else bound to the token. */
export function bindCaller(request: FlowPreviewRequest, context: IdentifiedContext): FlowPreviewRequest {
  const config = context.config?.jwt;
  if (config === undefined || context.caller === undefined) return request;
  return bindSpace(request, context.caller, config);
}

function bearerToken(http: HttpInvocation, context: IdentifiedContext): string {
  const header = http.headers.get('authorization');
  if (header === undefined || header.trim() === '') {
    throw new UnauthorizedError('This endpoint needs a token: send Authorization: Bearer <token>', {
      invalidToken: false,
    });
  }
  // Whatever was sent is a secret from here on: the log line redacts it even if it is not a valid token.
  context.trace.secrets.push(header.trim());
  const match = /^Bearer +([A-Za-z0-9._~+/-]+=*)$/i.exec(header.trim());
  if (match?.[1] === undefined) {
    throw new UnauthorizedError('The Authorization header must be "Bearer <token>"', { invalidToken: true });
  }
  context.trace.secrets.push(match[1]);
  return match[1];
}
