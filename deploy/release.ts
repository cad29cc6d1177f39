/**
 * Releases you can take back, on FC's versions and aliases, written through fc3 0.1.22's own subcommands (devsapp/fc3
 * src/subCommands/version `publish` → PublishFunctionVersion, src/subCommands/alias `publish` → GetAlias, then
 * CreateAlias or UpdateAlias with `versionId`, `description` and `additionalVersionWeight` parsed from a JSON string)
 * run through the real `s`; FC is read directly (GetFunction, GetAlias, ListFunctionVersions, GetTrigger).
 * - release: the function's LATEST must pass the read-back and the smoke (deploy/verify.ts) first; then it becomes a
 *   version (or the newest version is reused when LATEST has not changed since it), the alias points at it — or, with
 *   `--canary W`, stays on the previous version and sends the new one the share W (FC's `additionalVersionWeight`) —,
 *   and the HTTP trigger serves the alias (UpdateTrigger `qualifier`). The version and the alias are invoked once each.
 * - rollback: a canary is withdrawn (its weight dropped); otherwise the alias goes back to the version it served
 *   before the last release (recorded in the alias's description, else the newest older version).
 * The alias's description records the release (`release 7 (previous 6)`), so a rollback needs no state of its own.
 */
import { isRecord } from '../shared/is-record.js';
import type { FcApi } from './fc.js';

export interface ReleaseDeps {
  readonly api: FcApi;
  /** Runs the real `s` with these arguments (the alias and template already appended); throws when it fails. */
  readonly s: (args: readonly string[]) => Promise<void>;
  /** The smoke invocation (deploy/verify.ts `smoke`) at a qualifier. */
  readonly smoke: (qualifier: string) => Promise<string>;
  /** The read-back and smoke of LATEST before anything is published (deploy/verify.ts). */
  readonly verifyLatest: () => Promise<void>;
  readonly print: (line: string) => void;
}

export interface ReleaseOptions {
  readonly functionName: string;
  readonly triggerName: string;
  readonly alias: string;
  /** The share (0 < w < 1) the new version gets beside the previous one; undefined: the whole alias. */
  readonly canary?: number | undefined;
  readonly description?: string | undefined;
}

interface AliasState {
  readonly versionId: string;
  readonly weights: Record<string, number>;
  readonly description: string;
}

async function aliasState(api: FcApi, functionName: string, alias: string): Promise<AliasState | undefined> {
  try {
    const held = await api.getAlias(functionName, alias);
    const weights = isRecord(held['additionalVersionWeight']) ? held['additionalVersionWeight'] : {};
    return {
      versionId: String(held['versionId']),
      weights: Object.fromEntries(
        Object.entries(weights)
          .filter(([, weight]) => typeof weight === 'number' && weight > 0)
          .map(([version, weight]) => [version, Number(weight)]),
      ),
      description: typeof held['description'] === 'string' ? held['description'] : '',
    };
  } catch (error) {
    if (isRecord(error) && error['code'] === 'AliasNotFound') return undefined;
    throw error;
  }
}

/** The fields that make two function configurations the same release. */
const RELEASED_FIELDS = [
  'codeChecksum',
  'runtime',
  'handler',
  'role',
  'memorySize',
  'timeout',
  'environmentVariables',
  'internetAccess',
  'vpcConfig',
  'logConfig',
] as const;

function sameRelease(a: Record<string, unknown>, b: Record<string, unknown>): boolean {
  return RELEASED_FIELDS.every((field) => canonical(a[field]) === canonical(b[field]));
}

function canonical(value: unknown): string {
  if (!isRecord(value)) return JSON.stringify(value ?? null);
  return `{${Object.keys(value)
    .sort()
    .map((key) => `${JSON.stringify(key)}:${canonical(value[key])}`)
    .join(',')}}`;
}

/** The newest version, or undefined when the function has none. */
async function newestVersion(api: FcApi, functionName: string): Promise<string | undefined> {
  const [newest] = await api.listVersions(functionName, 1);
  return newest === undefined ? undefined : String(newest['versionId']);
}

function aliasArgs(alias: string, versionId: string, weights: Record<string, number>, description: string) {
  return [
    'alias',
    'publish',
    '--alias-name',
    alias,
    '--version-id',
    versionId,
    // fc3 sends the parsed object; `{}` is how to clear the weights (UpdateAlias keeps what it is not sent).
    '--additionalVersionWeight',
    JSON.stringify(weights),
    '--description',
    description,
  ];
}

/** Points the trigger at the alias if it serves something else; says how to keep it there. */
async function triggerServes(deps: ReleaseDeps, options: ReleaseOptions): Promise<void> {
  const { api, print } = deps;
  const trigger = await api.getTrigger(options.functionName, options.triggerName);
  const serving = String(trigger['qualifier'] ?? 'LATEST');
  if (serving !== options.alias) {
    // The config goes back as FC holds it: whether FC keeps fields an update leaves out is not relied on.
    await api.updateTrigger(options.functionName, options.triggerName, {
      qualifier: options.alias,
      triggerConfig: trigger['triggerConfig'],
    });
    print(`trigger ${options.triggerName}: served ${serving}, now serves alias ${options.alias}`);
  } else {
    print(`trigger ${options.triggerName}: serves alias ${options.alias}`);
  }
  print(
    `  keep it there: set FLOW_PREVIEW_TRIGGER_QUALIFIER=${options.alias} (in .env or your CI) before the next ` +
      'npm run deploy; fc3 sends the trigger qualifier on every deploy, and the deploy refuses to move it silently',
  );
}

export async function release(options: ReleaseOptions, deps: ReleaseDeps): Promise<string> {
  const { api, print } = deps;
  const { functionName, alias } = options;
  await deps.verifyLatest();
  const current = await aliasState(api, functionName, alias);
  if (options.canary !== undefined && current === undefined) {
    throw new Error(
      `a canary needs a previous release: alias ${alias} does not exist yet (release once without --canary)`,
    );
  }
  const latest = await api.getFunction(functionName);
  let versionId = await newestVersion(api, functionName);
  if (versionId !== undefined && sameRelease(latest, await api.getFunction(functionName, versionId))) {
    print(`version ${versionId} already holds LATEST (same code and configuration): not publishing another`);
  } else {
    const before = versionId;
    await deps.s(['version', 'publish', '--description', options.description ?? 'npm run release']);
    versionId = await newestVersion(api, functionName);
    if (versionId === undefined || versionId === before) {
      throw new Error('s version publish reported success, but FC lists no new version');
    }
    print(`published LATEST as version ${versionId}`);
  }
  print(await deps.smoke(versionId));
  const previous = current?.versionId;
  if (options.canary !== undefined && previous !== undefined) {
    if (previous === versionId)
      throw new Error(`alias ${alias} already serves version ${versionId}: nothing to canary`);
    await deps.s(
      aliasArgs(
        alias,
        previous,
        { [versionId]: options.canary },
        `canary ${versionId} at ${options.canary} (stable ${previous})`,
      ),
    );
    print(
      `alias ${alias}: version ${previous} with canary ${versionId} at ${Math.round(options.canary * 100)}%`,
    );
  } else {
    const description =
      previous && previous !== versionId
        ? `release ${versionId} (previous ${previous})`
        : `release ${versionId}`;
    await deps.s(aliasArgs(alias, versionId, {}, description));
    print(
      `alias ${alias}: version ${versionId}${previous && previous !== versionId ? ` (was ${previous})` : ''}`,
    );
  }
  await triggerServes(deps, options);
  print(await deps.smoke(alias));
  return versionId;
}

/** Withdraws a canary, or points the alias back at the version it served before the last release. */
export async function rollback(options: ReleaseOptions, deps: ReleaseDeps): Promise<string> {
  const { api, print } = deps;
  const { functionName, alias } = options;
  const current = await aliasState(api, functionName, alias);
  if (current === undefined)
    throw new Error(`alias ${alias} does not exist: there is no release to roll back`);
  const canaries = Object.keys(current.weights);
  if (canaries.length > 0) {
    await deps.s(
      aliasArgs(
        alias,
        current.versionId,
        {},
        `release ${current.versionId} (canary ${canaries.join(', ')} withdrawn)`,
      ),
    );
    print(
      `alias ${alias}: canary ${canaries.join(', ')} withdrawn, version ${current.versionId} serves alone`,
    );
    print(await deps.smoke(alias));
    return current.versionId;
  }
  let target = /\(previous (\d+)\)/.exec(current.description)?.[1];
  if (target === undefined) {
    const older = (await api.listVersions(functionName, 100))
      .map((version) => String(version['versionId']))
      .filter((id) => /^\d+$/.test(id) && Number(id) < Number(current.versionId))
      .sort((a, b) => Number(b) - Number(a));
    target = older[0];
  }
  if (target === undefined) {
    throw new Error(
      `alias ${alias} serves version ${current.versionId}, and there is no older version to go back to`,
    );
  }
  print(await deps.smoke(target));
  await deps.s(aliasArgs(alias, target, {}, `rollback to ${target} from ${current.versionId}`));
  print(`alias ${alias}: back to version ${target} (from ${current.versionId})`);
  print(await deps.smoke(alias));
  return target;
}
