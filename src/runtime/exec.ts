// `exec`: run another process in a running container: every namespace of the container joined,
// its cgroups, its rootfs, and the given process settings. Like the init, the process is a child
// of this tsrun (CLONE_PARENT), so `exec` without --detach can wait for it.
import { closeSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { joinCgroups } from '../cgroups/manager.ts';
import type { Placement } from '../cgroups/hierarchies.ts';
import { TsrunError, systemError } from '../errors.ts';
import { debug } from '../log.ts';
import { buildExecPlan } from '../plan/exec.ts';
import type { Process } from '../spec/types.ts';
import { validateConfig } from '../spec/validate.ts';
import { validateId } from '../state/id.ts';
import { observeStatus } from '../state/status.ts';
import type { Runtime } from './context.ts';
import { writePidFile } from './create.ts';
import { checkPassedFds } from './fds.ts';
import { capLastCap } from './host.ts';
import { forwardSignalsTo } from './run.ts';
import type { ForegroundTerminal } from './terminal.ts';

export interface ExecOptions {
  id: string;
  process: Process;
  detach: boolean;
  pidFile?: string;
  consoleSocket?: string;
  preserveFds: number;
  /** --cgroup: controller ('' for all) → a path below the container's cgroup to run the process in */
  subCgroups?: Map<string, string>;
  /** --ignore-paused: exec into a paused container; the process runs once it is resumed */
  ignorePaused?: boolean;
  /** socket activation: the caller's LISTEN_FDS descriptors (3..) go on first (fds.ts listenFds) */
  listenFds?: number;
}

/**
 * A --process file: a config.json `process` object, checked with the config schema. Without a
 * user it runs as uid and gid 0, as in runc.
 */
export function loadProcessFile(path: string): Process {
  let process: Process;
  try {
    process = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new TsrunError('ERR_CONFIG_INVALID', `exec: --process ${path}: ${(err as Error).message}`);
  }
  if (process && typeof process === 'object' && process.user === undefined) process.user = { uid: 0, gid: 0 };
  validateConfig({ ociVersion: '1.3.0', process });
  return process;
}

/** Starts the process; resolves with its exit status (or 0 with --detach). */
export async function exec(rt: Runtime, options: ExecOptions): Promise<number> {
  const id = validateId(options.id);
  // The process as the command line and --process made it: a --user of 4294967295 is refused here.
  validateConfig({ ociVersion: '1.3.0', process: options.process });
  const record = rt.store.read(id);
  const status = observeStatus(rt.store, record);
  if (status === 'paused' && !options.ignorePaused) throw new TsrunError('ERR_STATE', `cannot exec in container ${id}: it is paused`, { hint: 'use --ignore-paused to override' });
  if (status !== 'running' && status !== 'created' && status !== 'paused') throw new TsrunError('ERR_STATE', `cannot exec in container ${id}: it is ${status}, not running`);
  // Such a container is only chrooted in the host mount namespace; a process joining it would not be.
  if (!record.namespaces.includes('mount')) throw new TsrunError('ERR_NOT_SUPPORTED', `not supported: exec in container ${id}, which has no mount namespace`);
  if (!options.process.terminal && options.consoleSocket) throw new TsrunError('ERR_USAGE', 'exec: --console-socket needs a terminal (--tty)');
  // Without a console socket the pty is tsrun's own (terminal.ts), which a detached exec cannot keep.
  const foreground = options.process.terminal === true && !options.consoleSocket;
  if (foreground && options.detach) throw new TsrunError('ERR_USAGE', 'exec: a terminal (--tty) with --detach needs --console-socket');
  const terminals = foreground ? await import('./terminal.ts') : undefined;
  terminals?.requireCallerTerminal('exec');

  // The container's oom_score_adj, as runc gives it, unless the process sets its own: otherwise the
  // process would keep its caller's (a containerd shim runs at -998, nearly unkillable).
  const oomScoreAdj = options.process.oomScoreAdj ?? record.process?.oomScoreAdj;
  const cgroupDirs = subCgroupDirs(id, record.cgroups, options.subCgroups ?? new Map());
  const inherited = options.listenFds ?? 0;
  checkPassedFds(inherited, options.preserveFds);
  // Sized from the start: the process may ask before the master reaches this side.
  const processWithSize = foreground ? { ...options.process, consoleSize: terminals?.callerWindowSize() ?? options.process.consoleSize } : options.process;
  const listener = await terminals?.listenForTerminal(rt.store.path(id, `console-exec-${process.pid}.sock`));
  let terminal: ForegroundTerminal | undefined;
  let pid: number | undefined;
  try {
    const plan = buildExecPlan(processWithSize, {
      initPid: record.pid,
      namespaces: record.namespaces,
      consoleSocket: listener?.path ?? (options.consoleSocket && resolve(options.consoleSocket)),
      capLastCap: capLastCap(),
      listenFds: inherited,
    });
    const { spawnInit } = await import('../shim/index.ts');
    pid = await spawnInit(plan, { preserveFds: inherited + options.preserveFds }, {
      // Not cloned into the cgroup: after joining the container's cgroup namespace, stage 0 would be
      // outside its root, where the kernel refuses CLONE_INTO_CGROUP.
      onStage0: (stage0) => {
        joinCgroups(cgroupDirs, stage0);
        // Set on stage 0 before it joins any namespace, through the host's /proc (runc's nsexec does
        // the same): the container's /proc is the container's to change, and in a user namespace the
        // process could not lower the value.
        if (oomScoreAdj !== undefined) setOomScoreAdj(stage0, oomScoreAdj);
      },
      onCreateRuntime: () => Promise.reject(new TsrunError('ERR_SPAWN', 'exec: unexpected createRuntime request')),
    });
    debug(`exec in container ${id}: pid ${pid}`);
    if (listener && terminals) terminal = new terminals.ForegroundTerminal(await listener.master);
    if (options.pidFile) writePidFile(options.pidFile, pid);
  } catch (err) {
    // As in runc, a process whose exec failed after its start (its pty, its pid file) does not run on unseen.
    terminal?.close();
    if (pid !== undefined) await killAndReap(pid);
    throw err;
  } finally {
    // a master sent to a failed exec is nobody's: closed once it arrives
    if (listener && !terminal) listener.master.then(closeSync, () => {});
    listener?.close();
  }
  try {
    if (options.detach) return 0;
    const { waitForExit } = await import('../shim/index.ts');
    const stopForwarding = forwardSignalsTo(pid, terminal?.resize);
    try {
      const { exitCode, signal } = await waitForExit(pid);
      terminal?.drain();
      return signal ? 128 + signal : (exitCode ?? 0);
    } finally {
      stopForwarding();
    }
  } finally {
    terminal?.close();
  }
}

async function killAndReap(pid: number): Promise<void> {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    return; // gone already (and reaped by whoever waited)
  }
  const { waitForExit } = await import('../shim/index.ts');
  await waitForExit(pid).catch(() => {});
}

function setOomScoreAdj(pid: number, value: number): void {
  try {
    writeFileSync(`/proc/${pid}/oom_score_adj`, String(value));
  } catch (err) {
    throw systemError(`exec: set oom_score_adj ${value}`, err, 'ERR_SPAWN');
  }
}

/**
 * The cgroup directories an exec joins: the container's, or with --cgroup the given sub-cgroups
 * below them (which must exist, as in runc). Every controller named must be one of the container's.
 */
export function subCgroupDirs(id: string, cgroups: { dirs: string[]; placements: Placement[] }, subCgroups: Map<string, string>): string[] {
  if (!subCgroups.size) return cgroups.dirs;
  const { placements } = cgroups;
  if (!placements.length) throw new TsrunError('ERR_STATE', `exec: container ${id} has no cgroup: --cgroup cannot be used`);
  for (const controller of subCgroups.keys()) {
    if (controller && !placements.some((p) => p.controllers.includes(controller))) {
      throw new TsrunError('ERR_USAGE', `exec: --cgroup names controller ${controller}, which container ${id} has no cgroup for`);
    }
  }
  return placements.map((p) => {
    const paths = new Set([subCgroups.get(''), ...p.controllers.map((c) => subCgroups.get(c))].filter((s) => s !== undefined));
    if (paths.size > 1) throw new TsrunError('ERR_USAGE', `exec: --cgroup gives different paths to ${p.controllers.join(',')}, which share the hierarchy ${p.dir}`);
    const [sub] = paths;
    return sub ? join(p.dir, sub) : p.dir;
  });
}
