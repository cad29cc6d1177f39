/**
 * The two older signatures fc3 0.1.22 still uses on the way to a deploy, checked by the FC simulator:
 * - FC 2.0 (`Authorization: FC <AccessKeyId>:<base64 HMAC-SHA256>`), for `GET /2016-08-15/tempBucketToken`. The
 *   string to sign, per @alicloud/fc2 (lib/client.js `getSignature`, lib/helper.js `composeStringToSign`):
 *   `METHOD\nContent-MD5\nContent-Type\nDate\n` + each `x-fc-*` header as `name:value\n` (sorted) + the path
 *   (`/2016-08-15/…`), then, when there is a query, `\n` + the sorted `name=value` pairs joined by `\n`.
 * - OSS V1 (`Authorization: OSS <AccessKeyId>:<base64 HMAC-SHA1>`), for the code zip's `PUT /<bucket>/<object>`, per
 *   OSS's "Include signatures in the Authorization header" and ali-oss 6.x lib/common/signUtils.js: `VERB\nContent-MD5\n
 *   Content-Type\nDate` (or `x-oss-date`) + each `x-oss-*` header as `name:value` (sorted, one per line) + the
 *   canonical resource `/<bucket>/<object>` (whether the bucket is in the path or, virtual-hosted, in the Host).
 * Written from those descriptions; they share no code with the signers.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export type SignatureCheck =
  | { readonly ok: true; readonly accessKeyId: string }
  | { readonly ok: false; readonly code: string; readonly message: string };

function same(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

function prefixed(headers: ReadonlyMap<string, string>, prefix: string): string[] {
  return [...headers.keys()]
    .filter((name) => name.startsWith(prefix))
    .sort()
    .map((name) => `${name}:${(headers.get(name) ?? '').trim()}`);
}

/** Checks an FC 2.0 request signature; `path` as sent (`/2016-08-15/tempBucketToken`). */
export function verifyFc2(
  request: {
    method: string;
    path: string;
    query: ReadonlyArray<readonly [string, string]>;
    headers: ReadonlyMap<string, string>;
  },
  secretOf: (accessKeyId: string) => string | undefined,
): SignatureCheck {
  const match = /^FC ([^:\s]+):(\S+)$/.exec(request.headers.get('authorization') ?? '');
  if (!match?.[1] || !match[2])
    return { ok: false, code: 'MissingRequiredHeader', message: 'required HTTP header Authorization' };
  const secret = secretOf(match[1]);
  if (secret === undefined)
    return { ok: false, code: 'InvalidAccessKeyID', message: `invalid access key ID '${match[1]}'` };
  const { headers } = request;
  let toSign = [
    request.method.toUpperCase(),
    headers.get('content-md5') ?? '',
    headers.get('content-type') ?? '',
    headers.get('date') ?? '',
    prefixed(headers, 'x-fc-')
      .map((line) => `${line}\n`)
      .join('') + decodeURIComponent(request.path),
  ].join('\n');
  if (request.query.length > 0) {
    toSign += `\n${request.query
      .map(([name, value]) => `${name}=${value}`)
      .sort()
      .join('\n')}`;
  }
  const expected = createHmac('sha256', secret).update(toSign, 'utf8').digest('base64');
  return same(expected, match[2])
    ? { ok: true, accessKeyId: match[1] }
    : {
        ok: false,
        code: 'SignatureNotMatch',
        message: 'The request signature we calculated does not match the signature you provided.',
      };
}

/** Checks an OSS V1 header signature for an object request; `resource` is `/<bucket>/<object>`. */
export function verifyOssV1(
  request: { method: string; resource: string; headers: ReadonlyMap<string, string> },
  secretOf: (accessKeyId: string) => string | undefined,
): SignatureCheck {
  const match = /^OSS ([^:\s]+):(\S+)$/.exec(request.headers.get('authorization') ?? '');
  if (!match?.[1] || !match[2])
    return { ok: false, code: 'AccessDenied', message: 'Authorization header is missing or malformed.' };
  const secret = secretOf(match[1]);
  if (secret === undefined)
    return {
      ok: false,
      code: 'InvalidAccessKeyId',
      message: 'The OSS Access Key Id you provided does not exist in our records.',
    };
  const { headers } = request;
  const toSign = [
    request.method.toUpperCase(),
    headers.get('content-md5') ?? '',
    headers.get('content-type') ?? '',
    headers.get('x-oss-date') ?? headers.get('date') ?? '',
    ...prefixed(headers, 'x-oss-'),
    request.resource,
  ].join('\n');
  const expected = createHmac('sha1', secret).update(toSign, 'utf8').digest('base64');
  return same(expected, match[2])
    ? { ok: true, accessKeyId: match[1] }
    : {
        ok: false,
        code: 'SignatureDoesNotMatch',
        message: 'The request signature we calculated does not match the signature you provided.',
      };
}
