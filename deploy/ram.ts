/**
 * Ensures (or removes) the function's RAM role and its least-privilege policy through the RAM API
 * (`ram.aliyuncs.com`, RPC 2015-05-01, V3 signature via @alicloud/openapi-client). Idempotent: it reads what exists,
 * plans the writes that close the gap, and makes only those. The documents are the JSON files beside this module.
 */
import { OpenApiRequest } from '@alicloud/openapi-client';
import { RuntimeOptions } from '@alicloud/tea-util';
import { openApiClient, rpcParams } from '../shared/cams/openapi.js';
import { type Endpoint, parseEndpoint } from '../shared/config.js';
import permissionPolicy from './ram-permission-policy.json';
import trustPolicy from './ram-trust-policy.json';

export const TRUST_POLICY: unknown = trustPolicy;
export const PERMISSION_POLICY: unknown = permissionPolicy;
/** RAM keeps at most five versions of a custom policy. */
export const MAX_POLICY_VERSIONS = 5;

export interface RamTarget {
  readonly roleName: string;
  readonly policyName: string;
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
  readonly role: { readonly trustDocument: unknown } | undefined;
  readonly policy:
    | {
        readonly defaultVersion: string;
        readonly defaultDocument: unknown;
        readonly versions: ReadonlyArray<{
          readonly versionId: string;
          readonly isDefault: boolean;
          readonly createDate: string;
        }>;
      }
    | undefined;
  readonly attached: boolean;
  /** Other policies attached to the role (reported, never touched). */
  readonly otherPolicies: readonly string[];
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
  const names = attachedPolicies.map(
    (p) => `${String(dig(p, 'PolicyType'))}:${String(dig(p, 'PolicyName'))}`,
  );
  return {
    role: role ? { trustDocument: parseDocument(dig(role, 'Role', 'AssumeRolePolicyDocument')) } : undefined,
    policy: policy
      ? {
          defaultVersion: String(
            dig(policy, 'DefaultPolicyVersion', 'VersionId') ?? dig(policy, 'Policy', 'DefaultVersion'),
          ),
          defaultDocument: parseDocument(dig(policy, 'DefaultPolicyVersion', 'PolicyDocument')),
          versions,
        }
      : undefined,
    attached: names.includes(`Custom:${target.policyName}`),
    otherPolicies: names.filter((name) => name !== `Custom:${target.policyName}`),
  };
}

/** The writes that make `state` what the documents say. Pure. */
export function planEnsure(state: RamState, target: RamTarget): RamStep[] {
  const steps: RamStep[] = [];
  const trust = JSON.stringify(TRUST_POLICY);
  const permission = JSON.stringify(PERMISSION_POLICY);
  if (!state.role) {
    steps.push({
      action: 'CreateRole',
      params: {
        RoleName: target.roleName,
        AssumeRolePolicyDocument: trust,
        Description: 'Flow Preview function: calls CAMS GetFlowPreviewUrl',
      },
      why: 'the role does not exist',
    });
  } else if (!sameDocument(state.role.trustDocument, TRUST_POLICY)) {
    steps.push({
      action: 'UpdateRole',
      params: { RoleName: target.roleName, NewAssumeRolePolicyDocument: trust },
      why: 'the trust policy drifted from deploy/ram-trust-policy.json',
    });
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
  } else if (!sameDocument(state.policy.defaultDocument, PERMISSION_POLICY)) {
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
      why: `the default version ${state.policy.defaultVersion} drifted from deploy/ram-permission-policy.json`,
    });
  }
  if (!state.attached) {
    steps.push({
      action: 'AttachPolicyToRole',
      params: { PolicyType: 'Custom', PolicyName: target.policyName, RoleName: target.roleName },
      why: 'the policy is not attached to the role',
    });
  }
  return steps;
}

/** The writes that remove what `planEnsure` creates, and nothing else. Pure. */
export function planRemove(state: RamState, target: RamTarget): RamStep[] {
  const steps: RamStep[] = [];
  if (state.attached) {
    steps.push({
      action: 'DetachPolicyFromRole',
      params: { PolicyType: 'Custom', PolicyName: target.policyName, RoleName: target.roleName },
      why: 'the policy is attached to the role',
    });
  }
  if (state.policy) {
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
  return [
    state.role
      ? `  role ${target.roleName}: exists, trust policy ${sameDocument(state.role.trustDocument, TRUST_POLICY) ? 'as documented' : 'DRIFTED'}`
      : `  role ${target.roleName}: missing`,
    state.policy
      ? `  policy ${target.policyName}: exists, default ${state.policy.defaultVersion} ${sameDocument(state.policy.defaultDocument, PERMISSION_POLICY) ? 'as documented' : 'DRIFTED'}, ${state.policy.versions.length} version(s)`
      : `  policy ${target.policyName}: missing`,
    `  attachment: ${state.attached ? 'attached' : 'not attached'}`,
    ...(state.otherPolicies.length > 0
      ? [`  other policies on the role (left alone): ${state.otherPolicies.join(', ')}`]
      : []),
  ];
}

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
