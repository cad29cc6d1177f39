/**
 * What the CAMS client throws, and CAMS's codes sorted by what they mean for a caller. CAMS knowledge stays here:
 * the core reads only each error's `advice` (retry it? will it change soon?), the edge's error table only its
 * `failure` and `category`.
 */
import { isRecord } from '../is-record.js';
import type { FailureAdvice } from '../preview/ports.js';

/** What the operator may learn from an `AccessDeniedDetail`: no principal ids, no encoded diagnostics. */
export interface DeniedSummary {
  authAction?: string;
  noPermissionType?: string;
  policyType?: string;
}

export type CamsFailure =
  /** CAMS answered with an error `Code` (HTTP 4xx/5xx, or HTTP 200 with `Code` ≠ `OK`). */
  | {
      kind: 'code';
      code: string;
      httpStatus: number;
      requestId: string | undefined;
      /** From `x-ratelimit-user-api` / `x-ratelimit-user` `TimeLeft`, when present. */
      retryAfterMs: number | undefined;
      denied: DeniedSummary | undefined;
    }
  /** CAMS answered, but not with a body this function understands. */
  | { kind: 'malformed'; httpStatus: number; requestId: string | undefined; reason: string }
  /** CAMS did not answer in time. */
  | { kind: 'timeout'; timeoutMs: number }
  /** The connection failed (refused, reset, DNS). */
  | { kind: 'network'; errorCode: string };

/** What a CAMS code means for the caller (documented codes: platform.md §2). */
export type CamsCategory = 'forbidden' | 'unsubscribed' | 'not-found' | 'throttled' | 'other';

/** Everything the CAMS client throws when CAMS was asked. `failure` carries only data that is safe to log. */
export class CamsError extends Error {
  override name = 'CamsError';
  readonly failure: CamsFailure;
  readonly advice: FailureAdvice;
  constructor(failure: CamsFailure, options?: ErrorOptions) {
    super(describeFailure(failure), options);
    this.failure = failure;
    this.advice = adviceFor(failure);
  }

  /** The code's meaning; `other` for anything that is not a CAMS code. */
  get category(): CamsCategory {
    return this.failure.kind === 'code' ? categoryOf(this.failure.code) : 'other';
  }
}

/**
 * The CAMS request could not even be built or sent (Node or the SDK refused it locally), so CAMS never saw it:
 * nothing is wrong with CAMS or the network. The cause reaches only the log.
 */
export class CamsRequestNotSentError extends Error {
  override name = 'CamsRequestNotSentError';
  constructor(options: ErrorOptions) {
    super('The CAMS request could not be sent (a local fault; CAMS was not called)', options);
  }
}

/** CAMS codes that mean "too many requests": retryable, and a 429 once retries are spent. */
export function isThrottlingCode(code: string): boolean {
  return code === 'System.LimitControl' || code.startsWith('Throttling');
}

function categoryOf(code: string): CamsCategory {
  if (code === 'Ram.PermissionDeny') return 'forbidden';
  if (code === 'Product.Unsubscript') return 'unsubscribed';
  if (code === 'Unknown.ResourceOwnerId') return 'not-found';
  return isThrottlingCode(code) ? 'throttled' : 'other';
}

const RETRYABLE_STATUS = new Set([500, 502, 503, 504]);
const RETRYABLE_NETWORK = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE']);

/**
 * Only what can succeed on retry is retried: throttling, CAMS 5xx (500, 502, 503, 504) and a refused or reset
 * connection (a pooled socket can be stale after FC thaws an instance). Answers about the flow or the role do not
 * change in the next seconds: they are `lasting`.
 */
function adviceFor(failure: CamsFailure): FailureAdvice {
  switch (failure.kind) {
    case 'code': {
      const category = categoryOf(failure.code);
      if (category === 'throttled') {
        return {
          retry: {
            reason: failure.code,
            throttled: true,
            ...(failure.retryAfterMs === undefined ? {} : { afterMs: failure.retryAfterMs }),
          },
        };
      }
      if (category !== 'other') return { lasting: { record: { cams: failure } } };
      return RETRYABLE_STATUS.has(failure.httpStatus)
        ? { retry: { reason: `${failure.code} (HTTP ${failure.httpStatus})`, throttled: false } }
        : {};
    }
    case 'malformed':
      return RETRYABLE_STATUS.has(failure.httpStatus)
        ? { retry: { reason: `HTTP ${failure.httpStatus}`, throttled: false } }
        : {};
    case 'network':
      return RETRYABLE_NETWORK.has(failure.errorCode)
        ? { retry: { reason: failure.errorCode, throttled: false } }
        : {};
    case 'timeout':
      return {};
  }
}

/** A CAMS error code is an identifier like `Throttling.User`; anything else is not trusted as one. */
export const CAMS_CODE = /^[A-Za-z][A-Za-z0-9_.-]{0,79}$/;

/**
 * The `CamsError` a kept record stands for (see `CamsClient.reviveFailure`), or undefined for anything that is not
 * a record of a lasting CAMS answer as this file writes them: what comes back from a shared store is checked.
 */
export function reviveCamsFailure(record: unknown): CamsError | undefined {
  const failure = isRecord(record) ? record['cams'] : undefined;
  if (!isRecord(failure) || failure['kind'] !== 'code') return undefined;
  const { code, httpStatus, requestId, retryAfterMs, denied } = failure;
  // Only answers `adviceFor` calls lasting are ever kept: a throttle or an unknown code is not one.
  if (typeof code !== 'string' || !CAMS_CODE.test(code) || !LASTING.has(categoryOf(code))) return undefined;
  if (typeof httpStatus !== 'number' || !Number.isInteger(httpStatus)) return undefined;
  if (requestId !== undefined && typeof requestId !== 'string') return undefined;
  return new CamsError({
    kind: 'code',
    code,
    httpStatus,
    requestId,
    retryAfterMs: typeof retryAfterMs === 'number' ? retryAfterMs : undefined,
    denied: readDenied(denied),
  });
}

const LASTING: ReadonlySet<CamsCategory> = new Set(['forbidden', 'unsubscribed', 'not-found']);

function readDenied(value: unknown): DeniedSummary | undefined {
  if (!isRecord(value)) return undefined;
  const summary: DeniedSummary = {};
  for (const field of ['authAction', 'noPermissionType', 'policyType'] as const) {
    const entry = value[field];
    if (typeof entry === 'string' && CAMS_CODE.test(entry.replace(/:/g, '.'))) summary[field] = entry;
  }
  return summary;
}

function describeFailure(failure: CamsFailure): string {
  switch (failure.kind) {
    case 'code':
      return `CAMS error ${failure.code} (HTTP ${failure.httpStatus})`;
    case 'malformed':
      return `CAMS response unreadable (HTTP ${failure.httpStatus}): ${failure.reason}`;
    case 'timeout':
      return `CAMS did not answer within ${failure.timeoutMs} ms`;
    case 'network':
      return `CAMS connection failed: ${failure.errorCode}`;
  }
}
