/**
 * Flow Preview on Function Compute 3.0: `index.handler`, runtime nodejs20. Serves the HTTP trigger's "v1" event and
 * direct InvokeFunction payloads with a WhatsApp Flow preview link from CAMS `GetFlowPreviewUrl` (2020-06-06).
 *
 * FC never changes an instance's environment while it lives: the configuration is read once, here, at module
 * load, and the handler (with its cache and, with REDIS_URL, its Redis connection) is built from it.
 */
import { readConfig } from '../../shared/config.js';
import { createHandler } from './handler.js';

export const handler = createHandler(readConfig(process.env));
