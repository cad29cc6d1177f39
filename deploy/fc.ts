/**
 * The one FC 3.0 API call the RAM step makes: GetFunction, to know for certain that a function is gone before its
 * role is deleted (fc3's remove logs its own API errors and `s` still exits 0). ROA style, V3 signature.
 */
import { OpenApiRequest, Params } from '@alicloud/openapi-client';
import { RuntimeOptions } from '@alicloud/tea-util';
import { openApiClient } from '../shared/cams/openapi.js';
import { type Credentials, type Endpoint, parseEndpoint } from '../shared/config.js';

/**
 * The FC endpoint fc3 itself uses (devsapp/fc3 src/resources/fc/impl/client.ts): `fcv3.<region>.aliyuncs.com`, or
 * `FC_CLIENT_CUSTOM_ENDPOINT` when set, the variable fc3 reads, so one setting points both at the same FC.
 */
export function fcEndpoint(raw: string | undefined, region: string): Endpoint {
  return parseEndpoint('FC_CLIENT_CUSTOM_ENDPOINT', raw, `fcv3.${region}.aliyuncs.com`);
}

export type FunctionPresence = 'exists' | 'not-found';

/** Asks FC whether the function exists. Anything but a clear answer (denied, network, 5xx) throws. */
export async function functionPresence(
  endpoint: Endpoint,
  credentials: Credentials,
  functionName: string,
): Promise<FunctionPresence> {
  const client = openApiClient(endpoint, credentials);
  const params = new Params({
    action: 'GetFunction',
    version: '2023-03-30',
    protocol: 'HTTPS',
    pathname: `/2023-03-30/functions/${encodeURIComponent(functionName)}`,
    method: 'GET',
    authType: 'AK',
    style: 'ROA',
    reqBodyType: 'json',
    bodyType: 'json',
  });
  try {
    await client.callApi(
      params,
      new OpenApiRequest({}),
      new RuntimeOptions({ readTimeout: 10_000, connectTimeout: 5_000 }),
    );
    return 'exists';
  } catch (error) {
    const fields = (typeof error === 'object' && error !== null ? error : {}) as Record<string, unknown>;
    if (fields['code'] === 'FunctionNotFound') return 'not-found';
    const code = String(fields['code'] ?? fields['name'] ?? 'Unknown');
    throw new Error(
      `FC GetFunction ${functionName} failed (${code}): cannot confirm the function is gone, so the role stays`,
      { cause: error },
    );
  }
}
