/**
 * Secrets and their removal from log lines. The lowest layer: the FC edge, the CAMS client and the stores all use it.
 */

/** A credential set, as FC's context or the config holds it. */
export interface SecretSource {
  readonly accessKeyId?: string | undefined;
  readonly accessKeySecret?: string | undefined;
  readonly securityToken?: string | undefined;
}

/** The values of a credential set worth redacting from a log line (very short strings would redact too much). */
export function secretValues(credentials: SecretSource | undefined): string[] {
  const { accessKeyId, accessKeySecret, securityToken } = credentials ?? {};
  return [accessKeyId, accessKeySecret, securityToken].filter(
    (value): value is string => typeof value === 'string' && value.length >= 4,
  );
}

export function redact(line: string, secrets: readonly string[]): string {
  let out = line;
  for (const secret of secrets) {
    for (const form of new Set([secret, JSON.stringify(secret).slice(1, -1)])) {
      out = out.split(form).join('[REDACTED]');
    }
  }
  return out;
}
