/**
 * A local stand-in for FC's HTTP trigger: turns real HTTP requests into FC 3.0 "v1" events (a Buffer) and calls
 * the handler with an FC-shaped context, then writes the handler's response struct back to the socket.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { FcContext, FcCredentials } from '../shared/fc/event.js';
import { close, listen, receive } from './http-kit.js';

export type FcHandler = (event: Buffer, context: FcContext) => Promise<unknown>;

export interface LocalServerOptions {
  readonly handler: FcHandler;
  /** Handed to the handler as `context.credentials`, as FC hands over the function role's keys. */
  readonly credentials?: FcCredentials;
  readonly host?: string;
  readonly port?: number;
  /** `context.function.timeout`, seconds. */
  readonly functionTimeoutS?: number;
  /** Serves requests that the function does not (e.g. the example page at `/`); return false to pass. */
  readonly extraRoutes?: (req: IncomingMessage, res: ServerResponse) => boolean;
}

export interface LocalServer {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/** FC's limit for a synchronous invocation's payload is 32 MB; a local server has no need for more than 6 MB. */
const MAX_BODY_BYTES = 6 * 1024 * 1024;
const ACCOUNT_ID = '1234567890123456';

export async function startLocalServer(options: LocalServerOptions): Promise<LocalServer> {
  const server: Server = createServer((req, res) => {
    if (options.extraRoutes?.(req, res)) return;
    invoke(options, req, res).catch((error: unknown) => {
      process.stderr.write(`local server: ${error instanceof Error ? error.message : String(error)}\n`);
      if (!res.headersSent) {
        res.writeHead(502, { 'content-type': 'application/json; charset=utf-8' });
        res.end(
          JSON.stringify({ error: { code: 'FunctionError', message: 'The handler failed', status: 502 } }),
        );
      }
    });
  });
  const { port } = await listen(server, options.port ?? 0, options.host ?? '127.0.0.1');
  return { url: `http://127.0.0.1:${port}`, port, close: () => close(server) };
}

async function invoke(options: LocalServerOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const body = (await receive(req, MAX_BODY_BYTES))?.body;
  if (body === undefined) {
    res.writeHead(413, { 'content-type': 'application/json; charset=utf-8' });
    res.end(
      JSON.stringify({ error: { code: 'PayloadTooLarge', message: 'Request body too large', status: 413 } }),
    );
    return;
  }
  const requestId = `1-${randomUUID()}`;
  const event = toFcEvent(req, body, requestId);
  const context: FcContext = {
    requestId,
    region: 'ap-southeast-1',
    accountId: ACCOUNT_ID,
    ...(options.credentials ? { credentials: options.credentials } : {}),
    function: {
      name: 'flow-preview',
      handler: 'index.handler',
      memory: 128,
      timeout: options.functionTimeoutS ?? 10,
    },
  };
  const result = await options.handler(Buffer.from(JSON.stringify(event)), context);
  writeFcResponse(res, result);
}

/** Builds the FC 3.0 HTTP trigger event (the "v1" struct) for a Node request. */
export function toFcEvent(req: IncomingMessage, body: Buffer, requestId: string): Record<string, unknown> {
  const url = new URL(req.url ?? '/', 'http://local');
  const headers: Record<string, string> = {};
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i] ?? '';
    const value = req.rawHeaders[i + 1] ?? '';
    headers[name] = headers[name] === undefined ? value : `${headers[name]},${value}`;
  }
  const queryParameters: Record<string, string> = {};
  for (const [name, value] of url.searchParams) {
    queryParameters[name] = queryParameters[name] === undefined ? value : `${queryParameters[name]},${value}`;
  }
  const now = Date.now();
  return {
    version: 'v1',
    rawPath: url.pathname,
    headers,
    queryParameters,
    body: body.length > 0 ? body.toString('base64') : '',
    isBase64Encoded: body.length > 0,
    requestContext: {
      accountId: ACCOUNT_ID,
      domainName: req.headers.host ?? 'localhost',
      domainPrefix: 'local',
      http: {
        method: req.method ?? 'GET',
        path: url.pathname,
        protocol: `HTTP/${req.httpVersion}`,
        sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
        userAgent: req.headers['user-agent'] ?? '',
      },
      requestId,
      time: new Date(now).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      timeEpoch: String(now),
    },
  };
}

function writeFcResponse(res: ServerResponse, result: unknown): void {
  const response = (typeof result === 'object' && result !== null ? result : {}) as {
    statusCode?: unknown;
    headers?: unknown;
    body?: unknown;
    isBase64Encoded?: unknown;
  };
  const status = typeof response.statusCode === 'number' ? response.statusCode : 200;
  const headers = typeof response.headers === 'object' && response.headers !== null ? response.headers : {};
  const body = typeof response.body === 'string' ? response.body : '';
  res.writeHead(status, headers as Record<string, string>);
  res.end(response.isBase64Encoded === true ? Buffer.from(body, 'base64') : body);
}
