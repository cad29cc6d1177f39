/**
 * FC's temporary code bucket, as fc3 0.1.22 uploads a code zip (devsapp/fc3 src/resources/fc/index.ts
 * `uploadCodeToTmpOss`): FC 2.0 `GET /2016-08-15/tempBucketToken` (FC 2.0 signature, the caller's account in
 * `x-fc-account-id`) answers `{credentials: {AccessKeyId, AccessKeySecret, SecurityToken, Expiration}, ossRegion,
 * ossBucket, objectName}`; ali-oss then PUTs the zip as `<AccountID>/<objectName>` with those STS keys (OSS V1 signature,
 * `x-oss-security-token`). The bucket keeps each zip, which Create/UpdateFunction's `code: {ossBucketName,
 * ossObjectName}` then names. Part of the FC simulator (dev/fc-simulator.ts).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { crc64 } from '../deploy/crc64.js';
import { verifyFc2, verifyOssV1 } from './fc2-oss-signature.js';
import type { ReceivedRequest } from './http-kit.js';

export interface OssUpload {
  readonly bucket: string;
  readonly object: string;
  readonly bytes: number;
  /** CRC-64/ECMA-182, as OSS reports it in `x-oss-hash-crc64ecma`. */
  readonly checksum: string;
}

/** The temporary OSS keys tempBucketToken handed out. */
interface TempKey {
  readonly secret: string;
  readonly token: string;
  readonly bucket: string;
}

export class CodeBucket {
  /** Objects in the temporary code bucket, by `<bucket>/<object>`. */
  readonly objects = new Map<string, Buffer>();
  readonly uploads: OssUpload[] = [];
  readonly #keys = new Map<string, TempKey>();

  constructor(
    readonly options: {
      readonly accountId: string;
      readonly region: string;
      readonly callers: ReadonlyArray<{ accessKeyId: string; accessKeySecret: string; accountId?: string }>;
    },
  ) {}

  /** FC 2.0 tempBucketToken: a status and FC 2.0 body (`ErrorCode`, `ErrorMessage` on a refusal). */
  token(
    received: ReceivedRequest,
    denied: (accessKeyId: string) => boolean,
  ): { status: number; body: unknown; accessKeyId: string | undefined; code?: string } {
    const { callers, accountId, region } = this.options;
    const check = verifyFc2(received, (id) => callers.find((c) => c.accessKeyId === id)?.accessKeySecret);
    const accessKeyId = check.ok ? check.accessKeyId : undefined;
    const refuse = (status: number, code: string, message: string) => ({
      status,
      body: { ErrorCode: code, ErrorMessage: message },
      accessKeyId,
      code,
    });
    if (received.method !== 'GET') return refuse(405, 'MethodNotAllowed', 'tempBucketToken is GET');
    if (!check.ok) return refuse(403, check.code, check.message);
    const caller = callers.find((c) => c.accessKeyId === check.accessKeyId);
    if (received.headers.get('x-fc-account-id') !== (caller?.accountId ?? accountId)) {
      return refuse(403, 'AccessDenied', 'x-fc-account-id is not the account of these keys');
    }
    if (denied(check.accessKeyId)) return refuse(403, 'AccessDenied', 'fc:GetTempBucketToken is not allowed');
    const tempKeyId = `STS.FcTempCode${randomBytes(6).toString('hex')}`;
    const key: TempKey = {
      secret: randomBytes(18).toString('base64'),
      token: `CAIS-temp-code-${randomBytes(12).toString('hex')}`,
      bucket: `fc-temp-code-${region}`,
    };
    this.#keys.set(tempKeyId, key);
    return {
      status: 200,
      accessKeyId,
      body: {
        credentials: {
          AccessKeyId: tempKeyId,
          AccessKeySecret: key.secret,
          SecurityToken: key.token,
          Expiration: new Date(Date.now() + 3600_000).toISOString(),
        },
        ossRegion: `oss-${region}`,
        ossBucket: key.bucket,
        objectName: `${randomUUID()}.zip`,
      },
    };
  }

  /**
   * OSS `PUT` of an object with the keys `token` handed out: keeps the zip. Path-style (`/<bucket>/<object>`) or
   * virtual-hosted (the bucket in the Host, `<bucket>.oss-<region>.aliyuncs.com`): ali-oss 6.18 in fc3 0.1.22, given
   * `FC_CODE_TEMP_OSS_ENDPOINT=http://127.0.0.1:<port>`, connects there and sends `PUT /<object>` with
   * `Host: <bucket>.oss-cn-hangzhou.aliyuncs.com` (seen offline), signing `/<bucket>/<object>`.
   */
  put(received: ReceivedRequest, res: ServerResponse): void {
    const ossError = (status: number, code: string, message: string) => {
      res.writeHead(status, { 'content-type': 'application/xml', 'x-oss-request-id': requestId() });
      res.end(
        `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message></Error>`,
      );
    };
    const hosted = /^([a-z0-9][a-z0-9-]{1,61}[a-z0-9])\.oss-[^.]+\.aliyuncs\.com(?::\d+)?$/.exec(
      received.headers.get('host') ?? '',
    )?.[1];
    const path = decodeURIComponent(received.path);
    const match = hosted ? ([path, hosted, path.slice(1)] as const) : /^\/([^/]+)\/(.+)$/.exec(path);
    if (received.method !== 'PUT' || !match?.[1] || !match[2]) {
      ossError(404, 'NoSuchKey', `${received.method} ${received.path} is not simulated`);
      return;
    }
    const bucket = match[1];
    const object = match[2];
    const check = verifyOssV1(
      { method: received.method, headers: received.headers, resource: `/${bucket}/${object}` },
      (id) => this.#keys.get(id)?.secret,
    );
    if (!check.ok) {
      ossError(403, check.code, check.message);
      return;
    }
    const key = this.#keys.get(check.accessKeyId);
    if (received.headers.get('x-oss-security-token') !== key?.token) {
      ossError(403, 'InvalidSecurityToken', 'The security token you provided is invalid.');
      return;
    }
    if (bucket !== key?.bucket) {
      ossError(403, 'AccessDenied', 'The keys are not for this bucket.');
      return;
    }
    this.objects.set(`${bucket}/${object}`, received.body);
    const checksum = crc64(received.body);
    this.uploads.push({ bucket, object, bytes: received.body.length, checksum });
    res.writeHead(200, {
      etag: `"${randomBytes(16).toString('hex').toUpperCase()}"`,
      'x-oss-request-id': requestId(),
      'x-oss-hash-crc64ecma': checksum,
    });
    res.end();
  }
}

function requestId(): string {
  return randomBytes(12).toString('hex').toUpperCase();
}
