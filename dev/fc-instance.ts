/**
 * One simulated FC instance of a deployed code package: the zip unpacked into a temp folder and a child Node process
 * (dev/fc-runtime.cjs) that loaded the handler, with the function's environment variables and the role's keys in
 * `ALIBABA_CLOUD_*` as FC sets them, and nothing of the simulator's own environment. Like a standard FC runtime it
 * serves one invocation at a time and stays warm between them (module state survives); a timeout kills it.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve, sep } from 'node:path';
import type { FcContext } from '../shared/fc/event.js';
import { readZip } from './zip-reader.js';

const RUNTIME = join(__dirname, 'fc-runtime.cjs');

export interface InstanceOptions {
  readonly zip: Buffer;
  readonly handler: string;
  /** The function's environment as FC sets it (its environmentVariables plus FC's own). */
  readonly env: Readonly<Record<string, string>>;
  readonly timeoutS: number;
  /** Extra node flags for the child (tests preload the offline guard). */
  readonly execArgv?: readonly string[];
}

/** What the handler returned: bytes as FC sends them back, or a JSON value (an object the runtime serialises). */
export type InstanceResult =
  | { readonly kind: 'bytes'; readonly body: Buffer }
  | { readonly kind: 'json'; readonly value: unknown }
  | {
      readonly kind: 'error';
      readonly errorType: string;
      readonly error: { errorMessage: string; errorType: string; stackTrace: string[] };
    };

interface Reply {
  readonly id?: number;
  readonly ready?: boolean;
  readonly bytes?: string;
  readonly json?: unknown;
  readonly error?: { errorMessage: string; errorType: string; stackTrace: string[] };
}

export class FcInstance {
  readonly #dir: string;
  readonly #child: ChildProcess;
  readonly #timeoutS: number;
  readonly #ready: Promise<void>;
  #queue: Promise<unknown> = Promise.resolve();
  #nextId = 1;
  #pending = new Map<number, (reply: Reply) => void>();
  #exited = false;
  /** What the function wrote to stdout / stderr (FC sends it to the log; the simulator keeps it). */
  readonly logs: string[] = [];

  constructor(options: InstanceOptions) {
    this.#timeoutS = options.timeoutS;
    this.#dir = mkdtempSync(join(tmpdir(), 'fc-sim-code-'));
    for (const file of readZip(options.zip)) {
      const target = resolve(this.#dir, file.name);
      if (!target.startsWith(this.#dir + sep))
        throw new Error(`zip entry ${file.name} leaves the code folder`);
      mkdirSync(dirname(target), { recursive: true });
      writeFileSync(target, file.data, { mode: file.mode & 0o777 || 0o644 });
    }
    this.#child = fork(RUNTIME, [this.#dir, options.handler], {
      cwd: this.#dir,
      env: { ...options.env },
      execArgv: [...(options.execArgv ?? [])],
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    this.#child.stdout?.on('data', (chunk: Buffer) => this.logs.push(chunk.toString('utf8')));
    this.#child.stderr?.on('data', (chunk: Buffer) => this.logs.push(chunk.toString('utf8')));
    this.#ready = new Promise<void>((resolveReady, reject) => {
      this.#child.once('error', reject);
      this.#child.once('exit', (code) =>
        reject(new Error(`the runtime exited before it was ready (${code})`)),
      );
      this.#child.on('message', (reply: Reply) => {
        if (reply.ready) resolveReady();
        else if (reply.id !== undefined) this.#pending.get(reply.id)?.(reply);
      });
    });
    // A runtime stopped before its first invocation must not surface as an unhandled rejection.
    this.#ready.catch(() => undefined);
    this.#child.on('exit', () => {
      this.#exited = true;
      for (const settle of this.#pending.values())
        settle({ error: { errorMessage: 'the instance exited', errorType: 'Exited', stackTrace: [] } });
    });
  }

  get alive(): boolean {
    return !this.#exited;
  }

  /** Runs one invocation after any still running (one at a time per instance, as FC's standard runtimes do). */
  invoke(event: Buffer, context: FcContext): Promise<InstanceResult> {
    const run = this.#queue.then(() => this.#run(event, context));
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #run(event: Buffer, context: FcContext): Promise<InstanceResult> {
    await this.#ready;
    const id = this.#nextId++;
    const reply = await new Promise<Reply | undefined>((settle) => {
      const timer = setTimeout(() => settle(undefined), this.#timeoutS * 1000);
      this.#pending.set(id, (answer) => {
        clearTimeout(timer);
        settle(answer);
      });
      this.#child.send({ id, event: event.toString('base64'), context });
    });
    this.#pending.delete(id);
    if (reply === undefined) {
      this.stop();
      return {
        kind: 'error',
        errorType: 'FunctionTimeout',
        error: {
          errorMessage: `Function timed out after ${this.#timeoutS} seconds`,
          errorType: 'FunctionTimeout',
          stackTrace: [],
        },
      };
    }
    if (reply.error) return { kind: 'error', errorType: 'UnhandledInvocationError', error: reply.error };
    if (reply.bytes !== undefined) return { kind: 'bytes', body: Buffer.from(reply.bytes, 'base64') };
    return { kind: 'json', value: reply.json ?? null };
  }

  stop(): void {
    if (!this.#exited) this.#child.kill('SIGKILL');
    rmSync(this.#dir, { recursive: true, force: true });
  }
}
