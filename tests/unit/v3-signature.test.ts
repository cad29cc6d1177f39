import { deepStrictEqual, strictEqual } from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  authorize,
  canonicalRequest,
  headersToSign,
  percentEncode,
  type SignableRequest,
  sha256Hex,
  signature,
  verify,
} from '../../dev/v3-signature.js';

// The published check vector (platform.md §4).
const VECTOR: SignableRequest = {
  method: 'POST',
  path: '/',
  query: [
    ['ImageId', 'win2019_1809_x64_dtc_zh-cn_40G_alibase_20230811.vhd'],
    ['RegionId', 'cn-shanghai'],
  ],
  headers: new Map([
    ['host', 'ecs.cn-shanghai.aliyuncs.com'],
    ['x-acs-action', 'RunInstances'],
    ['x-acs-version', '2014-05-26'],
    ['x-acs-date', '2023-10-26T10:22:32Z'],
    ['x-acs-signature-nonce', '3156853299f313e23d1673dc12e1703d'],
    ['x-acs-content-sha256', sha256Hex('')],
  ]),
  body: Buffer.alloc(0),
};

describe('V3 signature (ACS3-HMAC-SHA256)', () => {
  it('reproduces the published check vector', () => {
    const signed = headersToSign(VECTOR.headers);
    deepStrictEqual(signed, [
      'host',
      'x-acs-action',
      'x-acs-content-sha256',
      'x-acs-date',
      'x-acs-signature-nonce',
      'x-acs-version',
    ]);
    strictEqual(
      signature('YourAccessKeySecret', canonicalRequest(VECTOR, signed)),
      '06563a9e1b43f5dfe96b81484da74bceab24a1d853912eee15083a6f0f3283c0',
    );
  });

  it('percent-encodes the RFC 3986 reserved characters encodeURIComponent leaves alone', () => {
    strictEqual(percentEncode("a b!'()*~"), 'a%20b%21%27%28%29%2A~');
  });

  const now = Date.parse('2023-10-26T10:22:32Z');
  const signedVector = (): SignableRequest => {
    const headers = new Map(VECTOR.headers);
    headers.set('authorization', authorize(VECTOR, 'YourAccessKeyId', 'YourAccessKeySecret'));
    return { ...VECTOR, headers };
  };
  const options = {
    secretOf: (id: string) => (id === 'YourAccessKeyId' ? 'YourAccessKeySecret' : undefined),
    now,
    maxSkewMs: 900_000,
  };

  it('verifies a correctly signed request', () => {
    deepStrictEqual(verify(signedVector(), options), { ok: true, accessKeyId: 'YourAccessKeyId' });
  });

  it('rejects a changed query value', () => {
    const result = verify({ ...signedVector(), query: [['RegionId', 'cn-hangzhou']] }, options);
    strictEqual(!result.ok && result.code, 'SignatureDoesNotMatch');
  });

  it('rejects a body that does not match x-acs-content-sha256', () => {
    const result = verify({ ...signedVector(), body: Buffer.from('FlowId=x') }, options);
    strictEqual(!result.ok && result.code, 'SignatureDoesNotMatch');
  });

  it('rejects an unsigned x-acs-* header (an injected token cannot ride along)', () => {
    const request = signedVector();
    (request.headers as Map<string, string>).set('x-acs-security-token', 'injected');
    const result = verify(request, options);
    strictEqual(!result.ok && result.code, 'IncompleteSignature');
  });

  it('rejects an x-acs-date more than 15 minutes off', () => {
    const result = verify(signedVector(), { ...options, now: now + 16 * 60_000 });
    strictEqual(!result.ok && result.code, 'InvalidTimeStamp.Expired');
  });

  it('rejects an unknown access key id with 404', () => {
    const result = verify(signedVector(), { ...options, secretOf: () => undefined });
    deepStrictEqual(!result.ok && [result.status, result.code], [404, 'InvalidAccessKeyId.NotFound']);
  });

  it('rejects a missing Authorization header', () => {
    const result = verify(VECTOR, options);
    strictEqual(!result.ok && result.code, 'IncompleteSignature');
  });
});
