/**
 * The FC 3.0 API calls the deploy steps make themselves (ROA style, V3 signature, the endpoint fc3 uses):
 * - before the RAM step deletes a role: GetFunction, to know for certain that the function is gone (fc3's remove logs
 *   its own API errors and `s` still exits 0), and ListFunctions, to know no other function in the region still runs
 *   as the role;
 * - the read-back after a deploy and around a release (deploy/verify.ts, deploy/release.ts): GetFunction, GetTrigger,
 *   UpdateTrigger (the trigger's qualifier), GetAlias, ListFunctionVersions. Paths and bodies as FC's API reference
 *   (2023-03-30) gives them.
 */
import { OpenApiRequest, Params } from '@alicloud/openapi-client';
import { RuntimeOptions } from '@alicloud/tea-util';
import { openApiClient } from '../shared/cams/openapi.js';
import { type Credentials, type Endpoint, parseEndpoint } from '../shared/config.js';
import { isRecord } from '../shared/is-record.js';

/**
 * The FC endpoint fc3 0.1.22 uses for its API calls (devsapp/fc3 src/resources/fc/impl/client.ts and utils.ts
 * `getCustomEndpoint`): `FC_CLIENT_CUSTOM_ENDPOINT` when set — `http://host[:port]` speaks HTTP, `https://…` or a bare
 * host HTTPS — else `fcv3.<region>.aliyuncs.com`. The deploy steps read the same variable, so they ask the FC fc3
 * deployed to.
 */
export function fcEndpoint(raw: string | undefined, region: string): Endpoint {
  return customEndpoint(raw) ?? { host: `fcv3.${region}.aliyuncs.com`, protocol: 'HTTPS' };
}

/**
 * The endpoint fc3 0.1.22 invokes functions on (its `fc20230330InvokeClient`): `FC_CLIENT_CUSTOM_ENDPOINT` as above,
 * else `<AccountID>.<region>.fc.aliyuncs.com`, the endpoint FC documents for InvokeFunction.
 */
export function fcInvokeEndpoint(
  raw: string | undefined,
  region: string,
  accountId: string | undefined,
): Endpoint {
  const custom = customEndpoint(raw);
  if (custom) return custom;
  if (!accountId) {
    throw new Error(
      'the credentials carry no AccountID, and FC invokes functions on <AccountID>.<region>.fc.aliyuncs.com ' +
        "(give it to 's config add --AccountID', or set AccountID with AccessKeyID/AccessKeySecret)",
    );
  }
  return { host: `${accountId}.${region}.fc.aliyuncs.com`, protocol: 'HTTPS' };
}

function customEndpoint(raw: string | undefined): Endpoint | undefined {
  const value = raw ?? '';
  if (value === '') return undefined;
  // fc3 strips the scheme and takes the rest as the host; parseEndpoint also refuses a path or credentials in it.
  return parseEndpoint(
    'FC_CLIENT_CUSTOM_ENDPOINT',
    /^https?:\/\//.test(value) ? value : `https://${value}`,
    '',
  );
}

export type FunctionPresence = 'exists' | 'not-found';

/** A call on the FC 3.0 API (ROA style, JSON answer). */
function fcGet(action: string, pathname: string, method = 'GET'): Params {
  return new Params({
    action,
    version: '2023-03-30',
    protocol: 'HTTPS',
    pathname,
    method,
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

/** FC answered with an error (`{Code, Message, RequestId}`), or could not be reached (`code` is the network error's). */
export class FcApiError extends Error {
  override name = 'FcApiError';
  constructor(
    readonly action: string,
    readonly code: string,
    readonly status: number | undefined,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

export interface FcApi {
  getFunction(functionName: string, qualifier?: string): Promise<Record<string, unknown>>;
  getTrigger(functionName: string, triggerName: string): Promise<Record<string, unknown>>;
  /** UpdateTrigger: only the fields given change (FC 3.0 updates keep what a request leaves out). */
  updateTrigger(
    functionName: string,
    triggerName: string,
    body: Record<string, unknown>,
  ): Promise<Record<string, unknown>>;
  getAlias(functionName: string, aliasName: string): Promise<Record<string, unknown>>;
  /** The newest versions first (FC's default direction), at most `limit`. */
  listVersions(functionName: string, limit: number): Promise<Array<Record<string, unknown>>>;
}

const fn = (name: string) => `/2023-03-30/functions/${encodeURIComponent(name)}`;

export function createFcApi(endpoint: Endpoint, credentials: Credentials): FcApi {
  const client = openApiClient(endpoint, credentials);
  const call = async (
    action: string,
    pathname: string,
    init: { method?: string; query?: Record<string, string>; body?: Record<string, unknown> } = {},
  ): Promise<Record<string, unknown>> => {
    try {
      const result: Record<string, unknown> = await client.callApi(
        fcGet(action, pathname, init.method),
        new OpenApiRequest({
          ...(init.query ? { query: init.query } : {}),
          ...(init.body ? { body: init.body } : {}),
        }),
        new RuntimeOptions({ readTimeout: 10_000, connectTimeout: 5_000 }),
      );
      const body = result['body'];
      return isRecord(body) ? body : {};
    } catch (error) {
      const fields = isRecord(error) ? error : {};
      const status = typeof fields['statusCode'] === 'number' ? fields['statusCode'] : undefined;
      const data = isRecord(fields['data']) ? fields['data'] : {};
      const message =
        typeof data['Message'] === 'string' ? data['Message'] : String(fields['message'] ?? error);
      throw new FcApiError(
        action,
        errorCode(error),
        status,
        `FC ${action} failed (${errorCode(error)}): ${message}`,
        {
          cause: error,
        },
      );
    }
  };
  return {
    getFunction: (name, qualifier) =>
      call('GetFunction', fn(name), qualifier ? { query: { qualifier } } : {}),
    getTrigger: (name, trigger) => call('GetTrigger', `${fn(name)}/triggers/${encodeURIComponent(trigger)}`),
    updateTrigger: (name, trigger, body) =>
      call('UpdateTrigger', `${fn(name)}/triggers/${encodeURIComponent(trigger)}`, { method: 'PUT', body }),
    getAlias: (name, alias) => call('GetAlias', `${fn(name)}/aliases/${encodeURIComponent(alias)}`),
    listVersions: async (name, limit) => {
      const body = await call('ListFunctionVersions', `${fn(name)}/versions`, {
        query: { limit: String(limit) },
      });
      return (Array.isArray(body['versions']) ? body['versions'] : []).filter(isRecord);
    },
  };
}
