/**
 * A local stand-in for FC's HTTP trigger: turns real HTTP requests into FC 3.0 "v1" events (a Buffer) and calls
 * the handler with an FC-shaped context, then writes the handler's response struct back to the socket.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { FcContext, FcCredentials } from '../shared/fc/event.js';
import { close, listen, readBody } from './http-kit.js';
import { parseRequestTarget, type RequestTarget, rawHeaderMap } from './request-target.js';

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
  readonly extraRoutes?: (req: IncomingMessage, res: ServerResponse, target: RequestTarget) => boolean;
  /** The trigger's auth, checked before the function runs as FC's gateway does; `undefined` lets a request in. */
  readonly authorize?: (request: GatedRequest) => Promise<Refusal | undefined> | Refusal | undefined;
}

/** What the trigger's auth sees of a request. */
export interface GatedRequest {
  readonly req: IncomingMessage;
  readonly target: RequestTarget;
  readonly body: Buffer;
}

/** The gateway's answer to a request it refuses. */
export interface Refusal {
  readonly status: number;
  readonly code: string;
  readonly message: string;
  readonly headers?: Record<string, string>;
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
    // Nothing a client sends may stop the server: every path through here is guarded.
    serve(options, req, res).catch((error: unknown) => {
      process.stderr.write(`local server: ${error instanceof Error ? error.message : String(error)}\n`);
      if (!res.headersSent) {
        writeError(res, 502, 'FunctionError', 'The handler failed');
      } else {
        res.destroy();
      }
    });
  });
  // A request line or header Node cannot parse: answer 400 rather than let the socket error surface.
  server.on('clientError', (error: NodeJS.ErrnoException, socket) => {
    const status =
      error.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : '400 Bad Request';
    if (socket.writable) socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    else socket.destroy();
  });
  const { port } = await listen(server, options.port ?? 0, options.host ?? '127.0.0.1');
  return { url: `http://127.0.0.1:${port}`, port, close: () => close(server) };
}

async function serve(options: LocalServerOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const target = parseRequestTarget(req.url ?? '');
  if (target === undefined) {
    // Drain what the client sent so that the answer reaches it.
    req.resume();
    writeError(res, 400, 'BadRequest', 'The request target is not a path or an absolute URL');
    return;
  }
  if (options.extraRoutes?.(req, res, target)) return;
  const body = await readBody(req, MAX_BODY_BYTES);
  if (body === undefined) {
    writeError(res, 413, 'PayloadTooLarge', 'Request body too large');
    return;
  }
  if (options.authorize !== undefined) {
    const refusal = await options.authorize({ req, target, body });
    if (refusal !== undefined) {
      // The gateway answers, not the function: FC's own error shape, and its request id header.
      const requestId = `1-${randomUUID()}`;
      res.writeHead(refusal.status, {
        'content-type': 'application/json; charset=utf-8',
        'x-fc-request-id': requestId,
        ...refusal.headers,
      });
      res.end(JSON.stringify({ Code: refusal.code, Message: refusal.message, RequestId: requestId }));
      return;
    }
  }
  const requestId = `1-${randomUUID()}`;
  const event = toFcEvent(req, target, body, requestId);
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

function writeError(res: ServerResponse, status: number, code: string, message: string): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
  res.end(JSON.stringify({ error: { code, message, status } }));
}

/** Builds the FC 3.0 HTTP trigger event (the "v1" struct) for a Node request, from its raw target and headers. */
export function toFcEvent(
  req: IncomingMessage,
  target: RequestTarget,
  body: Buffer,
  requestId: string,
): Record<string, unknown> {
  const now = Date.now();
  return {
    version: 'v1',
    rawPath: target.rawPath,
    headers: rawHeaderMap(req.rawHeaders),
    queryParameters: target.query,
    body: body.length > 0 ? body.toString('base64') : '',
    isBase64Encoded: body.length > 0,
    requestContext: {
      accountId: ACCOUNT_ID,
      domainName: req.headers.host ?? 'localhost',
      domainPrefix: 'local',
      http: {
        method: req.method ?? 'GET',
        path: target.rawPath,
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
