/**
 * What the loopback servers in dev/ (CAMS, RAM and FC simulators, the local FC trigger) share: listening on
 * loopback, stopping with open keep-alive connections, and reading a request whole, ready for signature checks.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
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

/** Reads the whole body; `undefined` once it passes `maxBytes`. */
export async function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > maxBytes) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/** Reads the whole request; `undefined` when the body passes `maxBytes`. Header names come lower-cased. */
export async function receive(
  req: IncomingMessage,
  maxBytes = 1024 * 1024,
): Promise<ReceivedRequest | undefined> {
  const body = await readBody(req, maxBytes);
  if (body === undefined) return undefined;
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
    body,
  };
}

/** A simulator's server: `start()` on loopback, `url`, `stop()`. Subclasses answer requests in `handle`. */
export abstract class LoopbackServer {
  readonly #server: Server = createServer((req, res) => {
    this.handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) this.answerCrash(res, error);
      else res.destroy();
    });
  });
  #address: AddressInfo | undefined;

  protected abstract handle(req: IncomingMessage, res: ServerResponse): Promise<void>;
  /** Answers a request whose handling threw (a bug in the simulator, or a body over the limit). */
  protected abstract answerCrash(res: ServerResponse, error: unknown): void;

  async start(host = '127.0.0.1', port = 0): Promise<this> {
    this.#address = await listen(this.#server, port, host);
    return this;
  }

  /** `http://127.0.0.1:<port>`. */
  get url(): string {
    if (this.#address === undefined) throw new Error('server not started');
    return `http://127.0.0.1:${this.#address.port}`;
  }

  stop(): Promise<void> {
    return close(this.#server);
  }
}
