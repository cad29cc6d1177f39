import { deepStrictEqual, strictEqual } from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CamsError, type CamsFailure, HttpError, toHttpError } from '../shared/errors.js';

const code = (c: string, httpStatus = 400, retryAfterMs?: number): CamsFailure => ({
  kind: 'code',
  code: c,
  httpStatus,
  requestId: 'RID',
  retryAfterMs,
  denied: undefined,
});

function mapped(failure: CamsFailure) {
  const error = toHttpError(new CamsError(failure));
  return {
    status: error.statusCode,
    code: error.code,
    headers: error.headers,
    requestId: error.camsRequestId,
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
      const result = mapped(failure);
      strictEqual(result.status, status);
      strictEqual(result.code, expectedCode);
    });
  }

  it('rounds the rate-limit hint up to whole seconds for Retry-After', () => {
    deepStrictEqual(mapped(code('Throttling.User', 400, 2001)).headers, { 'Retry-After': '3' });
    deepStrictEqual(mapped(code('Throttling.User', 400, 0)).headers, { 'Retry-After': '1' });
    deepStrictEqual(mapped(code('Throttling.User')).headers, { 'Retry-After': '1' });
  });

  it('keeps the CAMS RequestId for the caller', () => {
    strictEqual(mapped(code('Ram.PermissionDeny')).requestId, 'RID');
  });

  it('turns unknown errors into a generic, unexposed 500 that keeps the cause for the log', () => {
    const cause = new TypeError('secret detail');
    const error = toHttpError(cause);
    strictEqual(error.statusCode, 500);
    strictEqual(error.code, 'InternalError');
    strictEqual(error.expose, false);
    strictEqual(error.message.includes('secret'), false);
    strictEqual(error.cause, cause);
  });

  it('passes HttpErrors through unchanged', () => {
    const error = new HttpError(418, 'Teapot', 'short and stout');
    strictEqual(toHttpError(error), error);
    strictEqual(error.expose, true);
  });
});
