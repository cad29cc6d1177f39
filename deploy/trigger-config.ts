/**
 * The HTTP trigger's configuration, checked before anything is deployed (deploy-cli.ts `check`, the first pre-deploy
 * action): what fc3 0.1.22 would send unchecked, skip silently, or what would give a trigger no real token passes.
 * - fc3 skips the whole trigger write, logging an ERROR and exiting 0, when a jwt `authConfig` has both `whitelist`
 *   and `blacklist` (devsapp/fc3 src/interface/trigger.ts `validateIHttpTriggerConfig`): refused here.
 * - fc3 sends any JWKS unchanged: a placeholder (`deploy/http-trigger-jwt.example.json` as shipped), a private key
 *   (`d`, `p`, `q`, … or a symmetric `k`: the trigger config is readable by anyone who can read the function), an RSA
 *   modulus under 2048 bits, or a key Node cannot load as a public key are refused, naming the key and the field.
 * - fc3 joins `tokenLookup` / `claimPassBy` arrays into FC's `position:name[:prefix]` strings
 *   (`convertIHttpTriggerConfig`); `tokenLookupString` does the same so the read-back can compare what FC holds.
 */
import { createPublicKey, type JsonWebKey } from 'node:crypto';
import { isRecord } from '../shared/is-record.js';

export const AUTH_TYPES = ['anonymous', 'function', 'jwt'] as const;
export type AuthType = (typeof AUTH_TYPES)[number];

const METHODS = new Set(['GET', 'POST', 'PUT', 'DELETE', 'HEAD', 'PATCH', 'OPTIONS']);
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const;
const READ_POSITIONS = new Set(['header', 'cookie', 'query', 'form']);
const RSA_MIN_BITS = 2048;
/** Words that mark a value someone was meant to replace (the shipped example says `replace-with-your-…`). */
const PLACEHOLDER = /replace|your[-_ ]|placeholder|change[-_ ]?me|<[^>]*>/i;

/** What the trigger config asks of FC's gateway, as the read-back compares it. */
export interface TriggerAsk {
  readonly authType: AuthType;
  readonly methods: readonly string[];
  /** For jwt: the key ids FC gets, and the token lookup as fc3 sends it. */
  readonly jwt?: { readonly keyIds: readonly string[]; readonly tokenLookup: string };
}

export class TriggerConfigError extends Error {
  override name = 'TriggerConfigError';
  constructor(
    readonly source: string,
    readonly problems: readonly string[],
  ) {
    super(
      `${source} cannot be deployed (nothing was deployed):\n${problems.map((problem) => `  - ${problem}`).join('\n')}`,
    );
  }
}

/**
 * Checks a trigger config as s.yaml hands it to fc3; returns what it asks of FC, or throws `TriggerConfigError`
 * listing every problem. `source` names the file in the messages.
 */
export function checkTriggerConfig(config: unknown, source: string): TriggerAsk {
  const { ask, problems } = inspectTriggerConfig(config);
  if (ask === undefined || problems.length > 0) throw new TriggerConfigError(source, problems);
  return ask;
}

/**
 * What a trigger config asks of FC, and its problems. The read-back uses the ask even when there are problems: fc3
 * may have been run without the check (`s deploy --skip-actions`), and then FC must still hold what the file says.
 */
export function inspectTriggerConfig(config: unknown): { ask: TriggerAsk | undefined; problems: string[] } {
  const problems: string[] = [];
  if (!isRecord(config)) return { ask: undefined, problems: ['the trigger config must be a JSON object'] };
  const authType = config['authType'];
  const knownAuth = AUTH_TYPES.includes(authType as AuthType);
  if (!knownAuth) {
    problems.push(`authType must be one of ${AUTH_TYPES.join(', ')}, got ${JSON.stringify(authType)}`);
  }
  const methods = Array.isArray(config['methods']) ? config['methods'] : [];
  if (methods.length === 0 || !methods.every((m) => typeof m === 'string' && METHODS.has(m))) {
    problems.push(`methods must be a non-empty list of HTTP methods (${[...METHODS].join(', ')})`);
  }
  const jwt = authType === 'jwt' ? checkJwt(config['authConfig'], problems) : undefined;
  if (!knownAuth) return { ask: undefined, problems };
  return {
    ask: { authType: authType as AuthType, methods: methods.map(String), ...(jwt ? { jwt } : {}) },
    problems,
  };
}

function checkJwt(authConfig: unknown, problems: string[]): TriggerAsk['jwt'] {
  if (!isRecord(authConfig)) {
    problems.push('authType jwt needs authConfig with jwks and tokenLookup');
    return undefined;
  }
  if (authConfig['whitelist'] !== undefined && authConfig['blacklist'] !== undefined) {
    problems.push(
      'authConfig.whitelist and authConfig.blacklist are both set: fc3 0.1.22 would skip the trigger write ' +
        '(logging an ERROR, exit 0) and leave the old trigger in place; keep one of them',
    );
  }
  const jwks = authConfig['jwks'];
  const keys = isRecord(jwks) && Array.isArray(jwks['keys']) ? jwks['keys'] : [];
  if (keys.length === 0) problems.push('authConfig.jwks.keys must list at least one public key');
  const keyIds: string[] = [];
  keys.forEach((key: unknown, index: number) => {
    const kid = isRecord(key) && typeof key['kid'] === 'string' ? key['kid'] : undefined;
    const name = `authConfig.jwks.keys[${index}]${kid ? ` (kid ${JSON.stringify(kid)})` : ''}`;
    for (const problem of checkKey(key)) problems.push(`${name}: ${problem}`);
    if (kid !== undefined) {
      if (keyIds.includes(kid)) problems.push(`${name}: kid is used by another key too`);
      keyIds.push(kid);
    }
  });
  let tokenLookup = '';
  try {
    tokenLookup = tokenLookupString(authConfig['tokenLookup']);
  } catch (error) {
    problems.push(`authConfig.tokenLookup: ${error instanceof Error ? error.message : String(error)}`);
  }
  return { keyIds, tokenLookup };
}

/** The problems of one JWKS entry for a trigger: placeholders, private parts, weak or unloadable keys. */
function checkKey(key: unknown): string[] {
  if (!isRecord(key)) return ['must be a JSON Web Key object'];
  const problems: string[] = [];
  const placeholders = Object.entries(key).filter(
    ([, value]) => typeof value === 'string' && PLACEHOLDER.test(value),
  );
  if (placeholders.length > 0) {
    return [
      `${placeholders.map(([field]) => field).join(', ')} still hold${placeholders.length === 1 ? 's' : ''} a placeholder ` +
        '(the example file as shipped): put your identity provider’s public key here',
    ];
  }
  const secret = PRIVATE_MEMBERS.filter((member) => key[member] !== undefined);
  if (secret.length > 0) {
    return [
      `holds private key material (${secret.join(', ')}): a trigger takes public keys only, and its config is ` +
        'readable by anyone who may read the function',
    ];
  }
  if (typeof key['kid'] !== 'string' || key['kid'] === '') {
    problems.push('kid is missing: FC and the read-back tell keys apart by it');
  }
  if (key['use'] !== undefined && key['use'] !== 'sig')
    problems.push(`use must be "sig", got ${JSON.stringify(key['use'])}`);
  const kty = key['kty'];
  if (kty !== 'RSA' && kty !== 'EC') {
    problems.push(`kty must be RSA or EC, got ${JSON.stringify(kty)}`);
    return problems;
  }
  const alg = typeof key['alg'] === 'string' ? key['alg'] : '';
  if (alg !== '' && !(kty === 'RSA' ? /^(RS|PS)(256|384|512)$/ : /^ES(256|384|512)$/).test(alg)) {
    problems.push(`alg ${alg} does not fit kty ${kty}`);
  }
  if (kty === 'RSA') {
    const bits = modulusBits(key['n']);
    if (bits === undefined) problems.push('n is not a base64url RSA modulus');
    else if (bits < RSA_MIN_BITS)
      problems.push(`n is a ${bits}-bit RSA modulus; at least ${RSA_MIN_BITS} bits are needed`);
  }
  try {
    const loaded = createPublicKey({ key: key as JsonWebKey, format: 'jwk' });
    if (loaded.asymmetricKeyType !== (kty === 'RSA' ? 'rsa' : 'ec'))
      problems.push('is not a usable public key');
  } catch (error) {
    problems.push(`is not a usable public key (${error instanceof Error ? error.message : String(error)})`);
  }
  return problems;
}

/** The bit length of a base64url big-endian integer, or undefined when it is not one. */
function modulusBits(value: unknown): number | undefined {
  if (typeof value !== 'string' || !/^[A-Za-z0-9_-]+$/.test(value)) return undefined;
  const bytes = Buffer.from(value, 'base64url');
  const first = bytes.findIndex((byte) => byte !== 0);
  if (first < 0) return 0;
  return (bytes.length - first - 1) * 8 + (32 - Math.clz32(bytes[first] ?? 0));
}

/**
 * `tokenLookup` as fc3 0.1.22 sends it to FC: a string stays; a list of `{readPosition, parameterName, prefix}`
 * becomes `header:<name>[:<prefix>]` or `<position>:<name>`, joined with `,` (`convertIHttpTriggerConfig`).
 */
export function tokenLookupString(value: unknown): string {
  if (typeof value === 'string' && value.trim() !== '') return value;
  if (!Array.isArray(value) || value.length === 0) {
    throw new Error(
      'must say where the token is, e.g. [{"readPosition": "header", "parameterName": "Authorization", "prefix": "Bearer "}]',
    );
  }
  return value
    .map((item: unknown, index) => {
      if (typeof item === 'string') return item;
      if (!isRecord(item) || !READ_POSITIONS.has(String(item['readPosition']))) {
        throw new Error(`entry ${index} needs readPosition header, cookie, query or form`);
      }
      if (typeof item['parameterName'] !== 'string' || item['parameterName'] === '') {
        throw new Error(`entry ${index} needs parameterName`);
      }
      const prefix = typeof item['prefix'] === 'string' && item['prefix'] !== '' ? `:${item['prefix']}` : '';
      return item['readPosition'] === 'header'
        ? `header:${item['parameterName']}${prefix}`
        : `${String(item['readPosition'])}:${item['parameterName']}`;
    })
    .join(',');
}
