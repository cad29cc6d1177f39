/**
 * Every place this project works around @alicloud/openapi-client and the packages under it, in one file. Each
 * workaround names the upstream behaviour it answers (package@version, file and line as published on npm);
 * tests/integration/sdk-workarounds.test.ts runs the real packages and fails when that behaviour changes, so the workaround can
 * be dropped. Versions are pinned exactly in package.json (tea-util also through `overrides`).
 *
 * Runtime workarounds (this file): finding one call's own `ClientRequest` and response without a header of ours on
 * the wire, ending that request when the call ends, releasing httpx's read timer, and tea's `doAction` as a native
 * async function.
 * Bundle workarounds (`BUNDLE_ALIASES`, used by scripts/build.mts): stand-ins for SDK parts CAMS calls never use.
 */
import { randomUUID } from 'node:crypto';
import { subscribe } from 'node:diagnostics_channel';
import type { ClientRequest, IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { stringify as stringifyQuery } from 'node:querystring';
import { parse as parseUrl } from 'node:url';
import type * as Tea from '@alicloud/tea-typescript';
import { type Options as HttpxOptions, request as httpxRequest } from 'httpx';

/** What one SDK call put on the wire and saw come back. Lives only as long as the call. */
export interface WireCall {
  /** The call's request, once the SDK has created it (it has then left the process). */
  request: ClientRequest | undefined;
  response: IncomingMessage | undefined;
  statusCode: number | undefined;
  headers: IncomingHttpHeaders;
  /** httpx's read timer for this request (see `releaseHttpxReadTimer`). */
  readTimer: unknown;
  /** Set when the call is over: a request the SDK creates after that is destroyed at once. */
  ended: boolean;
  readonly onSent: (() => void) | undefined;
  /** The `x-acs-signature-nonce` this call's request carries. */
  readonly nonce: string;
}

/**
 * WORKAROUND `noCancellation` — the SDK cannot cancel a call.
 * `@alicloud/openapi-client@0.4.15` `callApi(params, request, runtime)` (dist/client.js line 1253) takes no signal,
 * and `@alicloud/tea-typescript@1.8.0` `doAction` (dist/tea.js lines 160–217) passes httpx no way to reach the
 * `ClientRequest` it creates. Node's http diagnostics channel announces every client request; the call's own
 * request is recognised by its `x-acs-signature-nonce`, which this client chooses (a random UUID, as unique as the
 * SDK's) and openapi-client signs and sends as it would its own: `request.headers` is applied last over the
 * defaults (dist/client.js line 948). So no header of ours is added to the wire, and no `AsyncLocalStorage` is
 * needed (its promise hooks would slow every await in the SDK).
 *
 * WORKAROUND `errorWithoutHeaders` — an HTTP ≥ 400 answer loses its headers.
 * `@alicloud/openapi-client@0.4.15` dist/client.js line 1037 throws `$tea.newError({ code, message, data,
 * description, accessDeniedDetail })`: no response headers, which carry the rate-limit hint
 * (`x-ratelimit-user-api: …,TimeLeft:800`) and the request id of bodies that are not JSON. The response is read
 * from the same channel, tied to the call by its `ClientRequest`.
 */
const NONCE_HEADER = 'x-acs-signature-nonce';
const callOfNonce = new Map<string, WireCall>();
const callOfRequest = new WeakMap<ClientRequest, WireCall>();
let subscribed = false;

function subscribeOnce(): void {
  if (subscribed) return;
  subscribed = true;
  subscribe('http.client.request.start', (message) => {
    const { request } = message as { request: ClientRequest };
    const nonce = request.getHeader(NONCE_HEADER);
    const call = typeof nonce === 'string' ? callOfNonce.get(nonce) : undefined;
    if (call === undefined) return;
    callOfNonce.delete(nonce as string);
    if (call.ended) {
      // The call was abandoned while the SDK was still signing: this request must not outlive it.
      request.destroy();
      return;
    }
    call.request = request;
    callOfRequest.set(request, call);
    call.onSent?.();
  });
  subscribe('http.client.response.finish', (message) => {
    const { request, response } = message as { request: ClientRequest; response: IncomingMessage };
    const call = callOfRequest.get(request);
    if (call === undefined || call.ended) return;
    call.response = response;
    call.statusCode = response.statusCode;
    call.headers = response.headers;
    call.readTimer = httpxReadTimerOf(request.socket);
  });
}

/**
 * Runs one SDK call so that its request can be found, counted when it leaves, and ended with it. `sdkCall` gets the
 * headers to send with the call (the nonce the call is recognised by).
 */
export function traceWireCall<T>(
  onSent: (() => void) | undefined,
  sdkCall: (headers: Record<string, string>) => Promise<T>,
) {
  subscribeOnce();
  const call: WireCall = {
    request: undefined,
    response: undefined,
    statusCode: undefined,
    headers: {},
    readTimer: undefined,
    ended: false,
    onSent,
    nonce: randomUUID(),
  };
  callOfNonce.set(call.nonce, call);
  const result = sdkCall({ [NONCE_HEADER]: call.nonce });
  // Kept until the SDK is done, so that a request it creates after the call ended is still recognised (and
  // destroyed); the SDK's outcome itself is the caller's to handle.
  result.then(
    () => callOfNonce.delete(call.nonce),
    () => callOfNonce.delete(call.nonce),
  );
  return { call, result };
}

/**
 * Ends a call: a request whose answer was not read to the end (a timeout, the caller's abort, a failure mid-body)
 * is destroyed with its socket, so nothing of it stays open; a completed one keeps its pooled socket.
 */
export function endWireCall(call: WireCall): void {
  call.ended = true;
  releaseHttpxReadTimer(call.readTimer);
  const { request, response } = call;
  if (request !== undefined && response?.complete !== true) request.destroy();
  // The pooled socket keeps the async context it was created in (this call's store): hold nothing big there.
  call.request = undefined;
  call.response = undefined;
  call.readTimer = undefined;
}

/**
 * WORKAROUND `httpxReadTimer` — httpx keeps every request alive for `readTimeout` after it has been answered.
 * `httpx@2.3.3` lib/index.js lines 130–146 arm a read timer per request and store it on the socket under
 * `Symbol('TIMER::READ_TIMER')`; only httpx's own `read()` (lines 193–215) clears it, and
 * `@alicloud/tea-util@1.4.9` reads bodies with its own `read()` (dist/client.js line 96), never httpx's. Each
 * answered call's request and response would stay reachable from that timer until it fires (about 9 KB a call for
 * 5 s). The timer is taken when the response arrives, while the socket is still this request's (a pooled socket
 * may carry another request's timer by the time the call ends), and cleared when the call ends.
 */
export function httpxReadTimerOf(socket: unknown): unknown {
  if (typeof socket !== 'object' || socket === null) return undefined;
  const key = Object.getOwnPropertySymbols(socket).find((symbol) => symbol.description === HTTPX_READ_TIMER);
  return key === undefined ? undefined : (socket as Record<symbol, unknown>)[key];
}

export const HTTPX_READ_TIMER = 'TIMER::READ_TIMER';

function releaseHttpxReadTimer(timer: unknown): void {
  if (timer !== undefined && timer !== null) clearTimeout(timer as NodeJS.Timeout);
}

/**
 * WORKAROUND `generatorDoAction` — tea's `doAction` is an ES5 state-machine generator, and it keeps every call's
 * request and response alive past the young generation.
 * `@alicloud/tea-typescript@1.8.0` dist/tea.js lines 160–217 compile `doAction` (the function openapi-client's
 * `callApi` sends every request through, `@alicloud/openapi-client@0.4.15` dist/client.js line 1024) to
 * `__awaiter(…, function () { return __generator(…) })` (helpers at lines 34–69), and that generator is suspended
 * for the whole round trip. Measured over 1,100 warm calls of the bundle (`node --trace-gc-nvp`): 8.2 MB promoted
 * out of the young generation with it, 1.1 MB with the same function as native `async`; V8 then doubles its
 * semi-spaces up to 16 MB each (grown by bytes that survive scavenges), which is most of the peak RSS the
 * official SDK reaches (~85 MB, 57 MB for a bare request). `nativeDoAction` is the same code line for line: the
 * same URL (`buildURL`, lines 136–153), the same httpx options, the same `Response` — except for the body (next
 * workaround). `useNativeDoAction` puts it on the tea module itself, which openapi-client reads `$tea.doAction`
 * from on every call (its `__importStar` returns tea's own exports, which are marked `__esModule`).
 *
 * WORKAROUND `streamedBody` — a body already in memory is sent as a stream.
 * `@alicloud/openapi-client@0.4.15` dist/client.js line 980 wraps the form body in `new $tea.BytesReadable(…)`,
 * which holds the whole body as a Buffer (`value`, tea.js lines 80–93), and `httpx@2.3.3` lib/index.js lines
 * 157–166 `pipe()` any stream into the request: chunked transfer encoding, a Readable, pipe listeners and a
 * writev of four buffers per call. `nativeDoAction` hands httpx that Buffer instead (`request.end(body)`, line
 * 156): the same bytes, framed with `Content-Length`; neither framing header is signed (V3 signs `host`,
 * `content-type` and `x-acs-*`, the body through `x-acs-content-sha256`).
 */
export async function nativeDoAction(
  request: Tea.Request,
  runtime: Readonly<Record<string, unknown>> | null = null,
): Promise<Tea.Response> {
  const url = buildUrl(request);
  const method = (request.method || 'GET').toUpperCase();
  const options: HttpxOptions = { method, headers: request.headers };
  if (method !== 'GET' && method !== 'HEAD') options.data = wholeBody(request.body);
  if (runtime) {
    if (typeof runtime['timeout'] !== 'undefined') options.timeout = Number(runtime['timeout']);
    if (typeof runtime['readTimeout'] !== 'undefined') options.readTimeout = Number(runtime['readTimeout']);
    if (typeof runtime['connectTimeout'] !== 'undefined')
      options.connectTimeout = Number(runtime['connectTimeout']);
    if (typeof runtime['ignoreSSL'] !== 'undefined') options.rejectUnauthorized = !runtime['ignoreSSL'];
    if (typeof runtime['key'] !== 'undefined') options.key = String(runtime['key']);
    if (typeof runtime['cert'] !== 'undefined') options.cert = String(runtime['cert']);
    if (typeof runtime['ca'] !== 'undefined') options.ca = String(runtime['ca']);
    if (typeof runtime['keepAlive'] !== 'undefined') {
      const agentOptions = { keepAlive: runtime['keepAlive'] as boolean };
      options.agent =
        request.protocol && request.protocol.toLowerCase() === 'https'
          ? new HttpsAgent(agentOptions)
          : new HttpAgent(agentOptions);
    }
  }
  const { Response } = teaModule();
  return new Response(await httpxRequest(url, options));
}

/** The Buffer a `BytesReadable` nobody has read from yet holds (all of it); any other body as it is. */
function wholeBody(body: Tea.Request['body']): HttpxOptions['data'] {
  const { BytesReadable } = teaModule();
  if (body instanceof BytesReadable && Buffer.isBuffer(body.value) && !body.readableDidRead)
    return body.value;
  return body;
}

function buildUrl(request: Tea.Request): string {
  let url = `${request.protocol}://${request.headers['host']}`;
  if (request.port) url += `:${request.port}`;
  url += `${request.pathname}`;
  if (request.query && Object.keys(request.query).length > 0) {
    url += `${parseUrl(url).query ? '&' : '?'}${stringifyQuery(request.query)}`;
  }
  return url;
}

/** tea's own exports object (not a namespace copy): the one openapi-client reads `doAction` from. */
function teaModule(): typeof Tea {
  return require('@alicloud/tea-typescript') as typeof Tea;
}

/** Makes every openapi-client call in this process go through `nativeDoAction`. Idempotent. */
export function useNativeDoAction(): void {
  const tea = teaModule() as { doAction: typeof Tea.doAction };
  if (tea.doAction !== nativeDoAction) tea.doAction = nativeDoAction;
}

/**
 * Bundle workarounds: stand-ins for SDK parts a CAMS call never uses, swapped in by scripts/build.mts (esbuild
 * `alias`). Each is proven against the real package by tests/integration/sdk-workarounds.test.ts.
 *
 * - `@alicloud/tea-xml` (`@alicloud/tea-xml@0.0.3`, xml2js + sax + xmlbuilder): `@alicloud/openapi-client@0.4.15`
 *   dist/client.js line 1029 calls `parseXml(body, null)` only for an HTTP ≥ 400 answer typed exactly
 *   `text/xml;charset=utf-8`, and reads flat `Error.*` elements; stubs/tea-xml-lite.ts reads that shape.
 * - `@alicloud/credentials` (`@alicloud/credentials@2.4.7`): openapi-client@0.4.15 dist/client.js lines 221–234 wrap
 *   static keys in `new Credential(new Config({ type: 'access_key' | 'sts', … }))` and line 993 awaits
 *   `getCredential()`; the package's other providers (and its `child_process`, `fs`, `os` use) are dead weight here:
 *   stubs/static-credentials.ts returns the same model for static keys.
 * - `debug` (`debug@4.4.3`, required by `httpx@2.3.3` lib/index.js lines 9–10): logs request headers, the
 *   security token included, when `DEBUG=httpx:*`; stubs/debug-off.cjs keeps every namespace off.
 */
export const BUNDLE_ALIASES: Readonly<Record<string, string>> = {
  '@alicloud/tea-xml': './shared/cams/stubs/tea-xml-lite.ts',
  '@alicloud/credentials': './shared/cams/stubs/static-credentials.ts',
  debug: './shared/cams/stubs/debug-off.cjs',
};

/**
 * Built-in modules a package imports at its top but uses only on a path this function never takes; the bundle
 * loads them on first use instead of at cold start.
 *
 * - `@middy/core@6.4.5` index.js lines 2–4 import `node:stream`, `node:stream/promises` and `node:stream/web` for
 *   `streamifyResponse` (lines 47–90), an AWS Lambda response-streaming mode FC does not have: about 9 ms of a
 *   cold start. (The CAMS SDK needs `node:stream` too, but it is loaded with the SDK on the first CAMS call.)
 * - `httpx@2.3.3` lib/index.js line 3 requires `zlib` for `decompress()` (lines 26–36), which only httpx's own
 *   `read()` calls — never on tea-util's path, and CAMS is not asked for compression: ~4 ms of the first call.
 */
export const LAZY_BUILTINS: ReadonlyArray<{
  readonly importer: string;
  readonly modules: readonly string[];
}> = [
  {
    importer: '/node_modules/@middy/core/',
    modules: ['node:stream', 'node:stream/promises', 'node:stream/web'],
  },
  { importer: '/node_modules/httpx/', modules: ['zlib'] },
];
