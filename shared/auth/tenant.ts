/**
 * Tenant binding: which CAMS space a verified caller may ask for. The claim named by JWT_SPACE_CLAIM holds the
 * caller's space (a string) or spaces (an array of strings); the requested custSpaceId must be one of them, exactly.
 */
import type { JwtConfig } from '../config.js';
import type { FlowPreviewRequest } from '../preview/ports.js';
import { CUST_SPACE_ID } from '../preview/request.js';
import { CustSpaceIdRequiredError, SpaceNotAllowedError } from './errors.js';
import type { VerifiedClaims } from './jwt-verifier.js';

/**
 * Returns the request the core may serve for this caller: the requested space when the token grants it, the
 * token's only space when none was named, or no space only when account-level access is allowed. Throws
 * `SpaceNotAllowedError` (403) or `CustSpaceIdRequiredError` (400) otherwise.
 */
export function bindSpace(
  request: FlowPreviewRequest,
  claims: VerifiedClaims,
  policy: Pick<JwtConfig, 'spaceClaim' | 'allowNoSpace'>,
): FlowPreviewRequest {
  const claim = policy.spaceClaim;
  if (claim === undefined) return request;
  const spaces = grantedSpaces(claims, claim);
  const requested = request.custSpaceId;
  if (requested !== undefined) {
    // Exact: no trimming, no case folding. `includes` compares strings by value, as intended.
    if (spaces.includes(requested)) return request;
    throw new SpaceNotAllowedError('Your token does not grant access to this custSpaceId');
  }
  if (spaces.length === 1) return { flowId: request.flowId, custSpaceId: spaces[0] as string };
  if (spaces.length > 1) throw new CustSpaceIdRequiredError();
  if (policy.allowNoSpace) return request;
  throw new SpaceNotAllowedError('Your token names no space; name a custSpaceId your token grants');
}

/** The spaces a token grants: a string claim is one space (never split), an array lists them (repeats count once). */
function grantedSpaces(claims: VerifiedClaims, claim: string): readonly string[] {
  if (!Object.hasOwn(claims, claim)) return [];
  const value = claims[claim];
  // Held to the request's rule: an omitted custSpaceId is filled from the claim and sent to CAMS as it stands.
  const isSpace = (entry: unknown): entry is string => typeof entry === 'string' && CUST_SPACE_ID.test(entry);
  if (isSpace(value)) return [value];
  if (Array.isArray(value) && value.every(isSpace)) return [...new Set<string>(value)];
  // A malformed claim grants nothing, and says so, rather than being read as "no space".
  throw new SpaceNotAllowedError('Your token’s space claim is not a space id or a list of them');
}
