/**
 * The deployer's credentials for the RAM script: `ALIBABA_CLOUD_*` from the environment, else the Serverless Devs
 * access alias (`s config add`) from ~/.s/access.yaml. Never from a command line, where the process list and logs
 * would show them.
 */
import { createDecipheriv, createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';

export interface DeployerCredentials {
  readonly accessKeyId: string;
  readonly accessKeySecret: string;
  readonly securityToken?: string;
  /** Where they came from, for the run's report (never the values). */
  readonly source: string;
}

export async function deployerCredentials(
  alias: string,
  env: Readonly<Record<string, string | undefined>> = process.env,
  home = homedir(),
): Promise<DeployerCredentials> {
  const id = env['ALIBABA_CLOUD_ACCESS_KEY_ID'];
  const secret = env['ALIBABA_CLOUD_ACCESS_KEY_SECRET'];
  if (id && secret) {
    const token = env['ALIBABA_CLOUD_SECURITY_TOKEN'];
    return {
      accessKeyId: id,
      accessKeySecret: secret,
      ...(token ? { securityToken: token } : {}),
      source: 'ALIBABA_CLOUD_* environment',
    };
  }
  const path = join(home, '.s', 'access.yaml');
  let aliases: unknown;
  try {
    aliases = parse(await readFile(path, 'utf8'));
  } catch {
    throw new Error(
      `No credentials: set ALIBABA_CLOUD_ACCESS_KEY_ID/SECRET or run 's config add' (no ${path})`,
    );
  }
  const entry = (aliases as Record<string, Record<string, string> | undefined> | null)?.[alias];
  const accessKeyId = entry?.['AccessKeyID'];
  const accessKeySecret = entry?.['AccessKeySecret'];
  if (!accessKeyId || !accessKeySecret) {
    throw new Error(
      `No credentials: access alias '${alias}' is not in ${path} (run 's config add -a ${alias}')`,
    );
  }
  const securityToken = entry['SecurityToken'];
  return {
    accessKeyId: decryptAccessValue(accessKeyId),
    accessKeySecret: decryptAccessValue(accessKeySecret),
    ...(securityToken ? { securityToken: decryptAccessValue(securityToken) } : {}),
    source: `s access alias '${alias}'`,
  };
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
