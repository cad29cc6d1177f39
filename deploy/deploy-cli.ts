/**
 * The deploy steps around fc3, run by s.yaml's actions with `-a ${this.access}` (so they sign with the credentials `s`
 * gives fc3, deploy/access.ts) and by npm scripts:
 *   check    (pre-deploy, after the build) refuses what must not be deployed, before the RAM step: an STS key in
 *                                  the env trio, a trigger config fc3 would skip or that no real token can pass
 *                                  (deploy/trigger-config.ts), a deploy that would silently move the HTTP trigger off
 *                                  the alias a release pointed it at
 *   package  (pre-deploy)          dist/ → dist.zip, the code package s.yaml deploys (deploy/code-zip.ts)
 *   verify   (success-deploy; npm run deploy:verify)  read-back and smoke (deploy/verify.ts)
 *   release  (npm run release)     [--alias live] [--canary W] [--description TEXT] (deploy/release.ts); run again
 *                                  without --canary, it gives a canary's version the whole alias
 *   rollback (npm run rollback)    [--alias live]
 * Common options: -a/--access ALIAS, -t/--template FILE (the spec `s` runs for release/rollback). Exits 1 with a
 * message when a step fails, 2 on bad usage. Nothing it prints carries a credential or an environment value.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { isRecord } from '../shared/is-record.js';
import { type DeployerCredentials, deployerCredentials } from './access.js';
import { codePackageChecksum, writeCodePackage } from './code-zip.js';
import { createFcApi, type FcApi, fcEndpoint, fcInvokeEndpoint } from './fc.js';
import { DEFAULTS, loadDotEnv, UsageError } from './ram-cli.js';
import { type ReleaseDeps, release, rollback } from './release.js';
import { DEFAULT_RELEASE_ALIAS, type DeploymentAsk, deploymentAsk, targetOf } from './spec.js';
import { differences, type InvokeTarget, previewSmoke, readBack, smoke } from './verify.js';

type Env = Readonly<Record<string, string | undefined>>;
const COMMANDS = ['check', 'package', 'verify', 'release', 'rollback'] as const;
type Command = (typeof COMMANDS)[number];

export interface CliOptions {
  readonly command: Command;
  readonly access: string;
  readonly template: string | undefined;
  readonly alias: string;
  readonly canary: number | undefined;
  readonly description: string | undefined;
}

const USAGE =
  'usage: deploy-cli check|package|verify|release|rollback [-a ALIAS] [-t TEMPLATE] [--alias NAME] ' +
  '[--canary WEIGHT] [--description TEXT]';

export function parseCliArgs(argv: readonly string[], env: Env): CliOptions {
  const [command, ...rest] = argv;
  if (!COMMANDS.includes(command as Command)) throw new UsageError(USAGE);
  const values: Record<string, string> = {};
  for (let i = 0; i < rest.length; i += 1) {
    const flag = rest[i] ?? '';
    const key = {
      '-a': 'access',
      '--access': 'access',
      '-t': 'template',
      '--template': 'template',
      '--alias': 'alias',
      '--canary': 'canary',
      '--description': 'description',
    }[flag];
    const next = rest[i + 1];
    if (key === undefined) throw new UsageError(`unknown option ${flag}\n${USAGE}`);
    if (next === undefined || next.startsWith('-')) throw new UsageError(`${flag} needs a value\n${USAGE}`);
    values[key] = next;
    i += 1;
  }
  const alias = values['alias'] ?? (env['FLOW_PREVIEW_RELEASE_ALIAS'] || DEFAULT_RELEASE_ALIAS);
  // FC alias names: letters, digits, `_`, `-`, not starting with a digit (it would read as a version).
  if (!/^[A-Za-z_][A-Za-z0-9_-]{0,127}$/.test(alias))
    throw new UsageError(`alias name is not valid: '${alias}'`);
  let canary: number | undefined;
  if (values['canary'] !== undefined) {
    canary = Number(values['canary']);
    if (!(canary > 0 && canary < 1))
      throw new UsageError(`--canary must be a share between 0 and 1, e.g. 0.1`);
    if (command !== 'release') throw new UsageError(`--canary belongs to release\n${USAGE}`);
  }
  return {
    command: command as Command,
    access: values['access'] ?? DEFAULTS.access,
    template: values['template'],
    alias,
    canary,
    description: values['description'],
  };
}

export class DeployCheckError extends Error {
  override name = 'DeployCheckError';
}

interface Context {
  readonly env: Env;
  readonly credentials: DeployerCredentials;
  readonly api: FcApi;
  readonly print: (line: string) => void;
}

function invokeTarget(ctx: Context, functionName: string, region: string, qualifier: string): InvokeTarget {
  const endpoint = fcInvokeEndpoint(ctx.env['FC_CLIENT_CUSTOM_ENDPOINT'], region, ctx.credentials.accountId);
  return {
    endpoint,
    credentials: ctx.credentials,
    region,
    accountId: ctx.credentials.accountId ?? '',
    functionName,
    qualifier,
  };
}

/** Pre-deploy: nothing is built, no role made, nothing sent to fc3 unless this passes. */
async function check(ctx: Context): Promise<void> {
  const ask = deploymentAsk(ctx.env);
  ctx.print(
    `check: trigger ${ask.trigger.name} from ${ask.trigger.file}: ${ask.trigger.authType} auth` +
      (ask.trigger.jwt ? `, keys ${ask.trigger.jwt.keyIds.join(', ')}` : '') +
      `, serves ${ask.trigger.qualifier}; credentials from ${ctx.credentials.source}`,
  );
  if (ask.trigger.qualifierChosen) return;
  let serving: string | undefined;
  try {
    const held = await ctx.api.getTrigger(ask.functionName, ask.trigger.name);
    serving = String(held['qualifier'] ?? 'LATEST');
  } catch (error) {
    const code = isRecord(error) ? error['code'] : undefined;
    if (code === 'FunctionNotFound' || code === 'TriggerNotFound') return;
    ctx.print(
      `check: could not read trigger ${ask.trigger.name} (${String(code)}); not checking which version it serves`,
    );
    return;
  }
  if (serving !== 'LATEST') {
    throw new DeployCheckError(
      `trigger ${ask.trigger.name} of ${ask.functionName} serves ${serving} (npm run release pointed it there), ` +
        'and this deploy would point it back at LATEST, serving unreleased code: fc3 sends the qualifier on every ' +
        `deploy. Set FLOW_PREVIEW_TRIGGER_QUALIFIER=${serving} (in .env or your CI) to keep serving the release, or ` +
        'FLOW_PREVIEW_TRIGGER_QUALIFIER=LATEST to serve every deploy directly. Nothing was deployed.',
    );
  }
}

/** The read-back, then the smoke of LATEST (and the preview smoke when asked). */
async function verifyDeployment(ctx: Context, ask: DeploymentAsk, compareQualifier: boolean): Promise<void> {
  const held = await readBack(ctx.api, ask);
  const found = differences(ask, held, {
    codeChecksum: codePackageChecksum(),
    accountId: ctx.credentials.accountId,
    qualifier: compareQualifier,
  });
  if (found.length > 0) {
    throw new DeployCheckError(
      `FC does not hold what was deployed (${ask.functionName} in ${ask.region}):\n${found
        .map((line) => `  - ${line}`)
        .join('\n')}\n  fc3 may have skipped a write it logged as an ERROR; fix the cause and deploy again.`,
    );
  }
  if (held.fn['codeChecksum'] === undefined) {
    ctx.print(
      'verify: WARNING: FC reported no codeChecksum for the function, so the code package was not compared',
    );
  }
  ctx.print(
    `verify: FC holds what was asked: ${ask.runtime}, ${ask.handler}, role ${ask.roleName}, ` +
      `${ask.environmentNames.length} environment variables, code ${String(held.fn['codeChecksum'])}, ` +
      `trigger ${ask.trigger.name} (${ask.trigger.authType}` +
      `${ask.trigger.jwt ? `, keys ${ask.trigger.jwt.keyIds.join(', ')}` : ''}, serves ${String(held.trigger?.['qualifier'] ?? 'LATEST')})`,
  );
  const target = invokeTarget(ctx, ask.functionName, ask.region, 'LATEST');
  ctx.print(await smoke(target));
  const flowId = ctx.env['FLOW_PREVIEW_SMOKE_FLOW_ID'];
  if (flowId) {
    ctx.print(
      await previewSmoke(
        target,
        flowId,
        ctx.env['FLOW_PREVIEW_SMOKE_CUST_SPACE_ID'] || undefined,
        ask.roleName,
      ),
    );
  }
}

/** Runs the project's real `s` (its devDependency) with the alias and template of this command. */
function runS(options: CliOptions, env: Env) {
  const local = join(process.cwd(), 'node_modules', '.bin', 's');
  const bin = existsSync(local) ? local : 's';
  return (args: readonly string[]) =>
    new Promise<void>((resolve, reject) => {
      const full = [...args, '-a', options.access, ...(options.template ? ['-t', options.template] : [])];
      const child = spawn(bin, full, { env: { ...env }, stdio: ['ignore', 'inherit', 'inherit'] });
      child.on('error', reject);
      child.on('exit', (code) =>
        code === 0 ? resolve() : reject(new Error(`s ${args.slice(0, 2).join(' ')} failed (exit ${code})`)),
      );
    });
}

export async function main(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<void> {
  const options = parseCliArgs(argv, env);
  const print = (line: string) => process.stdout.write(`${line}\n`);
  if (options.command === 'package') {
    const made = writeCodePackage();
    print(
      `package: ${made.files.length} files of dist/ as dist.zip (${(made.bytes / 1024).toFixed(1)} KiB, ` +
        `CRC-64 ${made.checksum})`,
    );
    return;
  }
  const credentials = await deployerCredentials(options.access, env);
  const { region, functionName } = targetOf(env);
  const ctx: Context = {
    env,
    credentials,
    api: createFcApi(fcEndpoint(env['FC_CLIENT_CUSTOM_ENDPOINT'], region), credentials),
    print,
  };
  if (options.command === 'check') return check(ctx);
  // The read-back compares with what the files ask, even when the check would refuse them (a deploy run with
  // `s deploy --skip-actions` skipped the check; FC must still hold what was asked).
  if (options.command === 'verify')
    return verifyDeployment(ctx, deploymentAsk(env, process.cwd(), false), true);
  const ask = deploymentAsk(env);
  const deps: ReleaseDeps = {
    api: ctx.api,
    s: runS(options, env),
    smoke: (qualifier) => smoke(invokeTarget(ctx, functionName, region, qualifier)),
    verifyLatest: () => verifyDeployment(ctx, ask, false),
    print,
  };
  const releaseOptions = {
    functionName,
    triggerName: ask.trigger.name,
    alias: options.alias,
    canary: options.canary,
    description: options.description,
  };
  if (options.command === 'rollback') await rollback(releaseOptions, deps);
  else await release(releaseOptions, deps);
}

if (/deploy-cli\.(ts|cjs)$/.test(process.argv[1] ?? '')) {
  loadDotEnv(process.env);
  main(process.argv.slice(2), process.env).catch((error: unknown) => {
    const command = process.argv[2] ?? '';
    process.stderr.write(`${command} failed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(error instanceof UsageError ? 2 : 1);
  });
}
