/**
 * Headers every HTTP response carries (content type, the FC request id, nosniff) and CORS for the origins in
 * `CORS_ALLOWED_ORIGINS`. Runs on success and on error, so error replies carry them too. FC adds no CORS.
 */
import type { MiddlewareObj, Request } from '@middy/core';
import { ALLOWED_METHODS } from '../errors.js';
import type { CacheOutcome } from '../preview/get-flow-preview.js';
import type { FlowPreviewContext, HttpInvocation, Reply } from './event.js';

/** Request headers a browser may send: `Authorization` for JWT triggers, `Cache-Control` to ask for a fresh link. */
export const CORS_ALLOWED_HEADERS = 'Authorization, Cache-Control, Content-Type';
/** Response headers a page's script may read: a 401's `WWW-Authenticate` says whether the token was invalid. */
export const CORS_EXPOSED_HEADERS = 'Retry-After, WWW-Authenticate, X-Cache, X-Request-Id';
export const CORS_MAX_AGE_S = 600;

/** Browsers may keep a link this long at most, whatever its own lifetime. */
const MAX_BROWSER_CACHE_S = 3600;

/** A 200's own headers: whether CAMS was asked, and how long a browser may keep the link. */
export function previewCacheHeaders(cache: CacheOutcome, freshForMs: number): Record<string, string> {
  const maxAgeS = Math.min(MAX_BROWSER_CACHE_S, Math.floor(freshForMs / 1000));
  return { 'X-Cache': cache, 'Cache-Control': `private, max-age=${maxAgeS}` };
}

type HeadersRequest = Request<unknown, unknown, Error, FlowPreviewContext>;

export function httpHeaders(): MiddlewareObj<unknown, unknown, Error, FlowPreviewContext> {
  return { after: decorate, onError: decorate };
}

function decorate(request: HeadersRequest): void {
  const event = request.event as HttpInvocation | { kind: string };
  const reply = request.response as Reply | undefined;
  if (event.kind !== 'http' || reply === undefined) return;
  const headers: Record<string, string> = {
    'Content-Type': 'application/json; charset=utf-8',
    'X-Request-Id': request.context.trace.requestId,
    'X-Content-Type-Options': 'nosniff',
    'Cache-Control': 'no-store',
    ...corsHeaders(event as HttpInvocation, request.context.config?.corsAllowedOrigins),
    ...reply.headers,
  };
  // With caller identity the answer depends on the token: a browser must not reuse one caller's link for another.
  if (request.context.config?.jwt !== undefined) {
    headers['Vary'] = headers['Vary'] === undefined ? 'Authorization' : `${headers['Vary']}, Authorization`;
  }
  reply.headers = headers;
}

function corsHeaders(http: HttpInvocation, allowed: ReadonlySet<string> | undefined): Record<string, string> {
  if (allowed === undefined || allowed.size === 0) return {};
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
