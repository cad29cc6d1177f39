/**
 * Alibaba Cloud V3 request signature (ACS3-HMAC-SHA256), written from the published algorithm and checked
 * against its published vector (tests/unit/v3-signature.test.ts). The simulators verify requests with it; it shares no
 * code with the SDK that signs them, so a signing bug cannot hide behind a matching verification bug.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

export const ALGORITHM = 'ACS3-HMAC-SHA256';

export interface SignableRequest {
  readonly method: string;
  /** The URL path, as sent (`/` for RPC). */
  readonly path: string;
  /** Decoded query pairs, in any order. */
  readonly query: ReadonlyArray<readonly [string, string]>;
  /** Header names lower-cased. */
  readonly headers: ReadonlyMap<string, string>;
  readonly body: Buffer;
}

/** `encodeURIComponent` plus the RFC 3986 reserved characters it leaves alone. */
export function percentEncode(value: string): string {
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

export function sha256Hex(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

export function canonicalRequest(request: SignableRequest, signedHeaders: readonly string[]): string {
  const query = request.query
    .map(([name, value]) => [percentEncode(name), percentEncode(value)] as const)
    .sort(([a, av], [b, bv]) => (a === b ? compare(av, bv) : compare(a, b)))
    .map(([name, value]) => `${name}=${value}`)
    .join('&');
  const headers = signedHeaders
    .map((name) => `${name}:${(request.headers.get(name) ?? '').trim()}\n`)
    .join('');
  const path = request.path
    .split('/')
    .map((segment) => percentEncode(safeDecode(segment)))
    .join('/');
  return [
    request.method.toUpperCase(),
    path,
    query,
    headers,
    signedHeaders.join(';'),
    request.headers.get('x-acs-content-sha256') ?? sha256Hex(request.body),
  ].join('\n');
}

export function stringToSign(canonical: string): string {
  return `${ALGORITHM}\n${sha256Hex(canonical)}`;
}

export function signature(accessKeySecret: string, canonical: string): string {
  return createHmac('sha256', accessKeySecret).update(stringToSign(canonical)).digest('hex');
}

/** The headers a V3 signer must sign: host, content-type when present, and every x-acs-* header. */
export function headersToSign(headers: ReadonlyMap<string, string>): string[] {
  return [...headers.keys()]
    .filter((name) => name === 'host' || name === 'content-type' || name.startsWith('x-acs-'))
    .sort(compare);
}

/** Signs a request the V3 way; returns the `Authorization` header value. For simulator tests and callers. */
export function authorize(request: SignableRequest, accessKeyId: string, accessKeySecret: string): string {
  const signed = headersToSign(request.headers);
  const sig = signature(accessKeySecret, canonicalRequest(request, signed));
  return `${ALGORITHM} Credential=${accessKeyId},SignedHeaders=${signed.join(';')},Signature=${sig}`;
}

export interface ParsedAuthorization {
  readonly accessKeyId: string;
  readonly signedHeaders: readonly string[];
  readonly signature: string;
}

export function parseAuthorization(header: string | undefined): ParsedAuthorization | undefined {
  const match =
    /^ACS3-HMAC-SHA256 Credential=([^,\s]+),\s*SignedHeaders=([a-z0-9;-]+),\s*Signature=([0-9a-f]{64})$/.exec(
      header?.trim() ?? '',
    );
  if (!match?.[1] || !match[2] || !match[3]) return undefined;
  return { accessKeyId: match[1], signedHeaders: match[2].split(';'), signature: match[3] };
}

export type Verification =
  | { readonly ok: true; readonly accessKeyId: string }
  | { readonly ok: false; readonly status: number; readonly code: string; readonly message: string };

export interface VerifyOptions {
  /** The secret of an access key id, or undefined when unknown. */
  readonly secretOf: (accessKeyId: string) => string | undefined;
  readonly now: number;
  readonly maxSkewMs: number;
  /**
   * Headers the signature must cover. Default: what an OpenAPI call signs (host, x-acs-action,
   * x-acs-content-sha256, x-acs-date, x-acs-signature-nonce). An HTTP trigger needs fewer (see dev/trigger-auth.ts).
   */
  readonly requiredSigned?: readonly string[];
}

const REQUIRED_SIGNED = [
  'host',
  'x-acs-action',
  'x-acs-content-sha256',
  'x-acs-date',
  'x-acs-signature-nonce',
];

/** Verifies a request's V3 signature, content hash and date the way Alibaba Cloud's gateway does. */
export function verify(request: SignableRequest, options: VerifyOptions): Verification {
  const fail = (status: number, code: string, message: string): Verification => ({
    ok: false,
    status,
    code,
    message,
  });
  const auth = parseAuthorization(request.headers.get('authorization'));
  if (auth === undefined)
    return fail(400, 'IncompleteSignature', 'The request signature is missing or malformed.');
  const required = options.requiredSigned ?? REQUIRED_SIGNED;
  const missing = required.filter((name) => !auth.signedHeaders.includes(name));
  const unsigned = [...request.headers.keys()].filter(
    (name) => name.startsWith('x-acs-') && !auth.signedHeaders.includes(name),
  );
  if (missing.length > 0 || unsigned.length > 0) {
    return fail(400, 'IncompleteSignature', `Headers not signed: ${[...missing, ...unsigned].join(', ')}.`);
  }
  const declaredHash = request.headers.get('x-acs-content-sha256');
  // Without the header the canonical request hashes the body itself, so a changed body still fails below.
  if (
    (declaredHash !== undefined || required.includes('x-acs-content-sha256')) &&
    declaredHash !== sha256Hex(request.body)
  ) {
    return fail(400, 'SignatureDoesNotMatch', 'x-acs-content-sha256 does not match the body.');
  }
  const date = request.headers.get('x-acs-date') ?? '';
  const at = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/.test(date) ? Date.parse(date) : Number.NaN;
  if (Number.isNaN(at))
    return fail(400, 'InvalidTimeStamp.Format', 'x-acs-date must be yyyy-MM-ddTHH:mm:ssZ.');
  if (Math.abs(options.now - at) > options.maxSkewMs) {
    return fail(400, 'InvalidTimeStamp.Expired', 'x-acs-date is too far from the server time.');
  }
  const secret = options.secretOf(auth.accessKeyId);
  if (secret === undefined)
    return fail(404, 'InvalidAccessKeyId.NotFound', 'Specified access key is not found.');
  const expected = Buffer.from(signature(secret, canonicalRequest(request, auth.signedHeaders)), 'hex');
  const given = Buffer.from(auth.signature, 'hex');
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) {
    return fail(
      400,
      'SignatureDoesNotMatch',
      'The request signature does not conform to Alibaba Cloud standards.',
    );
  }
  return { ok: true, accessKeyId: auth.accessKeyId };
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
