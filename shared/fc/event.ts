/**
 * Function Compute 3.0 events and context, as FC hands them to a Node.js handler, and their decoding.
 *
 * FC hands the handler a Buffer. An HTTP trigger sends the "v1" struct (`version`, `rawPath`, `headers`,
 * `queryParameters`, `body`, `isBase64Encoded`, `requestContext.http.method`); InvokeFunction sends whatever bytes
 * the caller chose. `decodeInvocation` reads the bytes once and tells the two forms apart.
 */
import { isRecord } from '../is-record.js';

export interface FcCredentials {
  readonly accessKeyId?: string;
  readonly accessKeySecret?: string;
  readonly securityToken?: string;
}

/** The context FC passes to a Node.js handler. */
export interface FcContext {
  readonly requestId?: string;
  readonly region?: string;
  readonly accountId?: string;
  readonly credentials?: FcCredentials;
  readonly function?: {
    readonly name?: string;
    readonly handler?: string;
    readonly memory?: number;
    /** Seconds. */
    readonly timeout?: number;
  };
}

/** An HTTP trigger request, normalised: header names lower-cased, body still as FC sent it. */
export interface HttpInvocation {
  readonly kind: 'http';
  readonly method: string;
  /** URL-encoded, as in `rawPath`. */
  readonly rawPath: string;
  readonly headers: ReadonlyMap<string, string>;
  /** `undefined` values were not strings in the event. */
  readonly query: ReadonlyMap<string, string | undefined>;
  readonly body: string;
  readonly isBase64Encoded: boolean;
}

/** A direct invocation (InvokeFunction): the decoded JSON payload, or `malformed` when it was not JSON. */
export interface DirectInvocation {
  readonly kind: 'direct';
  readonly payload: unknown;
  readonly malformed: boolean;
}

export type Invocation = HttpInvocation | DirectInvocation;

/** The inner handler's answer, before serialisation. `body: undefined` means no body (204). */
export interface Reply {
  statusCode: number;
  headers: Record<string, string>;
  body: unknown;
}

/** What FC expects back from an HTTP-trigger invocation. */
export interface FcHttpResponse {
  statusCode: number;
  headers: Record<string, string>;
  isBase64Encoded: false;
  body: string;
}

export type FcResult = FcHttpResponse | Record<string, unknown>;

/** Decodes FC's event (a Buffer; a string or object is tolerated for local callers) into an `Invocation`. */
export function decodeInvocation(event: unknown): Invocation {
  try {
    return decode(event);
  } catch {
    return { kind: 'direct', payload: undefined, malformed: true };
  }
}

function decode(event: unknown): Invocation {
  let parsed: unknown;
  if (typeof event === 'string' || event instanceof Uint8Array) {
    // Bytes that are not JSON make JSON.parse throw: decodeInvocation answers that as a malformed payload.
    parsed = JSON.parse(typeof event === 'string' ? event : Buffer.from(event).toString('utf8'));
  } else {
    parsed = event;
  }
  return asHttpInvocation(parsed) ?? { kind: 'direct', payload: parsed, malformed: false };
}

function asHttpInvocation(value: unknown): HttpInvocation | undefined {
  if (!isRecord(value) || value['version'] !== 'v1') return undefined;
  const requestContext = value['requestContext'];
  const http = isRecord(requestContext) ? requestContext['http'] : undefined;
  if (!isRecord(http) || typeof http['method'] !== 'string') return undefined;
  const rawPath = typeof value['rawPath'] === 'string' ? value['rawPath'] : http['path'];
  if (typeof rawPath !== 'string') return undefined;
  return {
    kind: 'http',
    method: http['method'].toUpperCase(),
    rawPath,
    headers: lowerCaseHeaders(value['headers']),
    query: stringMap(value['queryParameters']),
    body: typeof value['body'] === 'string' ? value['body'] : '',
    isBase64Encoded: value['isBase64Encoded'] === true,
  };
}

function lowerCaseHeaders(value: unknown): Map<string, string> {
  const headers = new Map<string, string>();
  if (!isRecord(value)) return headers;
  for (const [name, headerValue] of Object.entries(value)) {
    if (typeof headerValue !== 'string') continue;
    const key = name.toLowerCase();
    const previous = headers.get(key);
    // FC joins repeated headers with commas; do the same for names that differ only in case.
    headers.set(key, previous === undefined ? headerValue : `${previous},${headerValue}`);
  }
  return headers;
}

function stringMap(value: unknown): Map<string, string | undefined> {
  const map = new Map<string, string | undefined>();
  if (!isRecord(value)) return map;
  for (const [name, entry] of Object.entries(value)) {
    map.set(name, typeof entry === 'string' ? entry : undefined);
  }
  return map;
}
