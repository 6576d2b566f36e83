// config.json mounts → MountStep, in config order. Destinations are lexically cleaned absolute
// paths inside the container (the init resolves them under the rootfs without leaving it); bind
// sources are host paths, relative ones taken from the bundle directory.
import { posix } from 'node:path';
import type { Mount, Spec } from '../spec/types.ts';
import type { Placement } from '../cgroups/hierarchies.ts';
import { cgroupMountSteps } from './cgroupfs.ts';
import { MS_BIND, MS_RDONLY, MS_REC, MS_REMOUNT } from './constants.ts';
import { invalid, unsupported } from './invalid.ts';
import { parseMountOptions, type MountOptions } from './mount-options.ts';
import { remountStep, type ContainerStep, type MountStep } from './types.ts';

export interface MountContext {
  bundle: string;
  placements: Placement[];
  kindOf(path: string): 'dir' | 'file' | 'missing';
}

/** The spec's rule: a bind mount is one with bind or rbind in its options; runc also takes type "bind". */
export function isBind(m: Mount): boolean {
  return m.type === 'bind' || (m.options ?? []).some((o) => o === 'bind' || o === 'rbind');
}

/** A destination inside the container, absolute and clean; a relative one is relative to "/" (deprecated). */
export function containerPath(path: string): string {
  return posix.resolve('/', path);
}

export function planMounts(config: Spec, ctx: MountContext): ContainerStep[] {
  return (config.mounts ?? []).flatMap((m, i) => planMount(m, `mounts[${i}]`, ctx));
}

function planMount(m: Mount, where: string, ctx: MountContext): ContainerStep[] {
  const o = parseMountOptions(m.options ?? [], `${where}.options`);
  if (m.uidMappings !== undefined || m.gidMappings !== undefined) {
    throw unsupported(m.uidMappings !== undefined ? `${where}.uidMappings` : `${where}.gidMappings`, 'id-mapped mounts');
  }
  const destination = containerPath(m.destination);
  // runc refuses it too: the rootfs itself is bind-mounted by tsrun, and pivot_root needs it.
  if (destination === '/') throw invalid(`${where}.destination`, 'a mount on / (the rootfs) is not allowed');

  // validation (src/spec/validate.ts) allows tmpcopyup on a tmpfs only
  if (isBind(m)) return [bindStep(m, o, destination, where, ctx)];
  if (m.type === 'cgroup') return cgroupMountSteps(destination, o, ctx.placements);
  return [
    {
      op: 'mount',
      source: m.source ?? '',
      destination,
      fstype: m.type ?? '',
      // a read-only /dev is mounted writable and made read-only once its devices are in (below)
      flags: destination === '/dev' ? o.flags & ~MS_RDONLY : o.flags,
      data: o.data.join(','),
      remountFlags: 0,
      propagation: o.propagation,
      recursiveAttrSet: o.recursiveAttrSet,
      recursiveAttrClear: o.recursiveAttrClear,
      createAs: 'dir',
      ...(o.copyUp && { copyUp: true }),
    },
  ];
}

/**
 * A bind mount ignores every flag but MS_REC, so the rest (ro, nosuid, ...) is applied by a second
 * mount(MS_BIND|MS_REMOUNT|flags). Like mount(8), options that only clear flags (rw, suid, ...)
 * do not cause that remount: the bind keeps the source's flags. ("remount" itself adds nothing: the
 * second mount is a remount already.)
 */
function bindStep(m: Mount, o: MountOptions, destination: string, where: string, ctx: MountContext): MountStep {
  if (!m.source) throw invalid(`${where}.source`, 'a bind mount needs a source');
  // Filesystem options (mode=, size=) mean nothing to a bind mount: the kernel ignores them, and
  // so do runc and crun (runtime-tools' mounts test binds with "mode=755,size=1k").
  const source = posix.resolve(ctx.bundle, m.source);
  const rest = o.flags & ~(MS_BIND | MS_REC | MS_REMOUNT);
  return {
    op: 'mount',
    source,
    destination,
    fstype: 'bind',
    flags: MS_BIND | (o.flags & MS_REC),
    data: '',
    remountFlags: rest ? MS_BIND | MS_REMOUNT | rest : 0,
    propagation: o.propagation,
    recursiveAttrSet: o.recursiveAttrSet,
    recursiveAttrClear: o.recursiveAttrClear,
    // a missing source is the mount's failure (ENOENT) at create, with the step named
    createAs: ctx.kindOf(source) === 'file' ? 'file' : 'dir',
  };
}

/**
 * runc's finalizeRootfs: a /dev mounted "ro" (not a bind) was mounted writable for the device
 * nodes and symlinks, and the terminal's /dev/console; now the mount itself becomes read-only
 * (MS_REMOUNT|MS_BIND changes the mount's flags only, which a user namespace may do too).
 */
export function planDevReadonly(config: Spec): ContainerStep[] {
  return (config.mounts ?? []).flatMap((m, i): ContainerStep[] => {
    if (isBind(m) || m.type === 'cgroup' || containerPath(m.destination) !== '/dev') return [];
    const o = parseMountOptions(m.options ?? [], `mounts[${i}].options`);
    if (!(o.flags & MS_RDONLY)) return [];
    return [remountStep('/dev', (o.flags & ~MS_REC) | MS_BIND)];
  });
}
