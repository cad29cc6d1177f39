/**
 * Whose links and whose CAMS quota an invocation uses: the core keys its cache and its rate limiter by this scope.
 */
import type { Credentials, Endpoint } from '../config.js';
import type { FcContext } from './event.js';

/**
 * The CAMS endpoint and the account, not the AccessKeyId: every FC instance holds its own STS key for the same role,
 * and CAMS's quota is per account. Local runs without an account id fall back to the key.
 */
export function camsScope(endpoint: Endpoint, context: FcContext, credentials: Credentials): string {
  return `${endpoint.host}|${accountOf(context) ?? `key:${credentials.accessKeyId}`}`;
}

function accountOf(context: FcContext): string | undefined {
  const accountId: unknown = context.accountId;
  return typeof accountId === 'string' && accountId !== '' ? accountId : undefined;
}
