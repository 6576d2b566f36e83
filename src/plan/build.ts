// buildPlan: config.json + host facts → the Plan the C init walks (see ./types.ts). Pure: the only
// look at the host is ctx.host.kindOf. The order below is the contract with the init:
//
// host (stage 0, in the runtime's namespaces, single-threaded)
//   startFifos                  first: a user-namespaced init could not reach the root-only state dir
//   connectConsole              when --console-socket is given, for the same reason
//   openCgroup                  the container's cgroup2 directory, which the init is cloned into
//   openMountSource ...         with a user namespace (and a root runtime): the bind sources, so
//                               the init needs no access to them (runc's mount source fds)
//   setns ...                   joined namespaces: user first, then ipc, uts, network, pid, cgroup,
//                               time, and mount last (./namespaces.ts says why)
//   unshareTime                 a new time namespace, with linux.timeOffsets (possibly none)
// clone                         CLONE_NEW* of every namespace without a path but time; id maps of a
//                               new user namespace
// container (the init)
//    0 loopbackUp               if the init is cloned into a new network namespace (not a joined one)
//    1 rootPropagation          MS_REC|MS_SLAVE on /: nothing mounted from here on reaches the host
//    2 bindRootfs               bindRootfsInHost without a mount namespace: its mount ids are
//                               recorded, delete unmounts it (and all inside it) by them
//    3 mount ...                config.mounts in order; a cgroup mount expands (./cgroupfs.ts)
//    4 mknod|bindDevice, symlink   /dev, unless a bind mount provides it (./devices.ts)
//    5 syncCreateRuntime        always: prestart and createRuntime hooks run, the state JSON comes back
//    6 hooks createContainer    if any
//    7 pivotRoot | chroot       chroot with --no-pivot; enterRoot (a plain chroot) without a
//                               mount namespace, which also leaves out step 1
//    8 setRootPropagation       if linux.rootfsPropagation: applied only now, to the new /, so that
//                               "shared" can never propagate the container's mounts to the host
//    9 terminal                 if process.terminal: right after pivot_root as in runc, before
//                               anything is read-only (the init may have to make /dev/console)
//   10 sysctl ...               sorted by key; before step 11, which usually makes /proc/sys read-only
//   11 maskPath ..., readonlyPath ...; then a read-only /dev becomes read-only (./mounts.ts)
//   12 remountRootReadonly      if root.readonly
//   13 hostname, domainname     if set (and not empty)
//   14 oomScoreAdj              if process.oomScoreAdj is set
//   15 rlimit ...
//   16 chdir                    process.cwd, before the identity as runc first tries: root may enter
//                               a directory that the container's user cannot
//   17 identity                 uid, gids, umask, no_new_privs, capabilities
//   18 findExecutable           a missing program fails create, not start
//   19 waitStart
//   20 hooks startContainer     if any
//   21 exec
// Without config.process, steps 9 and 14-18, 20 and 21 are left out: the init waits for start,
// which refuses a container without a process.
import { TsrunError } from '../errors.ts';
import type { Placement } from '../cgroups/hierarchies.ts';
import type { Spec } from '../spec/types.ts';
import { MS_BIND, MS_REC, MS_REMOUNT, MS_SLAVE } from './constants.ts';
import { planDevices } from './devices.ts';
import { planHooks } from './hooks.ts';
import { invalid } from './invalid.ts';
import { planDevReadonly, planMounts } from './mounts.ts';
import { isNew, planNamespaces } from './namespaces.ts';
import { planProcess, terminalStep } from './process.ts';
import { checkChrootOnly, planPathRestrictions, rootfsPropagation } from './rootfs.ts';
import { planSysctl } from './sysctl.ts';
import { describeStep, type ContainerStep, type HostStep, type Plan } from './types.ts';

export interface BuildContext {
  /** absolute bundle dir */
  bundle: string;
  /** absolute rootfs dir */
  rootfs: string;
  /** absolute host paths */
  startFifo: string;
  startedFifo: string;
  /** absolute host path */
  consoleSocket?: string;
  noPivot: boolean;
  /** --preserve-fds N: passed on by the shim, nothing in the plan depends on it */
  preserveFds: number;
  /** LISTEN_FDS of the caller (socket activation), 0 if none */
  listenFds: number;
  /** the container's cgroup dirs (from createCgroups) */
  cgroups: { placements: Placement[] };
  host: { capLastCap: number; hostUid: number; hostGid: number; kindOf(path: string): 'dir' | 'file' | 'missing' };
  /** the operator accepts a container without a mount namespace that keeps CAP_SYS_CHROOT */
  allowChrootOnly?: boolean;
}

export function buildPlan(config: Spec, ctx: BuildContext): Plan {
  const ns = planNamespaces(config, { uid: ctx.host.hostUid, gid: ctx.host.hostGid });
  const process = config.process;
  if (process?.terminal && !ctx.consoleSocket) {
    throw new TsrunError('ERR_USAGE', 'process.terminal is true: --console-socket is required');
  }
  for (const field of ['hostname', 'domainname'] as const) {
    if (config[field] && !ns.byType.has('uts')) throw invalid(field, 'setting it needs a uts namespace of the container (it would change the host)');
  }

  const host: HostStep[] = [{ op: 'startFifos', startFifo: ctx.startFifo, startedFifo: ctx.startedFifo }];
  if (ctx.consoleSocket) host.push({ op: 'connectConsole', socketPath: ctx.consoleSocket });
  // Not when joining a cgroup namespace: stage 0 would then be outside its root, where the kernel
  // refuses CLONE_INTO_CGROUP; stage 0 joins every cgroup before the clone instead.
  const cgroup = ctx.cgroups.placements.find((p) => p.version === 2)?.dir;
  if (cgroup && !ns.host.some((s) => s.op === 'setns' && s.type === 'cgroup')) host.push({ op: 'openCgroup', path: cgroup });
  const mounts = planMounts(config, { bundle: ctx.bundle, placements: ctx.cgroups.placements, kindOf: ctx.host.kindOf });
  // (not into a joined mount namespace: its own paths name the sources there)
  const joinsMounts = ns.host.some((s) => s.op === 'setns' && s.type === 'mount');
  if (ns.byType.has('user') && ctx.host.hostUid === 0 && !joinsMounts) host.push(...openMountSources(mounts));
  host.push(...ns.host);

  const propagation = rootfsPropagation(config, ctx.noPivot);
  const proc = process && planProcess(process, { capLastCap: ctx.host.capLastCap, listenFds: ctx.listenFds });
  // Without a mount namespace (the config shares the host's) the mounts go to the host mount table
  // inside the rootfs bind, as the config asks; / of the host is never touched and delete unmounts
  // that bind, found by the mount ids the init reports.
  const ownMounts = ns.byType.has('mount');
  checkChrootOnly(config, ownMounts, ctx.allowChrootOnly ?? false);
  const container: ContainerStep[] = [
    ...(isNew(ns, 'network') ? [{ op: 'loopbackUp' } as const] : []),
    ...(ownMounts ? [{ op: 'rootPropagation', flags: MS_REC | MS_SLAVE } as const] : []),
    { op: ownMounts ? 'bindRootfs' : 'bindRootfsInHost', path: ctx.rootfs },
    ...mounts,
    ...planDevices(config, {
      bindDevices: ns.byType.has('user') || ctx.host.hostUid !== 0,
      hasKcore: ctx.host.kindOf('/proc/kcore') !== 'missing',
    }),
    { op: 'syncCreateRuntime' },
  ];
  const createHooks = planHooks(config.hooks?.createContainer, []);
  if (createHooks.length) container.push({ op: 'hooks', stage: 'createContainer', hooks: createHooks });
  container.push(!ownMounts ? { op: 'enterRoot' } : ctx.noPivot ? { op: 'chroot' } : { op: 'pivotRoot' });
  if (propagation !== undefined) container.push({ op: 'setRootPropagation', flags: propagation });
  if (process?.terminal) container.push(terminalStep(process));
  container.push(...planSysctl(config, ns), ...planPathRestrictions(config), ...planDevReadonly(config));
  if (config.root?.readonly) container.push({ op: 'remountRootReadonly' });
  if (config.hostname) container.push({ op: 'hostname', name: config.hostname });
  if (config.domainname) container.push({ op: 'domainname', name: config.domainname });
  if (proc) container.push(...proc.setup);
  container.push({ op: 'waitStart' });
  if (proc) {
    const startHooks = planHooks(config.hooks?.startContainer, proc.env);
    if (startHooks.length) container.push({ op: 'hooks', stage: 'startContainer', hooks: startHooks });
    container.push(proc.exec);
  }
  return { host, clone: ns.clone, container };
}

/**
 * With a user namespace the init is the namespace's root, to whom the host's root-only directories
 * are closed: the host's root opens the bind sources first, as runc does (./types.ts).
 */
function openMountSources(mounts: ContainerStep[]): HostStep[] {
  return mounts.flatMap((m): HostStep[] =>
    m.op === 'mount' && m.flags & MS_BIND && !(m.flags & MS_REMOUNT) ? [{ op: 'openMountSource', path: m.source, recursive: (m.flags & MS_REC) !== 0 }] : [],
  );
}

/** The plan as one line per step, for debugging: "container 3: mount proc on /proc". */
export function describePlan(plan: Plan): string[] {
  return [
    ...plan.host.map((s, i) => `host ${i + 1}: ${describeStep(s)}`),
    `clone: flags 0x${plan.clone.flags.toString(16)}${plan.clone.idMapper ? `, id maps by ${plan.clone.idMapper}` : ''}`,
    ...plan.container.map((s, i) => `container ${i + 1}: ${describeStep(s)}`),
  ];
}
