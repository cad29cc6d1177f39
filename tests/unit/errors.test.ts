/**
 * Errors by layer: what CAMS failures advise the core (retry? lasting?), and the edge's one table that turns every
 * error (configuration, the core's outcomes, CAMS failures, unknown faults) into the HttpError a caller receives.
 */
import { deepStrictEqual, ok, strictEqual } from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  CamsError,
  type CamsFailure,
  CamsRequestNotSentError,
  isThrottlingCode,
} from '../../shared/cams/errors.js';
import { ConfigError } from '../../shared/config-error.js';
import { toHttpError } from '../../shared/fc/error-table.js';
import { HttpError } from '../../shared/fc/http-errors.js';
import {
  DeadlineExceededError,
  InvalidRequestError,
  RateLimitedError,
  ThrottledError,
} from '../../shared/preview/errors.js';
import { adviceOf } from '../../shared/preview/ports.js';

const code = (c: string, httpStatus = 400, retryAfterMs?: number): CamsFailure => ({
  kind: 'code',
  code: c,
  httpStatus,
  requestId: 'RID',
  retryAfterMs,
  denied: undefined,
});

/** What a caller receives for `error`: status, code, whether the message is shown, headers, CAMS RequestId. */
function mapped(error: unknown) {
  const http = toHttpError(error);
  return {
    status: http.statusCode,
    code: http.code,
    expose: http.expose,
    headers: http.headers,
    requestId: http.camsRequestId,
  };
}

describe('toHttpError: the CAMS → HTTP table', () => {
  const table: Array<[CamsFailure, number, string]> = [
    [code('Ram.PermissionDeny'), 403, 'Ram.PermissionDeny'],
    [code('Product.Unsubscript'), 403, 'Product.Unsubscript'],
    [code('Unknown.ResourceOwnerId'), 404, 'Unknown.ResourceOwnerId'],
    [code('System.LimitControl'), 429, 'System.LimitControl'],
    [code('Throttling'), 429, 'Throttling'],
    [code('Throttling.User'), 429, 'Throttling.User'],
    [code('Throttling.Api', 503), 429, 'Throttling.Api'],
    [code('SignatureDoesNotMatch'), 502, 'CamsError'],
    [code('InternalError', 500), 502, 'CamsError'],
    [code('ServiceUnavailable', 503), 502, 'CamsError'],
    [{ kind: 'malformed', httpStatus: 200, requestId: 'RID', reason: 'x' }, 502, 'CamsBadResponse'],
    [{ kind: 'network', errorCode: 'ECONNREFUSED' }, 502, 'CamsUnavailable'],
    [{ kind: 'timeout', timeoutMs: 5000 }, 504, 'CamsTimeout'],
  ];
  for (const [failure, status, expectedCode] of table) {
    const label = failure.kind === 'code' ? failure.code : failure.kind;
    it(`maps ${label} to ${status} ${expectedCode}`, () => {
      const result = mapped(new CamsError(failure));
      strictEqual(result.status, status);
      strictEqual(result.code, expectedCode);
    });
  }

  it('rounds the rate-limit hint up to whole seconds for Retry-After', () => {
    deepStrictEqual(mapped(new CamsError(code('Throttling.User', 400, 2001))).headers, {
      'Retry-After': '3',
    });
    deepStrictEqual(mapped(new CamsError(code('Throttling.User', 400, 0))).headers, { 'Retry-After': '1' });
    deepStrictEqual(mapped(new CamsError(code('Throttling.User'))).headers, { 'Retry-After': '1' });
  });

  it('keeps the CAMS RequestId for the caller', () => {
    strictEqual(mapped(new CamsError(code('Ram.PermissionDeny'))).requestId, 'RID');
    strictEqual(mapped(new CamsError(code('Throttling.User'))).requestId, 'RID');
    strictEqual(
      mapped(new CamsError({ kind: 'malformed', httpStatus: 200, requestId: 'RID-2', reason: 'x' }))
        .requestId,
      'RID-2',
    );
  });

  it('shows 5xx messages that say what happened upstream, and never a CAMS message', () => {
    for (const failure of [
      code('InternalError', 500),
      { kind: 'network', errorCode: 'ECONNREFUSED' } as const,
      { kind: 'timeout', timeoutMs: 5000 } as const,
    ]) {
      strictEqual(toHttpError(new CamsError(failure)).expose, true);
    }
    strictEqual(
      toHttpError(new CamsError(code('InternalError', 500))).message,
      'CAMS answered with error InternalError (HTTP 500)',
    );
  });

  it('keeps the CAMS error as the cause, for the log', () => {
    const cams = new CamsError(code('Ram.PermissionDeny'));
    strictEqual(toHttpError(cams).cause, cams);
  });
});

describe('toHttpError: the other layers’ errors', () => {
  it('answers a ConfigError as 500 ConfigInvalid naming the variable, never the value', () => {
    const error = toHttpError(new ConfigError('CAMS_TIMEOUT_MS', 'must be a positive integer', '12 s'));
    deepStrictEqual(
      [error.statusCode, error.code, error.message, error.expose],
      [500, 'ConfigInvalid', 'CAMS_TIMEOUT_MS must be a positive integer', true],
    );
  });

  it('answers InvalidRequestError as 400 with its own code and message', () => {
    const error = toHttpError(new InvalidRequestError('InvalidFlowId', 'flowId is required'));
    deepStrictEqual(
      [error.statusCode, error.code, error.message, error.expose],
      [400, 'InvalidFlowId', 'flowId is required', true],
    );
  });

  it('answers RateLimitedError as 429 RateLimited with Retry-After in whole seconds', () => {
    const error = toHttpError(new RateLimitedError(1200));
    deepStrictEqual(mapped(new RateLimitedError(1200)), {
      status: 429,
      code: 'RateLimited',
      expose: true,
      headers: { 'Retry-After': '2' },
      requestId: undefined,
    });
    strictEqual(error.message, 'Too many CAMS calls for this account right now; retry after 2 s');
    deepStrictEqual(mapped(new RateLimitedError(0)).headers, { 'Retry-After': '1' });
  });

  it('answers ThrottledError as 429 with the last CAMS code, its RequestId and the wait', () => {
    const cams = new CamsError(code('Throttling.User', 400, 1800));
    deepStrictEqual(mapped(new ThrottledError(2500, { cause: cams })), {
      status: 429,
      code: 'Throttling.User',
      expose: true,
      headers: { 'Retry-After': '3' },
      requestId: 'RID',
    });
    strictEqual(
      toHttpError(new ThrottledError(2500, { cause: cams })).message,
      'CAMS is throttling requests; retry after 3 s',
    );
  });

  it('answers a ThrottledError of another upstream as 429 Throttled', () => {
    deepStrictEqual(mapped(new ThrottledError(100, { cause: new Error('x') })), {
      status: 429,
      code: 'Throttled',
      expose: true,
      headers: { 'Retry-After': '1' },
      requestId: undefined,
    });
  });

  it('answers DeadlineExceededError as 504 CamsTimeout, as a CAMS timeout is', () => {
    deepStrictEqual(
      [
        toHttpError(new DeadlineExceededError(12)).statusCode,
        toHttpError(new DeadlineExceededError(12)).code,
      ],
      [504, 'CamsTimeout'],
    );
    strictEqual(toHttpError(new DeadlineExceededError(12)).message, 'CAMS did not answer in time');
  });

  it('answers CamsRequestNotSentError as 500 CamsRequestNotSent, keeping the local cause for the log', () => {
    const cause = new TypeError('Invalid character in header content ["x-acs-security-token"]');
    const error = toHttpError(new CamsRequestNotSentError({ cause }));
    deepStrictEqual(
      [error.statusCode, error.code, error.expose, error.message.includes('header')],
      [500, 'CamsRequestNotSent', true, false],
    );
    strictEqual((error.cause as Error).cause, cause);
  });

  it('turns unknown errors into a generic, unexposed 500 that keeps the cause for the log', () => {
    const cause = new TypeError('secret detail');
    const error = toHttpError(cause);
    strictEqual(error.statusCode, 500);
    strictEqual(error.code, 'InternalError');
    strictEqual(error.expose, false);
    strictEqual(error.message.includes('secret'), false);
    strictEqual(error.cause, cause);
    strictEqual(toHttpError('a string').code, 'InternalError');
    strictEqual(toHttpError(undefined).code, 'InternalError');
  });

  it('passes HttpErrors through unchanged', () => {
    const error = new HttpError(418, 'Teapot', 'short and stout');
    strictEqual(toHttpError(error), error);
    strictEqual(error.expose, true);
    strictEqual(new HttpError(503, 'Down', 'x').expose, false);
  });
});

describe('CamsError advice: what the core may do with a failure', () => {
  const retryable: Array<[CamsFailure, string, boolean, number?]> = [
    [code('System.LimitControl'), 'System.LimitControl', true],
    [code('Throttling.User', 400, 1800), 'Throttling.User', true, 1800],
    [code('InternalError', 500), 'InternalError (HTTP 500)', false],
    [code('BadGateway', 502), 'BadGateway (HTTP 502)', false],
    [code('ServiceUnavailable', 503), 'ServiceUnavailable (HTTP 503)', false],
    [code('GatewayTimeout', 504), 'GatewayTimeout (HTTP 504)', false],
    [{ kind: 'malformed', httpStatus: 502, requestId: undefined, reason: 'html' }, 'HTTP 502', false],
    [{ kind: 'network', errorCode: 'ECONNRESET' }, 'ECONNRESET', false],
    [{ kind: 'network', errorCode: 'ECONNREFUSED' }, 'ECONNREFUSED', false],
    [{ kind: 'network', errorCode: 'EPIPE' }, 'EPIPE', false],
  ];
  for (const [failure, reason, throttled, afterMs] of retryable) {
    it(`advises a retry for ${JSON.stringify(failure)}`, () => {
      deepStrictEqual(new CamsError(failure).advice, {
        retry: { reason, throttled, ...(afterMs === undefined ? {} : { afterMs }) },
      });
    });
  }

  const lasting: CamsFailure[] = [
    code('Ram.PermissionDeny'),
    code('Product.Unsubscript'),
    code('Unknown.ResourceOwnerId'),
    code('Unknown.ResourceOwnerId', 200),
  ];
  for (const failure of lasting) {
    it(`says ${JSON.stringify(failure)} will not change soon (lasting), and is not retried`, () => {
      deepStrictEqual(new CamsError(failure).advice, { lasting: { record: { cams: failure } } });
    });
  }

  const final: CamsFailure[] = [
    code('SignatureDoesNotMatch'),
    code('NotImplemented', 501),
    { kind: 'malformed', httpStatus: 200, requestId: 'R', reason: 'no Data' },
    { kind: 'network', errorCode: 'ENOTFOUND' },
    { kind: 'timeout', timeoutMs: 100 },
  ];
  for (const failure of final) {
    it(`advises nothing for ${JSON.stringify(failure)}: neither retried nor shared`, () => {
      deepStrictEqual(new CamsError(failure).advice, {});
    });
  }

  it('is what the core reads through adviceOf; errors of no client advise nothing', () => {
    const error = new CamsError(code('Throttling'));
    strictEqual(adviceOf(error), error.advice);
    strictEqual(adviceOf(new Error('x')), undefined);
    strictEqual(adviceOf(undefined), undefined);
    strictEqual(adviceOf({ advice: 'retry' }), undefined);
    strictEqual(adviceOf(new CamsRequestNotSentError({ cause: new Error('x') })), undefined);
  });

  it('sorts CAMS codes into the categories the error table reads', () => {
    deepStrictEqual(
      ['Ram.PermissionDeny', 'Product.Unsubscript', 'Unknown.ResourceOwnerId', 'Throttling.Api', 'Other'].map(
        (c) => new CamsError(code(c)).category,
      ),
      ['forbidden', 'unsubscribed', 'not-found', 'throttled', 'other'],
    );
    strictEqual(new CamsError({ kind: 'network', errorCode: 'ECONNRESET' }).category, 'other');
  });

  it('knows the throttling codes', () => {
    for (const c of ['System.LimitControl', 'Throttling', 'Throttling.User', 'Throttling.Api'])
      ok(isThrottlingCode(c), c);
    for (const c of ['LimitControl', 'System.Throttling', 'ServiceUnavailable']) ok(!isThrottlingCode(c), c);
  });
});
