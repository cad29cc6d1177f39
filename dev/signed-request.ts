/**
 * A bare V3-signed CAMS request over node:http, with no SDK in the way. Tests use it to probe the simulator
 * (stale dates, wrong tokens, query parameters); the benchmark uses it as the baseline a handler is measured against.
 */
import { randomUUID } from 'node:crypto';
import { type Agent, request } from 'node:http';
import { authorize, sha256Hex } from './v3-signature.js';

export interface SignedRequestOptions {
  readonly accessKeyId: string;
  readonly accessKeySecret: string;
  readonly securityToken?: string;
  /** Parameters sent in the form body (the SDK's way). */
  readonly form?: Record<string, string>;
  /** Parameters sent in the query string. */
  readonly query?: Record<string, string>;
  readonly action?: string;
  readonly version?: string;
  readonly date?: Date;
  readonly nonce?: string;
  readonly agent?: Agent;
}

export interface SignedResponse {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

/** Sends one signed RPC request to `endpoint` (`http://host:port`). */
export function signedCamsRequest(endpoint: string, options: SignedRequestOptions): Promise<SignedResponse> {
  const url = new URL(endpoint);
  const body = Buffer.from(new URLSearchParams(options.form ?? {}).toString());
  const query = Object.entries(options.query ?? {});
  const headers = new Map<string, string>([
    ['host', url.host],
    ['content-type', 'application/x-www-form-urlencoded'],
    ['x-acs-action', options.action ?? 'GetFlowPreviewUrl'],
    ['x-acs-version', options.version ?? '2020-06-06'],
    ['x-acs-date', (options.date ?? new Date()).toISOString().replace(/\.\d{3}Z$/, 'Z')],
    ['x-acs-signature-nonce', options.nonce ?? randomUUID()],
    ['x-acs-content-sha256', sha256Hex(body)],
  ]);
  if (options.securityToken !== undefined) {
    headers.set('x-acs-security-token', options.securityToken);
    headers.set('x-acs-accesskey-id', options.accessKeyId);
  }
  const signable = { method: 'POST', path: '/', query, headers, body };
  headers.set('authorization', authorize(signable, options.accessKeyId, options.accessKeySecret));
  const search = query.length > 0 ? `?${new URLSearchParams(query).toString()}` : '';
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        method: 'POST',
        path: `/${search}`,
        headers: Object.fromEntries(headers),
        ...(options.agent ? { agent: options.agent } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}
