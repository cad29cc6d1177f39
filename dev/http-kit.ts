/**
 * What the loopback servers in dev/ (CAMS, RAM and FC simulators, the local FC trigger) share: listening on
 * loopback, stopping with open keep-alive connections, and reading a request whole, ready for signature checks.
 */
import type { IncomingMessage, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { SignableRequest } from './v3-signature.js';

export async function listen(server: Server, port = 0, host = '127.0.0.1'): Promise<AddressInfo> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return server.address() as AddressInfo;
}

export async function close(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

export interface ReceivedRequest extends SignableRequest {
  readonly url: URL;
}

/** Reads the whole request; `undefined` when the body passes `maxBytes`. Header names come lower-cased. */
export async function receive(
  req: IncomingMessage,
  maxBytes = 1024 * 1024,
): Promise<ReceivedRequest | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > maxBytes) return undefined;
    chunks.push(chunk as Buffer);
  }
  const url = new URL(req.url ?? '/', 'http://loopback');
  const headers = new Map<string, string>();
  for (const [name, value] of Object.entries(req.headers))
    if (typeof value === 'string') headers.set(name, value);
  return {
    method: req.method ?? 'GET',
    url,
    path: url.pathname,
    query: [...url.searchParams],
    headers,
    body: Buffer.concat(chunks),
  };
}
