/**
 * The one way this project builds an @alicloud/openapi-client: the endpoint and the caller's credentials, V3
 * signature (the default). Never `signatureAlgorithm: 'v2'`: it puts the security token in the URL, which network
 * errors quote. `new Client()` costs microseconds, so a client is made per invocation with that invocation's keys.
 */
import OpenApiClient, { Config as OpenApiConfig, Params } from '@alicloud/openapi-client';
import type { Credentials, Endpoint } from '../config.js';

export function openApiClient(
  endpoint: Endpoint,
  credentials: Credentials,
  userAgent?: string,
): OpenApiClient {
  return new OpenApiClient(
    new OpenApiConfig({
      accessKeyId: credentials.accessKeyId,
      accessKeySecret: credentials.accessKeySecret,
      ...(credentials.securityToken ? { securityToken: credentials.securityToken } : {}),
      endpoint: endpoint.host,
      protocol: endpoint.protocol,
      ...(userAgent ? { userAgent } : {}),
    }),
  );
}

/** An RPC-style call (`POST /`, form body, JSON answer), as CAMS and RAM take them. */
export function rpcParams(action: string, version: string): Params {
  return new Params({
    action,
    version,
    protocol: 'HTTPS',
    pathname: '/',
    method: 'POST',
    authType: 'AK',
    style: 'RPC',
    reqBodyType: 'formData',
    bodyType: 'json',
  });
}
