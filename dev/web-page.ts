/**
 * Serves the example page (web/index.html) at `/` beside the function, for `npm start` and the browser test.
 */
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import type { RequestTarget } from './request-target.js';

const PAGE = readFileSync(join(__dirname, '..', 'web', 'index.html'));

/** An `extraRoutes` for the local server: answers GET / and /index.html, passes everything else on. */
export function servePage(req: IncomingMessage, res: ServerResponse, target: RequestTarget): boolean {
  const path = target.rawPath;
  if (req.method !== 'GET' || (path !== '/' && path !== '/index.html')) return false;
  res.writeHead(200, {
    'content-type': 'text/html; charset=utf-8',
    'x-content-type-options': 'nosniff',
    // The page calls whatever origin ?api= names, so connect-src stays open; it frames only https pages (the preview
    // link, which it embeds only when it is https); nothing else loads from elsewhere.
    'content-security-policy':
      "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src *; frame-src https:; form-action 'none'; base-uri 'none'",
  });
  res.end(PAGE);
  return true;
}
