/**
 * The deployer's credentials for the RAM step: exactly the ones `s` hands fc3 for the same command line, so the role
 * always lands in the account the function lands in. This follows, in order, what `inputs.getCredential()` does in
 * @serverless-devs/s 3.1.10 (its bundled @serverless-devs/credential, `get(alias)`):
 *   1. the env trio `AccessKeyID` / `AccessKeySecret` / `AccountID` (all three set: no alias is read at all);
 *   2. in a CI environment, `serverless_devs_access_cicd_alias_name` replaces the alias;
 *   3. the alias in `<root>/.s/access.yaml` (values AES-obfuscated with s's fixed passphrase), or an environment
 *      variable named `<alias>` ending in `_serverless_devs_key` holding the alias as JSON;
 *   4. otherwise "Not found access". The alias itself comes from `${this.access}` (s.yaml's `access:` or `-a NAME`).
 * `ALIBABA_CLOUD_ACCESS_KEY_ID` is deliberately not read: neither `s` nor fc3 reads it.
 */
import { createDecipheriv, createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';

type Env = Readonly<Record<string, string | undefined>>;

export interface DeployerCredentials {
  readonly accessKeyId: string;
  readonly accessKeySecret: string;
  readonly securityToken?: string;
  /** Needed for ARNs (the logstore grant) and FC's account endpoint; `s config add` stores it. */
  readonly accountId?: string;
  /** Where they came from, for the run's report (never the values). */
  readonly source: string;
}

const TRIO = ['AccountID', 'AccessKeyID', 'AccessKeySecret'] as const;
const CICD_ALIAS = 'serverless_devs_access_cicd_alias_name';
const ENV_ALIAS_SUFFIX = '_serverless_devs_key';
// biome-ignore lint/suspicious/noTemplateCurlyInString: s's literal name for "the aliyun CLI's profile"
const ALIYUN_CLI_ACCESS = '${aliyun-cli}';

export async function deployerCredentials(
  alias: string | undefined,
  env: Env = process.env,
  home = homedir(),
): Promise<DeployerCredentials> {
  // s tests for the three names being present, not for values; an empty one would reach fc3 as empty.
  if (TRIO.every((name) => name in env)) {
    const missing = TRIO.filter((name) => !env[name]);
    if (missing.length > 0) throw new Error(`No credentials: ${missing.join(', ')} is set but empty`);
    if (env['AccessKeyID']?.startsWith('STS.')) throw new StsTrioError();
    return {
      accessKeyId: env['AccessKeyID'] ?? '',
      accessKeySecret: env['AccessKeySecret'] ?? '',
      accountId: env['AccountID'] ?? '',
      source: 'the AccessKeyID/AccessKeySecret/AccountID environment variables',
    };
  }
  const name = isCiCd(env) && CICD_ALIAS in env ? env[CICD_ALIAS] : alias;
  if (name === ALIYUN_CLI_ACCESS) {
    throw new Error(
      `No credentials: the access '${ALIYUN_CLI_ACCESS}' (the aliyun CLI's profile) is not supported here`,
    );
  }
  const file = accessFile(env, home);
  const aliases: Record<string, unknown> = { ...readAccessFile(file), ...envAliases(env) };
  const chosen =
    name ?? Object.keys(aliases).find((key) => record(aliases[key])['__default'] === 'true') ?? 'default';
  const entry = aliases[chosen];
  if (entry === undefined) {
    throw new Error(`Not found access: ${chosen} (not in ${file}; run 's config add -a ${chosen}')`);
  }
  const values = Object.fromEntries(
    Object.entries(record(entry)).map(([key, value]) => [key, decryptAccessValue(String(value))]),
  );
  const accessKeyId = values['AccessKeyID'];
  const accessKeySecret = values['AccessKeySecret'];
  if (!accessKeyId || !accessKeySecret) {
    throw new Error(`No credentials: access '${chosen}' has no AccessKeyID/AccessKeySecret (${file})`);
  }
  return {
    accessKeyId,
    accessKeySecret,
    ...(values['SecurityToken'] ? { securityToken: values['SecurityToken'] } : {}),
    ...(values['AccountID'] ? { accountId: values['AccountID'] } : {}),
    source: `s access '${chosen}'`,
  };
}

/**
 * An STS key (`STS.` prefix) in the env trio: `s` 3.1.10 reads only the three names from the environment (its
 * getEnvKeyPair) and never `SecurityToken`, so fc3 would sign without the token, and so would the RAM step, which
 * follows `s`; STS refuses such a request with a signature error that names nothing useful. An alias can hold the
 * token (`s config add --SecurityToken`), and then `s` hands it to fc3 and the RAM step alike.
 */
export class StsTrioError extends Error {
  override name = 'StsTrioError';
  constructor() {
    super(
      'AccessKeyID in the environment is an STS key (STS.…), and s cannot take a token from the environment: ' +
        's 3.1.10 reads only AccessKeyID, AccessKeySecret and AccountID there and drops SecurityToken, so fc3 and ' +
        'the RAM step would sign without it and be refused. Keep the STS key in an alias instead: ' +
        'npx s config add -a sts --AccessKeyID <STS.…> --AccessKeySecret <secret> --SecurityToken <token> ' +
        '--AccountID <account> -f, unset AccessKeyID/AccessKeySecret/AccountID (shell and .env), then deploy with ' +
        'npm run deploy -- -a sts. Nothing was deployed.',
    );
  }
}

/** s's own test for "running in CI" (it changes which alias is used). */
function isCiCd(env: Env): boolean {
  if (env['BUILD_IMAGE_ENV'] === 'fc-backend') return true;
  return Object.keys(env).some(
    (key) =>
      key === 'SERVERLESS_CD' ||
      key === 'SERVERLESS_DEVS_CICD' ||
      ['CLOUDSHELL', 'PIPELINE', 'GITHUB', 'GITLAB', 'JENKINS'].some((prefix) => key.startsWith(prefix)),
  );
}

/** `<serverless_devs_config_home or HOME>/.s/access.yaml` (or `.yml`), honouring a `workspace` in s.json. */
function accessFile(env: Env, home: string): string {
  const base = env['serverless_devs_config_home'] || home;
  let root = join(base, '.s');
  try {
    const workspace = (
      JSON.parse(readFileSync(join(root, 'config', 's.json'), 'utf8')) as Record<string, unknown>
    )['workspace'];
    if (typeof workspace === 'string' && workspace) root = workspace.replace(/~/, base);
  } catch {
    if (Object.keys(env).some((key) => key.startsWith('PIPELINE'))) root = join(base, '.cache', '.s');
  }
  const yaml = join(root, 'access.yaml');
  const yml = join(root, 'access.yml');
  return existsSync(yaml) || !existsSync(yml) ? yaml : yml;
}

function readAccessFile(path: string): Record<string, unknown> {
  try {
    return record(parse(readFileSync(path, 'utf8')));
  } catch {
    return {};
  }
}

function envAliases(env: Env): Record<string, unknown> {
  const found: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(env)) {
    if (!key.endsWith(ENV_ALIAS_SUFFIX) || value === undefined) continue;
    try {
      found[key] = JSON.parse(value);
    } catch {
      // s skips what does not parse, so does this
    }
  }
  return found;
}

function record(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
}

/** Serverless Devs' fixed passphrase for access.yaml: obfuscation, not protection (the file is the secret). */
const S_PASSPHRASE = 'SecretKey123';

/**
 * Reads a value as Serverless Devs stores it: CryptoJS AES in OpenSSL's "Salted__" format (EVP_BytesToKey with MD5,
 * AES-256-CBC). A value that is not in that format is returned as it is, as `s` does.
 */
export function decryptAccessValue(value: string, passphrase = S_PASSPHRASE): string {
  const raw = Buffer.from(value, 'base64');
  if (raw.length < 32 || raw.subarray(0, 8).toString('latin1') !== 'Salted__') return value;
  const salt = raw.subarray(8, 16);
  let derived = Buffer.alloc(0);
  let block = Buffer.alloc(0);
  while (derived.length < 48) {
    block = createHash('md5')
      .update(Buffer.concat([block, Buffer.from(passphrase), salt]))
      .digest();
    derived = Buffer.concat([derived, block]);
  }
  try {
    const decipher = createDecipheriv('aes-256-cbc', derived.subarray(0, 32), derived.subarray(32, 48));
    return Buffer.concat([decipher.update(raw.subarray(16)), decipher.final()]).toString('utf8') || value;
  } catch {
    return value;
  }
}
