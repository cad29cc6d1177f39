/**
 * Verifies a bearer token against the configured JWKS with `jose`. Built as its own file (dist/jwt-verifier.js)
 * and loaded only when JWT_* is configured, so a function without caller identity never pays for it at cold start.
 *
 * Only the configured keys count: a token's `jku`, `x5u` or embedded `jwk` header is never followed or trusted
 * (jose reads only `kid` and `alg` to pick a key from the set it is given). Only asymmetric algorithms are
 * accepted, so a token "signed" with HS256 using a public key as the secret fails, as does `alg: none`.
 *
 * Whatever a token holds, it ends in `ok` or `invalid` (401); only the key server's own failure is `unavailable`
 * (503), and that result says why in plain, log-safe data (`KeySourceFailure`).
 */
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  customFetch,
  decodeProtectedHeader,
  errors,
  type JWTPayload,
  type JWTVerifyGetKey,
  type JWTVerifyOptions,
  jwtVerify,
} from 'jose';
import type { JwksSource, JwtConfig } from '../config.js';

/**
 * Why the keys at JWT_JWKS_URL could not be used, as facts that are safe to log as they are: a reason, and at
 * most an HTTP status, a media type, a byte count, a socket error code. Never a body, a key, a header value other
 * than the media type, or the URL (whose query or userinfo may hold a secret).
 */
export type KeySourceFailure = {
  readonly reason: KeySourceFailureReason;
  /** The key server's HTTP status (`redirect`, `status`). */
  readonly status?: number;
  /** The response's media type, without parameters (`application/json`), when it is a well-formed one. */
  readonly contentType?: string;
  /** How many bytes were read, or declared by Content-Length (`too-large`, `not-json`, `not-jwks`). */
  readonly bytes?: number;
  /** How many keys in the set held private or shared-secret material (`private-keys`). */
  readonly privateKeys?: number;
  /** The socket error code (`network`), e.g. ECONNREFUSED. */
  readonly errorCode?: string;
  /** The fetch timeout that passed (`timeout`), ms. */
  readonly timeoutMs?: number;
  /** The error class, for a failure none of the other reasons describes (`unexpected`). */
  readonly errorName?: string;
  /** True when no fetch was made: an earlier failure (this one) is still being backed off from. */
  readonly backingOff?: boolean;
};

export type KeySourceFailureReason =
  /** The key URL answered 3xx; redirects are never followed (the keys must come from the configured URL). */
  | 'redirect'
  /** Any other status than 200. */
  | 'status'
  /** The body is larger than a key set can be (256 KiB); it is not read past that. */
  | 'too-large'
  /** The body is not JSON (an HTML error page, a captive portal). */
  | 'not-json'
  /** JSON, but not a JWKS with at least one key object. */
  | 'not-jwks'
  /** The set publishes private or shared-secret keys: whoever read it can mint tokens, so none is trusted. */
  | 'private-keys'
  /** No whole answer within the fetch timeout. */
  | 'timeout'
  /** The connection failed (refused, reset, DNS). */
  | 'network'
  /** Anything else while using the fetched keys (e.g. a key WebCrypto cannot import). */
  | 'unexpected'
  /** The invocation's deadline came first (set by the FC edge, shared/fc/caller-identity.ts, not here). */
  | 'deadline';

/**
 * What a verification ends in. Plain data, not error classes: this file is its own bundle, so an error class it
 * made would not be the main bundle's class (`instanceof HttpError` would fail there).
 */
/** The claims of a verified token. */
export type VerifiedClaims = Readonly<Record<string, unknown>>;

export type JwtVerification =
  | { readonly ok: true; readonly claims: VerifiedClaims }
  /** The token is missing something, malformed, expired or wrongly signed: a 401 whose message says which. */
  | { readonly ok: false; readonly kind: 'invalid'; readonly message: string; readonly cause: unknown }
  /** The keys at JWT_JWKS_URL could not be fetched or used: no token can be checked (fail closed, 503). */
  | { readonly ok: false; readonly kind: 'unavailable'; readonly failure: KeySourceFailure };

/** Settings tests shorten; the function uses the defaults. */
export interface VerifierOptions {
  /** How long a fetch of JWT_JWKS_URL may take, ms. */
  readonly fetchTimeoutMs?: number;
}

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

function keySet(source: JwksSource, fetchTimeoutMs: number): JWTVerifyGetKey {
  const id = `${source.kind}:${source.kind === 'url' ? `${fetchTimeoutMs}:${source.url}` : source.json}`;
  let set = keySets.get(id);
  if (set === undefined) {
    set =
      source.kind === 'url'
        ? withFailureBackoff(
            createRemoteJWKSet(new URL(source.url), {
              timeoutDuration: fetchTimeoutMs,
              [customFetch]: (url: string, init: RequestInit) => fetchKeySet(url, init, fetchTimeoutMs),
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

/** The key source failed in a way `failure` describes. Thrown by `fetchKeySet`, read by `classify`. */
class KeySourceError extends Error {
  override name = 'KeySourceError';
  constructor(readonly failure: KeySourceFailure) {
    super(`The key set at JWT_JWKS_URL cannot be used (${failure.reason})`);
  }
}

/**
 * jose's fetch for `createRemoteJWKSet`, checking what jose would not: it reads at most `MAX_JWKS_BYTES`, and
 * hands jose only a 200 whose body is a JWKS of public keys. Every other outcome throws a `KeySourceError` that
 * names it, so that the log can tell a redirect from a 404, a huge body, an HTML page or a leaked private key.
 */
async function fetchKeySet(url: string, init: RequestInit, timeoutMs: number): Promise<Response> {
  try {
    // jose passes `redirect: 'manual'`, its headers and its timeout signal: a 3xx comes back as it is.
    const response = await fetch(url, init);
    const contentType = mediaType(response.headers.get('content-type'));
    const typed = contentType === undefined ? {} : { contentType };
    if (response.status >= 300 && response.status < 400) {
      await response.body?.cancel().catch(() => undefined);
      throw new KeySourceError({ reason: 'redirect', status: response.status });
    }
    if (response.status !== 200) {
      await response.body?.cancel().catch(() => undefined);
      throw new KeySourceError({ reason: 'status', status: response.status, ...typed });
    }
    const body = await readCapped(response);
    let text: string;
    let json: unknown;
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(body);
      json = JSON.parse(text);
    } catch {
      throw new KeySourceError({ reason: 'not-json', bytes: body.byteLength, ...typed });
    }
    const keys = publicKeySetMembers(json);
    if (keys === undefined)
      throw new KeySourceError({ reason: 'not-jwks', bytes: body.byteLength, ...typed });
    const privateKeys = keys.filter(holdsSecretMaterial).length;
    if (privateKeys > 0) throw new KeySourceError({ reason: 'private-keys', privateKeys });
    return new Response(text, { status: 200, headers: { 'content-type': 'application/json' } });
  } catch (error) {
    if (error instanceof KeySourceError) throw error;
    if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) {
      throw new KeySourceError({ reason: 'timeout', timeoutMs });
    }
    throw new KeySourceError({ reason: 'network', errorCode: socketErrorCode(error) });
  }
}

async function readCapped(response: Response): Promise<Buffer> {
  const declared = Number(response.headers.get('content-length') ?? Number.NaN);
  if (declared > MAX_JWKS_BYTES) {
    await response.body?.cancel().catch(() => undefined);
    throw new KeySourceError({ reason: 'too-large', bytes: declared });
  }
  if (response.body === null) return Buffer.alloc(0);
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (let read = await reader.read(); !read.done; read = await reader.read()) {
    size += read.value.byteLength;
    if (size > MAX_JWKS_BYTES) {
      await reader.cancel().catch(() => undefined);
      throw new KeySourceError({ reason: 'too-large', bytes: size });
    }
    chunks.push(read.value);
  }
  return Buffer.concat(chunks);
}

/** The members of a JWKS (`{"keys": [{…}, …]}`, at least one key, every one an object), or undefined. */
function publicKeySetMembers(json: unknown): Array<Record<string, unknown>> | undefined {
  if (!isPlainObject(json)) return undefined;
  const keys = json['keys'];
  if (!Array.isArray(keys) || keys.length === 0 || !keys.every(isPlainObject)) return undefined;
  return keys;
}

/** RFC 7518 §6: `d` (EC, OKP, RSA), the RSA CRT members and `oth`, and an `oct` key's `k` are secrets. */
const SECRET_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'];

function holdsSecretMaterial(key: Record<string, unknown>): boolean {
  return key['kty'] === 'oct' || SECRET_MEMBERS.some((member) => Object.hasOwn(key, member));
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `type/subtype` in lower case, when the header holds a well-formed one; never any parameter. */
function mediaType(header: string | null): string | undefined {
  const type = header?.split(';', 1)[0]?.trim().toLowerCase() ?? '';
  return /^[a-z0-9][a-z0-9!#$&^_.+-]{0,40}\/[a-z0-9][a-z0-9!#$&^_.+-]{0,60}$/.test(type) ? type : undefined;
}

/** fetch rejects with `TypeError('fetch failed')` whose cause carries the socket's code (ECONNREFUSED). */
function socketErrorCode(error: unknown): string {
  const cause = error instanceof Error ? error.cause : undefined;
  for (const candidate of [cause, error]) {
    const code = (candidate as { code?: unknown } | undefined)?.code;
    if (typeof code === 'string' && /^[A-Z][A-Z0-9_]{1,40}$/.test(code)) return code;
  }
  return 'UNKNOWN';
}

/** After a failed fetch of JWT_JWKS_URL, no refetch for this long (the 503's `Retry-After: 5`). */
const FETCH_FAILURE_BACKOFF_MS = 5000;

/** The key source is backing off after `failure`: no token can be checked against keys it lacks. */
class KeySourceBackingOff extends Error {
  override name = 'KeySourceBackingOff';
  constructor(readonly failure: KeySourceFailure) {
    super('The key server failed recently; not fetching again yet');
  }
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
 * do not hold are answered as unavailable for a few seconds without a fetch, with the failure that started the
 * backoff; known keys keep working.
 */
function withFailureBackoff(remote: ReturnType<typeof createRemoteJWKSet>): JWTVerifyGetKey {
  let failedUntil = 0;
  let lastFailure: KeySourceFailure = { reason: 'unexpected' };
  return async (header, token) => {
    if (Date.now() < failedUntil) {
      const keys = remote.fresh ? (remote.jwks()?.keys ?? []) : [];
      if (!keys.some((key) => header.kid === undefined || key.kid === header.kid)) {
        throw new KeySourceBackingOff({ ...lastFailure, backingOff: true });
      }
    }
    try {
      return await remote(header, token);
    } catch (error) {
      if (!TOKEN_ERRORS.some((type) => error instanceof type)) {
        failedUntil = Date.now() + FETCH_FAILURE_BACKOFF_MS;
        lastFailure = keySourceFailure(error);
      }
      throw error;
    }
  };
}

/**
 * Verifies `token`'s signature, `iss`, `aud`, `exp` (required) and `nbf`, within the configured clock leeway.
 * Rejects only for an unexpected failure (a bug), never for a bad token or an unreachable key source.
 */
export async function verifyJwt(
  token: string,
  config: JwtConfig,
  options: VerifierOptions = {},
): Promise<JwtVerification> {
  try {
    const payload = await verifyWithKeySet(
      token,
      keySet(config.jwks, options.fetchTimeoutMs ?? JWKS_FETCH_TIMEOUT_MS),
      {
        algorithms: ALLOWED_ALGORITHMS,
        issuer: config.issuer,
        audience: config.audience,
        requiredClaims: ['exp'],
        clockTolerance: config.clockLeewayS,
      },
    );
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

/**
 * How many keys a token without `kid` may be tried against. A rotation holds two or three keys of one type; a
 * set where more could have signed the token is refused rather than tried key by key for every caller.
 */
const MAX_CANDIDATE_KEYS = 8;

/** The token names no kid and more than `MAX_CANDIDATE_KEYS` keys match its algorithm: a 401. */
class TooManyCandidateKeys extends Error {
  override name = 'TooManyCandidateKeys';
}

/**
 * `jwtVerify` with the key set; when several keys match (a token without `kid`, or keys sharing one), tries each
 * as jose documents: `JWKSMultipleMatchingKeys` "yields public keys matching the JWS Header so verification can be
 * attempted with each" (jose 6 `dist/types/util/errors.d.ts`; the "Opting-in to multiple JWKS matches" example of
 * `createLocalJWKSet` and `createRemoteJWKSet` in jose's docs): a candidate whose signature does not verify is
 * skipped, any other failure (expired, wrong audience) is the token's answer.
 */
async function verifyWithKeySet(
  token: string,
  keys: JWTVerifyGetKey,
  options: JWTVerifyOptions,
): Promise<JWTPayload> {
  try {
    return (await jwtVerify(token, keys, options)).payload;
  } catch (error) {
    if (!(error instanceof errors.JWKSMultipleMatchingKeys)) throw error;
    const candidates: CryptoKey[] = [];
    for await (const key of error) {
      candidates.push(key);
      if (candidates.length > MAX_CANDIDATE_KEYS) throw new TooManyCandidateKeys();
    }
    for (const key of candidates) {
      try {
        return (await jwtVerify(token, key, options)).payload;
      } catch (failure) {
        if (!(failure instanceof errors.JWSSignatureVerificationFailed)) throw failure;
      }
    }
    throw new errors.JWSSignatureVerificationFailed();
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
  if (error instanceof TooManyCandidateKeys) {
    return invalid('The token names no key (kid) and too many keys could have signed it');
  }
  if (error instanceof errors.JOSEAlgNotAllowed || error instanceof errors.JOSENotSupported) {
    return invalid('The token is signed with an algorithm that is not accepted');
  }
  if (error instanceof errors.JWSSignatureVerificationFailed)
    return invalid('The token signature is invalid');
  if (error instanceof errors.JWSInvalid || error instanceof errors.JWTInvalid)
    return invalid('The token is malformed');
  // Anything else while keys come from a URL is the key source failing (timeout, refused, not a JWKS): fail closed.
  if (source === 'url') return { ok: false, kind: 'unavailable', failure: keySourceFailure(error) };
  throw error;
}

function keySourceFailure(error: unknown): KeySourceFailure {
  if (error instanceof KeySourceError || error instanceof KeySourceBackingOff) return error.failure;
  if (error instanceof errors.JWKSTimeout) return { reason: 'timeout' };
  const name = error instanceof Error ? error.name : typeof error;
  return { reason: 'unexpected', errorName: /^[A-Za-z][\w.-]{0,60}$/.test(name) ? name : 'Error' };
}
