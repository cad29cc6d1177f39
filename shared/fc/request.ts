/**
 * Reading a request out of an `Invocation`: the route, the method, the query or payload fields. It becomes a
 * `FlowPreviewRequest` (validated by the core's rules, shared/preview/request.ts), a CORS preflight, or a
 * 400/404/405 error. Nothing invalid gets past this file, so CAMS is never called for it.
 */
import { isRecord } from '../is-record.js';
import { InvalidRequestError } from '../preview/errors.js';
import type { FlowPreviewRequest } from '../preview/ports.js';
import {
  linkParamsFromJson,
  linkParamsFromQuery,
  PREVIEW_LINK_PARAMS,
  type PreviewLinkParams,
} from '../preview/preview-link.js';
import { flowPreviewRequest, validateCustSpaceId, validateFlowId } from '../preview/request.js';
import type { DirectInvocation, HttpInvocation, Invocation } from './event.js';
import { InvalidInputError, MethodNotAllowedError, RouteNotFoundError } from './http-errors.js';

export type ParsedRequest =
  /**
   * `refresh`: the caller asks for a fresh link (`Cache-Control: no-cache`, or `"refresh": true`).
   * `link`: Meta's preview parameters to set on the returned link (the core never sees them).
   */
  | {
      readonly kind: 'preview';
      readonly request: FlowPreviewRequest;
      readonly refresh: boolean;
      readonly link: PreviewLinkParams;
    }
  | { readonly kind: 'preflight' };

const ROUTE = /^\/flows\/([^/]*)\/preview-url\/?$/;

export function parseRequest(invocation: Invocation): ParsedRequest {
  return invocation.kind === 'http' ? parseHttp(invocation) : parseDirect(invocation);
}

function parseHttp(http: HttpInvocation): ParsedRequest {
  const match = ROUTE.exec(http.rawPath.split('?', 1)[0] ?? '');
  if (match === null) throw new RouteNotFoundError();
  if (http.method === 'OPTIONS') return { kind: 'preflight' };
  if (http.method !== 'GET') throw new MethodNotAllowedError();

  if (decodeBody(http) !== '') {
    throw new InvalidInputError('GET takes no request body; send the flow id in the path');
  }
  const unknown = [...http.query.keys()].filter((name) => !QUERY_PARAMS.has(name));
  if (unknown.length > 0) {
    throw new InvalidInputError(
      `Unknown query parameter ${quote(unknown[0] ?? '')}; accepted: ${[...QUERY_PARAMS].join(', ')}`,
    );
  }
  const flowId = validateFlowId(decodePathSegment(match[1] ?? ''));
  // A query value that was not a string (`undefined` in the map) is refused by the space rule, not read as absent.
  const request: FlowPreviewRequest = http.query.has('custSpaceId')
    ? { flowId, custSpaceId: validateCustSpaceId(http.query.get('custSpaceId')) }
    : { flowId };
  const refresh = (http.headers.get('cache-control') ?? '')
    .split(',')
    .some((directive) => directive.trim().toLowerCase() === 'no-cache');
  return { kind: 'preview', request, refresh, link: linkParamsFromQuery(http.query) };
}

const QUERY_PARAMS = new Set(['custSpaceId', ...PREVIEW_LINK_PARAMS]);

function decodeBody(http: HttpInvocation): string {
  if (!http.isBase64Encoded) return http.body;
  const compact = http.body.replace(/\s+/g, '');
  if (compact.length % 4 === 1 || !/^[A-Za-z0-9+/_-]*={0,2}$/.test(compact)) {
    throw new InvalidInputError('The request body is marked base64 but is not valid base64');
  }
  return Buffer.from(compact, 'base64').toString('utf8');
}

function decodePathSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new InvalidRequestError('InvalidFlowId', 'flowId in the path is not valid percent-encoding');
  }
}

/** `traceparent` is read by the adapter (shared/fc/adapter.ts), the rest here. */
const DIRECT_KEYS = new Set([
  'flowId',
  'FlowId',
  'custSpaceId',
  'CustSpaceId',
  'refresh',
  'link',
  'traceparent',
]);
const PAYLOAD_HINT = 'the payload must be a JSON object like {"flowId": "...", "custSpaceId": "..."}';

function parseDirect(direct: DirectInvocation): ParsedRequest {
  const payload = direct.payload;
  if (direct.malformed) throw new InvalidInputError(`The payload is not JSON; ${PAYLOAD_HINT}`);
  if (!isRecord(payload)) throw new InvalidInputError(`Invalid payload; ${PAYLOAD_HINT}`);
  const unknown = Object.keys(payload).filter((key) => !DIRECT_KEYS.has(key));
  if (unknown.length > 0) {
    throw new InvalidInputError(`Unknown field ${quote(unknown[0] ?? '')}; ${PAYLOAD_HINT}`);
  }
  const request = flowPreviewRequest(
    pick(payload, 'flowId', 'FlowId'),
    pick(payload, 'custSpaceId', 'CustSpaceId'),
  );
  const refresh = payload['refresh'] ?? false;
  if (typeof refresh !== 'boolean') throw new InvalidInputError('refresh must be true or false');
  return { kind: 'preview', request, refresh, link: linkParamsFromJson(payload['link']) };
}

/** Reads a field given in either casing; both casings with different values is ambiguous and rejected. */
function pick(payload: Record<string, unknown>, camel: string, pascal: string): unknown {
  const hasCamel = Object.hasOwn(payload, camel);
  const hasPascal = Object.hasOwn(payload, pascal);
  if (hasCamel && hasPascal && payload[camel] !== payload[pascal]) {
    throw new InvalidInputError(`${camel} and ${pascal} disagree; send one of them`);
  }
  return hasCamel ? payload[camel] : payload[pascal];
}

function quote(name: string): string {
  return JSON.stringify(name.length > 40 ? `${name.slice(0, 40)}…` : name);
}
