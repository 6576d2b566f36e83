// A `type: cgroup` mount shows the container its own cgroups, from the directories tsrun created:
//  - cgroup v2 only: a bind of the container's cgroup2 directory at the destination;
//  - v1 or hybrid: a tmpfs at the destination holding a bind of each hierarchy's directory at
//    <dest>/<controllers> (named hierarchies such as name=systemd at <dest>/systemd, cgroup2 at
//    <dest>/unified), a symlink per controller of a shared hierarchy (cpu -> cpu,cpuacct), and the
//    tmpfs remounted read-only last when the mount asks for ro. This is runc's layout (runc leaves
//    out the cgroup2 mount of a hybrid host; systemd in a container looks for it there).
import type { Placement } from '../cgroups/hierarchies.ts';
import { MS_BIND, MS_NODEV, MS_NOEXEC, MS_NOSUID, MS_RDONLY, MS_REC, MS_REMOUNT } from './constants.ts';
import type { MountOptions } from './mount-options.ts';
import { remountStep, type ContainerStep, type MountStep } from './types.ts';

const TMPFS_FLAGS = MS_NOSUID | MS_NODEV | MS_NOEXEC;

/** The directory name of a v1 hierarchy: "cpu,cpuacct", "systemd" for name=systemd. */
export function hierarchyDir(controllers: string[]): string {
  return controllers.map((c) => c.replace(/^name=/, '')).join(',');
}

export function cgroupMountSteps(destination: string, o: MountOptions, placements: Placement[]): ContainerStep[] {
  // The mount's own flags (ro, nosuid, ...) go to each bind's remount; fs data has no meaning here.
  const flags = o.flags & ~(MS_BIND | MS_REC | MS_REMOUNT);
  const bind = (source: string, dst: string, recursive: boolean): MountStep => ({
    op: 'mount',
    source,
    destination: dst,
    fstype: 'bind',
    flags: MS_BIND | (recursive ? MS_REC : 0),
    data: '',
    remountFlags: flags ? MS_BIND | MS_REMOUNT | flags : 0,
    propagation: o.propagation,
    recursiveAttrSet: o.recursiveAttrSet,
    recursiveAttrClear: o.recursiveAttrClear,
    createAs: 'dir',
  });

  const v1 = placements.filter((p) => p.version === 1);
  const v2 = placements.find((p) => p.version === 2);
  if (v1.length === 0 && v2) return [bind(v2.dir, destination, false)];

  const steps: ContainerStep[] = [
    {
      op: 'mount',
      source: 'tmpfs',
      destination,
      fstype: 'tmpfs',
      flags: TMPFS_FLAGS,
      data: 'mode=755',
      remountFlags: 0,
      propagation: o.propagation,
      recursiveAttrSet: 0,
      recursiveAttrClear: 0,
      createAs: 'dir',
    },
  ];
  for (const p of placements) {
    steps.push(bind(p.dir, `${destination}/${p.version === 2 ? 'unified' : hierarchyDir(p.controllers)}`, true));
  }
  for (const p of v1) {
    if (p.controllers.length < 2) continue;
    const dir = hierarchyDir(p.controllers);
    for (const c of p.controllers) steps.push({ op: 'symlink', target: dir, path: `${destination}/${c.replace(/^name=/, '')}` });
  }
  if (flags & MS_RDONLY) {
    steps.push(remountStep(destination, MS_RDONLY | TMPFS_FLAGS));
  }
  return steps;
}
