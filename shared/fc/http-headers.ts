/**
 * Headers every HTTP response carries (content type, the FC request id, the trace, nosniff) and CORS for the
 * allowed origins, with defaults plus options as middy's http-cors takes them (no environment inside). Runs on
 * success and on error, so error replies carry them too. FC adds no CORS.
 */
import type { MiddlewareObj, Request } from '@middy/core';
import type { CacheOutcome } from '../preview/get-flow-preview.js';
import type { InvocationContext } from './adapter.js';
import type { HttpInvocation, Invocation, Reply } from './event.js';
import { ALLOWED_METHODS } from './http-errors.js';

/**
 * Request headers a browser may send: `Authorization` for JWT triggers, `Cache-Control` to ask for a fresh link,
 * `traceparent` to carry its trace.
 */
export const CORS_ALLOWED_HEADERS = 'Authorization, Cache-Control, Content-Type, traceparent';
/** Response headers a page's script may read: a 401's `WWW-Authenticate` says whether the token was invalid. */
export const CORS_EXPOSED_HEADERS = 'Retry-After, WWW-Authenticate, X-Cache, X-Request-Id, traceparent';
export const CORS_MAX_AGE_S = 600;

/** Browsers may keep a link this long at most, whatever its own lifetime. */
const MAX_BROWSER_CACHE_S = 3600;

/** A 200's own headers: whether CAMS was asked, and how long a browser may keep the link. */
export function previewCacheHeaders(cache: CacheOutcome, freshForMs: number): Record<string, string> {
  const maxAgeS = Math.min(MAX_BROWSER_CACHE_S, Math.floor(freshForMs / 1000));
  return { 'X-Cache': cache, 'Cache-Control': `private, max-age=${maxAgeS}` };
}

export interface HttpHeadersOptions {
  /** Origins allowed to call over CORS; `'*'` allows any. Empty: no cross-origin access. */
  readonly corsAllowedOrigins?: ReadonlySet<string>;
  /** The answer depends on the caller's token (caller identity is on): caches must key on `Authorization`. */
  readonly varyOnAuthorization?: boolean;
}

type HeadersRequest = Request<unknown, unknown, Error, InvocationContext>;

export function httpHeaders(
  options: HttpHeadersOptions = {},
): MiddlewareObj<unknown, unknown, Error, InvocationContext> {
  const allowed = options.corsAllowedOrigins ?? new Set<string>();
  const decorate = (request: HeadersRequest): void => {
    const event = request.event as Invocation;
    const reply = request.response as Reply | undefined;
    if (event.kind !== 'http' || reply === undefined) return;
    const headers: Record<string, string> = {
      'Content-Type': 'application/json; charset=utf-8',
      'X-Request-Id': request.context.requestId,
      traceparent: request.context.trace.traceparent,
      'X-Content-Type-Options': 'nosniff',
      'Cache-Control': 'no-store',
      ...corsHeaders(event, allowed),
      ...reply.headers,
    };
    // With caller identity the answer depends on the token: a browser must not reuse one caller's link for another.
    if (options.varyOnAuthorization === true) {
      headers['Vary'] = headers['Vary'] === undefined ? 'Authorization' : `${headers['Vary']}, Authorization`;
    }
    reply.headers = headers;
  };
  return { after: decorate, onError: decorate };
}

function corsHeaders(http: HttpInvocation, allowed: ReadonlySet<string>): Record<string, string> {
  if (allowed.size === 0) return {};
  const anyOrigin = allowed.has('*');
  // With a list of origins the answer depends on Origin, so caches must key on it.
  const vary: Record<string, string> = anyOrigin ? {} : { Vary: 'Origin' };
  const origin = http.headers.get('origin');
  if (origin === undefined || !(anyOrigin || allowed.has(origin))) return vary;
  const headers: Record<string, string> = {
    ...vary,
    'Access-Control-Allow-Origin': anyOrigin ? '*' : origin,
  };
  if (http.method === 'OPTIONS' && http.headers.has('access-control-request-method')) {
    headers['Access-Control-Allow-Methods'] = ALLOWED_METHODS;
    headers['Access-Control-Allow-Headers'] = CORS_ALLOWED_HEADERS;
    headers['Access-Control-Max-Age'] = String(CORS_MAX_AGE_S);
  } else {
    headers['Access-Control-Expose-Headers'] = CORS_EXPOSED_HEADERS;
  }
  return headers;
}
