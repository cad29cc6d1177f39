/**
 * The fields of one invocation's log line, appended by whoever learns them (see logger.ts, which writes the line).
 */
import type { FieldLog } from '../preview/ports.js';

/** The fields of one invocation's line, appended as they are learnt. */
export class InvocationLog implements FieldLog {
  readonly #fields: Record<string, unknown> = {};

  appendKeys(fields: Readonly<Record<string, unknown>>): void {
    Object.assign(this.#fields, fields);
  }

  get fields(): Readonly<Record<string, unknown>> {
    return this.#fields;
  }
}
