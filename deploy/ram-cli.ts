/**
 * `npm run ram:ensure` / `npm run ram:plan` / `npm run ram:remove`, and the `pre-deploy` action of s.yaml:
 *   tsx deploy/ram-cli.ts ensure|remove [--dry-run] [--role NAME] [--policy NAME] [--access ALIAS]
 * Prints what it found and what it did; exits non-zero with a clear message when anything fails.
 */
import { deployerCredentials } from './access.js';
import {
  apply,
  createRamApi,
  describeState,
  explain,
  inspect,
  planEnsure,
  planRemove,
  type RamApi,
  RamError,
  type RamTarget,
  ramEndpoint,
} from './ram.js';

export const DEFAULT_ROLE_NAME = 'flow-preview-cams';
export const DEFAULT_POLICY_NAME = 'FlowPreviewGetFlowPreviewUrl';

interface Options {
  command: 'ensure' | 'remove';
  dryRun: boolean;
  target: RamTarget;
  access: string;
}

const USAGE = 'usage: ram-cli ensure|remove [--dry-run] [--role NAME] [--policy NAME] [--access ALIAS]';

export function parseArgs(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): Options {
  const [command, ...rest] = argv;
  if (command !== 'ensure' && command !== 'remove') throw new UsageError(USAGE);
  const options: Options = {
    command,
    dryRun: false,
    target: {
      roleName: env['FLOW_PREVIEW_ROLE_NAME'] || DEFAULT_ROLE_NAME,
      policyName: env['FLOW_PREVIEW_POLICY_NAME'] || DEFAULT_POLICY_NAME,
    },
    access: env['FLOW_PREVIEW_ACCESS'] || 'default',
  };
  for (let i = 0; i < rest.length; i += 1) {
    const flag = rest[i];
    const value = (): string => {
      const next = rest[i + 1];
      if (next === undefined || next.startsWith('--'))
        throw new UsageError(`${flag} needs a value\n${USAGE}`);
      i += 1;
      return next;
    };
    if (flag === '--dry-run') options.dryRun = true;
    else if (flag === '--role') options.target = { ...options.target, roleName: value() };
    else if (flag === '--policy') options.target = { ...options.target, policyName: value() };
    else if (flag === '--access') options.access = value();
    else throw new UsageError(`unknown option ${flag}\n${USAGE}`);
  }
  if (!/^[A-Za-z0-9.-]{1,64}$/.test(options.target.roleName)) {
    throw new UsageError(`role name must be 1–64 of letters, digits, '.', '-': '${options.target.roleName}'`);
  }
  if (!/^[A-Za-z0-9-]{1,128}$/.test(options.target.policyName)) {
    throw new UsageError(`policy name must be 1–128 of letters, digits, '-': '${options.target.policyName}'`);
  }
  return options;
}

export class UsageError extends Error {
  override name = 'UsageError';
}

/** Runs one command against `api`; returns the writes it made (for tests) or throws with a clear message. */
export async function run(options: Options, api: RamApi, print: (line: string) => void): Promise<number> {
  const { target } = options;
  print(`found:`);
  const state = await inspect(api, target);
  for (const line of describeState(state, target)) print(line);
  const steps = options.command === 'ensure' ? planEnsure(state, target) : planRemove(state, target);
  if (steps.length === 0) {
    print(
      options.command === 'ensure' ? 'nothing to do: role and policy are as documented' : 'nothing to remove',
    );
    return 0;
  }
  print('plan:');
  for (const step of steps) print(`  ${step.action} (${step.why})`);
  if (options.dryRun) {
    print('dry run: nothing changed');
    return 0;
  }
  await apply(api, steps, print);
  print(options.command === 'ensure' ? 'ensured: role, policy and attachment are as documented' : 'removed');
  return steps.length;
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2), process.env);
  const endpoint = ramEndpoint(process.env['RAM_ENDPOINT']);
  const credentials = await deployerCredentials(options.access);
  process.stdout.write(
    `RAM ${options.command}${options.dryRun ? ' (dry run)' : ''}: role ${options.target.roleName}, policy ${options.target.policyName}, ` +
      `${endpoint.protocol.toLowerCase()}://${endpoint.host}, credentials from ${credentials.source}\n`,
  );
  await run(options, createRamApi(endpoint, credentials), (line) => process.stdout.write(`${line}\n`));
}

if (process.argv[1]?.endsWith('ram-cli.ts')) {
  main().catch((error: unknown) => {
    const message =
      error instanceof RamError && !error.message.includes('\n')
        ? explain(error)
        : error instanceof Error
          ? error.message
          : String(error);
    process.stderr.write(`RAM ${process.argv[2] ?? ''} failed: ${message}\n`);
    process.exit(error instanceof UsageError ? 2 : 1);
  });
}
