/**
 * The middleware that hands each invocation its validated configuration.
 */
import type { MiddlewareObj } from '@middy/core';
import type { Context as LambdaContext } from 'aws-lambda';
import { type Config, loadConfig } from '../config.js';

type Env = Readonly<Record<string, string | undefined>>;

/**
 * The environment is checked on every invocation so a changed one is never served stale, but parsed again only
 * when a variable that `loadConfig` read last time has changed: parsing (URLs, origins, the JWT block) was ~40 µs
 * of every warm call, comparing the dozen values it depends on is a few. `loadConfig` is a function of the values
 * it reads alone, so the same values mean the same result; a failed load is not kept (it throws each time).
 */
export function withConfig(
  env: Env = process.env,
): MiddlewareObj<unknown, unknown, Error, { config?: Config } & LambdaContext> {
  let last: { readonly read: ReadonlyMap<string, string | undefined>; readonly config: Config } | undefined;
  return {
    before: (request) => {
      if (last === undefined || changed(last.read, env)) {
        const read = new Map<string, string | undefined>();
        const recording = new Proxy(env, {
          get: (target, name) => {
            const value = Reflect.get(target, name) as string | undefined;
            if (typeof name === 'string') read.set(name, value);
            return value;
          },
        });
        last = undefined;
        last = { read, config: loadConfig(recording) };
      }
      request.context.config = last.config;
    },
  };
}

function changed(read: ReadonlyMap<string, string | undefined>, env: Env): boolean {
  for (const [name, value] of read) if (env[name] !== value) return true;
  return false;
}
