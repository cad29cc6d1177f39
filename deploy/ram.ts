/**
 * Ensures (or removes) the function's RAM role and its least-privilege policy through the RAM API
 * (`ram.aliyuncs.com`, RPC 2015-05-01, V3 signature via @alicloud/openapi-client). Idempotent: it reads what exists,
 * plans the writes that close the gap, and makes only those. The documents are the JSON files beside this module.
 */
import { OpenApiRequest } from '@alicloud/openapi-client';
import { RuntimeOptions } from '@alicloud/tea-util';
import { openApiClient, rpcParams } from '../shared/cams/openapi.js';
import { type Endpoint, parseEndpoint } from '../shared/config.js';
import permissionPolicyDocument from './ram-permission-policy.json';
import trustPolicy from './ram-trust-policy.json';

export const TRUST_POLICY: unknown = trustPolicy;
export const PERMISSION_POLICY: unknown = permissionPolicyDocument;
/** RAM keeps at most five versions of a custom policy. */
export const MAX_POLICY_VERSIONS = 5;

export interface RamTarget {
  readonly roleName: string;
  readonly policyName: string;
  /** The FC region the function runs in: recorded in the role's description (see `roleRegions`). */
  readonly region?: string;
  /** Set when the function logs to SLS: the one logstore it may write to (`acs:log:…:logstore/…`). */
  readonly logStoreArn?: string;
}

/** What to do about policies on the role other than ours (they let the function do more than documented). */
export type DriftPolicy = 'report' | 'fail' | 'detach';

/** The role's description; the regions it serves follow it (`<this>. Deployed in: ap-southeast-1, cn-hangzhou`). */
export const ROLE_DESCRIPTION = 'Flow Preview function: calls CAMS GetFlowPreviewUrl';
const REGIONS_MARK = '. Deployed in: ';

/**
 * The FC regions a role serves, as the RAM step recorded them in its description when it ensured the role for a
 * deploy: a remove asks FC about functions in one region only, so it deletes the role only when that region is the
 * last one recorded (ram-cli.ts). Undefined when the description records none (a role made before this was kept).
 */
export function roleRegions(description: string): string[] | undefined {
  const at = description.lastIndexOf(REGIONS_MARK);
  if (at < 0) return undefined;
  const regions = description
    .slice(at + REGIONS_MARK.length)
    .split(',')
    .map((region) => region.trim())
    .filter((region) => /^[a-z0-9-]+$/.test(region));
  return regions.length > 0 ? regions : undefined;
}

/** The description that records `regions` (sorted, each once). */
export function roleDescription(regions: readonly string[]): string {
  return `${ROLE_DESCRIPTION}${REGIONS_MARK}${[...new Set(regions)].sort().join(', ')}`;
}

/** The permission policy the role must have: CAMS, and the one logstore when logging is configured. */
export function permissionPolicy(target: RamTarget): unknown {
  if (!target.logStoreArn) return PERMISSION_POLICY;
  const base = PERMISSION_POLICY as { Version: string; Statement: unknown[] };
  return {
    ...base,
    Statement: [
      ...base.Statement,
      { Effect: 'Allow', Action: ['log:PostLogStoreLogs'], Resource: [target.logStoreArn] },
    ],
  };
}

/** `acs:log:<region>:<account>:project/<project>/logstore/<logstore>`: what log:PostLogStoreLogs is granted on. */
export function logStoreArn(region: string, accountId: string, project: string, logstore: string): string {
  return `acs:log:${region}:${accountId}:project/${project}/logstore/${logstore}`;
}

export class RamError extends Error {
  override name = 'RamError';
  readonly code: string;
  readonly status: number;
  readonly action: string;
  constructor(action: string, code: string, status: number, message: string, options?: ErrorOptions) {
    super(message, options);
    this.action = action;
    this.code = code;
    this.status = status;
  }
}

/** The one method the planner needs: an RPC call that returns the JSON body or throws `RamError`. */
export interface RamApi {
  call(action: string, params: Record<string, string>): Promise<Record<string, unknown>>;
}

/** `RAM_ENDPOINT`: the same forms as CAMS_ENDPOINT; RAM's global endpoint by default. */
export function ramEndpoint(raw: string | undefined): Endpoint {
  return parseEndpoint('RAM_ENDPOINT', raw, 'ram.aliyuncs.com');
}

export function createRamApi(
  endpoint: Endpoint,
  credentials: { accessKeyId: string; accessKeySecret: string; securityToken?: string },
): RamApi {
  const client = openApiClient(endpoint, credentials);
  return {
    async call(action, params) {
      const request = rpcParams(action, '2015-05-01');
      try {
        const result: Record<string, unknown> = await client.callApi(
          request,
          new OpenApiRequest({ body: params }),
          new RuntimeOptions({ readTimeout: 10_000, connectTimeout: 5_000 }),
        );
        return (result['body'] ?? {}) as Record<string, unknown>;
      } catch (error) {
        const fields = (typeof error === 'object' && error !== null ? error : {}) as Record<string, unknown>;
        const data = (fields['data'] ?? {}) as Record<string, unknown>;
        const code =
          typeof data['Code'] === 'string'
            ? data['Code']
            : String(fields['code'] ?? fields['name'] ?? 'Unknown');
        const status = Number(fields['statusCode'] ?? data['statusCode'] ?? 0);
        const message =
          typeof data['Message'] === 'string'
            ? data['Message']
            : error instanceof Error
              ? error.message
              : String(error);
        throw new RamError(action, code, status, message, { cause: error });
      }
    },
  };
}

/** What exists now. */
export interface RamState {
  readonly role: { readonly trustDocument: unknown; readonly description: string } | undefined;
  readonly policy:
    | {
        readonly defaultVersion: string;
        readonly defaultDocument: unknown;
        readonly versions: ReadonlyArray<{
          readonly versionId: string;
          readonly isDefault: boolean;
          readonly createDate: string;
        }>;
        /** Roles, users and groups it is attached to (ours included), from GetPolicy's AttachmentCount. */
        readonly attachmentCount: number;
      }
    | undefined;
  readonly attached: boolean;
  /** Other policies attached to the role: drift (the role can do more than documented). */
  readonly otherPolicies: ReadonlyArray<{ readonly type: string; readonly name: string }>;
}

export type RamStep =
  | { readonly action: 'CreateRole'; readonly params: Record<string, string>; readonly why: string }
  | { readonly action: 'UpdateRole'; readonly params: Record<string, string>; readonly why: string }
  | { readonly action: 'CreatePolicy'; readonly params: Record<string, string>; readonly why: string }
  | { readonly action: 'DeletePolicyVersion'; readonly params: Record<string, string>; readonly why: string }
  | { readonly action: 'CreatePolicyVersion'; readonly params: Record<string, string>; readonly why: string }
  | { readonly action: 'AttachPolicyToRole'; readonly params: Record<string, string>; readonly why: string }
  | { readonly action: 'DetachPolicyFromRole'; readonly params: Record<string, string>; readonly why: string }
  | { readonly action: 'DeletePolicy'; readonly params: Record<string, string>; readonly why: string }
  | { readonly action: 'DeleteRole'; readonly params: Record<string, string>; readonly why: string };

/** Reads the role, the policy (default document and versions) and the attachment. Read-only. */
export async function inspect(api: RamApi, target: RamTarget): Promise<RamState> {
  const role = await getOrMissing(
    () => api.call('GetRole', { RoleName: target.roleName }),
    'EntityNotExist.Role',
  );
  const policy = await getOrMissing(
    () => api.call('GetPolicy', { PolicyName: target.policyName, PolicyType: 'Custom' }),
    'EntityNotExist.Policy',
  );
  let versions: NonNullable<RamState['policy']>['versions'] = [];
  if (policy) {
    const listed = await api.call('ListPolicyVersions', {
      PolicyName: target.policyName,
      PolicyType: 'Custom',
    });
    versions = asArray(dig(listed, 'PolicyVersions', 'PolicyVersion')).map((v) => ({
      versionId: String(dig(v, 'VersionId')),
      isDefault: dig(v, 'IsDefaultVersion') === true,
      createDate: String(dig(v, 'CreateDate') ?? ''),
    }));
  }
  const attachedPolicies = role
    ? asArray(dig(await api.call('ListPoliciesForRole', { RoleName: target.roleName }), 'Policies', 'Policy'))
    : [];
  const attached = attachedPolicies.map((p) => ({
    type: String(dig(p, 'PolicyType')),
    name: String(dig(p, 'PolicyName')),
  }));
  const ours = (p: { type: string; name: string }) => p.type === 'Custom' && p.name === target.policyName;
  return {
    role: role
      ? {
          trustDocument: parseDocument(dig(role, 'Role', 'AssumeRolePolicyDocument')),
          description: String(dig(role, 'Role', 'Description') ?? ''),
        }
      : undefined,
    policy: policy
      ? {
          defaultVersion: String(
            dig(policy, 'DefaultPolicyVersion', 'VersionId') ?? dig(policy, 'Policy', 'DefaultVersion'),
          ),
          defaultDocument: parseDocument(dig(policy, 'DefaultPolicyVersion', 'PolicyDocument')),
          versions,
          attachmentCount: Number(dig(policy, 'Policy', 'AttachmentCount') ?? 0),
        }
      : undefined,
    attached: attached.some(ours),
    otherPolicies: attached.filter((p) => !ours(p)),
  };
}

/** The writes that make `state` what the documents say (and, with `detach`, take other policies off). Pure. */
export function planEnsure(state: RamState, target: RamTarget, drift: DriftPolicy = 'report'): RamStep[] {
  const steps: RamStep[] = [];
  const trust = JSON.stringify(TRUST_POLICY);
  const expected = permissionPolicy(target);
  const permission = JSON.stringify(expected);
  if (!state.role) {
    steps.push({
      action: 'CreateRole',
      params: {
        RoleName: target.roleName,
        AssumeRolePolicyDocument: trust,
        Description: target.region ? roleDescription([target.region]) : ROLE_DESCRIPTION,
      },
      why: 'the role does not exist',
    });
  } else {
    const drifted = !sameDocument(state.role.trustDocument, TRUST_POLICY);
    const regions = roleRegions(state.role.description) ?? [];
    const unrecorded = target.region !== undefined && !regions.includes(target.region);
    if (drifted || unrecorded) {
      steps.push({
        action: 'UpdateRole',
        params: {
          RoleName: target.roleName,
          ...(drifted ? { NewAssumeRolePolicyDocument: trust } : {}),
          ...(unrecorded && target.region
            ? { NewDescription: roleDescription([...regions, target.region]) }
            : {}),
        },
        why: [
          ...(drifted ? ['the trust policy drifted from deploy/ram-trust-policy.json'] : []),
          ...(unrecorded ? [`the role's description does not record region ${target.region} yet`] : []),
        ].join('; '),
      });
    }
  }
  if (!state.policy) {
    steps.push({
      action: 'CreatePolicy',
      params: {
        PolicyName: target.policyName,
        PolicyDocument: permission,
        Description: 'Flow Preview: cams:GetFlowPreviewUrl only',
      },
      why: 'the policy does not exist',
    });
  } else if (!sameDocument(state.policy.defaultDocument, expected)) {
    if (state.policy.versions.length >= MAX_POLICY_VERSIONS) {
      const oldest = state.policy.versions
        .filter((v) => !v.isDefault)
        .sort(
          (a, b) =>
            a.createDate.localeCompare(b.createDate) ||
            versionNumber(a.versionId) - versionNumber(b.versionId),
        )[0];
      if (oldest) {
        steps.push({
          action: 'DeletePolicyVersion',
          params: { PolicyName: target.policyName, VersionId: oldest.versionId },
          why: `the policy has ${state.policy.versions.length} versions (the limit is ${MAX_POLICY_VERSIONS}); ${oldest.versionId} is the oldest non-default one`,
        });
      }
    }
    steps.push({
      action: 'CreatePolicyVersion',
      params: { PolicyName: target.policyName, PolicyDocument: permission, SetAsDefault: 'true' },
      why: `the default version ${state.policy.defaultVersion} drifted from ${documentName(target)}`,
    });
  }
  if (!state.attached) {
    steps.push({
      action: 'AttachPolicyToRole',
      params: { PolicyType: 'Custom', PolicyName: target.policyName, RoleName: target.roleName },
      why: 'the policy is not attached to the role',
    });
  }
  if (drift === 'detach') steps.push(...detachOthers(state, target));
  return steps;
}

function detachOthers(state: RamState, target: RamTarget): RamStep[] {
  return state.otherPolicies.map((other) => ({
    action: 'DetachPolicyFromRole' as const,
    params: { PolicyType: other.type, PolicyName: other.name, RoleName: target.roleName },
    why: 'it lets the function do more than documented (drift)',
  }));
}

function documentName(target: RamTarget): string {
  return target.logStoreArn
    ? 'deploy/ram-permission-policy.json plus log:PostLogStoreLogs on the logstore'
    : 'deploy/ram-permission-policy.json';
}

/**
 * The writes that remove what `planEnsure` creates. Other policies on the role are not ours: with `detach` they are
 * detached first; otherwise the caller must stop before any write (`removeBlockedBy`). Pure.
 */
export function planRemove(state: RamState, target: RamTarget, drift: DriftPolicy = 'report'): RamStep[] {
  const steps: RamStep[] = drift === 'detach' && state.role ? detachOthers(state, target) : [];
  if (state.attached) {
    steps.push({
      action: 'DetachPolicyFromRole',
      params: { PolicyType: 'Custom', PolicyName: target.policyName, RoleName: target.roleName },
      why: 'the policy is attached to the role',
    });
  }
  if (state.policy && !usedElsewhere(state)) {
    for (const version of state.policy.versions.filter((v) => !v.isDefault)) {
      steps.push({
        action: 'DeletePolicyVersion',
        params: { PolicyName: target.policyName, VersionId: version.versionId },
        why: 'RAM deletes a policy only once its other versions are gone',
      });
    }
    steps.push({
      action: 'DeletePolicy',
      params: { PolicyName: target.policyName },
      why: 'the policy exists',
    });
  }
  if (state.role)
    steps.push({ action: 'DeleteRole', params: { RoleName: target.roleName }, why: 'the role exists' });
  return steps;
}

/** Runs the steps in order; on a failure, says what was done and what was not. */
export async function apply(
  api: RamApi,
  steps: readonly RamStep[],
  report: (line: string) => void,
): Promise<void> {
  for (const [index, step] of steps.entries()) {
    try {
      await api.call(step.action, step.params);
    } catch (error) {
      const done = steps.slice(0, index).map((s) => s.action);
      const left = steps.slice(index + 1).map((s) => s.action);
      throw new RamError(
        step.action,
        error instanceof RamError ? error.code : 'Unknown',
        error instanceof RamError ? error.status : 0,
        `${step.action} failed: ${explain(error, step)}\n  done before it: ${done.join(', ') || 'nothing'}\n  not done: ${[step.action, ...left].join(', ')}`,
        { cause: error },
      );
    }
    report(`  done: ${step.action} ${describeParams(step.params)} (${step.why})`);
  }
}

/** A clear sentence for the errors a deployer meets. */
export function explain(error: unknown, step?: RamStep): string {
  if (!(error instanceof RamError)) return error instanceof Error ? error.message : String(error);
  const subject = step ? describeParams(step.params) : '';
  if (error.code === 'NoPermission' || error.code.startsWith('Forbidden')) {
    return `the deploying identity may not call ram:${error.action} (${error.code}). Grant it the RAM permissions listed in the README's Deploy section.`;
  }
  if (error.code.startsWith('EntityAlreadyExists')) {
    return `${subject} was created by someone else while this run was working (${error.code}). Nothing after it was changed; run again to check and finish.`;
  }
  if (error.code.startsWith('EntityNotExist')) {
    return `${subject} disappeared while this run was working (${error.code}). Nothing after it was changed; run again.`;
  }
  if (error.code.startsWith('LimitExceeded')) {
    return `RAM refused: ${error.code}. Delete an old version of the policy by hand and run again.`;
  }
  if (error.code.startsWith('DeleteConflict')) {
    return `RAM refused: ${error.code} — something else still uses it (another policy attached to the role, or the role in use).`;
  }
  return `${error.code}: ${error.message}`;
}

function describeParams(params: Record<string, string>): string {
  return Object.entries(params)
    .filter(([key]) => !key.endsWith('Document') && key !== 'Description')
    .map(([key, value]) => `${key}=${value}`)
    .join(' ');
}

export function describeState(state: RamState, target: RamTarget): string[] {
  const expected = permissionPolicy(target);
  return [
    state.role
      ? `  role ${target.roleName}: exists, trust policy ${sameDocument(state.role.trustDocument, TRUST_POLICY) ? 'as documented' : 'DRIFTED'}, ` +
        `deployed in ${roleRegions(state.role.description)?.join(', ') ?? 'no recorded region'}`
      : `  role ${target.roleName}: missing`,
    state.policy
      ? `  policy ${target.policyName}: exists, default ${state.policy.defaultVersion} ${sameDocument(state.policy.defaultDocument, expected) ? 'as documented' : 'DRIFTED'}, ${state.policy.versions.length} version(s)`
      : `  policy ${target.policyName}: missing`,
    `  attachment: ${state.attached ? 'attached' : 'not attached'}`,
    ...(state.otherPolicies.length > 0
      ? [`  DRIFT: other policies on the role, so it can do more than documented: ${describeOthers(state)}`]
      : []),
    ...(usedElsewhere(state)
      ? [`  policy ${target.policyName} is also attached elsewhere: a remove leaves it in place`]
      : []),
  ];
}

/** A policy another role still uses (another deployment sharing the name) stays on remove; only our attachment goes. */
function usedElsewhere(state: RamState): boolean {
  return state.policy !== undefined && state.policy.attachmentCount > (state.attached ? 1 : 0);
}

export function describeOthers(state: RamState): string {
  return state.otherPolicies.map((p) => `${p.type}:${p.name}`).join(', ');
}

/**
 * Waits until RAM shows a role it just created: RAM is eventually consistent, and fc3's CreateFunction does not retry
 * a role it cannot see yet. Bounded: gives up (with a clear error) after `attempts` reads.
 */
export async function waitForRole(
  api: RamApi,
  roleName: string,
  report: (line: string) => void,
  { attempts = 10, delayMs = 1000, sleep = defaultSleep } = {},
): Promise<void> {
  for (let attempt = 1; attempt <= attempts; attempt += 1) {
    const role = await getOrMissing(() => api.call('GetRole', { RoleName: roleName }), 'EntityNotExist.Role');
    if (role) return;
    if (attempt < attempts) {
      report(`  waiting for RAM to show the new role ${roleName} (read ${attempt} of ${attempts})`);
      await sleep(delayMs * Math.min(attempt, 3));
    }
  }
  throw new RamError(
    'GetRole',
    'EntityNotExist.Role',
    404,
    `the new role ${roleName} is still not readable after ${attempts} reads; run the deploy again in a minute`,
  );
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Documents compare by meaning: key order and single-vs-array values do not count. */
export function sameDocument(a: unknown, b: unknown): boolean {
  return JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
}

function canonical(value: unknown): unknown {
  if (Array.isArray(value)) {
    const items = value.map(canonical);
    return items.length === 1 ? items[0] : items;
  }
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(
      Object.entries(value)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([key, item]) => [key, canonical(item)]),
    );
  }
  return value;
}

function parseDocument(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value);
  } catch {
    try {
      return JSON.parse(decodeURIComponent(value));
    } catch {
      return value;
    }
  }
}

async function getOrMissing(read: () => Promise<Record<string, unknown>>, missingCode: string) {
  try {
    return await read();
  } catch (error) {
    if (error instanceof RamError && error.code === missingCode) return undefined;
    throw error;
  }
}

function dig(value: unknown, ...path: string[]): unknown {
  let current = value;
  for (const key of path)
    current =
      typeof current === 'object' && current !== null ? (current as Record<string, unknown>)[key] : undefined;
  return current;
}

function asArray(value: unknown): unknown[] {
  return Array.isArray(value) ? value : value === undefined || value === null ? [] : [value];
}

function versionNumber(versionId: string): number {
  return Number(/\d+/.exec(versionId)?.[0] ?? 0);
}
