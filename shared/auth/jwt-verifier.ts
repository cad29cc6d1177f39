/**
 * Verifies a bearer token against the configured JWKS with `jose`. Built as its own file (dist/jwt-verifier.js)
 * and loaded only when JWT_* is configured, so a function without caller identity never pays for it at cold start.
 *
 * Only the configured keys count: a token's `jku`, `x5u` or embedded `jwk` header is never followed or trusted
 * (jose reads only `kid` and `alg` to pick a key from the set it is given). Only asymmetric algorithms are
 * accepted, so a token "signed" with HS256 using a public key as the secret fails, as does `alg: none`.
 */
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  customFetch,
  decodeProtectedHeader,
  errors,
  type JWTVerifyGetKey,
  jwtVerify,
} from 'jose';
import type { JwksSource, JwtConfig } from '../config.js';
import type { VerifiedClaims } from './tenant.js';

/**
 * What a verification ends in. Plain data, not error classes: this file is its own bundle, so an error class it
 * made would not be the main bundle's class (`instanceof HttpError` would fail there).
 */
export type JwtVerification =
  | { readonly ok: true; readonly claims: VerifiedClaims }
  /** The token is missing something, malformed, expired or wrongly signed: a 401 whose message says which. */
  | { readonly ok: false; readonly kind: 'invalid'; readonly message: string; readonly cause: unknown }
  /** The keys at JWT_JWKS_URL could not be fetched or read: no token can be checked (fail closed). */
  | { readonly ok: false; readonly kind: 'unavailable'; readonly cause: unknown };

const ALLOWED_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
];

/** How long a fetch of JWT_JWKS_URL may take; short, as the invocation's deadline covers it and the CAMS call. */
const JWKS_FETCH_TIMEOUT_MS = 3000;

// Key sets survive warm invocations: a remote set keeps its fetched keys (jose refetches on an unknown kid,
// at most every 30 s, and after 10 min), a local one its imported keys.
const keySets = new Map<string, JWTVerifyGetKey>();

function keySet(source: JwksSource): JWTVerifyGetKey {
  const id = `${source.kind}:${source.kind === 'url' ? source.url : source.json}`;
  let set = keySets.get(id);
  if (set === undefined) {
    set =
      source.kind === 'url'
        ? withFailureBackoff(
            createRemoteJWKSet(new URL(source.url), {
              timeoutDuration: JWKS_FETCH_TIMEOUT_MS,
              [customFetch]: fetchCapped,
            }),
          )
        : createLocalJWKSet(JSON.parse(source.json));
    // Configurations change rarely; a small bound keeps a flapping environment from growing the map.
    if (keySets.size >= 8) keySets.clear();
    keySets.set(id, set);
  }
  return set;
}

/** A key set is a few KB; a body past this is not one, and is not read into memory. */
const MAX_JWKS_BYTES = 256 * 1024;

/** jose's fetch reads the whole body, however large; this one stops reading past `MAX_JWKS_BYTES`. */
async function fetchCapped(url: string, init: RequestInit): Promise<Response> {
  const response = await fetch(url, init);
  if (response.body === null) return response;
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (let read = await reader.read(); !read.done; read = await reader.read()) {
    size += read.value.byteLength;
    if (size > MAX_JWKS_BYTES) {
      await reader.cancel().catch(() => undefined);
      throw new Error(`The key set at JWT_JWKS_URL is larger than ${MAX_JWKS_BYTES} bytes`);
    }
    chunks.push(read.value);
  }
  return new Response(Buffer.concat(chunks), { status: response.status, headers: response.headers });
}

/** After a failed fetch of JWT_JWKS_URL, no refetch for this long (the 503's `Retry-After: 5`). */
const FETCH_FAILURE_BACKOFF_MS = 5000;

/** The key source is backing off after a failed fetch: no token can be checked against keys it lacks. */
class KeySourceBackingOff extends Error {
  override name = 'KeySourceBackingOff';
}

/** Errors about the token itself (its kid, its alg), as opposed to the key source failing. */
const TOKEN_ERRORS = [
  errors.JWKSNoMatchingKey,
  errors.JWKSMultipleMatchingKeys,
  errors.JOSEAlgNotAllowed,
  errors.JOSENotSupported,
];

/**
 * jose refetches on an unknown kid at most every 30 s, but only once a fetch has succeeded: while the key server
 * fails, every token (any random kid) would start another fetch. After a failure, tokens whose kid the fresh keys
 * do not hold are answered as unavailable for a few seconds without a fetch; known keys keep working.
 */
function withFailureBackoff(remote: ReturnType<typeof createRemoteJWKSet>): JWTVerifyGetKey {
  let failedUntil = 0;
  return async (header, token) => {
    if (Date.now() < failedUntil) {
      const keys = remote.fresh ? (remote.jwks()?.keys ?? []) : [];
      if (!keys.some((key) => header.kid === undefined || key.kid === header.kid)) {
        throw new KeySourceBackingOff('The key server failed recently; not fetching again yet');
      }
    }
    try {
      return await remote(header, token);
    } catch (error) {
      if (!TOKEN_ERRORS.some((type) => error instanceof type)) {
        failedUntil = Date.now() + FETCH_FAILURE_BACKOFF_MS;
      }
      throw error;
    }
  };
}

/**
 * Verifies `token`'s signature, `iss`, `aud`, `exp` (required) and `nbf`, within the configured clock leeway.
 * Rejects only for an unexpected failure (a bug), never for a bad token or an unreachable key source.
 */
export async function verifyJwt(token: string, config: JwtConfig): Promise<JwtVerification> {
  try {
    const { payload } = await jwtVerify(token, keySet(config.jwks), {
      algorithms: ALLOWED_ALGORITHMS,
      issuer: config.issuer,
      audience: config.audience,
      requiredClaims: ['exp'],
      clockTolerance: config.clockLeewayS,
    });
    // jose checks `iat` only against a maximum age; a token issued in the future is not valid yet either.
    if (payload.iat !== undefined && payload.iat > Date.now() / 1000 + config.clockLeewayS) {
      return { ok: false, kind: 'invalid', message: 'The token is not valid yet', cause: null };
    }
    return { ok: true, claims: payload };
  } catch (error) {
    // jose refuses a `crit` it does not know as "not supported", which would read as an algorithm problem.
    if (error instanceof errors.JOSENotSupported && hasCrit(token)) {
      return {
        ok: false,
        kind: 'invalid',
        message: 'The token has critical header parameters (crit)',
        cause: error,
      };
    }
    return classify(error, config.jwks.kind);
  }
}

function hasCrit(token: string): boolean {
  try {
    return decodeProtectedHeader(token).crit !== undefined;
  } catch {
    return false;
  }
}

function classify(error: unknown, source: JwksSource['kind']): JwtVerification {
  const invalid = (message: string): JwtVerification => ({
    ok: false,
    kind: 'invalid',
    message,
    cause: error,
  });
  if (error instanceof errors.JWTExpired) return invalid('The token has expired');
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === 'nbf' || error.claim === 'iat') return invalid('The token is not valid yet');
    if (error.claim === 'exp')
      return invalid('The token has no expiry (exp); tokens without one are refused');
    if (error.claim === 'iss') return invalid('The token was issued by another issuer');
    if (error.claim === 'aud') return invalid('The token was issued for another audience');
    return invalid(`The token's ${error.claim} claim is invalid`);
  }
  if (error instanceof errors.JWKSNoMatchingKey) return invalid('The token was not signed by a known key');
  if (error instanceof errors.JOSEAlgNotAllowed || error instanceof errors.JOSENotSupported) {
    return invalid('The token is signed with an algorithm that is not accepted');
  }
  if (error instanceof errors.JWSSignatureVerificationFailed)
    return invalid('The token signature is invalid');
  if (error instanceof errors.JWSInvalid || error instanceof errors.JWTInvalid)
    return invalid('The token is malformed');
  // Anything else while keys come from a URL is the key source failing (timeout, refused, not a JWKS): fail closed.
  if (source === 'url') return { ok: false, kind: 'unavailable', cause: error };
  throw error;
}
