/**
 * One Alibaba Cloud V3-signed HTTP request (ACS3-HMAC-SHA256), signed by the official `@alicloud/openapi-util`
 * (the helper FC's docs use for signed trigger calls), sent with node:http(s), answered whole within one timeout:
 * connecting, waiting and reading the body all count, so a slow body is a timeout, never a network error.
 */
import { randomUUID } from 'node:crypto';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import OpenApiUtil from '@alicloud/openapi-util';
import { Request as TeaRequest } from '@alicloud/tea-typescript';

export interface SigningCredentials {
  readonly accessKeyId: string;
  readonly accessKeySecret: string;
  readonly securityToken?: string | undefined;
}

export interface SignedRequest {
  readonly method: 'GET' | 'POST';
  readonly url: URL;
  /** Extra headers; `x-acs-*` ones are signed with the rest. */
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: Buffer;
  readonly credentials: SigningCredentials;
  /** Whether to send `x-acs-security-token` even without an STS token (empty), as FC documents for triggers. */
  readonly alwaysSendSecurityToken?: boolean;
  readonly timeoutMs: number;
}

export interface SignedResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

/** How a request failed before a whole answer arrived. */
export class TransportError extends Error {
  override name = 'TransportError';
  constructor(
    readonly kind: 'timeout' | 'network',
    readonly code: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

const ALGORITHM = 'ACS3-HMAC-SHA256';

/** The headers a V3 signature needs, and the signature: what `send` puts on the wire. */
export function signHeaders(request: SignedRequest): Record<string, string> {
  const body = request.body ?? Buffer.alloc(0);
  const { accessKeyId, accessKeySecret, securityToken } = request.credentials;
  const headers: Record<string, string> = {
    host: request.url.host,
    'x-acs-date': new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
    'x-acs-signature-nonce': randomUUID(),
    'x-acs-content-sha256': OpenApiUtil.hexEncode(OpenApiUtil.hash(body, ALGORITHM)),
    ...request.headers,
  };
  if (securityToken) headers['x-acs-security-token'] = securityToken;
  else if (request.alwaysSendSecurityToken) headers['x-acs-security-token'] = '';
  const tea = new TeaRequest();
  tea.method = request.method;
  tea.pathname = request.url.pathname;
  tea.query = Object.fromEntries(request.url.searchParams);
  tea.headers = headers;
  headers['authorization'] = OpenApiUtil.getAuthorization(
    tea,
    ALGORITHM,
    headers['x-acs-content-sha256'] ?? '',
    accessKeyId,
    accessKeySecret,
  );
  return headers;
}

/** Sends the signed request; resolves with the whole answer or rejects with a `TransportError`. */
export function send(request: SignedRequest): Promise<SignedResponse> {
  const headers = signHeaders(request);
  const body = request.body ?? Buffer.alloc(0);
  if (body.length > 0) headers['content-length'] = String(body.length);
  const transport = request.url.protocol === 'http:' ? httpRequest : httpsRequest;
  const url = wireUrl(request.url);
  return new Promise((resolve, reject) => {
    let settled = false;
    const finish = (outcome: () => void): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      outcome();
    };
    const req = transport(url, { method: request.method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () =>
        finish(() =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
        ),
      );
      res.on('error', (error) => finish(() => reject(networkError(error))));
    });
    const timer = setTimeout(() => {
      finish(() =>
        reject(new TransportError('timeout', 'Timeout', `No whole answer within ${request.timeoutMs} ms`)),
      );
      req.destroy();
    }, request.timeoutMs);
    req.on('error', (error) => finish(() => reject(networkError(error))));
    req.end(body);
  });
}

/**
 * The URL with its query written as the signature encodes it (RFC 3986: a space is `%20`, `*` is `%2A`), not as
 * `URL` writes it (a space as `+`). Whether FC's gateway reads `+` as a space is not documented; sent this way, the
 * query it reads is the query that was signed either way.
 */
function wireUrl(url: URL): URL {
  const wire = new URL(url.href);
  wire.search = [...url.searchParams].map(([name, value]) => `${rfc3986(name)}=${rfc3986(value)}`).join('&');
  return wire;
}

/** `encodeURIComponent` plus `!'()*`: RFC 3986, as the V3 signature encodes names and values. */
export function rfc3986(value: string): string {
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

function networkError(error: Error): TransportError {
  const code =
    typeof (error as NodeJS.ErrnoException).code === 'string'
      ? String((error as NodeJS.ErrnoException).code)
      : 'NetworkError';
  return new TransportError('network', code, `The request failed (${code})`, { cause: error });
}
