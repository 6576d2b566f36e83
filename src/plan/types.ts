// The Plan: everything the container init must do, decided in TypeScript and handed to the C init
// as plain data. The init walks it in order and decides nothing itself. A Plan is serialisable and
// built by pure functions (src/plan/*), so it can be unit-tested without root.
//
// Two processes walk it:
//   stage 0  a fresh single-threaded process exec'd from a sealed memfd copy of the init binary. It
//            runs `host` steps in the runtime's namespaces, then clones the container init with
//            `clone.flags` (CLONE_PARENT, so the init is the runtime's child and is reparented to the
//            caller's subreaper when `tsrun create` exits), writes the id maps, and exits.
//   init     the cloned process: walks `container` steps, then waits for `start`, then execs.

import { MS_REMOUNT } from './constants.ts';

export type NamespaceType = 'pid' | 'network' | 'mount' | 'ipc' | 'uts' | 'user' | 'cgroup' | 'time';

export interface Plan {
  /** Steps of stage 0, before the clone: join existing namespaces, prepare the time namespace. */
  host: HostStep[];
  clone: CloneStep;
  /** Steps of the container init, in order. */
  container: ContainerStep[];
}

export type HostStep =
  /** setns(open(path), nstype). The user namespace, when joined, comes first. */
  | { op: 'setns'; type: NamespaceType; path: string }
  /** unshare(CLONE_NEWTIME) and write the offsets to /proc/self/timens_offsets; the clone lands in it. */
  | { op: 'unshareTime'; offsets: { clock: 'monotonic' | 'boottime'; secs: bigint; nanosecs: number }[] }
  /**
   * mkfifo both start fifos (0600, host paths in the state dir) and open them O_RDWR|O_CLOEXEC; the
   * init inherits the descriptors (see src/runtime/start.ts). Done here, first, because a
   * user-namespaced init could not reach the root-only state dir.
   */
  | { op: 'startFifos'; startFifo: string; startedFifo: string }
  /** connect to the console socket (a host path) for the terminal step; first for the same reason */
  | { op: 'connectConsole'; socketPath: string }
  /**
   * open the container's cgroup2 directory (a host path, so before any setns): the clone lands
   * in it (clone3 CLONE_INTO_CGROUP; where the kernel lacks that, stage 0 moves there first), so
   * the init runs nothing outside it. v1 cgroups are joined by stage 0 before the clone.
   */
  | { op: 'openCgroup'; path: string }
  /**
   * open_tree(OPEN_TREE_CLONE) of a bind mount's source (a host path), made a recursive slave, by
   * the host's root before it joins or creates a user namespace: the mount step of the same
   * source attaches this copy, so sources only the host's root can reach still work (runc's mount
   * source fds). A failure is reported by that mount step.
   */
  | { op: 'openMountSource'; path: string; recursive: boolean };

export interface CloneStep {
  op: 'clone';
  /** CLONE_NEW* bits of the namespaces to create (CLONE_NEWTIME never: see unshareTime). */
  flags: number;
  /** Written by stage 0 to /proc/<init>/uid_map and gid_map before the init goes on, lines "inside outside count". */
  uidMap?: string;
  gidMap?: string;
  /**
   * How an unprivileged runtime writes them: 'self' maps only its own uid and gid (the kernel
   * allows that after setgroups is denied), 'helpers' runs the setuid newuidmap and newgidmap,
   * which grant the ranges in /etc/subuid and /etc/subgid. Absent: root writes them directly.
   */
  idMapper?: 'self' | 'helpers';
}

export interface Hook {
  path: string;
  args: string[];
  env: string[];
  /** seconds; undefined means no limit */
  timeout?: number;
}

export interface Capabilities {
  bounding: bigint;
  effective: bigint;
  permitted: bigint;
  inheritable: bigint;
  ambient: bigint;
}

/** A mount(2) of one config.json mount entry, with destination resolved inside the rootfs. */
export interface MountStep {
  op: 'mount';
  /** host path for bind mounts (already absolute), otherwise the fs source ("proc", "tmpfs", ...) */
  source: string;
  /** absolute path inside the container; resolved under the rootfs at mount time, never following a symlink out */
  destination: string;
  fstype: string;
  /** MS_* flags for mount(2), including MS_BIND|MS_REC for bind mounts; no propagation bits */
  flags: number;
  /** the fs data string (e.g. "mode=755,size=65536k") */
  data: string;
  /** bind mounts only: flags for a second mount(MS_BIND|MS_REMOUNT|...) that applies ro/nosuid/... ; 0 = none */
  remountFlags: number;
  /** propagation changes, each one mount(NULL, dst, NULL, flags): e.g. MS_SHARED, MS_PRIVATE|MS_REC */
  propagation: number[];
  /** recursive mount attributes (rro, rnosuid, ...) applied with mount_setattr(AT_RECURSIVE); 0 = none */
  recursiveAttrSet: number;
  recursiveAttrClear: number;
  /** what to create at the destination when it is missing: a directory, or an empty file (bind of a file) */
  createAs: 'dir' | 'file';
  /**
   * tmpcopyup: the new filesystem (a tmpfs) gets a copy of the destination directory's content
   * before it is attached: files, directories and symlinks (as links), with modes and owners
   */
  copyUp?: boolean;
}

export type ContainerStep =
  /** bring lo up in the network namespace the init was cloned into (SIOCSIFFLAGS), as runc does */
  | { op: 'loopbackUp' }
  /** mount(NULL, "/", NULL, flags): MS_REC|MS_SLAVE (default) or MS_REC|MS_PRIVATE, before any other mount */
  | { op: 'rootPropagation'; flags: number }
  /** bind-mount the rootfs onto itself (a mount point for pivot_root) and keep an fd to it */
  | { op: 'bindRootfs'; path: string }
  /**
   * No mount namespace: the same bind, in the host mount table, where every later mount goes inside
   * it. Made detached and private; its mount ids go to the runtime, which records them in the
   * state (delete unmounts it by them) before the init attaches it.
   */
  | { op: 'bindRootfsInHost'; path: string }
  | MountStep
  /** mknod inside the rootfs ('c' char, 'b' block, 'p' fifo, 'u' unbuffered char) then chown */
  | { op: 'mknod'; path: string; kind: 'c' | 'b' | 'p' | 'u'; major: number; minor: number; mode: number; uid: number; gid: number }
  /** where mknod is not permitted (user namespace): bind-mount the host's node instead */
  | { op: 'bindDevice'; source: string; path: string }
  | { op: 'symlink'; target: string; path: string }
  /** write to /proc/self/oom_score_adj */
  | { op: 'oomScoreAdj'; value: number }
  | { op: 'rlimit'; resource: number; soft: bigint; hard: bigint }
  /** pause and ask the runtime to run prestart and createRuntime hooks; its reply carries the state JSON */
  | { op: 'syncCreateRuntime' }
  /** run hooks inside the container namespaces with the state JSON on stdin */
  | { op: 'hooks'; stage: 'createContainer' | 'startContainer'; hooks: Hook[] }
  | { op: 'pivotRoot' }
  /** --no-pivot: detach (or cover) the host's procfs and sysfs mounts, MS_MOVE the rootfs onto / and chroot */
  | { op: 'chroot' }
  /**
   * No mount namespace: chroot into the rootfs bind mount, leaving the host's / alone (its
   * mounts live in the host mount table until delete unmounts them)
   */
  | { op: 'enterRoot' }
  /** mount(NULL, "/", NULL, flags) after pivot_root, for root.rootfsPropagation */
  | { op: 'setRootPropagation'; flags: number }
  /** bind /dev/null over a file or a read-only tmpfs over a directory; a missing path is skipped */
  | { op: 'maskPath'; path: string }
  /** bind the path onto itself and remount it read-only, keeping nosuid/nodev/noexec; missing is skipped */
  | { op: 'readonlyPath'; path: string }
  | { op: 'remountRootReadonly' }
  | { op: 'hostname'; name: string }
  | { op: 'domainname'; name: string }
  /** write value to /proc/sys/<key with dots as slashes> */
  | { op: 'sysctl'; key: string; value: string }
  /** open /dev/ptmx in the container, send the master over the console socket, make the pty stdio and ctty */
  | { op: 'terminal'; rows?: number; cols?: number; /** exec: the container's /dev/console stays as it is */ keepConsole?: boolean }
  /** setgroups, setresgid, setresuid (keeping caps), no_new_privs, then the five capability sets, umask */
  | {
      op: 'identity';
      uid: number;
      gid: number;
      additionalGids: number[];
      umask?: number;
      noNewPrivileges: boolean;
      capabilities: Capabilities;
    }
  | { op: 'chdir'; path: string }
  /** resolve args[0] against PATH from env now, so a missing program fails `create`, not `start` */
  | { op: 'findExecutable'; args: string[]; env: string[] }
  /** report ready, close the sync channel, block until `start` writes the start fifo */
  | { op: 'waitStart' }
  /** execve the program found by findExecutable with these args and env */
  | { op: 'exec'; args: string[]; env: string[] };

export type ContainerOp = ContainerStep['op'];

/** mount(NULL, destination, NULL, MS_REMOUNT|flags): new flags for the mount already there */
export function remountStep(destination: string, flags: number): MountStep {
  return {
    op: 'mount',
    source: '',
    destination,
    fstype: '',
    flags: flags | MS_REMOUNT,
    data: '',
    remountFlags: 0,
    propagation: [],
    recursiveAttrSet: 0,
    recursiveAttrClear: 0,
    createAs: 'dir',
  };
}

/** A short human description of a step, used in error messages: "mount proc on /proc". */
export function describeStep(step: HostStep | CloneStep | ContainerStep): string {
  switch (step.op) {
    case 'setns':
      return `join ${step.type} namespace ${step.path}`;
    case 'unshareTime':
      return 'create time namespace';
    case 'clone':
      return 'clone container init';
    case 'loopbackUp':
      return 'bring lo up';
    case 'rootPropagation':
    case 'setRootPropagation':
      return 'set propagation of /';
    case 'bindRootfs':
    case 'bindRootfsInHost':
      return `bind rootfs ${step.path}`;
    case 'mount':
      return `mount ${step.fstype === 'bind' || step.flags & 0x1000 ? step.source : step.fstype} on ${step.destination}`;
    case 'mknod':
      return `create device ${step.path}`;
    case 'bindDevice':
      return `bind device ${step.source} on ${step.path}`;
    case 'symlink':
      return `create symlink ${step.path}`;
    case 'connectConsole':
      return `connect to console socket ${step.socketPath}`;
    case 'startFifos':
      return 'make start fifos';
    case 'openCgroup':
      return `open cgroup ${step.path}`;
    case 'openMountSource':
      return `open mount source ${step.path}`;
    case 'oomScoreAdj':
      return 'set oom_score_adj';
    case 'rlimit':
      return `set rlimit ${step.resource}`;
    case 'syncCreateRuntime':
      return 'run createRuntime hooks';
    case 'hooks':
      return `run ${step.stage} hooks`;
    case 'pivotRoot':
      return 'pivot_root';
    case 'chroot':
    case 'enterRoot':
      return 'chroot';
    case 'maskPath':
      return `mask ${step.path}`;
    case 'readonlyPath':
      return `make ${step.path} read-only`;
    case 'remountRootReadonly':
      return 'remount / read-only';
    case 'hostname':
      return `set hostname ${step.name}`;
    case 'domainname':
      return `set domainname ${step.name}`;
    case 'sysctl':
      return `set sysctl ${step.key}`;
    case 'terminal':
      return 'set up terminal';
    case 'identity':
      return `set user ${step.uid}:${step.gid}`;
    case 'chdir':
      return `chdir to ${step.path}`;
    case 'findExecutable':
      return `exec ${JSON.stringify(step.args[0] ?? '')}`;
    case 'waitStart':
      return 'wait for start';
    case 'exec':
      return `exec ${JSON.stringify(step.args[0] ?? '')}`;
  }
}
