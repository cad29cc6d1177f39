/**
 * A RAM API simulator (loopback): RPC version 2015-05-01 with the V3 signature verified (dev/v3-signature.ts),
 * in-memory roles, custom policies with versions (at most five), attachments, and RAM's documented error codes.
 * Records every call so tests can count writes; `deny` and `before` script NoPermission and races.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { LoopbackServer, receive } from './http-kit.js';
import { verify } from './v3-signature.js';

export const RAM_WRITE_ACTIONS = new Set([
  'CreateRole',
  'UpdateRole',
  'DeleteRole',
  'CreatePolicy',
  'CreatePolicyVersion',
  'DeletePolicyVersion',
  'DeletePolicy',
  'AttachPolicyToRole',
  'DetachPolicyFromRole',
]);

interface Role {
  name: string;
  trust: string;
  description: string;
  createDate: string;
}
interface PolicyVersion {
  id: string;
  document: string;
  isDefault: boolean;
  createDate: string;
}
interface Policy {
  name: string;
  description: string;
  versions: PolicyVersion[];
  nextVersion: number;
  createDate: string;
}

export interface RamCall {
  /** When the call arrived (ms since the epoch), to order it against other processes' records. */
  readonly at: number;
  /** The AccessKeyId that signed it (verified), or undefined when the signature was refused. */
  readonly accessKeyId: string | undefined;
  readonly action: string;
  readonly params: Readonly<Record<string, string>>;
  readonly status: number;
  readonly code: string;
}

class RamFault extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export class RamSimulator extends LoopbackServer {
  readonly calls: RamCall[] = [];
  readonly roles = new Map<string, Role>();
  readonly policies = new Map<string, Policy>();
  /** `${roleName}\u0000${policyType}:${policyName}` */
  readonly attachments = new Set<string>();
  /** Actions answered with NoPermission. */
  readonly deny = new Set<string>();
  /** Runs before an action is carried out: lets a test change the world under the client (a race). */
  before: ((action: string, params: Record<string, string>) => void) | undefined;
  /** RAM is eventually consistent: a role created through the API stays unreadable for this many GetRole calls. */
  roleReadLag = 0;
  readonly #hiddenReads = new Map<string, number>();
  #credentials: Map<string, string>;
  #clock = Date.parse('2026-01-01T00:00:00Z');

  constructor(credentials: ReadonlyArray<{ accessKeyId: string; accessKeySecret: string }>) {
    super();
    this.#credentials = new Map(credentials.map((c) => [c.accessKeyId, c.accessKeySecret]));
  }

  protected answerCrash(res: ServerResponse, error: unknown): void {
    this.#send(res, 500, 'InternalError', String(error), {});
  }

  /** Calls that changed (or tried to change) something. */
  get writes(): RamCall[] {
    return this.calls.filter((call) => RAM_WRITE_ACTIONS.has(call.action));
  }

  /** Puts a custom policy in place directly, e.g. a drifted or a five-version one. */
  seedPolicy(name: string, documents: readonly string[], defaultIndex = documents.length - 1): void {
    const policy: Policy = { name, description: '', versions: [], nextVersion: 1, createDate: this.#now() };
    for (const [index, document] of documents.entries()) {
      policy.versions.push({
        id: `v${policy.nextVersion++}`,
        document,
        isDefault: index === defaultIndex,
        createDate: this.#now(),
      });
    }
    this.policies.set(name, policy);
  }

  seedRole(name: string, trust: string, description = ''): void {
    this.roles.set(name, { name, trust, description, createDate: this.#now() });
  }

  #now(): string {
    this.#clock += 1000;
    return new Date(this.#clock).toISOString().replace(/\.\d{3}Z$/, 'Z');
  }

  protected async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const received = await receive(req);
    if (received === undefined) throw new Error('request body too large');
    const { url, headers, body } = received;
    const params: Record<string, string> = {
      ...Object.fromEntries(url.searchParams),
      ...Object.fromEntries(new URLSearchParams(body.toString('utf8'))),
    };
    const action = headers.get('x-acs-action') ?? '';
    const verification = verify(received, {
      secretOf: (id) => this.#credentials.get(id),
      now: Date.now(),
      maxSkewMs: 15 * 60_000,
    });
    const at = Date.now();
    const accessKeyId = verification.ok ? verification.accessKeyId : undefined;
    const fail = (status: number, code: string, message: string): void => {
      this.calls.push({ at, accessKeyId, action, params, status, code });
      this.#send(res, status, code, message, {});
    };
    if (!verification.ok) return fail(verification.status, verification.code, verification.message);
    if (headers.get('x-acs-version') !== '2015-05-01')
      return fail(400, 'InvalidVersion', 'Specified version is not valid.');
    if (this.deny.has(action)) {
      return fail(403, 'NoPermission', `You are not authorized to do this action. Action: ram:${action}`);
    }
    try {
      this.before?.(action, params);
      const result = this.#act(action, params);
      this.calls.push({ at, accessKeyId, action, params, status: 200, code: 'OK' });
      res.writeHead(200, { 'content-type': 'application/json;charset=utf-8' });
      res.end(JSON.stringify({ RequestId: randomUUID().toUpperCase(), ...result }));
    } catch (error) {
      if (error instanceof RamFault) return fail(error.status, error.code, error.message);
      throw error;
    }
  }

  #act(action: string, p: Record<string, string>): Record<string, unknown> {
    const need = (name: string): string => {
      const value = p[name];
      if (!value)
        throw new RamFault(400, `MissingParameter.${name}`, `${name} is mandatory for this action.`);
      return value;
    };
    const role = (name: string): Role => {
      const found = this.roles.get(name);
      if (!found) throw new RamFault(404, 'EntityNotExist.Role', `The role not exists: ${name}.`);
      return found;
    };
    const policy = (name: string): Policy => {
      const found = this.policies.get(name);
      if (!found) throw new RamFault(404, 'EntityNotExist.Policy', `The policy not exists: ${name}.`);
      return found;
    };
    const json = (name: string): string => {
      const value = need(name);
      try {
        JSON.parse(value);
      } catch {
        throw new RamFault(400, 'MalformedPolicyDocument', `${name} is not valid JSON.`);
      }
      return value;
    };
    const roleView = (r: Role) => ({
      RoleName: r.name,
      RoleId: `3${r.name.length}000000000000000`,
      Arn: `acs:ram::1234567890123456:role/${r.name.toLowerCase()}`,
      Description: r.description,
      AssumeRolePolicyDocument: r.trust,
      CreateDate: r.createDate,
      MaxSessionDuration: 3600,
    });
    const defaultVersion = (pol: Policy): PolicyVersion =>
      pol.versions.find((v) => v.isDefault) as PolicyVersion;
    const policyView = (pol: Policy) => ({
      PolicyName: pol.name,
      PolicyType: 'Custom',
      Description: pol.description,
      DefaultVersion: defaultVersion(pol).id,
      CreateDate: pol.createDate,
      AttachmentCount: [...this.attachments].filter((a) => a.endsWith(`\u0000Custom:${pol.name}`)).length,
    });
    const versionView = (v: PolicyVersion) => ({
      VersionId: v.id,
      IsDefaultVersion: v.isDefault,
      PolicyDocument: v.document,
      CreateDate: v.createDate,
    });
    switch (action) {
      case 'GetRole': {
        const name = need('RoleName');
        const hidden = this.#hiddenReads.get(name) ?? 0;
        if (hidden > 0) {
          this.#hiddenReads.set(name, hidden - 1);
          throw new RamFault(404, 'EntityNotExist.Role', `The role not exists: ${name}.`);
        }
        return { Role: roleView(role(name)) };
      }
      case 'CreateRole': {
        const name = need('RoleName');
        if (this.roles.has(name))
          throw new RamFault(409, 'EntityAlreadyExists.Role', `The role already exists: ${name}.`);
        this.roles.set(name, {
          name,
          trust: json('AssumeRolePolicyDocument'),
          description: p['Description'] ?? '',
          createDate: this.#now(),
        });
        this.#hiddenReads.set(name, this.roleReadLag);
        return { Role: roleView(role(name)) };
      }
      case 'UpdateRole': {
        // Every field but RoleName is optional (RAM API reference, UpdateRole): only those given change.
        const r = role(need('RoleName'));
        if (p['NewAssumeRolePolicyDocument'] !== undefined) r.trust = json('NewAssumeRolePolicyDocument');
        if (p['NewDescription'] !== undefined) r.description = p['NewDescription'];
        return { Role: roleView(r) };
      }
      case 'DeleteRole': {
        const name = need('RoleName');
        role(name);
        if ([...this.attachments].some((a) => a.startsWith(`${name}\u0000`))) {
          throw new RamFault(409, 'DeleteConflict.Role.Policy', 'The role still has policies attached.');
        }
        this.roles.delete(name);
        return {};
      }
      case 'GetPolicy': {
        const pol = policy(need('PolicyName'));
        return { Policy: policyView(pol), DefaultPolicyVersion: versionView(defaultVersion(pol)) };
      }
      case 'CreatePolicy': {
        const name = need('PolicyName');
        if (this.policies.has(name))
          throw new RamFault(409, 'EntityAlreadyExists.Policy', `The policy already exists: ${name}.`);
        this.seedPolicy(name, [json('PolicyDocument')]);
        const pol = policy(name);
        pol.description = p['Description'] ?? '';
        return { Policy: policyView(pol) };
      }
      case 'ListPolicyVersions':
        return { PolicyVersions: { PolicyVersion: policy(need('PolicyName')).versions.map(versionView) } };
      case 'CreatePolicyVersion': {
        const pol = policy(need('PolicyName'));
        const document = json('PolicyDocument');
        if (pol.versions.length >= 5) {
          throw new RamFault(
            409,
            'LimitExceeded.Policy.Version',
            'The number of policy versions exceeds the limit of 5.',
          );
        }
        const setDefault = p['SetAsDefault'] === 'true';
        if (setDefault) for (const v of pol.versions) v.isDefault = false;
        const version = {
          id: `v${pol.nextVersion++}`,
          document,
          isDefault: setDefault,
          createDate: this.#now(),
        };
        pol.versions.push(version);
        return { PolicyVersion: versionView(version) };
      }
      case 'DeletePolicyVersion': {
        const pol = policy(need('PolicyName'));
        const id = need('VersionId');
        const version = pol.versions.find((v) => v.id === id);
        if (!version)
          throw new RamFault(404, 'EntityNotExist.Policy.Version', `The policy version not exists: ${id}.`);
        if (version.isDefault)
          throw new RamFault(
            409,
            'DeleteConflict.Policy.Version.Default',
            'The default version cannot be deleted.',
          );
        pol.versions = pol.versions.filter((v) => v !== version);
        return {};
      }
      case 'DeletePolicy': {
        const name = need('PolicyName');
        const pol = policy(name);
        if ([...this.attachments].some((a) => a.endsWith(`\u0000Custom:${name}`))) {
          throw new RamFault(409, 'DeleteConflict.Policy.Group', 'The policy is still attached.');
        }
        if (pol.versions.length > 1)
          throw new RamFault(409, 'DeleteConflict.Policy.Version', 'The policy has non-default versions.');
        this.policies.delete(name);
        return {};
      }
      case 'ListPoliciesForRole': {
        const name = need('RoleName');
        role(name);
        const attached = [...this.attachments]
          .filter((a) => a.startsWith(`${name}\u0000`))
          .map((a) => {
            const [type, policyName] = (a.split('\u0000')[1] ?? '').split(':');
            return { PolicyName: policyName, PolicyType: type };
          });
        return { Policies: { Policy: attached } };
      }
      case 'AttachPolicyToRole': {
        const name = need('RoleName');
        const type = need('PolicyType');
        const policyName = need('PolicyName');
        role(name);
        if (type === 'Custom') policy(policyName);
        const key = `${name}\u0000${type}:${policyName}`;
        if (this.attachments.has(key))
          throw new RamFault(409, 'EntityAlreadyExists.Role.Policy', 'The policy is already attached.');
        this.attachments.add(key);
        return {};
      }
      case 'DetachPolicyFromRole': {
        const key = `${need('RoleName')}\u0000${need('PolicyType')}:${need('PolicyName')}`;
        if (!this.attachments.delete(key))
          throw new RamFault(404, 'EntityNotExist.Role.Policy', 'The policy is not attached.');
        return {};
      }
      default:
        throw new RamFault(404, 'InvalidAction.NotFound', `Specified api is not found: ${action}.`);
    }
  }

  #send(
    res: ServerResponse,
    status: number,
    code: string,
    message: string,
    extra: Record<string, string>,
  ): void {
    res.writeHead(status, { 'content-type': 'application/json;charset=utf-8', ...extra });
    res.end(
      JSON.stringify({
        RequestId: randomUUID().toUpperCase(),
        HostId: 'ram.aliyuncs.com',
        Code: code,
        Message: message,
      }),
    );
  }
}
