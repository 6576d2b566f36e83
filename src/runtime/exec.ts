// `exec`: run another process in a running container: every namespace of the container joined,
// its cgroups, its rootfs, and the given process settings. Like the init, the process is a child
// of this tsrun (CLONE_PARENT), so `exec` without --detach can wait for it.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { joinCgroups } from '../cgroups/manager.ts';
import { TsrunError } from '../errors.ts';
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

export interface ExecOptions {
  id: string;
  process: Process;
  detach: boolean;
  pidFile?: string;
  consoleSocket?: string;
  preserveFds: number;
  /** socket activation: the caller's LISTEN_FDS descriptors (3..) go on first (host.ts listenFds) */
  listenFds?: number;
}

/** A --process file: a config.json `process` object, checked with the config schema. */
export function loadProcessFile(path: string): Process {
  let process: Process;
  try {
    process = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new TsrunError('ERR_CONFIG_INVALID', `exec: --process ${path}: ${(err as Error).message}`);
  }
  validateConfig({ ociVersion: '1.3.0', process });
  return process;
}

/** Starts the process; resolves with its exit status (or 0 with --detach). */
export async function exec(rt: Runtime, options: ExecOptions): Promise<number> {
  const id = validateId(options.id);
  const record = rt.store.read(id);
  const status = observeStatus(rt.store, record);
  if (status !== 'running' && status !== 'created') throw new TsrunError('ERR_STATE', `cannot exec in container ${id}: it is ${status}, not running`);
  // Such a container is only chrooted in the host mount namespace; a process joining it would not be.
  if (!record.namespaces.includes('mount')) throw new TsrunError('ERR_NOT_SUPPORTED', `not supported: exec in container ${id}, which has no mount namespace`);
  if (options.process.terminal && !options.consoleSocket) throw new TsrunError('ERR_USAGE', 'exec: a terminal (--tty) needs --console-socket');
  if (!options.process.terminal && options.consoleSocket) throw new TsrunError('ERR_USAGE', 'exec: --console-socket needs a terminal (--tty)');

  const inherited = options.listenFds ?? 0;
  checkPassedFds(inherited, options.preserveFds);
  const plan = buildExecPlan(options.process, {
    initPid: record.pid,
    namespaces: record.namespaces,
    consoleSocket: options.consoleSocket && resolve(options.consoleSocket),
    capLastCap: capLastCap(),
    listenFds: inherited,
  });
  const { spawnInit, waitForExit } = await import('../shim/index.ts');
  const pid = await spawnInit(plan, { preserveFds: inherited + options.preserveFds }, {
    // Not cloned into the cgroup: after joining the container's cgroup namespace, stage 0 would be
    // outside its root, where the kernel refuses CLONE_INTO_CGROUP.
    onStage0: (stage0) => joinCgroups(record.cgroups.dirs, stage0),
    onCreateRuntime: () => Promise.reject(new TsrunError('ERR_SPAWN', 'exec: unexpected createRuntime request')),
  });
  if (options.pidFile) writePidFile(options.pidFile, pid);
  if (options.detach) return 0;
  const stopForwarding = forwardSignalsTo(pid);
  try {
    const { exitCode, signal } = await waitForExit(pid);
    return signal ? 128 + signal : (exitCode ?? 0);
  } finally {
    stopForwarding();
  }
}
