/**
 * The error boundary: any error becomes the JSON error reply, through the one table in error-table.ts. Exposed
 * errors keep their message; 5xx and unknown errors get a generic one, and their details reach only the log.
 */
import type { MiddlewareObj } from '@middy/core';
import type { InvocationContext } from './adapter.js';
import { toHttpError } from './error-table.js';
import type { Reply } from './event.js';

export interface ErrorBody {
  error: { code: string; message: string; status: number; requestId?: string };
}

export function jsonErrors(): MiddlewareObj<unknown, unknown, Error, InvocationContext> {
  return {
    onError: (request) => {
      const error = toHttpError(request.error);
      const body: ErrorBody = {
        error: {
          code: error.code,
          message: error.expose ? error.message : 'Internal error',
          status: error.statusCode,
          ...(error.camsRequestId === undefined ? {} : { requestId: error.camsRequestId }),
        },
      };
      const reply: Reply = { statusCode: error.statusCode, headers: { ...error.headers }, body };
      request.response = reply;
    },
  };
}
