/**
 * The middleware that hands each invocation its validated configuration.
 */
import type { MiddlewareObj } from '@middy/core';
import type { Context as LambdaContext } from 'aws-lambda';
import { type Config, configLoader } from '../config.js';

/**
 * The environment is checked on every invocation so a changed one is never served stale; it is parsed again only
 * when something the configuration depends on changed (see `configLoader`).
 */
export function withConfig(
  load: () => Config = configLoader(),
): MiddlewareObj<unknown, unknown, Error, { config?: Config } & LambdaContext> {
  return {
    before: (request) => {
      request.context.config = load();
    },
  };
}
