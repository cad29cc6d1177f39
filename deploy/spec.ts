/**
 * What a deploy asks FC for, known without running `s`: the literal props in s.yaml (runtime, handler, the names of
 * the environment variables, the trigger's name) and the values s.yaml takes from `FLOW_PREVIEW_*` (function name,
 * region, role, trigger config file, trigger qualifier), read with the same defaults and the same rule that an empty
 * variable counts as unset. The deploy steps (deploy-cli.ts) run as `s` actions, which `s` gives its environment and
 * `.env` but not the resolved props, so they read the same sources; tests/integration/s-yaml.test.ts holds this to what the
 * real `s` resolves (`s preview`) for several environments.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { isRecord } from '../shared/is-record.js';
import { CODE_ZIP } from './code-zip.js';
import { DEFAULTS } from './ram-cli.js';
import {
  checkTriggerConfig,
  inspectTriggerConfig,
  type TriggerAsk,
  TriggerConfigError,
} from './trigger-config.js';

type Env = Readonly<Record<string, string | undefined>>;

/** The resource s.yaml deploys. */
export const RESOURCE = 'flow-preview';
export const DEFAULT_AUTH_TYPE = 'function';
/** The alias `npm run release` points (FLOW_PREVIEW_RELEASE_ALIAS). */
export const DEFAULT_RELEASE_ALIAS = 'live';

export interface Target {
  readonly region: string;
  readonly functionName: string;
}

export interface DeploymentAsk extends Target {
  readonly runtime: string;
  readonly handler: string;
  readonly roleName: string;
  /** The environment variable names (values are never compared, nor printed). */
  readonly environmentNames: readonly string[];
  /** The zip `code:` names, relative to the project root. */
  readonly codeZip: string;
  readonly trigger: TriggerAsk & {
    readonly name: string;
    /** What the trigger serves: `LATEST`, a version or an alias (FLOW_PREVIEW_TRIGGER_QUALIFIER). */
    readonly qualifier: string;
    /** Whether FLOW_PREVIEW_TRIGGER_QUALIFIER was set (an explicit LATEST is a choice, an unset one a default). */
    readonly qualifierChosen: boolean;
    readonly file: string;
  };
}

/** A setting as `${env('NAME', 'default')}` reads it: unset or empty means the default. */
function setting(env: Env, name: string, fallback: string): string {
  const value = env[name];
  return value === undefined || value === '' ? fallback : value;
}

/** Where the function lives: FLOW_PREVIEW_REGION and FLOW_PREVIEW_FUNCTION_NAME, as s.yaml's vars read them. */
export function targetOf(env: Env): Target {
  return {
    region: setting(env, 'FLOW_PREVIEW_REGION', DEFAULTS.region),
    functionName: setting(env, 'FLOW_PREVIEW_FUNCTION_NAME', DEFAULTS.functionName),
  };
}

/** The trigger config file s.yaml reads: FLOW_PREVIEW_TRIGGER_CONFIG, or deploy/http-trigger-<auth type>.json. */
export function triggerFile(env: Env): string {
  return setting(
    env,
    'FLOW_PREVIEW_TRIGGER_CONFIG',
    `./deploy/http-trigger-${setting(env, 'FLOW_PREVIEW_AUTH_TYPE', DEFAULT_AUTH_TYPE)}.json`,
  );
}

/**
 * Reads and checks the trigger config file (throws TriggerConfigError or a clear read/parse error). Not `strict`, only
 * a config whose auth type is unknown throws: the read-back compares what FC holds with what the file asks even when
 * the check would have refused it.
 */
export function readTriggerConfig(
  env: Env,
  root = process.cwd(),
  strict = true,
): TriggerAsk & { file: string } {
  const file = triggerFile(env);
  let text: string;
  try {
    text = readFileSync(join(root, file), 'utf8');
  } catch {
    throw new Error(
      `the trigger config ${file} does not exist (FLOW_PREVIEW_AUTH_TYPE=jwt needs deploy/http-trigger-jwt.json: ` +
        'copy deploy/http-trigger-jwt.example.json and put your JWKS in it, or set FLOW_PREVIEW_TRIGGER_CONFIG)',
    );
  }
  let config: unknown;
  try {
    config = JSON.parse(text);
  } catch (error) {
    throw new Error(
      `the trigger config ${file} is not JSON (${error instanceof Error ? error.message : error})`,
    );
  }
  if (strict) return { ...checkTriggerConfig(config, file), file };
  const { ask, problems } = inspectTriggerConfig(config);
  if (ask === undefined) throw new TriggerConfigError(file, problems);
  return { ...ask, file };
}

function literal(value: unknown, what: string): string {
  if (typeof value !== 'string' || value === '' || value.includes('${')) {
    throw new Error(
      `s.yaml's ${what} is not a literal string any more: teach deploy/spec.ts how s resolves it`,
    );
  }
  return value;
}

/** Everything a deploy with this environment asks FC for (`strict`: the trigger config must pass the check too). */
export function deploymentAsk(env: Env, root = process.cwd(), strict = true): DeploymentAsk {
  const spec: unknown = parse(readFileSync(join(root, 's.yaml'), 'utf8'));
  const resources = isRecord(spec) && isRecord(spec['resources']) ? spec['resources'] : {};
  const resource = resources[RESOURCE];
  const props = isRecord(resource) && isRecord(resource['props']) ? resource['props'] : {};
  const variables = isRecord(props['environmentVariables']) ? props['environmentVariables'] : {};
  const triggers = Array.isArray(props['triggers']) ? props['triggers'] : [];
  const trigger: unknown = triggers[0];
  if (triggers.length !== 1 || !isRecord(trigger)) {
    throw new Error('s.yaml must declare exactly one trigger: deploy/spec.ts checks that one');
  }
  const code = literal(props['code'], 'props.code').replace(/^\.\//, '');
  if (code !== CODE_ZIP) throw new Error(`s.yaml's code is ${code}, but the deploy packages ${CODE_ZIP}`);
  const qualifier = env['FLOW_PREVIEW_TRIGGER_QUALIFIER'];
  return {
    ...targetOf(env),
    runtime: literal(props['runtime'], 'props.runtime'),
    handler: literal(props['handler'], 'props.handler'),
    roleName: setting(env, 'FLOW_PREVIEW_ROLE_NAME', DEFAULTS.roleName),
    environmentNames: Object.keys(variables).sort(),
    codeZip: code,
    trigger: {
      ...readTriggerConfig(env, root, strict),
      name: literal(trigger['triggerName'], 'props.triggers[0].triggerName'),
      qualifier: qualifier === undefined || qualifier === '' ? 'LATEST' : qualifier,
      qualifierChosen: qualifier !== undefined && qualifier !== '',
    },
  };
}
