/** A plain object (not null, not an array): the lowest-level guard, used by every layer. */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
