/**
 * The middleware that hands each invocation its validated configuration.
 */
import type { MiddlewareObj } from '@middy/core';
import type { Context as LambdaContext } from 'aws-lambda';
import { type Config, loadConfig } from '../config.js';

/** Loads the configuration for each invocation (cheap) so a changed environment is never served stale. */
export function withConfig(): MiddlewareObj<unknown, unknown, Error, { config?: Config } & LambdaContext> {
  return {
    before: (request) => {
      request.context.config = loadConfig();
    },
  };
}
