/**
 * The FC 3.0 API calls the RAM step makes before it deletes a role: GetFunction, to know for certain that the function
 * is gone (fc3's remove logs its own API errors and `s` still exits 0), and ListFunctions, to know no other function
 * in the region still runs as the role. ROA style, V3 signature.
 */
import { OpenApiRequest, Params } from '@alicloud/openapi-client';
import { RuntimeOptions } from '@alicloud/tea-util';
import { openApiClient } from '../shared/cams/openapi.js';
import { type Credentials, type Endpoint, parseEndpoint } from '../shared/config.js';
import { ConfigError } from '../shared/config-error.js';
import { isRecord } from '../shared/is-record.js';

/**
 * The FC endpoint fc3 itself uses (devsapp/fc3 src/resources/fc/impl/client.ts): `fcv3.<region>.aliyuncs.com`, or
 * `FC_CLIENT_CUSTOM_ENDPOINT` when set, the variable fc3 reads, so one setting points both at the same FC.
 */
export function fcEndpoint(raw: string | undefined, region: string): Endpoint {
  // fc3's getCustomEndpoint takes the variable only when it starts with http:// or https://; a bare host makes it fall
  // back to fcv3.<region>. Asking another FC than the one fc3 removed from could say "not found" for a live function.
  const value = raw?.trim() ?? '';
  if (value !== '' && !/^https?:\/\//.test(value)) {
    throw new ConfigError(
      'FC_CLIENT_CUSTOM_ENDPOINT',
      'needs http:// or https:// (fc3 ignores a bare host and uses its default endpoint)',
      value,
    );
  }
  return parseEndpoint('FC_CLIENT_CUSTOM_ENDPOINT', value, `fcv3.${region}.aliyuncs.com`);
}

export type FunctionPresence = 'exists' | 'not-found';

/** A GET on the FC 3.0 API (ROA style, JSON answer). */
function fcGet(action: string, pathname: string): Params {
  return new Params({
    action,
    version: '2023-03-30',
    protocol: 'HTTPS',
    pathname,
    method: 'GET',
    authType: 'AK',
    style: 'ROA',
    reqBodyType: 'json',
    bodyType: 'json',
  });
}

/** The API error's code for a message: `code` as openapi-client sets it, else the error's name. */
function errorCode(error: unknown): string {
  const fields = isRecord(error) ? error : {};
  return String(fields['code'] ?? fields['name'] ?? 'Unknown');
}

/** Asks FC whether the function exists. Anything but a clear answer (denied, network, 5xx) throws. */
export async function functionPresence(
  endpoint: Endpoint,
  credentials: Credentials,
  functionName: string,
): Promise<FunctionPresence> {
  const client = openApiClient(endpoint, credentials);
  const params = fcGet('GetFunction', `/2023-03-30/functions/${encodeURIComponent(functionName)}`);
  try {
    await client.callApi(
      params,
      new OpenApiRequest({}),
      new RuntimeOptions({ readTimeout: 10_000, connectTimeout: 5_000 }),
    );
    return 'exists';
  } catch (error) {
    if (isRecord(error) && error['code'] === 'FunctionNotFound') return 'not-found';
    throw new Error(
      `FC GetFunction ${functionName} failed (${errorCode(error)}): cannot confirm the function is gone, so the role stays`,
      { cause: error },
    );
  }
}

/**
 * The other functions in the region that run as `roleName` (FC ListFunctions, every page): a role two deployments
 * share must outlive the remove of one of them. Roles are per account, so a role ARN ending in `:role/<name>` (any
 * case: fc3 lower-cases it) or the bare name is this role. Anything but a clear answer throws.
 */
export async function functionsUsingRole(
  endpoint: Endpoint,
  credentials: Credentials,
  roleName: string,
): Promise<string[]> {
  const client = openApiClient(endpoint, credentials);
  const params = fcGet('ListFunctions', '/2023-03-30/functions');
  const wanted = roleName.toLowerCase();
  const users: string[] = [];
  let nextToken: string | undefined;
  do {
    let body: Record<string, unknown>;
    try {
      const result: Record<string, unknown> = await client.callApi(
        params,
        new OpenApiRequest({ query: { limit: '100', ...(nextToken ? { nextToken } : {}) } }),
        new RuntimeOptions({ readTimeout: 10_000, connectTimeout: 5_000 }),
      );
      body = (result['body'] ?? {}) as Record<string, unknown>;
    } catch (error) {
      throw new Error(
        `FC ListFunctions failed (${errorCode(error)}): cannot tell whether another function runs as ${roleName}, so the role stays`,
        { cause: error },
      );
    }
    const functions = Array.isArray(body['functions']) ? (body['functions'] as unknown[]) : [];
    for (const item of functions) {
      const fn = isRecord(item) ? item : {};
      const role = typeof fn['role'] === 'string' ? fn['role'].toLowerCase() : '';
      if (role === wanted || role.endsWith(`:role/${wanted}`)) users.push(String(fn['functionName']));
    }
    nextToken =
      typeof body['nextToken'] === 'string' && body['nextToken'] !== '' ? body['nextToken'] : undefined;
  } while (nextToken !== undefined);
  return users;
}
