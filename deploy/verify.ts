/**
 * After every deploy (s.yaml's `success-deploy` action, or `npm run deploy:verify`): ask FC what it now holds and
 * compare it with what was asked, then invoke the deployed code once.
 * - Read-back: GetFunction (runtime, handler, role, the environment variable names — never values —, `codeChecksum`
 *   against the CRC-64 of the zip this deploy packaged) and GetTrigger (type, auth type, methods, qualifier, and for
 *   jwt the key ids and token lookup). fc3 0.1.22 can exit 0 without writing the trigger (a jwt authConfig it will
 *   not send): this is where such a skip shows.
 * - Smoke: FC InvokeFunction (LATEST) with the direct-invocation payload `{"flowId": ""}`, through the project's own
 *   caller module (client/). The function must load, read its configuration and answer in its JSON contract with
 *   `400 InvalidFlowId` (README "Direct invocation": a missing or bad id is refused before CAMS is called), so
 *   the smoke touches neither CAMS nor a cache. Anything else — the code failing to load, `ConfigInvalid`, an FC
 *   refusal — fails the deploy, naming what came back.
 * - With FLOW_PREVIEW_SMOKE_FLOW_ID set (and FLOW_PREVIEW_SMOKE_CUST_SPACE_ID when the flow is in a sub-customer's
 *   space): one real preview request with `refresh: true`, so CAMS is asked even when a link is cached; CAMS's
 *   `Ram.PermissionDeny` means the role lacks cams:GetFlowPreviewUrl.
 */
import {
  FlowPreviewError,
  type FlowPreviewRequest,
  FunctionComputeError,
  invokeFlowPreview,
} from '../client/index.js';
import type { Credentials, Endpoint } from '../shared/config.js';
import { isRecord } from '../shared/is-record.js';
import type { FcApi } from './fc.js';
import type { DeploymentAsk } from './spec.js';
import { tokenLookupString } from './trigger-config.js';

export interface Held {
  readonly fn: Record<string, unknown>;
  /** Undefined when FC has no such trigger. */
  readonly trigger: Record<string, unknown> | undefined;
}

/** Reads what FC holds for the function (LATEST) and its trigger. */
export async function readBack(api: FcApi, ask: DeploymentAsk): Promise<Held> {
  const fn = await api.getFunction(ask.functionName);
  let trigger: Record<string, unknown> | undefined;
  try {
    trigger = await api.getTrigger(ask.functionName, ask.trigger.name);
  } catch (error) {
    if (!(isRecord(error) && error['code'] === 'TriggerNotFound')) throw error;
  }
  return { fn, trigger };
}

export interface CompareOptions {
  /** The CRC-64 of the zip this deploy packaged. */
  readonly codeChecksum: string;
  /** The deployer's account, for the role's full ARN; without it only the role name is compared. */
  readonly accountId?: string | undefined;
  /** Whether to compare the trigger's qualifier (a release moves it on purpose). */
  readonly qualifier?: boolean;
}

/** Every way FC's answer differs from the ask, one line each; empty when it holds what was asked. */
export function differences(ask: DeploymentAsk, held: Held, options: CompareOptions): string[] {
  const found: string[] = [];
  const differ = (what: string, asked: unknown, holds: unknown) => {
    if (JSON.stringify(asked) !== JSON.stringify(holds)) {
      found.push(`${what}: asked ${show(asked)}, FC holds ${show(holds)}`);
    }
  };
  const { fn, trigger } = held;
  differ('runtime', ask.runtime, fn['runtime']);
  differ('handler', ask.handler, fn['handler']);
  const role = typeof fn['role'] === 'string' ? fn['role'] : '';
  const wantedRole = options.accountId
    ? `acs:ram::${options.accountId}:role/${ask.roleName}`.toLowerCase()
    : `:role/${ask.roleName}`.toLowerCase();
  if (!(options.accountId ? role.toLowerCase() === wantedRole : role.toLowerCase().endsWith(wantedRole))) {
    found.push(
      `role: asked ${ask.roleName}${options.accountId ? ` (${wantedRole})` : ''}, FC holds ${show(role)}`,
    );
  }
  const names = Object.keys(isRecord(fn['environmentVariables']) ? fn['environmentVariables'] : {}).sort();
  const missing = ask.environmentNames.filter((name) => !names.includes(name));
  const extra = names.filter((name) => !ask.environmentNames.includes(name));
  if (missing.length > 0) found.push(`environment variables missing on FC: ${missing.join(', ')}`);
  if (extra.length > 0)
    found.push(`environment variables on FC that s.yaml does not set: ${extra.join(', ')}`);
  // FC reports codeChecksum for every code package; an FC that reports none cannot be compared (verify says so).
  if (fn['codeChecksum'] !== undefined) {
    differ(`codeChecksum (CRC-64 of ${ask.codeZip})`, options.codeChecksum, fn['codeChecksum']);
  }
  if (trigger === undefined) {
    found.push(`trigger ${ask.trigger.name}: asked for one, FC has none`);
    return found;
  }
  const name = `trigger ${ask.trigger.name}`;
  if (trigger['triggerType'] !== undefined) differ(`${name} type`, 'http', trigger['triggerType']);
  const config = parseConfig(trigger['triggerConfig']);
  differ(`${name} authType`, ask.trigger.authType, config['authType']);
  differ(`${name} methods`, [...ask.trigger.methods].sort(), sortedStrings(config['methods']));
  if (options.qualifier !== false)
    differ(`${name} qualifier`, ask.trigger.qualifier, trigger['qualifier'] ?? 'LATEST');
  if (ask.trigger.jwt) {
    const auth = isRecord(config['authConfig']) ? config['authConfig'] : {};
    const jwks = isRecord(auth['jwks']) ? auth['jwks'] : {};
    const kids = (Array.isArray(jwks['keys']) ? jwks['keys'] : [])
      .map((key: unknown) => (isRecord(key) ? key['kid'] : undefined))
      .map(String)
      .sort();
    differ(`${name} jwt key ids`, [...ask.trigger.jwt.keyIds].sort(), kids);
    let lookup: string;
    try {
      lookup = tokenLookupString(auth['tokenLookup']);
    } catch {
      lookup = String(auth['tokenLookup']);
    }
    differ(`${name} jwt tokenLookup`, ask.trigger.jwt.tokenLookup, lookup);
  }
  return found;
}

function parseConfig(value: unknown): Record<string, unknown> {
  if (isRecord(value)) return value;
  if (typeof value !== 'string') return {};
  try {
    const parsed: unknown = JSON.parse(value);
    return isRecord(parsed) ? parsed : {};
  } catch {
    return {};
  }
}

function sortedStrings(value: unknown): string[] | unknown {
  return Array.isArray(value) ? value.map(String).sort() : value;
}

function show(value: unknown): string {
  return value === undefined ? 'nothing' : JSON.stringify(value);
}

export interface InvokeTarget {
  readonly endpoint: Endpoint;
  readonly credentials: Credentials;
  readonly region: string;
  readonly accountId: string;
  readonly functionName: string;
  /** LATEST, a version or an alias. */
  readonly qualifier: string;
}

/** The smoke payload: contract-neutral, refused by the function's validation before CAMS is called. */
export const SMOKE_REQUEST: FlowPreviewRequest = { flowId: '' };
export const SMOKE_ANSWER = { status: 400, code: 'InvalidFlowId' } as const;

function invokeOptions(target: InvokeTarget) {
  const { endpoint } = target;
  return {
    credentials: target.credentials,
    region: target.region,
    accountId: target.accountId,
    functionName: target.functionName,
    qualifier: target.qualifier,
    endpoint: `${endpoint.protocol === 'HTTP' ? 'http' : 'https'}://${endpoint.host}`,
  };
}

/** Invokes the function with the smoke payload; returns a line for the report, or throws naming what came back. */
export async function smoke(target: InvokeTarget): Promise<string> {
  const where = `${target.functionName} (${target.qualifier})`;
  try {
    await invokeFlowPreview(SMOKE_REQUEST, invokeOptions(target));
  } catch (error) {
    if (
      error instanceof FlowPreviewError &&
      error.status === SMOKE_ANSWER.status &&
      error.code === SMOKE_ANSWER.code
    ) {
      return `smoke: ${where} loaded and answered ${error.status} ${error.code} to an empty flow id, as its contract says (CAMS not called)`;
    }
    throw new Error(`smoke invocation of ${where} failed: ${describe(error)}`, { cause: error });
  }
  throw new Error(
    `smoke invocation of ${where} failed: it answered a preview to an empty flow id instead of ${SMOKE_ANSWER.status} ${SMOKE_ANSWER.code}`,
  );
}

/** One real preview through CAMS (refresh: true, so CAMS is asked); a refusal fails with what it means. */
export async function previewSmoke(
  target: InvokeTarget,
  flowId: string,
  custSpaceId: string | undefined,
  roleName: string,
): Promise<string> {
  const where = `${target.functionName} (${target.qualifier})`;
  try {
    const preview = await invokeFlowPreview(
      { flowId, refresh: true, ...(custSpaceId ? { custSpaceId } : {}) },
      invokeOptions(target),
    );
    return `preview smoke: ${where} got a preview link for flow ${flowId} from CAMS (expires ${preview.expiresAt})`;
  } catch (error) {
    if (error instanceof FlowPreviewError && error.code === 'Ram.PermissionDeny') {
      throw new Error(
        `preview smoke for flow ${flowId}: CAMS refused the function's role (Ram.PermissionDeny): the role ` +
          `${roleName} may not call cams:GetFlowPreviewUrl. Check that the RAM step attached its policy ` +
          '(npm run ram:plan) and that nothing denies it; the deploy is not usable until this passes.',
        { cause: error },
      );
    }
    throw new Error(`preview smoke for flow ${flowId} through ${where} failed: ${describe(error)}`, {
      cause: error,
    });
  }
}

function describe(error: unknown): string {
  if (error instanceof FlowPreviewError)
    return `the function answered ${error.status} ${error.code} (${error.message})`;
  if (error instanceof FunctionComputeError) return `${error.kind} ${error.code}: ${error.message}`;
  return error instanceof Error ? error.message : String(error);
}
