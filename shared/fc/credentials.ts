/**
 * Which credentials call CAMS: this invocation's role keys from FC's context (they rotate, so they are read on
 * every invocation), else the `ALIBABA_CLOUD_*` keys from the environment for local runs. Whichever is used is
 * checked here, where it enters: surrounding whitespace (a CRLF `.env`'s trailing `\r`) is removed, and a value
 * that still cannot be sent is refused with `CredentialsInvalid` naming the field, never with a CAMS outage.
 */
import type { Credentials } from '../config.js';
import { isRecord } from '../is-record.js';
import type { FcContext } from './event.js';
import { CredentialsInvalidError, CredentialsMissingError } from './http-errors.js';

/** Where each field comes from, for the error message (never the value). */
interface FieldNames {
  readonly accessKeyId: string;
  readonly accessKeySecret: string;
  readonly securityToken: string;
}

const FROM_CONTEXT: FieldNames = {
  accessKeyId: 'context.credentials.accessKeyId',
  accessKeySecret: 'context.credentials.accessKeySecret',
  securityToken: 'context.credentials.securityToken',
};

const FROM_ENV: FieldNames = {
  accessKeyId: 'ALIBABA_CLOUD_ACCESS_KEY_ID',
  accessKeySecret: 'ALIBABA_CLOUD_ACCESS_KEY_SECRET',
  securityToken: 'ALIBABA_CLOUD_SECURITY_TOKEN',
};

/**
 * Key ids and tokens travel in HTTP headers, and openapi-client signs the secret as a string: visible ASCII only
 * (what Alibaba Cloud issues), so a control character or a non-ASCII letter is refused before any request.
 */
const SENDABLE = /^[\x21-\x7e]+$/;

export function resolveCredentials(context: FcContext, envCredentials: Credentials | undefined): Credentials {
  const fromContext: unknown = context.credentials;
  if (isPresent(fromContext)) return checked(fromContext, FROM_CONTEXT);
  if (envCredentials) return checked(envCredentials, FROM_ENV);
  throw new CredentialsMissingError();
}

/** A context credential set counts as given when any key or secret is there, whatever its type. */
function isPresent(value: unknown): value is Record<string, unknown> {
  if (!isRecord(value)) return false;
  const { accessKeyId, accessKeySecret } = value;
  return !isBlank(accessKeyId) || !isBlank(accessKeySecret);
}

function isBlank(value: unknown): boolean {
  return value === undefined || value === null || value === '';
}

function checked(source: object, names: FieldNames): Credentials {
  const fields = source as Record<string, unknown>;
  const accessKeyId = required(fields['accessKeyId'], names.accessKeyId);
  const accessKeySecret = required(fields['accessKeySecret'], names.accessKeySecret);
  const token = fields['securityToken'];
  if (isBlank(token)) return { accessKeyId, accessKeySecret };
  return { accessKeyId, accessKeySecret, securityToken: required(token, names.securityToken) };
}

function required(value: unknown, field: string): string {
  if (isBlank(value)) throw new CredentialsInvalidError(field, 'is missing');
  if (typeof value !== 'string')
    throw new CredentialsInvalidError(field, `is a ${typeof value}, not a string`);
  const trimmed = value.trim();
  if (trimmed === '') throw new CredentialsInvalidError(field, 'is blank');
  if (!SENDABLE.test(trimmed)) {
    throw new CredentialsInvalidError(
      field,
      'holds a character a credential cannot contain (control, space or non-ASCII)',
    );
  }
  return trimmed;
}
