/**
 * A Function Compute 3.0 API simulator (loopback) for InvokeFunction:
 * `POST /2023-03-30/functions/{name}/invocations[?qualifier=…]`, and for the function lifecycle a deploy touches:
 * CreateFunction (`POST /2023-03-30/functions`), GetFunction (`GET …/functions/{name}`), DeleteFunction (`DELETE`),
 * ListFunctions (`GET /2023-03-30/functions?limit&nextToken&prefix`, paged). It verifies the caller's V3 signature and STS token
 * (dev/v3-signature.ts), checks the caller may invoke, runs the function's handler in-process with a Buffer event
 * and an FC context carrying the *function's* role credentials, and answers as FC does: the handler's result as the
 * body, or HTTP 200 with `x-fc-error-type` when the handler throws; FC's own errors as `{Code, Message, RequestId}`.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FcContext, FcCredentials } from '../shared/fc/event.js';
import { LoopbackServer, type ReceivedRequest, receive } from './http-kit.js';
import { verify } from './v3-signature.js';

export interface SimulatedFunction {
  readonly handler: (event: Buffer, context: FcContext) => Promise<unknown>;
  /** The credentials FC hands the function (its RAM role's STS keys). */
  readonly roleCredentials: FcCredentials;
  readonly timeoutS?: number;
  /** Versions and aliases besides LATEST. */
  readonly qualifiers?: readonly string[];
}

export interface CallerCredential {
  readonly accessKeyId: string;
  readonly accessKeySecret: string;
  readonly securityToken?: string;
}

export interface FcInvocationRecord {
  readonly functionName: string;
  readonly qualifier: string | undefined;
  readonly accessKeyId: string | undefined;
  readonly invocationType: string | undefined;
  readonly status: number;
  readonly errorType: string | undefined;
}

export interface FcApiCall {
  readonly action: string;
  readonly functionName: string;
  readonly accessKeyId: string | undefined;
  readonly status: number;
}

export class FcSimulator extends LoopbackServer {
  readonly invocations: FcInvocationRecord[] = [];
  /** CreateFunction / GetFunction / DeleteFunction / ListFunctions calls, in order. */
  readonly apiCalls: FcApiCall[] = [];
  /** Functions created through the API (CreateFunction's body), by name. */
  readonly deployed = new Map<string, Record<string, unknown>>();
  /** AccessKeyIds without fc:InvokeFunction on any function. */
  readonly denied = new Set<string>();

  constructor(
    readonly options: {
      readonly accountId: string;
      readonly region: string;
      readonly callers: readonly CallerCredential[];
      readonly functions: Readonly<Record<string, SimulatedFunction>>;
    },
  ) {
    super();
  }

  protected answerCrash(res: ServerResponse, error: unknown): void {
    this.#fail(res, 500, 'InternalError', String(error));
  }

  protected async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const received = await receive(req, 32 * 1024 * 1024);
    if (received === undefined) {
      this.#fail(res, 413, 'PayloadTooLarge', 'A synchronous invocation payload is at most 32 MB.');
      return;
    }
    const { url, headers, body } = received;
    if (!/\/invocations$/.test(url.pathname)) return this.#lifecycle(received, res);
    const match = /^\/2023-03-30\/functions\/([^/]+)\/invocations$/.exec(url.pathname);
    const functionName = decodeURIComponent(match?.[1] ?? '');
    const qualifier = url.searchParams.get('qualifier') ?? undefined;
    const record = (status: number, errorType?: string): void => {
      this.invocations.push({
        functionName,
        qualifier,
        accessKeyId:
          headers.get('x-acs-accesskey-id') ??
          /Credential=([^,]+)/.exec(headers.get('authorization') ?? '')?.[1],
        invocationType: headers.get('x-fc-invocation-type'),
        status,
        errorType,
      });
    };
    const fail = (status: number, code: string, message: string): void => {
      record(status);
      this.#fail(res, status, code, message);
    };

    if (!match) return fail(404, 'PathNotFound', `No API at ${url.pathname}`);
    if (req.method !== 'POST') return fail(405, 'MethodNotAllowed', 'InvokeFunction is POST');
    const verification = verify(received, {
      secretOf: (id) => this.options.callers.find((c) => c.accessKeyId === id)?.accessKeySecret,
      now: Date.now(),
      maxSkewMs: 15 * 60_000,
    });
    if (!verification.ok)
      return fail(
        verification.status === 404 ? 403 : verification.status,
        verification.code,
        verification.message,
      );
    const caller = this.options.callers.find((c) => c.accessKeyId === verification.accessKeyId);
    if (caller?.securityToken !== undefined && headers.get('x-acs-security-token') !== caller.securityToken) {
      return fail(403, 'InvalidSecurityToken', 'The security token is invalid for this access key.');
    }
    if (headers.get('x-acs-action') !== 'InvokeFunction' || headers.get('x-acs-version') !== '2023-03-30') {
      return fail(400, 'InvalidAction', 'Expected action InvokeFunction, version 2023-03-30.');
    }
    if (this.denied.has(verification.accessKeyId)) {
      return fail(
        403,
        'AccessDenied',
        `The caller is not authorized to perform fc:InvokeFunction on function ${functionName}.`,
      );
    }
    const fn = this.options.functions[functionName];
    if (!fn) return fail(404, 'FunctionNotFound', `function '${functionName}' does not exist`);
    if (qualifier !== undefined && qualifier !== 'LATEST' && !fn.qualifiers?.includes(qualifier)) {
      return fail(404, 'AliasNotFound', `qualifier '${qualifier}' does not exist`);
    }

    const requestId = `1-${randomUUID()}`;
    const context: FcContext = {
      requestId,
      region: this.options.region,
      accountId: this.options.accountId,
      credentials: fn.roleCredentials,
      function: { name: functionName, handler: 'index.handler', memory: 128, timeout: fn.timeoutS ?? 10 },
    };
    let result: unknown;
    try {
      result = await fn.handler(body, context);
    } catch (error) {
      record(200, 'UnhandledInvocationError');
      res.writeHead(200, {
        'content-type': 'application/json',
        'x-fc-request-id': requestId,
        'x-fc-error-type': 'UnhandledInvocationError',
      });
      res.end(
        JSON.stringify({
          errorMessage: error instanceof Error ? error.message : String(error),
          errorType: error instanceof Error ? error.name : 'Error',
          stackTrace: error instanceof Error ? (error.stack ?? '').split('\n').slice(1) : [],
        }),
      );
      return;
    }
    record(200);
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'x-fc-request-id': requestId });
    res.end(typeof result === 'string' || Buffer.isBuffer(result) ? result : JSON.stringify(result ?? null));
  }

  /** CreateFunction, GetFunction, DeleteFunction, ListFunctions: what a deploy and a remove do to functions. */
  #lifecycle(received: ReceivedRequest, res: ServerResponse): void {
    const { url, body } = received;
    const named = /^\/2023-03-30\/functions\/([^/]+)$/.exec(url.pathname);
    const listing = url.pathname === '/2023-03-30/functions';
    const action =
      received.method === 'POST' && listing
        ? 'CreateFunction'
        : received.method === 'GET' && listing
          ? 'ListFunctions'
          : named && received.method === 'GET'
            ? 'GetFunction'
            : named && received.method === 'DELETE'
              ? 'DeleteFunction'
              : undefined;
    let functionName = decodeURIComponent(named?.[1] ?? '');
    let input: Record<string, unknown> = {};
    if (action === 'CreateFunction') {
      try {
        input = JSON.parse(body.toString('utf8') || '{}') as Record<string, unknown>;
      } catch {
        input = {};
      }
      functionName = String(input['functionName'] ?? '');
    }
    const verification = verify(received, {
      secretOf: (id) => this.options.callers.find((c) => c.accessKeyId === id)?.accessKeySecret,
      now: Date.now(),
      maxSkewMs: 15 * 60_000,
    });
    const [status, payload] = this.#lifecycleAnswer(action, functionName, input, verification, url);
    this.apiCalls.push({
      action: action ?? `${received.method} ${url.pathname}`,
      functionName,
      accessKeyId: verification.ok ? verification.accessKeyId : undefined,
      status,
    });
    res.writeHead(status, { 'content-type': 'application/json', 'x-fc-request-id': `1-${randomUUID()}` });
    res.end(status === 204 ? undefined : JSON.stringify(payload));
  }

  #lifecycleAnswer(
    action: string | undefined,
    functionName: string,
    input: Record<string, unknown>,
    verification: ReturnType<typeof verify>,
    url: URL,
  ): [number, Record<string, unknown>] {
    const error = (status: number, code: string, message: string): [number, Record<string, unknown>] => [
      status,
      { Code: code, Message: message, RequestId: `1-${randomUUID()}` },
    ];
    if (!action) return error(404, 'PathNotFound', 'No such FC API');
    if (!verification.ok) {
      return error(
        verification.status === 404 ? 403 : verification.status,
        verification.code,
        verification.message,
      );
    }
    if (this.denied.has(verification.accessKeyId)) {
      return error(
        403,
        'AccessDenied',
        `The caller is not authorized to perform fc:${action} on ${functionName}.`,
      );
    }
    if (action === 'ListFunctions') return [200, this.#list(url.searchParams)];
    const exists = this.deployed.has(functionName) || functionName in this.options.functions;
    if (action === 'CreateFunction') {
      if (!functionName) return error(400, 'InvalidArgument', 'functionName is required');
      if (exists) return error(409, 'FunctionAlreadyExists', `function '${functionName}' already exists`);
      this.deployed.set(functionName, input);
      return [200, { ...input, functionArn: this.#arn(functionName) }];
    }
    if (action === 'GetFunction') {
      if (!exists) return error(404, 'FunctionNotFound', `function '${functionName}' does not exist`);
      return [
        200,
        { ...(this.deployed.get(functionName) ?? {}), functionName, functionArn: this.#arn(functionName) },
      ];
    }
    if (!this.deployed.delete(functionName)) {
      return error(404, 'FunctionNotFound', `function '${functionName}' does not exist`);
    }
    return [204, {}];
  }

  /** One page of ListFunctions, by name: `limit` (FC: at most 100, default 20), `prefix`, `nextToken` (where to go on). */
  #list(query: URLSearchParams): Record<string, unknown> {
    const limit = Math.min(Number(query.get('limit') ?? 20) || 20, 100);
    const prefix = query.get('prefix') ?? '';
    const from = query.get('nextToken') ?? '';
    const names = [...new Set([...this.deployed.keys(), ...Object.keys(this.options.functions)])]
      .filter((name) => name.startsWith(prefix) && name >= from)
      .sort();
    const page = names.slice(0, limit).map((name) => ({
      ...(this.deployed.get(name) ?? {}),
      functionName: name,
      functionArn: this.#arn(name),
    }));
    const next = names[limit];
    return next === undefined ? { functions: page } : { functions: page, nextToken: next };
  }

  #arn(functionName: string): string {
    return `acs:fc:${this.options.region}:${this.options.accountId}:functions/${functionName}`;
  }

  #fail(res: ServerResponse, status: number, code: string, message: string): void {
    if (res.headersSent) return;
    const requestId = `1-${randomUUID()}`;
    res.writeHead(status, { 'content-type': 'application/json', 'x-fc-request-id': requestId });
    res.end(JSON.stringify({ Code: code, Message: message, RequestId: requestId }));
  }
}
