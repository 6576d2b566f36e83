// `create`: validate everything, then claim the id, make the cgroup, spawn the init and leave it
// waiting on the start fifo. On any failure everything made so far is undone, in reverse.
import { closeSync, realpathSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { TsrunError, systemError } from '../errors.ts';
import { createCgroups, joinCgroups, plannedCgroups, removeCgroups, cgroupsToJoin } from '../cgroups/manager.ts';
import { frozenCgroup } from '../cgroups/freezer.ts';
import { applyResources } from '../cgroups/resources.ts';
import { createCgroupsUnprivileged } from '../cgroups/rootless.ts';
import { runHooks, runHooksCollectingFailures } from '../hooks/run.ts';
import { replaceFile } from '../files.ts';
import { debug, warn } from '../log.ts';
import { buildPlan } from '../plan/build.ts';
import type { Plan } from '../plan/types.ts';
import { loadConfig } from '../spec/load.ts';
import { quote } from '../spec/quote.ts';
import type { Spec } from '../spec/types.ts';
import { checkSupported, validateConfig } from '../spec/validate.ts';
import { validateId } from '../state/id.ts';
import { withLock } from '../state/lock.ts';
import { readProcStat } from '../state/process.ts';
import { START_FIFO, STARTED_FIFO } from '../state/status.ts';
import type { ContainerRecord } from '../state/store.ts';
import type { StdioFds } from '../shim/index.ts';
import type { Runtime } from './context.ts';
import { unmountHostMounts } from './delete.ts';
import { checkPassedFds } from './fds.ts';
import { capLastCap, hostFacts } from './host.ts';
import { hookState } from './state.ts';
import type { TerminalListener } from './terminal.ts';

export interface CreateOptions {
  id: string;
  bundle: string;
  pidFile?: string;
  consoleSocket?: string;
  noPivot?: boolean;
  preserveFds?: number;
  /** socket activation: the caller's LISTEN_FDS descriptors (3..) go on first (fds.ts listenFds) */
  listenFds?: number;
  /** the container's stdio when it is not this process's own (the library API) */
  stdio?: StdioFds;
  /**
   * `run` in the foreground: a process.terminal without --console-socket is a pty tsrun receives
   * itself, on a socket in the container's state directory; its master is handed over here.
   */
  onTerminal?: (master: number) => void;
}

/** tsrun's own console socket in the state directory, while `run` waits for the pty */
const CONSOLE_SOCKET = 'console.sock';

export interface LoadedBundle {
  bundle: string;
  rootfs: string;
  config: Spec;
}

/** Reads and checks a bundle without touching the system: every problem is found here. */
export function loadBundle(bundleDir: string): LoadedBundle {
  const bundle = resolve(bundleDir);
  const { config } = loadConfig(bundle);
  validateConfig(config, hostFacts(config));
  checkSupported(config, { ignore: ignoredByOperator(config) });
  const rootfs = resolve(bundle, config.root?.path ?? '');
  try {
    if (!statSync(rootfs).isDirectory()) throw new TsrunError('ERR_BUNDLE', `root.path ${quote(rootfs)} is not a directory`);
    // Without a mount namespace the container's mounts go below its rootfs in the host's table.
    if (sharesHostMounts(config) && realpathSync(rootfs) === '/') {
      throw new TsrunError('ERR_CONFIG_INVALID', "root.path: the host's / cannot be the rootfs of a container without a mount namespace: its /proc, /dev and masked paths would be mounted over the host's");
    }
  } catch (err) {
    if (err instanceof TsrunError) throw err;
    throw systemError(`root.path ${quote(rootfs)}`, err, 'ERR_BUNDLE');
  }
  return { bundle, rootfs, config };
}

export async function create(rt: Runtime, options: CreateOptions): Promise<ContainerRecord> {
  const id = validateId(options.id);
  const loaded = loadBundle(options.bundle);
  if (options.consoleSocket && !loaded.config.process?.terminal) {
    throw new TsrunError('ERR_USAGE', '--console-socket was given but process.terminal is false');
  }
  if (loaded.config.process?.terminal && !options.consoleSocket) {
    if (!options.onTerminal) throw new TsrunError('ERR_USAGE', 'process.terminal is true: --console-socket is required');
    (await import('./terminal.ts')).requireCallerTerminal('run');
  }
  checkPassedFds(options.listenFds ?? 0, options.preserveFds ?? 0);
  return withLock(rt.root, id, () => createLocked(rt, id, loaded, options));
}

async function createLocked(rt: Runtime, id: string, { bundle, rootfs, config }: LoadedBundle, options: CreateOptions): Promise<ContainerRecord> {
  // Loaded only here: koffi costs more to load than a whole `tsrun state`.
  const { spawnInit } = await import('../shim/index.ts');
  const { store } = rt;
  store.claim(id);
  const record: ContainerRecord = {
    ociVersion: config.ociVersion,
    id,
    bundle,
    rootfs,
    created: new Date().toISOString(),
    annotations: config.annotations ?? {},
    status: 'creating',
    pid: 0,
    initStartTime: '',
    cgroups: { dirs: [], leaves: [], parents: [], placements: [] },
    pendingCgroups: plannedCgroups(config.linux?.cgroupsPath, id),
    hooks: { poststart: config.hooks?.poststart, poststop: config.hooks?.poststop },
    hasProcess: config.process !== undefined,
    namespaces: (config.linux?.namespaces ?? []).map((ns) => ns.type),
    process: config.process,
  };
  let initPid = 0;
  const inherited = options.listenFds ?? 0;
  let terminal: TerminalListener | undefined;
  try {
    // Each write below comes before the step whose leftovers it lets a delete find, should this
    // process be killed there: the record before the cgroups, the cgroups before the init.
    store.write(record);
    const unprivileged = (process.geteuid?.() ?? 0) !== 0;
    record.cgroups = unprivileged
      ? createCgroupsUnprivileged(config.linux?.cgroupsPath, id, config.linux?.resources)
      : createCgroups(config.linux?.cgroupsPath, id);
    delete record.pendingCgroups;
    store.write(record);
    debug(`cgroups of ${id}: ${record.cgroups.dirs.join(' ') || 'none'}`);
    const frozen = frozenCgroup(record.cgroups.placements);
    if (frozen) throw new TsrunError('ERR_CGROUP', `container's cgroup ${frozen} is frozen (or its parent is): thaw it first`);
    if (record.cgroups.dirs.length) applyResources(record.cgroups.placements, config.linux?.resources);

    if (config.process?.terminal && !options.consoleSocket) {
      terminal = await (await import('./terminal.ts')).listenForTerminal(store.path(id, CONSOLE_SOCKET));
    }
    const plan = buildPlan(config, {
      bundle,
      rootfs,
      startFifo: store.path(id, START_FIFO),
      startedFifo: store.path(id, STARTED_FIFO),
      consoleSocket: terminal?.path ?? (options.consoleSocket && resolve(options.consoleSocket)),
      noPivot: options.noPivot ?? false,
      preserveFds: options.preserveFds ?? 0,
      listenFds: inherited,
      cgroups: record.cgroups,
      host: { capLastCap: capLastCap(), hostUid: process.getuid?.() ?? 0, hostGid: process.getgid?.() ?? 0, kindOf },
      allowChrootOnly: chrootOnlyAllowedByOperator(config),
    });
    const newPidNamespace = config.linux?.namespaces?.some((ns) => ns.type === 'pid' && !ns.path) ?? false;
    initPid = await spawnInit(plan, { preserveFds: inherited + (options.preserveFds ?? 0), stdio: options.stdio }, {
      onStage0: (pid) => joinCgroups(cgroupsToJoin(record.cgroups.dirs, clonedInto(plan)), pid),
      // Without a mount namespace: written before the init attaches the bind, so that a delete
      // after a create killed from here on still finds it.
      onRootfsMount: (mount, pid) => {
        initPid = pid;
        record.rootfsMount = mount;
        store.write(record);
      },
      onCreateRuntime: async (pid) => {
        initPid = pid;
        // Once answered, the init no longer needs us: it would outlive a killed create, waiting on
        // the start fifo. Recorded first, delete --force finds it even outside a cgroup of ours.
        record.pid = pid;
        record.initStartTime = readProcStat(pid)?.startTime ?? '';
        store.write(record);
        // "created" as crun and runtime-tools' hooks_stdin expect: the container exists, its
        // process waits (runc says "creating").
        const runtimeView = hookState(record, 'created', pid);
        await runHooks('prestart', config.hooks?.prestart, runtimeView);
        await runHooks('createRuntime', config.hooks?.createRuntime, runtimeView);
        // createContainer and startContainer hooks run inside the container: its own view of the pid.
        return hookState(record, 'created', newPidNamespace ? 1 : pid);
      },
    });
    // Its pid and start time were recorded when the init asked for the createRuntime hooks.
    if (!readProcStat(initPid)) throw new TsrunError('ERR_SPAWN', 'the container init exited during create');
    record.status = 'created';
    store.write(record);
    debug(`container ${id} created: init pid ${initPid}`);
    if (options.pidFile) writePidFile(options.pidFile, initPid);
    // The init sent it in its terminal step, before it was ready.
    if (terminal) options.onTerminal?.(await terminal.master);
    return record;
  } catch (err) {
    // a master sent to a failed create is nobody's: closed once it arrives
    terminal?.master.then(closeSync, () => {});
    await undoCreate(rt, record, initPid, err);
    throw err;
  } finally {
    terminal?.close();
  }
}

/** The failed create leaves nothing: no process, no cgroup, no state; poststop hooks still run (lifecycle step 13). */
async function undoCreate(rt: Runtime, record: ContainerRecord, initPid: number, cause: unknown): Promise<void> {
  if (initPid > 0) {
    try {
      process.kill(initPid, 'SIGKILL');
    } catch {
      // already gone: spawnInit reaps what it started when it fails
    }
  }
  try {
    removeCgroups(record.cgroups);
  } catch (err) {
    warn((err as Error).message);
  }
  // an init killed while it attaches the rootfs bind finishes that attach: unmount after it
  if (record.rootfsMount) await exited(initPid);
  await unmountHostMounts(record).catch((err: Error) => warn(err.message));
  rt.store.remove(record.id);
  if (cause instanceof TsrunError && cause.code === 'ERR_HOOK') {
    for (const failure of await runHooksCollectingFailures('poststop', record.hooks.poststop, hookState(record, 'stopped', 0))) warn(failure);
  }
}

/** Until `pid`, a child of ours that nobody reaps, is a zombie (or gone), for 5 s at most. */
async function exited(pid: number): Promise<void> {
  for (const deadline = Date.now() + 5000; Date.now() < deadline && (readProcStat(pid)?.state ?? 'Z') !== 'Z'; ) {
    await new Promise((r) => setTimeout(r, 5));
  }
}

/**
 * TSRUN_IGNORE_SECCOMP=1: the operator accepts running containers without their seccomp filter
 * (tsrun has no seccomp support yet). Never the default: without it such a config is refused.
 */
function ignoredByOperator(config: Spec): string[] {
  if (process.env.TSRUN_IGNORE_SECCOMP !== '1' || config.linux?.seccomp === undefined) return [];
  warn('linux.seccomp is ignored (TSRUN_IGNORE_SECCOMP=1): the container runs without a syscall filter');
  return ['linux.seccomp'];
}

const sharesHostMounts = (config: Spec) => !config.linux?.namespaces?.some((ns) => ns.type === 'mount');

function chrootOnlyAllowedByOperator(config: Spec): boolean {
  if (process.env.TSRUN_ALLOW_CHROOT_ONLY !== '1' || !sharesHostMounts(config)) return false;
  warn('no mount namespace and TSRUN_ALLOW_CHROOT_ONLY=1: the container is only chrooted, and with CAP_SYS_CHROOT it can leave its root');
  return true;
}

/** The cgroup2 directory the plan clones the init into (stage 0 then joins only the others). */
const clonedInto = (plan: Plan): string | undefined => plan.host.flatMap((s) => (s.op === 'openCgroup' ? [s.path] : []))[0];

/** The pid without a trailing newline (containerd's parser rejects one), written atomically. */
export function writePidFile(path: string, pid: number): void {
  replaceFile(path, String(pid), 'pid file');
}

function kindOf(path: string): 'dir' | 'file' | 'missing' {
  try {
    return statSync(path).isDirectory() ? 'dir' : 'file';
  } catch {
    return 'missing';
  }
}
