/**
 * The RAM step. s.yaml runs it as the `pre-deploy` action (ensure) and the `success-remove` action (remove) with
 * `-a ${this.access}`, so it signs with exactly the credentials `s` gives fc3 (deploy/access.ts); `npm run ram:plan`
 * and `npm run ram:ensure` run it alone.
 *   tsx deploy/ram-cli.ts ensure|remove [--dry-run] [-a ALIAS] [--role NAME] [--policy NAME] [--region R]
 *     [--function NAME] [--log-project P --log-store S] [--on-drift report|fail|detach]
 * Prints what it found and what it did; exits 1 with what was done and what was not when anything fails, 2 on bad
 * usage. Nothing it prints carries a credential.
 */
import { readFileSync } from 'node:fs';
import { parseEnv } from 'node:util';
import { type DeployerCredentials, deployerCredentials } from './access.js';
import { type FunctionPresence, fcEndpoint, functionPresence, functionsUsingRole } from './fc.js';
import {
  apply,
  createRamApi,
  type DriftPolicy,
  describeOthers,
  describeState,
  explain,
  inspect,
  logStoreArn,
  planEnsure,
  planRemove,
  type RamApi,
  RamError,
  type RamStep,
  type RamTarget,
  ramEndpoint,
  roleDescription,
  roleRegions,
  waitForRole,
} from './ram.js';

/** The defaults s.yaml's vars use (tests/integration/s-yaml.test.ts checks them against what the real `s` resolves). */
export const DEFAULTS = {
  access: 'default',
  region: 'ap-southeast-1',
  functionName: 'flow-preview',
  roleName: 'flow-preview-cams',
  policyName: 'FlowPreviewGetFlowPreviewUrl',
} as const;
export const DEFAULT_ROLE_NAME = DEFAULTS.roleName;
export const DEFAULT_POLICY_NAME = DEFAULTS.policyName;

export interface Options {
  readonly command: 'ensure' | 'remove';
  readonly dryRun: boolean;
  readonly access: string;
  readonly roleName: string;
  readonly policyName: string;
  readonly region: string;
  readonly functionName: string;
  readonly logProject: string;
  readonly logStore: string;
  readonly onDrift: DriftPolicy;
}

const USAGE =
  'usage: ram-cli ensure|remove [--dry-run] [-a ALIAS] [--role NAME] [--policy NAME] [--region REGION] ' +
  '[--function NAME] [--log-project P --log-store S] [--on-drift report|fail|detach]';

const FLAGS: Record<string, keyof Options> = {
  '-a': 'access',
  '--access': 'access',
  '--role': 'roleName',
  '--policy': 'policyName',
  '--region': 'region',
  '--function': 'functionName',
  '--log-project': 'logProject',
  '--log-store': 'logStore',
  '--on-drift': 'onDrift',
};

export function parseArgs(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): Options {
  const [command, ...rest] = argv;
  if (command !== 'ensure' && command !== 'remove') throw new UsageError(USAGE);
  const values: Record<string, string> = {
    access: DEFAULTS.access,
    roleName: env['FLOW_PREVIEW_ROLE_NAME'] || DEFAULTS.roleName,
    policyName: env['FLOW_PREVIEW_POLICY_NAME'] || DEFAULTS.policyName,
    region: env['FLOW_PREVIEW_REGION'] || DEFAULTS.region,
    functionName: env['FLOW_PREVIEW_FUNCTION_NAME'] || DEFAULTS.functionName,
    logProject: env['FLOW_PREVIEW_LOG_PROJECT'] ?? '',
    logStore: env['FLOW_PREVIEW_LOG_STORE'] ?? '',
    onDrift: env['FLOW_PREVIEW_RAM_ON_DRIFT'] || 'report',
  };
  let dryRun = false;
  for (let i = 0; i < rest.length; i += 1) {
    const flag = rest[i] ?? '';
    if (flag === '--dry-run') {
      dryRun = true;
      continue;
    }
    const key = FLAGS[flag];
    if (key === undefined) throw new UsageError(`unknown option ${flag}\n${USAGE}`);
    const next = rest[i + 1];
    if (next === undefined || next.startsWith('-')) throw new UsageError(`${flag} needs a value\n${USAGE}`);
    values[key] = next;
    i += 1;
  }
  const check = (ok: boolean, message: string) => {
    if (!ok) throw new UsageError(message);
  };
  const v = (key: string) => values[key] ?? '';
  check(v('access') !== '', 'the access alias (-a) must not be empty');
  check(
    /^[A-Za-z0-9.-]{1,64}$/.test(v('roleName')),
    `role name must be 1–64 of letters, digits, '.', '-': '${v('roleName')}'`,
  );
  check(
    /^[A-Za-z0-9-]{1,128}$/.test(v('policyName')),
    `policy name must be 1–128 of letters, digits, '-': '${v('policyName')}'`,
  );
  check(/^[a-z0-9-]{1,64}$/.test(v('region')), `region must look like ap-southeast-1: '${v('region')}'`);
  check(
    /^[A-Za-z_][A-Za-z0-9_-]{0,127}$/.test(v('functionName')),
    `function name is not valid: '${v('functionName')}'`,
  );
  check(
    (v('logProject') === '') === (v('logStore') === ''),
    'logging needs both a log project and a logstore (FLOW_PREVIEW_LOG_PROJECT and FLOW_PREVIEW_LOG_STORE), or neither',
  );
  check(
    v('logProject') === '' || /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/.test(v('logProject')),
    `log project name is not valid: '${v('logProject')}'`,
  );
  check(
    v('logStore') === '' || /^[a-z0-9][a-z0-9_-]{1,61}[a-z0-9]$/.test(v('logStore')),
    `logstore name is not valid: '${v('logStore')}'`,
  );
  const onDrift = v('onDrift');
  if (onDrift !== 'report' && onDrift !== 'fail' && onDrift !== 'detach') {
    throw new UsageError(
      `--on-drift (FLOW_PREVIEW_RAM_ON_DRIFT) must be report, fail or detach: '${onDrift}'`,
    );
  }
  return {
    command,
    dryRun,
    access: v('access'),
    roleName: v('roleName'),
    policyName: v('policyName'),
    region: v('region'),
    functionName: v('functionName'),
    logProject: v('logProject'),
    logStore: v('logStore'),
    onDrift,
  };
}

export class UsageError extends Error {
  override name = 'UsageError';
}

/** The role, the policy, and (with logging on) the logstore the policy grants; needs the account for the ARN. */
export function targetOf(options: Options, accountId: string | undefined): RamTarget {
  const base = { roleName: options.roleName, policyName: options.policyName, region: options.region };
  if (options.logProject === '') return base;
  if (!accountId) {
    throw new Error(
      'logging is configured, and the logstore grant needs the account id: the credentials carry no AccountID ' +
        "(give it to 's config add --AccountID', or set AccountID with AccessKeyID/AccessKeySecret)",
    );
  }
  return {
    ...base,
    logStoreArn: logStoreArn(options.region, accountId, options.logProject, options.logStore),
  };
}

export interface Deps {
  readonly ram: RamApi;
  /** The function's presence in FC, asked before a remove. */
  readonly functionPresence: () => Promise<FunctionPresence>;
  /** The functions in the region that run as the role, asked before a remove deletes it. */
  readonly roleUsers: () => Promise<readonly string[]>;
  /**
   * The functions in every FC region that run as the role (one answer per distinct FC endpoint), asked before a
   * remove deletes a role that records no region. Absent: such a role is never deleted.
   */
  readonly roleUsersEverywhere?: () => Promise<ReadonlyArray<{ region: string; users: readonly string[] }>>;
  readonly accountId?: string | undefined;
  readonly sleep?: (ms: number) => Promise<void>;
}

/** Runs one command; returns the number of writes it made, or throws with a clear message. */
export async function run(options: Options, deps: Deps, print: (line: string) => void): Promise<number> {
  const target = targetOf(options, deps.accountId);
  if (options.command === 'remove') {
    const presence = await deps.functionPresence();
    if (presence === 'exists') {
      throw new Error(
        `function ${options.functionName} still exists in ${options.region}, so its role stays (nothing removed). ` +
          'Remove the function first (npm run remove), then run this again.',
      );
    }
    print(`FC: function ${options.functionName} in ${options.region} is gone`);
    const users = (await deps.roleUsers()).filter((name) => name !== options.functionName);
    if (users.length > 0) {
      print(
        `FC: ${users.join(', ')} in ${options.region} still run(s) as ${options.roleName}, so the role and its policy ` +
          'stay (nothing removed); they go with the last function that uses them',
      );
      return 0;
    }
    print(`FC: no other function in ${options.region} runs as ${options.roleName}; the role can go`);
  }
  print('found:');
  const state = await inspect(deps.ram, target);
  for (const line of describeState(state, target)) print(line);
  if (options.command === 'remove' && state.role) {
    const kept = await keepForOtherRegions(options, state.role.description, deps, print);
    if (kept !== undefined) return kept;
  }
  const drift = state.otherPolicies.length > 0 ? describeOthers(state) : '';
  if (drift && options.onDrift === 'fail') {
    throw new Error(
      `the role ${target.roleName} can do more than documented: ${drift} is attached (--on-drift fail); nothing changed`,
    );
  }
  if (drift && options.command === 'remove' && options.onDrift !== 'detach') {
    throw new Error(
      `the role ${target.roleName} has policies this step did not attach (${drift}); nothing removed. ` +
        'Detach them by hand, or run with --on-drift detach.',
    );
  }
  const steps =
    options.command === 'ensure'
      ? planEnsure(state, target, options.onDrift)
      : planRemove(state, target, options.onDrift);
  const driftLeft = drift && options.onDrift === 'report';
  const driftNote = `DRIFT: ${drift} stays attached (--on-drift detach takes it off, --on-drift fail stops on it)`;
  if (steps.length === 0) {
    if (options.command === 'remove') print('nothing to remove');
    else if (driftLeft) print(`role and policy match the documents, but the role can do more: ${driftNote}`);
    else print('nothing to do: role and policy are as documented');
    return 0;
  }
  print('plan:');
  for (const step of steps) print(`  ${step.action} (${step.why})`);
  if (options.dryRun) {
    print('dry run: nothing changed');
    return 0;
  }
  await apply(deps.ram, steps, print);
  if (steps.some((step) => step.action === 'CreateRole')) {
    await waitForRole(deps.ram, target.roleName, print, deps.sleep ? { sleep: deps.sleep } : {});
  }
  if (options.command === 'remove') print('removed');
  else if (driftLeft) print(`ensured role, policy and attachment; ${driftNote}`);
  else print('ensured: role, policy and attachment are as documented');
  return steps.length;
}

/**
 * A remove asked FC about one region only. The role goes only when that region is the last the role's description
 * records (the regions its deploys ran in); with others recorded, only this region comes off the record; when this
 * region is not recorded (a wrong FLOW_PREVIEW_REGION), nothing is removed. A role that records no region (made
 * before the RAM step recorded them) goes only when FC in every region says no function runs as it. Returns the
 * writes made, or undefined to go on with the remove.
 */
async function keepForOtherRegions(
  options: Options,
  description: string,
  deps: Deps,
  print: (line: string) => void,
): Promise<number | undefined> {
  const regions = roleRegions(description);
  if (regions === undefined) return keepWhileUsedAnywhere(options, deps, print);
  if (!regions.includes(options.region)) {
    throw new Error(
      `the role ${options.roleName} was deployed for ${regions.join(', ')}, not ${options.region}: this remove ` +
        `asked FC in ${options.region} only, so it cannot tell whether a function there still runs as the role; ` +
        `nothing removed. Run the remove with FLOW_PREVIEW_REGION=${regions[0]} (the region the function ran in).`,
    );
  }
  const others = regions.filter((region) => region !== options.region);
  if (others.length === 0) return undefined;
  const step: RamStep = {
    action: 'UpdateRole',
    params: { RoleName: options.roleName, NewDescription: roleDescription(others) },
    why: `the role is also deployed in ${others.join(', ')}: only ${options.region} comes off its record`,
  };
  if (options.dryRun) {
    print(`plan:\n  ${step.action} (${step.why})\ndry run: nothing changed`);
    return 0;
  }
  await apply(deps.ram, [step], print);
  print(
    `the role ${options.roleName} and its policy stay for ${others.join(', ')}; they go with the remove in the ` +
      'last region that uses them',
  );
  return 1;
}

/** For a role that records no region: asks FC in every region; keeps the role while any function runs as it. */
async function keepWhileUsedAnywhere(
  options: Options,
  deps: Deps,
  print: (line: string) => void,
): Promise<number | undefined> {
  const unsure = (why: string) =>
    new Error(
      `the role ${options.roleName} records no region it was deployed for, and ${why}, so nothing was removed. ` +
        `Run \`npm run ram:ensure\` with FLOW_PREVIEW_REGION set to the region its function runs in, then remove again.`,
    );
  if (deps.roleUsersEverywhere === undefined) throw unsure('FC cannot be asked in every region here');
  let answers: ReadonlyArray<{ region: string; users: readonly string[] }>;
  try {
    answers = await deps.roleUsersEverywhere();
  } catch (error) {
    throw unsure(
      `FC could not list every region's functions (${error instanceof Error ? error.message : error})`,
    );
  }
  const users = answers.flatMap(({ region, users: names }) =>
    names
      .filter((name) => !(region === options.region && name === options.functionName))
      .map((name) => `${name} (${region})`),
  );
  if (users.length > 0) {
    print(
      `FC: ${users.join(', ')} still run(s) as ${options.roleName}, which records no region; the role and its policy ` +
        'stay (nothing removed)',
    );
    return 0;
  }
  print(
    `FC: no function in any of ${answers.length} FC endpoint(s) runs as ${options.roleName}; the role can go`,
  );
  return undefined;
}

/** `.env` beside s.yaml, as `s` loads it: values already in the environment win. */
export function loadDotEnv(env: NodeJS.ProcessEnv, path = '.env'): void {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return;
  }
  for (const [key, value] of Object.entries(parseEnv(text))) if (!(key in env)) env[key] = value;
}

/**
 * The public FC regions fc3 0.1.22 knows (devsapp/fc3 src/interface/region.ts), without the three it reaches through
 * special endpoints (cn-heyuan-acdr-1, cn-shanghai-finance-1, cn-shanghai-cloudspe).
 */
export const FC_REGIONS = [
  'cn-hangzhou',
  'cn-shanghai',
  'cn-qingdao',
  'cn-beijing',
  'cn-zhangjiakou',
  'cn-huhehaote',
  'cn-shenzhen',
  'cn-chengdu',
  'cn-hongkong',
  'cn-wulanchabu',
  'ap-northeast-1',
  'ap-northeast-2',
  'ap-southeast-1',
  'ap-southeast-2',
  'ap-southeast-3',
  'ap-southeast-5',
  'ap-southeast-7',
  'ap-south-1',
  'eu-central-1',
  'eu-west-1',
  'us-east-1',
  'us-west-1',
  'me-central-1',
] as const;

/** ListFunctions in every region, once per distinct endpoint (FC_CLIENT_CUSTOM_ENDPOINT makes them all one). */
async function roleUsersEverywhere(
  custom: string | undefined,
  credentials: DeployerCredentials,
  roleName: string,
): Promise<Array<{ region: string; users: readonly string[] }>> {
  const byHost = new Map<string, string>();
  for (const region of FC_REGIONS) {
    const endpoint = fcEndpoint(custom, region);
    if (!byHost.has(endpoint.host)) byHost.set(endpoint.host, region);
  }
  return Promise.all(
    [...byHost.values()].map(async (region) => ({
      region,
      users: await functionsUsingRole(fcEndpoint(custom, region), credentials, roleName),
    })),
  );
}

async function main(): Promise<void> {
  loadDotEnv(process.env);
  const options = parseArgs(process.argv.slice(2), process.env);
  const endpoint = ramEndpoint(process.env['RAM_ENDPOINT']);
  const credentials: DeployerCredentials = await deployerCredentials(options.access, process.env);
  process.stdout.write(
    `RAM ${options.command}${options.dryRun ? ' (dry run)' : ''}: role ${options.roleName}, policy ${options.policyName}, ` +
      `${endpoint.protocol.toLowerCase()}://${endpoint.host}, credentials from ${credentials.source}\n`,
  );
  await run(
    options,
    {
      ram: createRamApi(endpoint, credentials),
      accountId: credentials.accountId,
      functionPresence: () =>
        functionPresence(
          fcEndpoint(process.env['FC_CLIENT_CUSTOM_ENDPOINT'], options.region),
          credentials,
          options.functionName,
        ),
      roleUsers: () =>
        functionsUsingRole(
          fcEndpoint(process.env['FC_CLIENT_CUSTOM_ENDPOINT'], options.region),
          credentials,
          options.roleName,
        ),
      roleUsersEverywhere: () =>
        roleUsersEverywhere(process.env['FC_CLIENT_CUSTOM_ENDPOINT'], credentials, options.roleName),
    },
    (line) => process.stdout.write(`${line}\n`),
  );
}

if (/ram-cli\.(ts|cjs)$/.test(process.argv[1] ?? '')) {
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
