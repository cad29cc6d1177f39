/**
 * Which credentials call CAMS: this invocation's role keys from FC's context (they rotate, so they are read on
 * every invocation), else the `ALIBABA_CLOUD_*` keys from the environment for local runs.
 */
import type { Config, Credentials } from '../config.js';
import { CredentialsMissingError } from '../errors.js';
import type { FcContext } from './event.js';

export function resolveCredentials(context: FcContext, config: Config): Credentials {
  const fromContext = context.credentials;
  if (fromContext?.accessKeyId && fromContext.accessKeySecret) {
    return {
      accessKeyId: fromContext.accessKeyId,
      accessKeySecret: fromContext.accessKeySecret,
      securityToken: fromContext.securityToken || undefined,
    };
  }
  if (config.envCredentials) return config.envCredentials;
  throw new CredentialsMissingError();
}
