/**
 * The local identity provider behind `npm start` with FLOW_PREVIEW_AUTH_TYPE=jwt and `npm run token`: one ES256
 * key pair made on first use and kept under node_modules/.cache (never committed, per checkout), its public JWKS,
 * and tokens signed with it. Not an identity provider for anything but this machine.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { exportJWK, generateKeyPair, importJWK, type JWK, SignJWT } from 'jose';

export const DEV_ISSUER = 'https://flow-preview.local/dev-idp';
export const DEV_AUDIENCE = 'flow-preview';
export const DEV_SPACE_CLAIM = 'spaces';
const KID = 'flow-preview-dev-1';

/** Where the key pair lives; FLOW_PREVIEW_DEV_KEY_FILE overrides it (tests use a temporary one). */
export function devKeyFile(env: NodeJS.ProcessEnv = process.env): string {
  return (
    env['FLOW_PREVIEW_DEV_KEY_FILE'] ??
    join(__dirname, '..', 'node_modules', '.cache', 'flow-preview', 'dev-jwt-key.json')
  );
}

interface DevKey {
  readonly privateJwk: JWK;
  readonly publicJwk: JWK;
}

/** Reads the key pair, making it first if there is none (safe when npm start and npm run token race). */
export async function devKey(file = devKeyFile()): Promise<DevKey> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as DevKey;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const key: DevKey = {
    privateJwk: { ...(await exportJWK(privateKey)), kid: KID, alg: 'ES256' },
    publicJwk: { ...(await exportJWK(publicKey)), kid: KID, alg: 'ES256', use: 'sig' },
  };
  await mkdir(dirname(file), { recursive: true });
  try {
    await writeFile(file, JSON.stringify(key), { flag: 'wx', mode: 0o600 });
    return key;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    return JSON.parse(await readFile(file, 'utf8')) as DevKey;
  }
}

/** The public JWKS, as JWT_JWKS (and a trigger's `authConfig.jwks`) holds it. */
export async function devJwks(file = devKeyFile()): Promise<string> {
  return JSON.stringify({ keys: [(await devKey(file)).publicJwk] });
}

export interface DevTokenInit {
  /** One space is written as a string claim, several as an array; none leaves the claim out. */
  readonly spaces: readonly string[];
  readonly subject?: string;
  /** Seconds the token is valid; default 3600. */
  readonly ttlS?: number;
}

export async function mintDevToken(init: DevTokenInit, file = devKeyFile()): Promise<string> {
  const { privateJwk } = await devKey(file);
  const claims =
    init.spaces.length === 0
      ? {}
      : { [DEV_SPACE_CLAIM]: init.spaces.length === 1 ? init.spaces[0] : init.spaces };
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'ES256', kid: KID, typ: 'JWT' })
    .setIssuer(DEV_ISSUER)
    .setAudience(DEV_AUDIENCE)
    .setSubject(init.subject ?? 'dev-user')
    .setIssuedAt(now)
    .setExpirationTime(now + (init.ttlS ?? 3600))
    .sign(await importJWK(privateJwk, 'ES256'));
}
