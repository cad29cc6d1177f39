/**
 * W3C Trace Context (https://www.w3.org/TR/trace-context/#traceparent-header): one trace id follows a request from
 * a web app or a calling function through this function, into its log line beside CAMS's RequestId.
 *
 * `traceparent` is `version-traceId-parentId-flags` (§3.2.2): two hex digits of version (`ff` is invalid), 32 and 16
 * lower-case hex digits (all zeros is invalid for either), two hex digits of flags; version `00` has exactly these
 * four fields, a later version may append more (§3.2.4). A value that cannot be parsed is ignored and a new trace
 * starts (§4.3). The response carries the trace on with this invocation's own span id as the parent id (§3.4).
 */

export interface TraceContext {
  readonly traceId: string;
  /** The caller's span, when it sent a valid `traceparent`. */
  readonly parentId: string | undefined;
  /** This invocation's span. */
  readonly spanId: string;
  /** What this function hands on and returns: the trace, this invocation's span, the caller's flags. */
  readonly traceparent: string;
}

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;

/** Continues the caller's trace, or starts one. `header` is the raw value, whatever the caller sent. */
export function traceContext(header: unknown): TraceContext {
  const parsed = parseTraceparent(header);
  const traceId = parsed?.traceId ?? randomHex(16);
  const spanId = randomHex(8);
  const flags = parsed?.flags ?? '01';
  return { traceId, parentId: parsed?.parentId, spanId, traceparent: `00-${traceId}-${spanId}-${flags}` };
}

function parseTraceparent(header: unknown): { traceId: string; parentId: string; flags: string } | undefined {
  if (typeof header !== 'string' || header.length > 512) return undefined;
  const match = TRACEPARENT.exec(header.trim());
  if (match === null) return undefined;
  const [, version = '', traceId = '', parentId = '', flags = '', rest] = match;
  // Version ff is invalid; version 00 has exactly four fields.
  if (version === 'ff' || (version === '00' && rest !== undefined)) return undefined;
  if (/^0+$/.test(traceId) || /^0+$/.test(parentId)) return undefined;
  return { traceId, parentId, flags };
}

/** Random bytes are drawn this many at a time (64 invocations' worth): one getRandomValues call costs ~5 µs. */
const POOL_BYTES = 64 * 24;
let pool = new Uint8Array(0);
let poolOffset = 0;
const HEX = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, '0'));

function randomHex(bytes: number): string {
  if (poolOffset + bytes > pool.length) {
    // The global Web Crypto: node:crypto would load more at cold start. Drawn on first use, not at module load.
    pool = crypto.getRandomValues(new Uint8Array(POOL_BYTES));
    poolOffset = 0;
  }
  let hex = '';
  for (let i = poolOffset; i < poolOffset + bytes; i += 1) hex += HEX[pool[i] ?? 0];
  poolOffset += bytes;
  // All zeros is invalid; 2^-64 at least, but cheap to rule out.
  return /^0+$/.test(hex) ? randomHex(bytes) : hex;
}
