// Private instances of the real container managers, driving tsrun as their runtime: a containerd
// with its own config, root, state and socket, and podman with its own containers.conf and storage,
// all under one temporary directory. The image both import is built from the default bundle's
// rootfs (no registry is reachable). Cleanup ends what they started by pid and reports leaks.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_ROOTFS, TSRUN, tsrunEnv, waitFor } from './helpers.ts';
import { writeOciArchive } from './oci-image.ts';

export const IMAGE = 'localhost/tsrun-test:latest';
const PATH_ENV = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to its end; with `tty`, inside a pseudo-terminal made by script(1). */
export function runCommand(argv: string[], options: { tty?: boolean; input?: string; timeoutMs?: number } = {}): Run {
  const [file, args] = options.tty
    ? ['script', ['-qefc', argv.map(shellQuote).join(' '), '/dev/null']]
    : [argv[0], argv.slice(1)];
  const result = spawnSync(file, args, { input: options.input ?? '', encoding: 'utf8', env: tsrunEnv(), timeout: options.timeoutMs ?? 60_000 });
  if (result.error) throw result.error;
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Runs a command without waiting, collecting its output. */
export function startCommand(argv: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), { env: tsrunEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

const shellQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

export function requireProgram(name: string, apt: string): void {
  if (spawnSync('sh', ['-c', `command -v ${name}`]).status !== 0) throw new Error(`${name} is missing: apt-get install ${apt}`);
}

abstract class Client {
  readonly dir = mkdtempSync('/tmp/tsrun-client-');
  /** a name unique to this instance: the containerd namespace, the podman cgroup parent */
  readonly tag = `tsrun-test-${process.pid}-${Date.now().toString(36)}`;
  protected stopped = false;

  async importImage(load: (archive: string) => Run): Promise<void> {
    const archive = join(this.dir, 'image.tar');
    await writeOciArchive(DEFAULT_ROOTFS, IMAGE, archive, { cmd: ['/bin/sh'], env: [PATH_ENV] });
    const result = load(archive);
    if (result.status !== 0) throw new Error(`image import failed: ${result.stderr}`);
  }

  /** Processes started for this instance: their command line names its directory. */
  protected ownProcesses(): number[] {
    const pids: number[] = [];
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
      try {
        if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(this.dir)) pids.push(Number(entry));
      } catch {
        // gone meanwhile
      }
    }
    return pids;
  }

  /**
   * What this instance left on the host: tsrun state, mounts, processes, and container cgroups
   * below the tag (the tag cgroup itself and podman's <tag>/conmon belong to the managers).
   * Ends the processes and removes the cgroups too, so one failure does not spread.
   */
  protected collectLeaks(tsrunRoot: string): string[] {
    const leaks: string[] = [];
    const states = existsSync(tsrunRoot) ? readdirSync(tsrunRoot).filter((e) => !e.startsWith('.')) : [];
    if (states.length) leaks.push(`tsrun state: ${states.join(', ')}`);
    const strays = this.ownProcesses();
    if (strays.length) leaks.push(`processes: ${strays.join(', ')}`);
    for (const pid of strays) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    const mounts = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.includes(this.dir));
    if (mounts.length) leaks.push(`mounts: ${mounts.join('; ')}`);
    for (const hierarchy of readdirSync('/sys/fs/cgroup')) {
      const top = join('/sys/fs/cgroup', hierarchy, this.tag);
      if (!existsSync(top)) continue;
      const containers = readdirSync(top, { withFileTypes: true }).filter((e) => e.isDirectory() && e.name !== 'conmon');
      if (containers.length) leaks.push(`cgroups: ${containers.map((e) => join(top, e.name)).join(', ')}`);
    }
    this.removeTagCgroups();
    return leaks;
  }

  /** Removes the manager's own cgroups (below the tag), deepest first, once they are empty. */
  protected removeTagCgroups(): void {
    for (const hierarchy of readdirSync('/sys/fs/cgroup')) {
      const top = join('/sys/fs/cgroup', hierarchy, this.tag);
      if (!existsSync(top)) continue;
      const dirs = [top];
      for (let i = 0; i < dirs.length; i++) {
        for (const entry of readdirSync(dirs[i], { withFileTypes: true })) if (entry.isDirectory()) dirs.push(join(dirs[i], entry.name));
      }
      for (const dir of dirs.reverse()) {
        try {
          rmdirSync(dir);
        } catch {
          // reported by the leak check before this
        }
      }
    }
  }
}

/** containerd on a private socket; ctr drives it with tsrun as the runc binary. */
export class PrivateContainerd extends Client {
  private daemon?: ChildProcess;
  readonly socket = join(this.dir, 'containerd.sock');
  /** tsrun's --root for our namespace: containerd passes --root <runc root>/<namespace> */
  readonly tsrunRoot = join(this.dir, 'runc', this.tag);

  async start(): Promise<void> {
    requireProgram('containerd', 'containerd');
    const config = join(this.dir, 'config.toml');
    writeFileSync(
      config,
      [
        'version = 2',
        `root = "${this.dir}/root"`,
        `state = "${this.dir}/state"`,
        // The CRI plugin wants a CNI setup; ctr does not need it.
        'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
        '[grpc]',
        `  address = "${this.socket}"`,
        '[ttrpc]',
        `  address = "${this.socket}.ttrpc"`,
      ].join('\n'),
    );
    const log = join(this.dir, 'containerd.log');
    this.daemon = spawn('sh', ['-c', `exec containerd --config "$0" >"$1" 2>&1`, config, log], { stdio: 'ignore' });
    await waitFor(() => this.ctr(['version']).status === 0, 30_000, () => `containerd to serve (log: ${readFileSync(log, 'utf8').slice(-2000)})`);
    await this.importImage((archive) => this.ctr(['images', 'import', archive]));
  }

  ctr(args: string[], options: { tty?: boolean; input?: string } = {}): Run {
    return runCommand(this.ctrArgv(args), options);
  }

  ctrAsync(args: string[]): Promise<Run> {
    return startCommand(this.ctrArgv(args));
  }

  private ctrArgv(args: string[]): string[] {
    return ['ctr', '--address', this.socket, '--namespace', this.tag, ...args];
  }

  /** `ctr run` options that make tsrun the runtime. */
  get runtimeFlags(): string[] {
    return ['--runc-binary', TSRUN, '--runc-root', join(this.dir, 'runc')];
  }

  /** Stops containerd and its shims by pid, then reports anything left behind. */
  async stop(): Promise<string[]> {
    if (this.stopped) return [];
    this.stopped = true;
    const containers = this.ctr(['containers', 'list', '--quiet']).stdout.trim();
    const leaks = containers ? [`containers: ${containers.replace(/\n/g, ', ')}`] : [];
    for (const name of containers.split('\n').filter(Boolean)) {
      this.ctr(['task', 'kill', '--signal', 'SIGKILL', name]);
      this.ctr(['task', 'delete', '--force', name]);
      this.ctr(['containers', 'delete', name]);
    }
    if (this.daemon?.pid) process.kill(this.daemon.pid, 'SIGTERM');
    await waitFor(() => this.daemon?.exitCode !== null || this.daemon?.signalCode !== null, 10_000, () => 'containerd to exit');
    leaks.push(...this.collectLeaks(this.tsrunRoot));
    rmSync(this.dir, { recursive: true, force: true });
    return leaks;
  }
}

/** podman with tsrun registered in its own containers.conf, storage under the temporary directory. */
export class PrivatePodman extends Client {
  /** podman's default --root for runtimes: /run/tsrun, so give it ours explicitly */
  readonly tsrunRoot = join(this.dir, 'tsrun-state');

  async start(): Promise<void> {
    requireProgram('podman', 'podman');
    writeFileSync(join(this.dir, 'tsrun-wrapper'), `#!/bin/sh\nexec ${TSRUN} --root ${this.tsrunRoot} "$@"\n`, { mode: 0o755 });
    writeFileSync(
      join(this.dir, 'containers.conf'),
      [
        '[containers]',
        'netns = "none"',
        // The README's setup: podman asks for RLIMIT_NOFILE and RLIMIT_NPROC 1048576, above this
        // host's hard limits (no CAP_SYS_RESOURCE; podman lowers its own nproc to pid_max).
        'default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]',
        '[engine]',
        'runtime = "tsrun"',
        'cgroup_manager = "cgroupfs"',
        'events_logger = "file"',
        'runtime_supports_json = ["crun", "runc", "tsrun"]',
        '[engine.runtimes]',
        `tsrun = ["${join(this.dir, 'tsrun-wrapper')}"]`,
      ].join('\n'),
    );
    await this.importImage((archive) => this.podman(['load', '--input', archive]));
  }

  podman(args: string[], options: { tty?: boolean; input?: string } = {}): Run {
    return runCommand(this.podmanArgv(args), options);
  }

  private podmanArgv(args: string[]): string[] {
    const [verb, ...rest] = args;
    // Containers go below our own cgroup parent, conmon to <parent>/conmon.
    const cgroupParent = verb === 'run' || verb === 'create' ? ['--cgroup-parent', `/${this.tag}`] : [];
    return [
      'env', `CONTAINERS_CONF=${join(this.dir, 'containers.conf')}`,
      'podman', '--root', join(this.dir, 'storage'), '--runroot', join(this.dir, 'run'), '--tmpdir', join(this.dir, 'tmp'),
      '--storage-driver', 'vfs', verb, ...cgroupParent, ...rest,
    ];
  }

  async stop(): Promise<string[]> {
    if (this.stopped) return [];
    this.stopped = true;
    const containers = this.podman(['ps', '--all', '--quiet']).stdout.trim();
    const leaks = containers ? [`containers: ${containers.replace(/\n/g, ', ')}`] : [];
    this.podman(['rm', '--all', '--force']);
    this.podman(['system', 'reset', '--force']);
    leaks.push(...this.collectLeaks(this.tsrunRoot));
    rmSync(this.dir, { recursive: true, force: true });
    return leaks;
  }
}

