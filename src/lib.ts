// tsrun as a library: the CLI's verbs as methods over one state root, for Node programs that run
// containers in-process. Errors are TsrunError with the CLI's stable codes.
//
// A container created here is a child of this Node process (the init is cloned with
// CLONE_PARENT): it inherits this process's stdio unless `stdio` names files, and its exit status
// must be collected with `wait` (or `run`), or it stays a zombie until this process exits.
import { closeSync, openSync } from 'node:fs';
import { TsrunError } from './errors.ts';
import { defaultRoot, openRuntime, type Runtime } from './runtime/context.ts';
import { create } from './runtime/create.ts';
import { deleteContainer } from './runtime/delete.ts';
import { kill } from './runtime/kill.ts';
import { list } from './runtime/list.ts';
import { pause, resume } from './runtime/pause.ts';
import { parseSignal } from './runtime/signals.ts';
import { start } from './runtime/start.ts';
import { state, type ContainerState } from './runtime/state.ts';
import type { StdioFds } from './shim/index.ts';
import { validateId } from './state/id.ts';

export { TsrunError, isTsrunError, type ErrorCode } from './errors.ts';
export type { ContainerState } from './runtime/state.ts';
export type { Spec } from './spec/types.ts';
export { defaultConfig } from './spec/default-config.ts';
export { validateConfig } from './spec/validate.ts';

export interface CreateOptions {
  /** the bundle directory holding config.json */
  bundle: string;
  /** files for the container's stdin, stdout and stderr (default: this process's own) */
  stdio?: { stdin?: string; stdout?: string; stderr?: string };
  consoleSocket?: string;
  pidFile?: string;
  noPivot?: boolean;
}

export interface ExitStatus {
  exitCode: number | null;
  signal: number | null;
}

export class Containers {
  private readonly rt: Runtime;

  constructor(options: { root?: string } = {}) {
    this.rt = openRuntime(options.root ?? defaultRoot());
  }

  get root(): string {
    return this.rt.root;
  }

  /** Creates the container and leaves its init waiting for `start`. */
  async create(id: string, options: CreateOptions): Promise<ContainerState> {
    const opened = openStdio(options.stdio);
    try {
      const stdio = opened.map((fd) => fd ?? 'inherit') as StdioFds;
      const record = await create(this.rt, { id, bundle: options.bundle, consoleSocket: options.consoleSocket, pidFile: options.pidFile, noPivot: options.noPivot, stdio });
      return state(this.rt, record.id);
    } finally {
      opened.forEach((fd) => fd !== undefined && closeSync(fd));
    }
  }

  start(id: string): Promise<void> {
    return start(this.rt, validateId(id));
  }

  state(id: string): ContainerState {
    return state(this.rt, validateId(id));
  }

  list(): ContainerState[] {
    return list(this.rt);
  }

  /** Sends a signal (a name such as 'SIGTERM' or 'TERM', or a number) to the init, or with `all` to every process. */
  kill(id: string, signal: string | number = 'SIGTERM', options: { all?: boolean } = {}): Promise<void> {
    return kill(this.rt, id, parseSignal(String(signal)), options.all === true);
  }

  pause(id: string): Promise<void> {
    return pause(this.rt, id);
  }

  resume(id: string): Promise<void> {
    return resume(this.rt, id);
  }

  delete(id: string, options: { force?: boolean } = {}): Promise<void> {
    return deleteContainer(this.rt, id, options.force === true);
  }

  /** Waits for the init of a container this process created to exit. */
  async wait(id: string): Promise<ExitStatus> {
    const { pid } = this.rt.store.read(validateId(id));
    const { waitForExit } = await import('./shim/index.ts');
    return waitForExit(pid);
  }

  /** create + start + wait + delete: the container's exit status. */
  async run(id: string, options: CreateOptions): Promise<ExitStatus> {
    await this.create(id, options);
    try {
      await this.start(id);
      return await this.wait(id);
    } finally {
      await this.delete(id, { force: true });
    }
  }
}

function openStdio(stdio: CreateOptions['stdio'] = {}): (number | undefined)[] {
  const fds: (number | undefined)[] = [];
  try {
    fds.push(stdio.stdin === undefined ? undefined : openSync(stdio.stdin, 'r'));
    fds.push(stdio.stdout === undefined ? undefined : openSync(stdio.stdout, 'a'));
    fds.push(stdio.stderr === undefined ? undefined : openSync(stdio.stderr, 'a'));
    return fds;
  } catch (err) {
    fds.forEach((fd) => fd !== undefined && closeSync(fd));
    throw new TsrunError('ERR_USAGE', `stdio: ${(err as Error).message}`);
  }
}
