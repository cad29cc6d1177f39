/**
 * The error boundary: any error becomes the JSON error reply. Exposed errors keep their message; 5xx and unknown
 * errors get a generic one, and their details reach only the log (see log.ts).
 */
import type { MiddlewareObj } from '@middy/core';
import { toHttpError } from '../errors.js';
import type { FlowPreviewContext, Reply } from './event.js';

export interface ErrorBody {
  error: { code: string; message: string; status: number; requestId?: string };
}

export function jsonErrors(): MiddlewareObj<unknown, unknown, Error, FlowPreviewContext> {
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
