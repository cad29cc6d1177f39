/**
 * A Function Compute 3.0 simulator (loopback) that holds what FC holds for what fc3 0.1.22, the deploy steps and the
 * callers do, with the request paths, methods, bodies and answers of FC's API reference (2023-03-30) and of fc3's
 * source (devsapp/fc3 src/resources/fc/index.ts, src/subCommands/{deploy,remove,version,alias}):
 * - functions: CreateFunction `POST /2023-03-30/functions`, GetFunction `GET …/functions/{name}[?qualifier]`,
 *   UpdateFunction `PUT` (only the fields sent change: fc3 sends explicit empty values to clear one, see its
 *   FC_RESOURCES_EMPTY_CONFIG), DeleteFunction `DELETE`, ListFunctions `GET …/functions?limit&nextToken&prefix`;
 * - the code: FC 2.0 `GET /2016-08-15/tempBucketToken` hands out a temporary bucket and STS keys, the OSS `PUT` keeps
 *   the zip (dev/fc-code-bucket.ts), and Create/UpdateFunction's `code: {ossBucketName, ossObjectName}` (or `zipFile`,
 *   base64) sets `codeChecksum` (CRC-64/ECMA-182 of the zip) and `codeSize`;
 * - triggers: Create/Get/Update/Delete/ListTriggers under `…/functions/{name}/triggers`, `triggerConfig` kept as the
 *   JSON string sent, `httpTrigger.urlInternet` on `<name>-<id>.<region>.fcapp.run`;
 * - versions (PublishFunctionVersion, ListFunctionVersions newest first, DeleteFunctionVersion) and aliases
 *   (Create/Get/Update/Delete/ListAliases, with `additionalVersionWeight`);
 * - InvokeFunction `POST …/functions/{name}/invocations[?qualifier]`: the deployed zip's handler really runs, in a
 *   child process per code package and configuration (dev/fc-instance.ts), with a Buffer event and an FC context;
 *   functions given in `options.functions` run in-process instead. A handler error is HTTP 200 with `x-fc-error-type`.
 * - HTTP trigger traffic: a request whose Host is a trigger's `…fcapp.run` host goes to the qualifier the trigger
 *   serves, behind its auth (`anonymous`; `function`: V3 signature; `jwt` is not simulated and answers 501).
 * - the reads fc3's deploy and remove make besides (async invoke, scaling, concurrency and provision configs, VPC
 *   bindings), all empty, answered with FC's 404 `{Code, Message, RequestId}` or an empty list.
 * FC API calls need a V3 signature (dev/v3-signature.ts) from a known caller. FC's errors are `{Code, Message,
 * RequestId}`. Every call is recorded in `apiCalls`.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { crc64 } from '../deploy/crc64.js';
import type { FcContext, FcCredentials } from '../shared/fc/event.js';
import { CodeBucket, type OssUpload } from './fc-code-bucket.js';
import { FcInstance, type InstanceResult } from './fc-instance.js';
import { LoopbackServer, type ReceivedRequest, receive } from './http-kit.js';
import { toFcEvent } from './local-server.js';
import { parseRequestTarget } from './request-target.js';
import { verify } from './v3-signature.js';
import { readZip } from './zip-reader.js';

/** A function that runs in-process (tests of callers): no code package, its handler given directly. */
export interface SimulatedFunction {
  readonly handler: (event: Buffer, context: FcContext) => Promise<unknown>;
  /** The credentials FC hands the function (its RAM role's STS keys). */
  readonly roleCredentials: FcCredentials;
  readonly timeoutS?: number;
  /** Versions and aliases besides LATEST. */
  readonly qualifiers?: readonly string[];
}

export interface CallerCredential {
  readonly accessKeyId: string;
  readonly accessKeySecret: string;
  readonly securityToken?: string;
  /** The account the key belongs to (FC 2.0's `x-fc-account-id` must name it); default: the simulator's. */
  readonly accountId?: string;
}

export interface FcInvocationRecord {
  readonly functionName: string;
  readonly qualifier: string | undefined;
  readonly accessKeyId: string | undefined;
  readonly invocationType: string | undefined;
  readonly status: number;
  readonly errorType: string | undefined;
}

/** A deployed function's code that ran: which version an invocation or trigger request reached. */
export interface FcExecution {
  readonly functionName: string;
  /** `LATEST` or the version number. */
  readonly version: string;
  /** How it was reached: `invoke` (InvokeFunction) or `trigger:<name>`. */
  readonly via: string;
  readonly qualifier: string;
}

export interface FcApiCall {
  /** When it arrived (ms since the epoch), to order it against other processes' records. */
  readonly at: number;
  readonly action: string;
  readonly functionName: string;
  readonly accessKeyId: string | undefined;
  readonly status: number;
  /** The FC error code when it failed. */
  readonly code?: string;
  /** The qualifier or sub-resource the call named (trigger, version, alias), when any. */
  readonly target?: string;
}

type Json = Record<string, unknown>;

interface TriggerRecord {
  triggerId: string;
  triggerName: string;
  triggerType: string;
  triggerConfig: string;
  qualifier: string;
  description: string;
  invocationRole: string;
  sourceArn: string;
  createdTime: string;
  lastModifiedTime: string;
  httpTrigger?: { urlInternet: string; urlIntranet: string };
}

interface VersionRecord {
  readonly versionId: string;
  readonly description: string;
  readonly createdTime: string;
  /** The function's configuration and code when the version was published. */
  readonly config: Json;
  readonly code: Buffer | undefined;
}

interface AliasRecord {
  aliasName: string;
  versionId: string;
  description: string;
  additionalVersionWeight: Record<string, number>;
  createdTime: string;
  lastModifiedTime: string;
}

class FcFault extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const API = '/2023-03-30';
/** Fields FC computes; never taken from a request body. */
const COMPUTED = new Set([
  'functionId',
  'functionArn',
  'codeChecksum',
  'codeSize',
  'createdTime',
  'lastModifiedTime',
  'state',
  'lastUpdateStatus',
]);

export interface FcSimulatorOptions {
  readonly accountId: string;
  readonly region: string;
  readonly callers: readonly CallerCredential[];
  readonly functions?: Readonly<Record<string, SimulatedFunction>>;
  /** The STS keys FC hands a deployed function for its role (default: fixed simulator keys). */
  readonly roleCredentials?: (role: string) => FcCredentials;
  /** Node flags for deployed functions' runtime processes (tests preload the offline guard). */
  readonly instanceExecArgv?: readonly string[];
  /** Variables added to every runtime process's environment (tests: where the offline guard logs). */
  readonly instanceEnv?: Readonly<Record<string, string>>;
}

export class FcSimulator extends LoopbackServer {
  readonly invocations: FcInvocationRecord[] = [];
  readonly executions: FcExecution[] = [];
  /** Every FC API call (2023-03-30 and the FC 2.0 token), in order. */
  readonly apiCalls: FcApiCall[] = [];
  /** Functions as GetFunction shows them (without the computed `functionArn`), by name. */
  readonly deployed = new Map<string, Json>();
  /** The code zip FC keeps for each function's LATEST. */
  readonly code = new Map<string, Buffer>();
  readonly triggers = new Map<string, Map<string, TriggerRecord>>();
  readonly versions = new Map<string, VersionRecord[]>();
  readonly aliases = new Map<string, Map<string, AliasRecord>>();
  /** FC's temporary code bucket: the token, the OSS PUT, the zips it keeps (dev/fc-code-bucket.ts). */
  readonly bucket: CodeBucket;
  /** AccessKeyIds without any fc: permission. */
  readonly denied = new Set<string>();
  /** Actions answered with this error instead (e.g. DeleteFunction refused), for tests of failure paths. */
  readonly refuse = new Map<string, { readonly status: number; readonly code: string }>();
  /** Picks the version an alias with `additionalVersionWeight` serves (tests make it deterministic). */
  random: () => number = Math.random;
  readonly #instances = new Map<string, FcInstance>();
  #versionCounters = new Map<string, number>();

  constructor(readonly options: FcSimulatorOptions) {
    super();
    this.bucket = new CodeBucket(options);
  }

  /** Every zip uploaded to the temporary code bucket, in order. */
  get uploads(): readonly OssUpload[] {
    return this.bucket.uploads;
  }

  /** What the deployed functions' runtimes printed, for a failing test's message. */
  get logs(): string[] {
    return [...this.#instances.values()].flatMap((instance) => instance.logs);
  }

  override async stop(): Promise<void> {
    for (const instance of this.#instances.values()) instance.stop();
    this.#instances.clear();
    await super.stop();
  }

  protected answerCrash(res: ServerResponse, error: unknown): void {
    this.#send(res, 500, { Code: 'InternalError', Message: String(error), RequestId: requestId() });
  }

  protected async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const received = await receive(req, 32 * 1024 * 1024);
    if (received === undefined) {
      this.#error(res, 413, 'EntityTooLarge', 'payload size exceeds maximum allowed size (33554432 bytes)');
      return;
    }
    const host = (received.headers.get('host') ?? '').toLowerCase();
    if (host.endsWith('.fcapp.run')) return this.#triggerRequest(req, received, res, host);
    if (received.path === '/2016-08-15/tempBucketToken') return this.#tempBucketToken(received, res);
    if (!received.path.startsWith(`${API}/`)) return this.bucket.put(received, res);
    if (/^\/2023-03-30\/functions\/[^/]+\/invocations$/.test(received.path))
      return this.#invoke(received, res);
    return this.#api(received, res);
  }

  // ---- the FC 3.0 API -------------------------------------------------------------------------------------------

  #api(received: ReceivedRequest, res: ServerResponse): void {
    const route = this.#route(received.method, received.path.slice(API.length));
    const verification = this.#verifyCaller(received);
    const accessKeyId = verification.ok ? verification.accessKeyId : undefined;
    const record = (status: number, code?: string): void => {
      this.apiCalls.push({
        at: Date.now(),
        action: route?.action ?? `${received.method} ${received.path}`,
        functionName: route?.functionName ?? '',
        accessKeyId,
        status,
        ...(code ? { code } : {}),
        ...(route?.target ? { target: route.target } : {}),
      });
    };
    try {
      if (!verification.ok) throw new FcFault(verification.status, verification.code, verification.message);
      if (route === undefined) {
        throw new FcFault(404, 'PathNotFound', `${received.method} ${received.path} is not an FC API`);
      }
      if (this.denied.has(verification.accessKeyId)) {
        throw new FcFault(
          403,
          'AccessDenied',
          `The caller is not authorized to perform fc:${route.action} on ${route.functionName || 'this account'}.`,
        );
      }
      const refusal = this.refuse.get(route.action);
      if (refusal) throw new FcFault(refusal.status, refusal.code, `${route.action} refused (scripted)`);
      const [status, body] = route.run(parseJson(received.body), received.url.searchParams);
      record(status);
      this.#send(res, status, body);
    } catch (error) {
      if (!(error instanceof FcFault)) throw error;
      record(error.status, error.code);
      this.#error(res, error.status, error.code, error.message);
    }
  }

  #verifyCaller(received: ReceivedRequest) {
    const verification = verify(received, {
      secretOf: (id) => this.options.callers.find((c) => c.accessKeyId === id)?.accessKeySecret,
      now: Date.now(),
      maxSkewMs: 15 * 60_000,
    });
    if (!verification.ok) {
      return { ...verification, status: verification.status === 404 ? 403 : verification.status };
    }
    const caller = this.options.callers.find((c) => c.accessKeyId === verification.accessKeyId);
    if (
      caller?.securityToken !== undefined &&
      received.headers.get('x-acs-security-token') !== caller.securityToken
    ) {
      return {
        ok: false as const,
        status: 403,
        code: 'InvalidSecurityToken',
        message: 'The security token is invalid for this access key.',
      };
    }
    return verification;
  }

  #route(
    method: string,
    path: string,
  ):
    | {
        action: string;
        functionName: string;
        target?: string;
        run: (body: Json, query: URLSearchParams) => [number, unknown];
      }
    | undefined {
    const parts = path.split('/').slice(1).map(decodeURIComponent);
    const [top, name = '', sub, item] = parts;
    const route = (
      action: string,
      run: (body: Json, query: URLSearchParams) => [number, unknown],
      target?: string,
    ) => ({ action, functionName: name, run, ...(target ? { target } : {}) });
    if (top === 'async-invoke-configs' && parts.length === 1 && method === 'GET')
      return route('ListAsyncInvokeConfigs', () => [200, { configs: [] }]);
    if (top === 'scaling-configs' && parts.length === 1 && method === 'GET')
      return route('ListScalingConfigs', () => [200, { scalingConfigs: [] }]);
    if (top === 'provision-configs' && parts.length === 1 && method === 'GET')
      return route('ListProvisionConfigs', () => [200, { provisionConfigs: [] }]);
    if (top !== 'functions') return undefined;
    if (parts.length === 1) {
      if (method === 'POST') return route('CreateFunction', (body) => this.#createFunction(body));
      if (method === 'GET') return route('ListFunctions', (_, query) => [200, this.#list(query)]);
      return undefined;
    }
    if (parts.length === 2) {
      if (method === 'GET')
        return route('GetFunction', (_, query) => [200, this.#getFunction(name, query.get('qualifier'))]);
      if (method === 'PUT') return route('UpdateFunction', (body) => [200, this.#updateFunction(name, body)]);
      if (method === 'DELETE') return route('DeleteFunction', () => this.#deleteFunction(name));
      return undefined;
    }
    if (sub === 'triggers') {
      if (item === undefined && method === 'POST')
        return route('CreateTrigger', (body) => [200, this.#createTrigger(name, body)]);
      if (item === undefined && method === 'GET')
        return route('ListTriggers', () => [
          200,
          { triggers: [...this.#triggersOf(name).values()].map(triggerView) },
        ]);
      if (item !== undefined && method === 'GET')
        return route('GetTrigger', () => [200, triggerView(this.#trigger(name, item))], item);
      if (item !== undefined && method === 'PUT')
        return route('UpdateTrigger', (body) => [200, this.#updateTrigger(name, item, body)], item);
      if (item !== undefined && method === 'DELETE')
        return route(
          'DeleteTrigger',
          () => {
            this.#trigger(name, item);
            this.#triggersOf(name).delete(item);
            return [204, undefined];
          },
          item,
        );
      return undefined;
    }
    if (sub === 'versions') {
      if (item === undefined && method === 'POST')
        return route('PublishFunctionVersion', (body) => [200, this.#publishVersion(name, body)]);
      if (item === undefined && method === 'GET')
        return route('ListFunctionVersions', (_, query) => [200, this.#listVersions(name, query)]);
      if (item !== undefined && method === 'DELETE')
        return route('DeleteFunctionVersion', () => this.#deleteVersion(name, item), item);
      return undefined;
    }
    if (sub === 'aliases') {
      if (item === undefined && method === 'POST')
        return route('CreateAlias', (body) => [200, this.#createAlias(name, body)]);
      if (item === undefined && method === 'GET')
        return route('ListAliases', () => {
          this.#function(name);
          return [200, { aliases: [...(this.aliases.get(name)?.values() ?? [])].map(aliasView) }];
        });
      if (item !== undefined && method === 'GET')
        return route('GetAlias', () => [200, aliasView(this.#alias(name, item))], item);
      if (item !== undefined && method === 'PUT')
        return route('UpdateAlias', (body) => [200, this.#updateAlias(name, item, body)], item);
      if (item !== undefined && method === 'DELETE')
        return route(
          'DeleteAlias',
          () => {
            this.#alias(name, item);
            this.aliases.get(name)?.delete(item);
            return [204, undefined];
          },
          item,
        );
      return undefined;
    }
    // Configurations this simulator never holds: fc3 reads each one and takes FC's 404 (or an empty list) as none.
    const none = (action: string, code: string, what: string) =>
      route(action, (_, query) => {
        this.#function(name);
        throw new FcFault(
          404,
          code,
          `${what} for ${name}:${query.get('qualifier') ?? 'LATEST'} does not exist.`,
        );
      });
    if (sub === 'async-invoke-config' && method === 'GET')
      return none('GetAsyncInvokeConfig', 'AsyncConfigNotExists', 'AsyncConfig');
    if (sub === 'scaling-config' && method === 'GET')
      return none('GetScalingConfig', 'ScalingConfigNotFound', 'ScalingConfig');
    if (sub === 'provision-config' && method === 'GET')
      return none('GetProvisionConfig', 'ProvisionConfigNotFound', 'ProvisionConfig');
    if (sub === 'concurrency' && method === 'GET')
      return none('GetConcurrencyConfig', 'ConcurrencyConfigNotFound', 'ConcurrencyConfig');
    if (sub === 'vpc-bindings' && method === 'GET')
      return route('ListVpcBindings', () => {
        this.#function(name);
        return [200, { vpcIds: [] }];
      });
    return undefined;
  }

  #function(name: string): Json {
    const fn = this.deployed.get(name);
    if (fn === undefined && !(name in (this.options.functions ?? {}))) {
      throw new FcFault(404, 'FunctionNotFound', `function '${name}' does not exist`);
    }
    return fn ?? { functionName: name };
  }

  #arn(name: string, qualifier?: string): string {
    const base = `acs:fc:${this.options.region}:${this.options.accountId}:functions/${name}`;
    return qualifier && qualifier !== 'LATEST' ? `${base}/${qualifier}` : base;
  }

  #functionView(name: string, config: Json, qualifier?: string): Json {
    return { ...config, functionName: name, functionArn: this.#arn(name, qualifier) };
  }

  /** The zip a Create/UpdateFunction `code` names: an object in a temp code bucket, or an inline base64 zip. */
  #codeOf(body: Json): Buffer | undefined {
    const code = body['code'];
    if (code === undefined || code === null) return undefined;
    if (!isJson(code)) throw new FcFault(400, 'InvalidArgument', 'code must be an object');
    if (typeof code['zipFile'] === 'string') return Buffer.from(code['zipFile'], 'base64');
    const bucket = code['ossBucketName'];
    const object = code['ossObjectName'];
    if (typeof bucket !== 'string' || typeof object !== 'string') {
      throw new FcFault(400, 'InvalidArgument', 'code needs zipFile, or ossBucketName and ossObjectName');
    }
    const zip = this.bucket.objects.get(`${bucket}/${object}`);
    if (zip === undefined) {
      throw new FcFault(400, 'InvalidArgument', `the OSS object ${bucket}/${object} does not exist`);
    }
    return zip;
  }

  #setCode(name: string, config: Json, zip: Buffer): void {
    try {
      readZip(zip);
    } catch (error) {
      throw new FcFault(400, 'InvalidArgument', `code is not a valid zip file: ${String(error)}`);
    }
    this.code.set(name, zip);
    config['codeChecksum'] = crc64(zip);
    config['codeSize'] = zip.length;
  }

  #createFunction(body: Json): [number, unknown] {
    const name = body['functionName'];
    if (typeof name !== 'string' || !/^[A-Za-z_][A-Za-z0-9_-]{0,127}$/.test(name)) {
      throw new FcFault(400, 'InvalidArgument', 'functionName is required and must be a valid name');
    }
    if (this.deployed.has(name) || name in (this.options.functions ?? {})) {
      throw new FcFault(409, 'FunctionAlreadyExists', `function '${name}' already exists`);
    }
    for (const field of ['runtime', 'handler'] as const) {
      if (typeof body[field] !== 'string' || body[field] === '')
        throw new FcFault(400, 'InvalidArgument', `${field} is required`);
    }
    const zip = this.#codeOf(body);
    if (zip === undefined) throw new FcFault(400, 'InvalidArgument', 'code is required');
    const now = timestamp();
    const config: Json = {
      ...withoutComputed(body),
      functionId: randomUUID(),
      createdTime: now,
      lastModifiedTime: now,
      state: 'Active',
      lastUpdateStatus: 'Successful',
    };
    delete config['code'];
    this.#setCode(name, config, zip);
    this.deployed.set(name, config);
    return [200, this.#functionView(name, config)];
  }

  #getFunction(name: string, qualifier: string | null): Json {
    const fn = this.#function(name);
    if (qualifier === null || qualifier === '' || qualifier === 'LATEST') return this.#functionView(name, fn);
    const version = this.#resolve(name, qualifier);
    return this.#functionView(name, version.config, qualifier);
  }

  #updateFunction(name: string, body: Json): Json {
    const fn = this.deployed.get(name);
    if (fn === undefined) throw new FcFault(404, 'FunctionNotFound', `function '${name}' does not exist`);
    const zip = this.#codeOf(body);
    const changes = withoutComputed(body);
    delete changes['code'];
    delete changes['functionName'];
    Object.assign(fn, changes, { lastModifiedTime: timestamp(), lastUpdateStatus: 'Successful' });
    if (zip !== undefined) this.#setCode(name, fn, zip);
    this.#retire(name, 'LATEST');
    return this.#functionView(name, fn);
  }

  #deleteFunction(name: string): [number, unknown] {
    if (!this.deployed.delete(name)) {
      throw new FcFault(404, 'FunctionNotFound', `function '${name}' does not exist`);
    }
    // What FC does with triggers, versions or aliases left behind is not documented; fc3 deletes them first.
    this.code.delete(name);
    this.triggers.delete(name);
    this.versions.delete(name);
    this.aliases.delete(name);
    this.#retire(name);
    return [204, undefined];
  }

  /** One page of ListFunctions, by name: `limit` (FC: at most 100, default 20), `prefix`, `nextToken`. */
  #list(query: URLSearchParams): Json {
    const limit = Math.min(Number(query.get('limit') ?? 20) || 20, 100);
    const prefix = query.get('prefix') ?? '';
    const from = query.get('nextToken') ?? '';
    const names = [...new Set([...this.deployed.keys(), ...Object.keys(this.options.functions ?? {})])]
      .filter((name) => name.startsWith(prefix) && name >= from)
      .sort();
    const page = names.slice(0, limit).map((name) => this.#functionView(name, this.deployed.get(name) ?? {}));
    const next = names[limit];
    return next === undefined ? { functions: page } : { functions: page, nextToken: next };
  }

  // ---- triggers ---------------------------------------------------------------------------------------------------

  #triggersOf(name: string): Map<string, TriggerRecord> {
    this.#function(name);
    let triggers = this.triggers.get(name);
    if (triggers === undefined) {
      triggers = new Map();
      this.triggers.set(name, triggers);
    }
    return triggers;
  }

  #trigger(name: string, triggerName: string): TriggerRecord {
    const trigger = this.#triggersOf(name).get(triggerName);
    if (trigger === undefined) {
      throw new FcFault(
        404,
        'TriggerNotFound',
        `trigger '${triggerName}' does not exist in function '${name}'`,
      );
    }
    return trigger;
  }

  /** The trigger's config must be a JSON string; an HTTP trigger's auth type must be one FC knows. */
  #checkTriggerConfig(type: string, config: unknown): string {
    if (typeof config !== 'string')
      throw new FcFault(400, 'InvalidArgument', 'triggerConfig must be a string');
    const parsed = parseJson(Buffer.from(config));
    if (type === 'http') {
      if (!['anonymous', 'function', 'jwt'].includes(String(parsed['authType']))) {
        throw new FcFault(
          400,
          'InvalidArgument',
          'http triggerConfig.authType must be anonymous, function or jwt',
        );
      }
      if (!Array.isArray(parsed['methods']) || parsed['methods'].length === 0) {
        throw new FcFault(400, 'InvalidArgument', 'http triggerConfig.methods must be a non-empty array');
      }
    }
    return config;
  }

  #checkQualifier(name: string, qualifier: unknown): string {
    const value = typeof qualifier === 'string' && qualifier !== '' ? qualifier : 'LATEST';
    if (value !== 'LATEST') this.#resolve(name, value);
    return value;
  }

  #createTrigger(name: string, body: Json): Json {
    const triggers = this.#triggersOf(name);
    const triggerName = body['triggerName'];
    const triggerType = body['triggerType'];
    if (typeof triggerName !== 'string' || triggerName === '' || typeof triggerType !== 'string') {
      throw new FcFault(400, 'InvalidArgument', 'triggerName and triggerType are required');
    }
    if (triggers.has(triggerName)) {
      throw new FcFault(409, 'TriggerAlreadyExists', `trigger '${triggerName}' already exists`);
    }
    const now = timestamp();
    const id = randomBytes(5).toString('hex');
    const host = `${name.toLowerCase()}-${id}.${this.options.region}.fcapp.run`;
    const trigger: TriggerRecord = {
      triggerId: randomUUID(),
      triggerName,
      triggerType,
      triggerConfig: this.#checkTriggerConfig(triggerType, body['triggerConfig']),
      qualifier: this.#checkQualifier(name, body['qualifier']),
      description: typeof body['description'] === 'string' ? body['description'] : '',
      invocationRole: typeof body['invocationRole'] === 'string' ? body['invocationRole'] : '',
      sourceArn: typeof body['sourceArn'] === 'string' ? body['sourceArn'] : '',
      createdTime: now,
      lastModifiedTime: now,
      ...(triggerType === 'http'
        ? {
            httpTrigger: {
              urlInternet: `https://${host}`,
              urlIntranet: `https://${name.toLowerCase()}-${id}.${this.options.region}-vpc.fcapp.run`,
            },
          }
        : {}),
    };
    triggers.set(triggerName, trigger);
    return triggerView(trigger);
  }

  #updateTrigger(name: string, triggerName: string, body: Json): Json {
    const trigger = this.#trigger(name, triggerName);
    if (body['triggerConfig'] !== undefined) {
      trigger.triggerConfig = this.#checkTriggerConfig(trigger.triggerType, body['triggerConfig']);
    }
    if (body['qualifier'] !== undefined) trigger.qualifier = this.#checkQualifier(name, body['qualifier']);
    if (typeof body['description'] === 'string') trigger.description = body['description'];
    if (typeof body['invocationRole'] === 'string') trigger.invocationRole = body['invocationRole'];
    trigger.lastModifiedTime = timestamp();
    return triggerView(trigger);
  }

  // ---- versions and aliases ---------------------------------------------------------------------------------------

  #publishVersion(name: string, body: Json): Json {
    const fn = this.deployed.get(name);
    if (fn === undefined) throw new FcFault(404, 'FunctionNotFound', `function '${name}' does not exist`);
    const next = (this.#versionCounters.get(name) ?? 0) + 1;
    this.#versionCounters.set(name, next);
    const version: VersionRecord = {
      versionId: String(next),
      description: typeof body['description'] === 'string' ? body['description'] : '',
      createdTime: timestamp(),
      config: structuredClone(fn),
      code: this.code.get(name),
    };
    const list = this.versions.get(name) ?? [];
    list.push(version);
    this.versions.set(name, list);
    return versionView(version);
  }

  /** Newest first unless `direction=FORWARD` (fc3's getVersionLatest takes `limit=1` and the first as the latest). */
  #listVersions(name: string, query: URLSearchParams): Json {
    this.#function(name);
    const forward = query.get('direction') === 'FORWARD';
    const all = [...(this.versions.get(name) ?? [])].sort((a, b) =>
      forward ? Number(a.versionId) - Number(b.versionId) : Number(b.versionId) - Number(a.versionId),
    );
    const limit = Math.min(Number(query.get('limit') ?? 20) || 20, 100);
    const from = query.get('nextToken');
    const start =
      from === null
        ? 0
        : Math.max(
            0,
            all.findIndex((v) => v.versionId === from),
          );
    const page = all.slice(start, start + limit);
    const next = all[start + limit];
    return {
      versions: page.map(versionView),
      direction: forward ? 'FORWARD' : 'BACKWARD',
      ...(next ? { nextToken: next.versionId } : {}),
    };
  }

  #deleteVersion(name: string, versionId: string): [number, unknown] {
    this.#function(name);
    const list = this.versions.get(name) ?? [];
    if (!list.some((v) => v.versionId === versionId)) {
      throw new FcFault(
        404,
        'VersionNotFound',
        `version '${versionId}' of function '${name}' does not exist`,
      );
    }
    this.versions.set(
      name,
      list.filter((v) => v.versionId !== versionId),
    );
    this.#retire(name, versionId);
    return [204, undefined];
  }

  #version(name: string, versionId: string): VersionRecord {
    const version = (this.versions.get(name) ?? []).find((v) => v.versionId === versionId);
    if (version === undefined) {
      throw new FcFault(
        404,
        'VersionNotFound',
        `version '${versionId}' of function '${name}' does not exist`,
      );
    }
    return version;
  }

  #alias(name: string, aliasName: string): AliasRecord {
    this.#function(name);
    const alias = this.aliases.get(name)?.get(aliasName);
    if (alias === undefined) {
      throw new FcFault(404, 'AliasNotFound', `alias '${aliasName}' of function '${name}' does not exist`);
    }
    return alias;
  }

  /** `additionalVersionWeight`: other versions (never the main one, FC's AdditionalVersionContainsMajorVersion) at 0–1. */
  #weights(name: string, main: string, value: unknown): Record<string, number> {
    if (value === undefined || value === null) return {};
    if (!isJson(value))
      throw new FcFault(400, 'InvalidArgument', 'additionalVersionWeight must be an object');
    const weights: Record<string, number> = {};
    for (const [versionId, weight] of Object.entries(value)) {
      if (versionId === main) {
        throw new FcFault(
          400,
          'AdditionalVersionContainsMajorVersion',
          `additionalVersionWeight ${JSON.stringify(value)} should not contain major version ${main}`,
        );
      }
      this.#version(name, versionId);
      if (typeof weight !== 'number' || !(weight >= 0 && weight <= 1)) {
        throw new FcFault(
          400,
          'InvalidArgument',
          `the weight of version ${versionId} must be between 0 and 1`,
        );
      }
      weights[versionId] = weight;
    }
    return weights;
  }

  #createAlias(name: string, body: Json): Json {
    this.#function(name);
    const aliasName = body['aliasName'];
    const versionId = String(body['versionId'] ?? '');
    if (typeof aliasName !== 'string' || aliasName === '') {
      throw new FcFault(400, 'InvalidArgument', 'aliasName is required');
    }
    const aliases = this.aliases.get(name) ?? new Map<string, AliasRecord>();
    if (aliases.has(aliasName)) {
      throw new FcFault(
        409,
        'AliasAlreadyExists',
        `alias '${aliasName}' of function '${name}' already exists`,
      );
    }
    this.#version(name, versionId);
    const now = timestamp();
    const alias: AliasRecord = {
      aliasName,
      versionId,
      description: typeof body['description'] === 'string' ? body['description'] : '',
      additionalVersionWeight: this.#weights(name, versionId, body['additionalVersionWeight']),
      createdTime: now,
      lastModifiedTime: now,
    };
    aliases.set(aliasName, alias);
    this.aliases.set(name, aliases);
    return aliasView(alias);
  }

  #updateAlias(name: string, aliasName: string, body: Json): Json {
    const alias = this.#alias(name, aliasName);
    const versionId = body['versionId'] === undefined ? alias.versionId : String(body['versionId']);
    this.#version(name, versionId);
    const weights =
      body['additionalVersionWeight'] === undefined
        ? alias.additionalVersionWeight
        : this.#weights(name, versionId, body['additionalVersionWeight']);
    if (versionId in weights) {
      throw new FcFault(
        400,
        'AdditionalVersionContainsMajorVersion',
        `additionalVersionWeight should not contain major version ${versionId}`,
      );
    }
    alias.versionId = versionId;
    alias.additionalVersionWeight = weights;
    if (typeof body['description'] === 'string') alias.description = body['description'];
    alias.lastModifiedTime = timestamp();
    return aliasView(alias);
  }

  /** The version a qualifier reaches: a version number, or an alias (its weights drawn with `random`). */
  #resolve(name: string, qualifier: string): VersionRecord {
    if (/^\d+$/.test(qualifier)) return this.#version(name, qualifier);
    const alias = this.#alias(name, qualifier);
    let draw = this.random();
    for (const [versionId, weight] of Object.entries(alias.additionalVersionWeight)) {
      if (draw < weight) return this.#version(name, versionId);
      draw -= weight;
    }
    return this.#version(name, alias.versionId);
  }

  // ---- running code -----------------------------------------------------------------------------------------------

  /** Stops the instances of a function (or one version of it) whose code or configuration changed. */
  #retire(name: string, version?: string): void {
    for (const [key, instance] of this.#instances) {
      if (key.startsWith(`${name}\u0000${version === undefined ? '' : `${version}\u0000`}`)) {
        instance.stop();
        this.#instances.delete(key);
      }
    }
  }

  /** Runs a deployed function's code at `qualifier`; `undefined` when the function was given in-process. */
  #execute(
    name: string,
    qualifier: string,
    via: string,
    event: Buffer,
    requestIdValue: string,
  ): Promise<InstanceResult> | undefined {
    const fn = this.deployed.get(name);
    if (fn === undefined) return undefined;
    const version = qualifier === 'LATEST' ? undefined : this.#resolve(name, qualifier);
    const config = version?.config ?? fn;
    const zip = version ? version.code : this.code.get(name);
    if (zip === undefined) throw new FcFault(412, 'CodeNotFound', `function '${name}' has no code`);
    const versionId = version?.versionId ?? 'LATEST';
    this.executions.push({ functionName: name, version: versionId, via, qualifier });
    const timeoutS = typeof config['timeout'] === 'number' ? config['timeout'] : 3;
    const memory = typeof config['memorySize'] === 'number' ? config['memorySize'] : 512;
    const handler = typeof config['handler'] === 'string' ? config['handler'] : 'index.handler';
    const role = typeof config['role'] === 'string' ? config['role'] : '';
    const credentials = this.#roleCredentials(role);
    const key = `${name}\u0000${versionId}\u0000${String(config['codeChecksum'])}\u0000${String(config['lastModifiedTime'])}`;
    let instance = this.#instances.get(key);
    if (instance === undefined || !instance.alive) {
      const variables = isJson(config['environmentVariables']) ? config['environmentVariables'] : {};
      instance = new FcInstance({
        zip,
        handler,
        timeoutS,
        execArgv: this.options.instanceExecArgv ?? [],
        env: {
          ...this.options.instanceEnv,
          ...Object.fromEntries(Object.entries(variables).map(([k, v]) => [k, String(v)])),
          ALIBABA_CLOUD_ACCESS_KEY_ID: credentials.accessKeyId ?? '',
          ALIBABA_CLOUD_ACCESS_KEY_SECRET: credentials.accessKeySecret ?? '',
          ALIBABA_CLOUD_SECURITY_TOKEN: credentials.securityToken ?? '',
        },
      });
      this.#instances.set(key, instance);
    }
    return instance.invoke(event, {
      requestId: requestIdValue,
      region: this.options.region,
      accountId: this.options.accountId,
      credentials,
      function: { name, handler, memory, timeout: timeoutS },
    });
  }

  #roleCredentials(role: string): FcCredentials {
    return (
      this.options.roleCredentials?.(role) ?? {
        accessKeyId: 'STS.FcSimulatorRoleKey',
        accessKeySecret: 'fc-simulator-role-secret',
        securityToken: 'fc-simulator-role-token',
      }
    );
  }

  async #invoke(received: ReceivedRequest, res: ServerResponse): Promise<void> {
    const { url, headers, body } = received;
    const functionName = decodeURIComponent(
      /^\/2023-03-30\/functions\/([^/]+)\//.exec(url.pathname)?.[1] ?? '',
    );
    const qualifier = url.searchParams.get('qualifier') ?? undefined;
    const record = (status: number, errorType?: string): void => {
      this.invocations.push({
        functionName,
        qualifier,
        accessKeyId:
          headers.get('x-acs-accesskey-id') ??
          /Credential=([^,]+)/.exec(headers.get('authorization') ?? '')?.[1],
        invocationType: headers.get('x-fc-invocation-type'),
        status,
        errorType,
      });
    };
    const fail = (status: number, code: string, message: string): void => {
      record(status);
      this.#error(res, status, code, message);
    };
    if (received.method !== 'POST') return fail(405, 'MethodNotAllowed', 'InvokeFunction is POST');
    const verification = this.#verifyCaller(received);
    if (!verification.ok) return fail(verification.status, verification.code, verification.message);
    if (headers.get('x-acs-action') !== 'InvokeFunction' || headers.get('x-acs-version') !== '2023-03-30') {
      return fail(400, 'InvalidAction', 'Expected action InvokeFunction, version 2023-03-30.');
    }
    if (this.denied.has(verification.accessKeyId)) {
      return fail(
        403,
        'AccessDenied',
        `The caller is not authorized to perform fc:InvokeFunction on function ${functionName}.`,
      );
    }
    const id = requestId();
    let result: InstanceResult;
    try {
      const deployed = this.#execute(functionName, qualifier ?? 'LATEST', 'invoke', body, id);
      result = deployed ? await deployed : await this.#runInProcess(functionName, qualifier, body, id);
    } catch (error) {
      if (error instanceof FcFault) return fail(error.status, error.code, error.message);
      throw error;
    }
    if (result.kind === 'error') {
      record(200, result.errorType);
      res.writeHead(200, {
        'content-type': 'application/json',
        'x-fc-request-id': id,
        'x-fc-error-type': result.errorType,
      });
      res.end(JSON.stringify(result.error));
      return;
    }
    record(200);
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'x-fc-request-id': id });
    res.end(result.kind === 'bytes' ? result.body : JSON.stringify(result.value));
  }

  async #runInProcess(
    functionName: string,
    qualifier: string | undefined,
    body: Buffer,
    id: string,
  ): Promise<InstanceResult> {
    const fn = this.options.functions?.[functionName];
    if (!fn) throw new FcFault(404, 'FunctionNotFound', `function '${functionName}' does not exist`);
    if (qualifier !== undefined && qualifier !== 'LATEST' && !fn.qualifiers?.includes(qualifier)) {
      throw new FcFault(404, 'AliasNotFound', `qualifier '${qualifier}' does not exist`);
    }
    const context: FcContext = {
      requestId: id,
      region: this.options.region,
      accountId: this.options.accountId,
      credentials: fn.roleCredentials,
      function: { name: functionName, handler: 'index.handler', memory: 128, timeout: fn.timeoutS ?? 10 },
    };
    try {
      const value = await fn.handler(body, context);
      return typeof value === 'string' || Buffer.isBuffer(value)
        ? { kind: 'bytes', body: Buffer.from(value) }
        : { kind: 'json', value: value ?? null };
    } catch (error) {
      return {
        kind: 'error',
        errorType: 'UnhandledInvocationError',
        error: {
          errorMessage: error instanceof Error ? error.message : String(error),
          errorType: error instanceof Error ? error.name : 'Error',
          stackTrace: error instanceof Error ? (error.stack ?? '').split('\n').slice(1) : [],
        },
      };
    }
  }

  /** A request on an HTTP trigger's host: the trigger's auth, then the function at the trigger's qualifier. */
  async #triggerRequest(
    req: IncomingMessage,
    received: ReceivedRequest,
    res: ServerResponse,
    host: string,
  ): Promise<void> {
    const found = [...this.triggers.entries()]
      .flatMap(([name, triggers]) => [...triggers.values()].map((trigger) => ({ name, trigger })))
      .find(({ trigger }) => trigger.httpTrigger?.urlInternet === `https://${host}`);
    if (found === undefined)
      return this.#error(res, 404, 'TriggerNotFound', `no HTTP trigger serves ${host}`);
    const config = parseJson(Buffer.from(found.trigger.triggerConfig));
    const methods = Array.isArray(config['methods']) ? config['methods'].map(String) : [];
    if (!methods.includes(received.method)) {
      return this.#error(res, 405, 'MethodNotAllowed', `${received.method} is not allowed on this trigger`);
    }
    const target = parseRequestTarget(req.url ?? '/');
    if (target === undefined) return this.#error(res, 400, 'InvalidArgument', 'bad request target');
    if (config['authType'] === 'jwt') {
      return this.#error(res, 501, 'NotImplemented', 'the FC simulator does not check JWT triggers');
    }
    if (config['authType'] === 'function') {
      const verification = verify(
        { ...received, path: target.rawPath, query: target.queryPairs },
        {
          secretOf: (id) => this.options.callers.find((c) => c.accessKeyId === id)?.accessKeySecret,
          now: Date.now(),
          maxSkewMs: 15 * 60_000,
          requiredSigned: ['x-acs-date'],
        },
      );
      if (!verification.ok) return this.#error(res, 403, verification.code, verification.message);
    }
    const id = requestId();
    const event = Buffer.from(JSON.stringify(toFcEvent(req, target, received.body, id)));
    let result: InstanceResult;
    try {
      const running = this.#execute(
        found.name,
        found.trigger.qualifier,
        `trigger:${found.trigger.triggerName}`,
        event,
        id,
      );
      if (running === undefined) return this.#error(res, 404, 'FunctionNotFound', 'no deployed code');
      result = await running;
    } catch (error) {
      if (error instanceof FcFault) return this.#error(res, error.status, error.code, error.message);
      throw error;
    }
    if (result.kind !== 'json' || !isJson(result.value)) {
      return this.#error(res, 502, 'BadResponse', 'the function did not return an HTTP response object');
    }
    const response = result.value;
    const headers = isJson(response['headers']) ? response['headers'] : {};
    const bodyText = typeof response['body'] === 'string' ? response['body'] : '';
    res.writeHead(typeof response['statusCode'] === 'number' ? response['statusCode'] : 200, {
      ...(Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, String(v)])) as Record<
        string,
        string
      >),
      'x-fc-request-id': id,
    });
    res.end(response['isBase64Encoded'] === true ? Buffer.from(bodyText, 'base64') : bodyText);
  }

  /** FC 2.0 `GET /2016-08-15/tempBucketToken` (dev/fc-code-bucket.ts), recorded with the FC API calls. */
  #tempBucketToken(received: ReceivedRequest, res: ServerResponse): void {
    const { status, body, accessKeyId, code } = this.bucket.token(received, (id) => this.denied.has(id));
    this.apiCalls.push({
      at: Date.now(),
      action: 'GetTempBucketToken',
      functionName: '',
      accessKeyId,
      status,
      ...(code ? { code } : {}),
    });
    this.#send(res, status, body);
  }

  // ---- answers ----------------------------------------------------------------------------------------------------

  #send(res: ServerResponse, status: number, body: unknown): void {
    if (res.headersSent) return;
    const id = requestId();
    res.writeHead(status, { 'content-type': 'application/json', 'x-fc-request-id': id });
    res.end(status === 204 || body === undefined ? undefined : JSON.stringify(body));
  }

  #error(res: ServerResponse, status: number, code: string, message: string): void {
    this.#send(res, status, { Code: code, Message: message, RequestId: requestId() });
  }
}

function requestId(): string {
  return `1-${randomBytes(4).toString('hex')}-${randomBytes(12).toString('hex')}`;
}

function timestamp(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function isJson(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function parseJson(body: Buffer): Json {
  if (body.length === 0) return {};
  try {
    const value: unknown = JSON.parse(body.toString('utf8'));
    if (isJson(value)) return value;
  } catch {
    // falls through
  }
  throw new FcFault(400, 'InvalidArgument', 'the request body is not a JSON object');
}

function withoutComputed(body: Json): Json {
  return Object.fromEntries(Object.entries(body).filter(([key]) => !COMPUTED.has(key)));
}

/** A trigger as GetTrigger shows it; empty optional fields left out, as fc3's plan drops nulls. */
function triggerView(trigger: TriggerRecord): Json {
  return Object.fromEntries(Object.entries(trigger).filter(([, value]) => value !== ''));
}

function versionView(version: VersionRecord): Json {
  return {
    versionId: version.versionId,
    description: version.description,
    createdTime: version.createdTime,
    lastModifiedTime: version.createdTime,
  };
}

function aliasView(alias: AliasRecord): Json {
  return { ...alias };
}
