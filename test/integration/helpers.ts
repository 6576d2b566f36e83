// Shared by the integration tests: every test gets its own state root, bundle and container ids,
// drives the real bin/tsrun, and checks that the host is left clean.
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, openSync, closeSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const TSRUN = join(REPO, 'bin', 'tsrun');
export const DEFAULT_BUNDLE = join(REPO, 'bundles', 'default');
export const DEFAULT_ROOTFS = join(DEFAULT_BUNDLE, 'rootfs');

/** The environment tsrun runs with: NODE_EXTRA_CA_CERTS only slows Node down. */
export function tsrunEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = { ...process.env, ...extra };
  delete env.NODE_EXTRA_CA_CERTS;
  return env;
}

let counter = 0;
export function uniqueId(prefix = 't'): string {
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${counter++}`;
}

export interface Config {
  [key: string]: any;
}

export function defaultConfig(): Config {
  return JSON.parse(readFileSync(join(DEFAULT_BUNDLE, 'config.json'), 'utf8'));
}

/** A scratch area for one test: a state root and a directory for bundles and files. */
export class Sandbox {
  readonly dir = mkdtempSync(join(tmpdir(), 'tsrun-test-'));
  readonly root = join(this.dir, 'state');
  private ids = new Set<string>();

  /**
   * A bundle whose config is the default one changed by `edit`; the rootfs is the shared default
   * one unless `copyRootfs` (for tests that write into it).
   */
  bundle(edit: (config: Config) => void = () => {}, options: { copyRootfs?: boolean } = {}): string {
    const bundle = mkdtempSync(join(this.dir, 'bundle-'));
    const config = defaultConfig();
    config.process.args = ['true'];
    if (options.copyRootfs) {
      cpSync(DEFAULT_ROOTFS, join(bundle, 'rootfs'), { recursive: true, verbatimSymlinks: true });
      config.root.path = 'rootfs';
    } else config.root.path = DEFAULT_ROOTFS;
    edit(config);
    writeFileSync(join(bundle, 'config.json'), JSON.stringify(config, null, 2));
    return bundle;
  }

  id(prefix?: string): string {
    const id = uniqueId(prefix);
    this.ids.add(id);
    return id;
  }

  file(name: string): string {
    return join(this.dir, name);
  }

  tsrun(args: string[], options: { input?: string; stdoutFile?: string; env?: Record<string, string>; timeoutMs?: number } = {}): Result {
    // A container created here inherits create's stdout and stderr: they go to files, never to
    // pipes that spawnSync would wait on until the container exits.
    const errFile = options.stdoutFile && `${options.stdoutFile}.create-err`;
    const out = options.stdoutFile ? openSync(options.stdoutFile, 'a') : 'pipe';
    const err = errFile ? openSync(errFile, 'w') : 'pipe';
    try {
      const result = spawnSync(TSRUN, ['--root', this.root, ...args], {
        input: options.input,
        encoding: 'utf8',
        env: tsrunEnv(options.env),
        stdio: [options.input === undefined ? 'ignore' : 'pipe', out, err],
        timeout: options.timeoutMs ?? 60_000,
      });
      if (errFile) result.stderr = readFileSync(errFile, 'utf8');
      return new Result(args, result);
    } finally {
      if (typeof out === 'number') closeSync(out);
      if (typeof err === 'number') closeSync(err);
    }
  }

  /** create + start with the container's stdout and stderr going to a file; returns that file. */
  createAndStart(id: string, bundle: string, extra: string[] = []): string {
    const output = this.file(`${id}.out`);
    this.tsrun(['create', '--bundle', bundle, ...extra, id], { stdoutFile: output }).ok();
    this.tsrun(['start', id]).ok();
    return output;
  }

  state(id: string): any {
    return JSON.parse(this.tsrun(['state', id]).ok().stdout);
  }

  async waitForStatus(id: string, status: string, timeoutMs = 20_000): Promise<any> {
    let last: any;
    const current = () => {
      const result = this.tsrun(['state', id]);
      return (last = result.status === 0 ? JSON.parse(result.stdout) : undefined); // not created yet
    };
    await waitFor(() => current()?.status === status, timeoutMs, () => `container ${id} to be ${status} (is ${last?.status ?? 'absent'})`);
    return last;
  }

  /** A running container whose process sleeps for 300 s (the default config changed by `edit`). */
  startSleeper(edit: (config: Config) => void = () => {}): { id: string; pid: number } {
    const id = this.id();
    this.createAndStart(id, this.bundle((c) => {
      c.process.args = ['sleep', '300'];
      edit(c);
    }));
    return { id, pid: this.state(id).pid as number };
  }

  /** Kills a container, waits until it has stopped and deletes it. */
  async stop(id: string): Promise<void> {
    this.tsrun(['kill', id, 'KILL']).ok();
    await this.waitForStatus(id, 'stopped');
    this.tsrun(['delete', id]).ok();
  }

  /** Runs a container to completion and returns what it printed (stdout and stderr together). */
  async runToEnd(bundle: string, id = this.id()): Promise<string> {
    const output = this.createAndStart(id, bundle);
    await this.waitForStatus(id, 'stopped');
    this.tsrun(['delete', id]).ok();
    return readFileSync(output, 'utf8');
  }

  /** Deletes whatever the test left, checks nothing leaked, removes the scratch area. */
  cleanup(): string[] {
    const problems: string[] = [];
    for (const id of this.ids) {
      if (existsSync(join(this.root, id))) {
        problems.push(`state of ${id} left behind`);
        this.tsrun(['delete', '--force', id]);
      }
      problems.push(...leaksOf(id));
    }
    rmSync(this.dir, { recursive: true, force: true });
    return problems;
  }
}

export class Result {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
  constructor(readonly args: string[], result: SpawnSyncReturns<string>) {
    this.status = result.status;
    this.stdout = result.stdout ?? '';
    this.stderr = result.stderr ?? '';
    if (result.error) throw result.error;
  }
  ok(): this {
    if (this.status !== 0) throw new Error(`tsrun ${this.args.join(' ')} exited ${this.status}: ${this.stderr}${this.stdout}`);
    return this;
  }
}

/** Cgroup directories and processes that still carry the container's id. */
export function leaksOf(id: string): string[] {
  const leaks: string[] = [];
  // A v1 or hybrid host has a hierarchy per directory; a pure cgroup v2 host has one, at the top.
  for (const dir of [join('/sys/fs/cgroup', 'tsrun', id), ...readdirSync('/sys/fs/cgroup').map((h) => join('/sys/fs/cgroup', h, 'tsrun', id))]) {
    if (existsSync(dir)) leaks.push(`cgroup ${dir}`);
  }
  if (readFileSync('/proc/self/mountinfo', 'utf8').includes(id)) leaks.push(`a mount mentions ${id}`);
  return leaks;
}

/** The mount points of the host mount table. */
export function hostMountPoints(): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' ')[4]).filter(Boolean);
}

/** Mount ids and mount points at or below `dir` in the host mount table. */
export function mountsBelow(dir: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' '))
    .filter((f) => f[4]?.startsWith(`${dir}/`) || f[4] === dir)
    .map((f) => `${f[0]} ${f[4]}`);
}

export async function waitFor(condition: () => boolean, timeoutMs: number, what: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (let delay = 2; !condition(); delay = Math.min(delay * 2, 100)) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what()}`);
    await new Promise((r) => setTimeout(r, delay));
  }
}

/** Runs tsrun without waiting (for tests that race it or kill it). */
export function tsrunAsync(root: string, args: string[]) {
  return spawn(TSRUN, ['--root', root, ...args], { env: tsrunEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
}

export const isRoot = process.getuid?.() === 0;

/** Runs body in a fresh Sandbox; afterwards everything is deleted and any leak fails the test. */
export async function inSandbox(body: (sb: Sandbox) => Promise<void> | void): Promise<void> {
  const sb = new Sandbox();
  let problems: string[] = [];
  try {
    await body(sb);
  } finally {
    problems = sb.cleanup();
  }
  if (problems.length) throw new Error(`left behind: ${problems.join('; ')}`);
}
