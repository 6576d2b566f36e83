// The container's root: propagation of /, and the masked and read-only paths.
import { posix } from 'node:path';
import type { Spec } from '../spec/types.ts';
import { MS_PRIVATE } from './constants.ts';
import { quote } from '../spec/quote.ts';
import { invalid, unsupported } from './invalid.ts';
import { PROPAGATION_OPTIONS } from './mount-options.ts';
import type { ContainerStep } from './types.ts';

/**
 * linux.rootfsPropagation as MS_* flags, with runc's table: "shared" is MS_SHARED on / alone, not
 * recursive (runc and crun alike; runtime-tools checks / only); runc's r-prefixed values are
 * accepted too. runc refuses [r]private without pivot_root: the host's mounts stay reachable under
 * the chroot and would no longer follow the host's unmounts.
 */
export function rootfsPropagation(config: Spec, noPivot: boolean): number | undefined {
  const value = config.linux?.rootfsPropagation;
  if (value === undefined) return undefined;
  const flags = PROPAGATION_OPTIONS.get(value);
  if (flags === undefined) throw invalid('linux.rootfsPropagation', `unknown propagation ${quote(value)} (expected shared, slave, private or unbindable)`);
  if (noPivot && flags & MS_PRIVATE) throw invalid('linux.rootfsPropagation', `${value} is not safe without pivot_root (--no-pivot)`);
  return flags;
}

function absolutePaths(paths: string[] | undefined, field: string): string[] {
  return (paths ?? []).map((p, i) => {
    if (!posix.isAbsolute(p)) throw invalid(`${field}[${i}]`, `${quote(p)} is not an absolute path`);
    return posix.normalize(p);
  });
}

/** maskPath for linux.maskedPaths, then readonlyPath for linux.readonlyPaths (crun's order). */
export function planPathRestrictions(config: Spec): ContainerStep[] {
  return [
    ...absolutePaths(config.linux?.maskedPaths, 'linux.maskedPaths').map((path): ContainerStep => ({ op: 'maskPath', path })),
    ...absolutePaths(config.linux?.readonlyPaths, 'linux.readonlyPaths').map((path): ContainerStep => ({ op: 'readonlyPath', path })),
  ];
}

/**
 * Without a mount namespace the container is only chrooted into its rootfs, in the host's mount
 * table, and a process that may call chroot(2) leaves a chroot at will (chroot into a subdirectory,
 * then walk up past the old root). Such a container must not keep CAP_SYS_CHROOT, unless the
 * operator accepts that (`allowed`, from TSRUN_ALLOW_CHROOT_ONLY=1, as runc and crun run it).
 */
export function checkChrootOnly(config: Spec, ownMounts: boolean, allowed: boolean): void {
  if (ownMounts || allowed) return;
  const bounding = config.process?.capabilities?.bounding ?? [];
  const i = bounding.indexOf('CAP_SYS_CHROOT');
  if (i >= 0) {
    throw unsupported(
      `process.capabilities.bounding[${i}]`,
      'CAP_SYS_CHROOT in a container without a mount namespace (it is only chrooted, and the capability escapes a chroot): add a mount namespace to linux.namespaces or drop the capability (or set TSRUN_ALLOW_CHROOT_ONLY=1 to accept it)',
    );
  }
}
