/**
 * The CAMS client the handler composes. The SDK behind it (sdk-client.ts: @alicloud/openapi-client, httpx,
 * node:http/https, crypto) is loaded on the first CAMS call rather than at module load: a cold start pays only for
 * what every invocation needs, and an instance whose invocations the cache answers never loads it. The bundle
 * keeps it in the same file (esbuild turns the call-time `require` into a lazily evaluated module).
 */
import type { Credentials, Endpoint } from '../config.js';
import type { CamsClient } from '../preview/ports.js';
import { reviveCamsFailure } from './errors.js';

type SdkClientModule = typeof import('./sdk-client.js');

let sdk: SdkClientModule | undefined;

/** A client for this invocation's credentials (they rotate, so one is made per invocation). */
export function createCamsClient(endpoint: Endpoint, credentials: Credentials): CamsClient {
  let client: CamsClient | undefined;
  return {
    fetchPreviewUrl: (request, options) => {
      // `require`, not `import()`: synchronous, the same under tsx and in the bundle, and a failed load is simply
      // tried again by the next call.
      sdk ??= require('./sdk-client.js') as SdkClientModule;
      client ??= sdk.createSdkCamsClient(endpoint, credentials);
      return client.fetchPreviewUrl(request, options);
    },
    // Reading a kept failure needs no SDK: an instance answered from the cache alone never loads it.
    reviveFailure: reviveCamsFailure,
  };
}
