/**
 * The CAMS simulator: a loopback HTTP server that plays CAMS `GetFlowPreviewUrl` (RPC, version 2020-06-06).
 *
 * It verifies the V3 signature with its own implementation, checks action/version, the STS token and the date,
 * reads parameters from the form body or the query, keeps one preview link per flow until it expires (30 days),
 * answers the four documented error codes for configured flows, and limits each account (all its AccessKeyIds
 * together) to 5 requests per second with `System.LimitControl`. Tests script it: next responses, delays,
 * connection resets, malformed bodies, HTTP 200 with an error Code, 5xx. It is the test double and the default
 * CAMS of `npm start`.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { LoopbackServer, receive } from './http-kit.js';
import { verify } from './v3-signature.js';

export const CAMS_ACTION = 'GetFlowPreviewUrl';
export const CAMS_VERSION = '2020-06-06';
export const PREVIEW_TTL_MS = 30 * 24 * 60 * 60 * 1000;

/** The documented GetFlowPreviewUrl error codes. */
export type DocumentedErrorCode =
  | 'Product.Unsubscript'
  | 'Ram.PermissionDeny'
  | 'System.LimitControl'
  | 'Unknown.ResourceOwnerId';

export interface SimulatorCredential {
  readonly accessKeyId: string;
  readonly accessKeySecret: string;
  /** When set, requests with this key must carry it in `x-acs-security-token` (STS keys). */
  readonly securityToken?: string;
  /** The account the key belongs to: all keys of one account share its rate limit. Default: the key is its own. */
  readonly accountId?: string;
}

/** One scripted answer, used for the next verified request instead of the normal behaviour. */
export type ScriptedStep =
  /** A JSON body with any status: a 5xx, or HTTP 200 with `Code` ≠ `OK`. */
  | {
      readonly kind: 'json';
      readonly status: number;
      readonly body: unknown;
      readonly headers?: Record<string, string>;
    }
  /** A documented-shape CAMS error (`RequestId`, `Code`, `Message`, …). */
  | {
      readonly kind: 'error';
      readonly code: string;
      readonly status?: number;
      readonly headers?: Record<string, string>;
    }
  /** Raw bytes, for malformed bodies. */
  | { readonly kind: 'raw'; readonly status: number; readonly body: string; readonly contentType?: string }
  /** Wait, then answer normally (or with the step given in `next`). */
  | { readonly kind: 'delay'; readonly ms: number; readonly next?: ScriptedStep }
  /** Destroy the connection without answering. */
  | { readonly kind: 'reset' };

export interface CamsSimulatorOptions {
  readonly host?: string;
  /** 0 picks a free port. */
  readonly port?: number;
  readonly credentials?: readonly SimulatorCredential[];
  /** Flow ids that exist; every custSpaceId sees them. */
  readonly flows?: readonly string[];
  /** Flow ids that always answer with a documented error code. */
  readonly errorFlows?: Readonly<Record<string, DocumentedErrorCode>>;
  /** Status of business errors: 400 as documented, or 200 with `Code` ≠ `OK` (both occur in the wild). */
  readonly businessErrorStatus?: 200 | 400;
  /** Requests per second per account (see `SimulatorCredential.accountId`); 0 disables the limit. Default 5. */
  readonly rateLimitPerSecond?: number;
  readonly previewTtlMs?: number;
  readonly maxClockSkewMs?: number;
  readonly now?: () => number;
  /** How many calls `calls` keeps (the most recent); `callCount` counts them all. Default: all of them. */
  readonly maxRecordedCalls?: number;
}

/** What the simulator saw of one request, for tests to assert on. */
export interface RecordedCall {
  readonly accessKeyId: string | undefined;
  readonly securityToken: string | undefined;
  readonly action: string | undefined;
  readonly params: Readonly<Record<string, string>>;
  readonly status: number;
  readonly code: string;
  readonly requestId: string;
}

export const SAMPLE_FLOWS: readonly string[] = ['welcome-flow', 'order_status_01', 'survey-2026'];
export const SAMPLE_ERROR_FLOWS: Readonly<Record<string, DocumentedErrorCode>> = {
  'denied-flow': 'Ram.PermissionDeny',
  'unsubscribed-flow': 'Product.Unsubscript',
  'foreign-flow': 'Unknown.ResourceOwnerId',
  'throttled-flow': 'System.LimitControl',
};

/** The sample flows, as `npm start` and `npm run simulator` print them. */
export function describeSampleFlows(): string[] {
  const errors = Object.entries(SAMPLE_ERROR_FLOWS).map(([flow, code]) => `${flow} (${code})`);
  return [`Sample flows: ${SAMPLE_FLOWS.join(', ')}`, `Error flows: ${errors.join(', ')}`];
}

const ERROR_MESSAGES: Record<string, string> = {
  'Product.Unsubscript': 'You have not subscribed to this product.',
  'Ram.PermissionDeny': 'You are not authorized to perform this operation.',
  'System.LimitControl': 'The request was denied due to flow control.',
  'Unknown.ResourceOwnerId': 'The resource does not belong to the current user.',
};

const MAX_BODY_BYTES = 64 * 1024;

/** Bounds that keep a long-running simulator's memory flat (npm start may serve any number of calls). */
const MAX_PREVIEWS = 10_000;
const MAX_NONCES = 10_000;

export class CamsSimulator extends LoopbackServer {
  readonly calls: RecordedCall[] = [];
  /** Every call seen since the last reset, including those `calls` no longer keeps. */
  callCount = 0;
  #options: Required<Omit<CamsSimulatorOptions, 'host' | 'port' | 'credentials' | 'flows' | 'errorFlows'>>;
  #credentials = new Map<string, SimulatorCredential>();
  #flows: Set<string>;
  #errorFlows: Map<string, DocumentedErrorCode>;
  #script: ScriptedStep[] = [];
  #previews = new Map<string, { url: string; expires: number }>();
  #window = new Map<string, number[]>();
  #nonces = new Map<string, number>();

  constructor(options: CamsSimulatorOptions = {}) {
    super();
    this.#options = {
      businessErrorStatus: options.businessErrorStatus ?? 400,
      rateLimitPerSecond: options.rateLimitPerSecond ?? 5,
      previewTtlMs: options.previewTtlMs ?? PREVIEW_TTL_MS,
      maxClockSkewMs: options.maxClockSkewMs ?? 15 * 60 * 1000,
      now: options.now ?? Date.now,
      maxRecordedCalls: options.maxRecordedCalls ?? Number.POSITIVE_INFINITY,
    };
    for (const credential of options.credentials ?? []) this.addCredential(credential);
    this.#flows = new Set(options.flows ?? SAMPLE_FLOWS);
    this.#errorFlows = new Map(Object.entries(options.errorFlows ?? SAMPLE_ERROR_FLOWS));
  }

  /** `host:port`; `url` (`http://host:port`) is the `CAMS_ENDPOINT` value. */
  get endpoint(): string {
    return new URL(this.url).host;
  }

  protected answerCrash(res: ServerResponse, error: unknown): void {
    this.#send(res, 500, this.#errorBody('InternalError', String(error)), {});
  }

  addCredential(credential: SimulatorCredential): void {
    this.#credentials.set(credential.accessKeyId, credential);
  }

  /** Queues answers for the next verified requests, in order. */
  script(...steps: ScriptedStep[]): void {
    this.#script.push(...steps);
  }

  /** Steps not used yet. */
  get pendingScript(): number {
    return this.#script.length;
  }

  /** Forgets preview links, rate-limit windows and recorded calls; keeps credentials and flows. */
  reset(): void {
    this.calls.length = 0;
    this.callCount = 0;
    this.#script.length = 0;
    this.#previews.clear();
    this.#window.clear();
  }

  protected async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const received = await receive(req, MAX_BODY_BYTES);
    if (received === undefined) throw new Error('request body too large');
    const { url, headers, body } = received;
    const params: Record<string, string> = Object.fromEntries(url.searchParams);
    if ((headers.get('content-type') ?? '').startsWith('application/x-www-form-urlencoded')) {
      Object.assign(params, Object.fromEntries(new URLSearchParams(body.toString('utf8'))));
    }
    const record = (status: number, code: string, requestId: string): void => {
      this.callCount += 1;
      if (this.calls.length >= this.#options.maxRecordedCalls) this.calls.shift();
      this.calls.push({
        accessKeyId:
          headers.get('x-acs-accesskey-id') ??
          /Credential=([^,]+)/.exec(headers.get('authorization') ?? '')?.[1],
        securityToken: headers.get('x-acs-security-token'),
        action: headers.get('x-acs-action') ?? params['Action'],
        params,
        status,
        code,
        requestId,
      });
    };
    const answerError = (
      status: number,
      code: string,
      message: string,
      extra: Record<string, string> = {},
    ): void => {
      const errorBody = this.#errorBody(code, message);
      record(status, code, errorBody.RequestId);
      this.#send(res, status, errorBody, extra);
    };

    const now = this.#options.now();
    const verification = verify(received, {
      secretOf: (id) => this.#credentials.get(id)?.accessKeySecret,
      now,
      maxSkewMs: this.#options.maxClockSkewMs,
    });
    if (!verification.ok) return answerError(verification.status, verification.code, verification.message);
    const credential = this.#credentials.get(verification.accessKeyId);
    if (
      credential?.securityToken !== undefined &&
      headers.get('x-acs-security-token') !== credential.securityToken
    ) {
      return answerError(
        400,
        'InvalidSecurityToken.MismatchWithAccessKey',
        'The security token does not match the access key.',
      );
    }
    const nonce = headers.get('x-acs-signature-nonce') ?? '';
    this.#forgetOldNonces(now);
    if (nonce === '' || this.#nonces.has(nonce)) {
      return answerError(400, 'SignatureNonceUsed', 'The request signature nonce has been used.');
    }
    this.#nonces.set(nonce, now);

    const action = headers.get('x-acs-action');
    const version = headers.get('x-acs-version');
    if (action !== CAMS_ACTION)
      return answerError(404, 'InvalidAction.NotFound', 'The specified action is not valid.');
    if (version !== CAMS_VERSION)
      return answerError(400, 'InvalidVersion', 'The specified version is not valid.');

    let step = this.#script.shift();
    while (step?.kind === 'delay') {
      await sleep(step.ms);
      step = step.next;
    }
    if (step !== undefined) return this.#answerScripted(req, res, step, record);

    const limited = this.#rateLimit(credential?.accountId ?? verification.accessKeyId, now);
    if (limited !== undefined) {
      return answerError(
        this.#options.businessErrorStatus,
        'System.LimitControl',
        ERROR_MESSAGES['System.LimitControl'] ?? '',
        limited,
      );
    }
    const flowId = params['FlowId'];
    const custSpaceId = params['CustSpaceId'];
    if (!flowId) return answerError(400, 'MissingFlowId', 'FlowId is mandatory for this action.');
    const errorCode =
      this.#errorFlows.get(flowId) ?? (this.#flows.has(flowId) ? undefined : 'Unknown.ResourceOwnerId');
    if (errorCode !== undefined) {
      const extra =
        errorCode === 'System.LimitControl'
          ? rateLimitHeaders(this.#options.rateLimitPerSecond, 1000, now)
          : {};
      return answerError(
        this.#options.businessErrorStatus,
        errorCode,
        ERROR_MESSAGES[errorCode] ?? '',
        extra,
      );
    }
    const preview = this.#preview(custSpaceId ?? '', flowId, now);
    const requestId = newRequestId();
    record(200, 'OK', requestId);
    this.#send(
      res,
      200,
      {
        RequestId: requestId,
        Code: 'OK',
        Message: 'SUCCESS',
        Data: { FlowId: flowId, PreviewUrl: preview.url, PreviewUrlExpires: preview.expires },
      },
      {},
    );
  }

  #answerScripted(
    req: IncomingMessage,
    res: ServerResponse,
    step: Exclude<ScriptedStep, { kind: 'delay' }>,
    record: (status: number, code: string, requestId: string) => void,
  ): void {
    switch (step.kind) {
      case 'reset':
        record(0, 'ConnectionReset', '');
        req.socket.destroy();
        return;
      case 'raw':
        record(step.status, 'Raw', '');
        res.writeHead(step.status, { 'content-type': step.contentType ?? 'text/html' });
        res.end(step.body);
        return;
      case 'json': {
        const requestId =
          typeof (step.body as { RequestId?: unknown })?.RequestId === 'string'
            ? String((step.body as { RequestId: string }).RequestId)
            : '';
        record(step.status, String((step.body as { Code?: unknown })?.Code ?? ''), requestId);
        this.#send(res, step.status, step.body, step.headers ?? {});
        return;
      }
      case 'error': {
        const body = this.#errorBody(step.code, ERROR_MESSAGES[step.code] ?? `Scripted error ${step.code}.`);
        const status = step.status ?? this.#options.businessErrorStatus;
        record(status, step.code, body.RequestId);
        this.#send(res, status, body, step.headers ?? {});
        return;
      }
    }
  }

  #preview(custSpaceId: string, flowId: string, now: number): { url: string; expires: number } {
    const key = `${custSpaceId}\u0000${flowId}`;
    const existing = this.#previews.get(key);
    if (existing !== undefined && existing.expires > now) return existing;
    const fresh = {
      url: `https://business.facebook.com/wa/manage/flows/${encodeURIComponent(flowId)}/preview/?token=${randomUUID()}`,
      expires: now + this.#options.previewTtlMs,
    };
    // Oldest first out: a flood of distinct spaces cannot grow the map without bound.
    this.#previews.delete(key);
    if (this.#previews.size >= MAX_PREVIEWS) this.#previews.delete(this.#previews.keys().next().value ?? '');
    this.#previews.set(key, fresh);
    return fresh;
  }

  /** A sliding one-second window of accepted requests per account. Returns the throttle headers when over. */
  #rateLimit(account: string, now: number): Record<string, string> | undefined {
    const limit = this.#options.rateLimitPerSecond;
    if (limit <= 0) return undefined;
    const window = (this.#window.get(account) ?? []).filter((at) => now - at < 1000);
    this.#window.set(account, window);
    if (window.length >= limit) {
      const timeLeft = 1000 - (now - (window[0] ?? now));
      return rateLimitHeaders(limit, timeLeft, now);
    }
    window.push(now);
    return undefined;
  }

  #forgetOldNonces(now: number): void {
    if (this.#nonces.size < 10_000) return;
    for (const [nonce, at] of this.#nonces) {
      if (now - at > this.#options.maxClockSkewMs) this.#nonces.delete(nonce);
    }
    // Still full (more than MAX_NONCES calls within the skew window): forget the oldest. A replay of a nonce
    // that old would pass; a simulator trades that for bounded memory.
    for (const nonce of this.#nonces.keys()) {
      if (this.#nonces.size < MAX_NONCES) break;
      this.#nonces.delete(nonce);
    }
  }

  #errorBody(
    code: string,
    message: string,
  ): { RequestId: string; Code: string; Message: string } & Record<string, unknown> {
    const body: { RequestId: string; Code: string; Message: string } & Record<string, unknown> = {
      RequestId: newRequestId(),
      Code: code,
      Message: message,
      HostId: 'cams.ap-southeast-1.aliyuncs.com',
      Recommend: `https://api.aliyun.com/troubleshoot?q=${encodeURIComponent(code)}&product=cams`,
    };
    if (code === 'Ram.PermissionDeny') {
      body['AccessDeniedDetail'] = {
        PolicyType: 'AccountLevelIdentityBasedPolicy',
        AuthPrincipalOwnerId: '1234567890123456',
        EncodedDiagnosticMessage: 'AQEAAAAAaW52YWxpZC1kaWFnbm9zdGljLW1lc3NhZ2UtZm9yLXRlc3Rz',
        AuthPrincipalType: 'AssumedRoleUser',
        AuthPrincipalDisplayName: 'flow-preview-role:fc-session-secret-principal',
        NoPermissionType: 'ImplicitDeny',
        AuthAction: 'cams:GetFlowPreviewUrl',
      };
    }
    return body;
  }

  #send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string>): void {
    const text = JSON.stringify(body);
    const requestId = (body as { RequestId?: unknown })?.RequestId;
    res.writeHead(status, {
      'content-type': 'application/json;charset=utf-8',
      ...(typeof requestId === 'string' && requestId !== '' ? { 'x-acs-request-id': requestId } : {}),
      ...headers,
    });
    res.end(text);
  }
}

/** Starts a simulator; the usual entry point for tests. */
export async function startCamsSimulator(options: CamsSimulatorOptions = {}): Promise<CamsSimulator> {
  return new CamsSimulator(options).start(options.host, options.port);
}

function rateLimitHeaders(limit: number, timeLeftMs: number, now: number): Record<string, string> {
  const value = `Limit:${limit},Remain:0,TimeLeft:${Math.max(0, Math.ceil(timeLeftMs))},Reset:${now + timeLeftMs}`;
  return { 'x-ratelimit-user-api': value };
}

function newRequestId(): string {
  return randomUUID().toUpperCase();
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
