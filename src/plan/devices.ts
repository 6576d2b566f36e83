// /dev for the container, following runc: only when /dev is not bind-mounted from the host, the
// default devices and linux.devices, then /dev/ptmx -> pts/ptmx and the /proc/self/fd symlinks.
import type { LinuxDevice, Spec } from '../spec/types.ts';
import { containerPath, isBind } from './mounts.ts';
import type { ContainerStep } from './types.ts';

/** The spec's default devices: character devices 0666 root:root. */
const DEFAULT_DEVICES: { path: string; major: number; minor: number }[] = [
  { path: '/dev/null', major: 1, minor: 3 },
  { path: '/dev/zero', major: 1, minor: 5 },
  { path: '/dev/full', major: 1, minor: 7 },
  { path: '/dev/random', major: 1, minor: 8 },
  { path: '/dev/urandom', major: 1, minor: 9 },
  { path: '/dev/tty', major: 5, minor: 0 },
];

const FD_LINKS: [target: string, path: string][] = [
  ['/proc/self/fd', '/dev/fd'],
  ['/proc/self/fd/0', '/dev/stdin'],
  ['/proc/self/fd/1', '/dev/stdout'],
  ['/proc/self/fd/2', '/dev/stderr'],
];

export interface DeviceContext {
  /**
   * mknod is not permitted in a user namespace (new or joined) nor to a non-root runtime: the
   * host's node is bind-mounted instead, from the same path (as runc).
   */
  bindDevices: boolean;
  /** whether the host has /proc/kcore (CONFIG_PROC_KCORE): runc then adds /dev/core */
  hasKcore: boolean;
}

/** runc's rule: /dev is set up unless a bind mount puts the host's (or another) /dev there. */
export function needsDevSetup(config: Spec): boolean {
  return !(config.mounts ?? []).some((m) => isBind(m) && containerPath(m.destination) === '/dev');
}

export function planDevices(config: Spec, ctx: DeviceContext): ContainerStep[] {
  if (!needsDevSetup(config)) return [];
  const configured = config.linux?.devices ?? [];
  const configuredPaths = new Set(configured.map((d) => containerPath(d.path)));
  const steps: ContainerStep[] = [];
  // A device of the config at a default device's path replaces it (runc).
  for (const d of DEFAULT_DEVICES) {
    if (!configuredPaths.has(d.path)) steps.push(deviceStep({ type: 'c', ...d }, ctx));
  }
  for (const d of configured) {
    // /dev/ptmx is always the symlink to the devpts instance below (runc)
    if (containerPath(d.path) !== '/dev/ptmx') steps.push(deviceStep(d, ctx));
  }
  steps.push({ op: 'symlink', target: 'pts/ptmx', path: '/dev/ptmx' });
  for (const [target, path] of FD_LINKS) steps.push({ op: 'symlink', target, path });
  if (ctx.hasKcore) steps.push({ op: 'symlink', target: '/proc/kcore', path: '/dev/core' });
  return steps;
}

function deviceStep(d: LinuxDevice, ctx: DeviceContext): ContainerStep {
  const path = containerPath(d.path);
  if (ctx.bindDevices) return { op: 'bindDevice', source: path, path };
  return {
    op: 'mknod',
    path,
    kind: d.type,
    major: d.type === 'p' ? 0 : Number(d.major ?? 0),
    minor: d.type === 'p' ? 0 : Number(d.minor ?? 0),
    // "a decimal (not an octal) number": the permission bits only; the kind sets the file type
    mode: (d.fileMode ?? 0o666) & 0o7777,
    uid: d.uid ?? 0,
    gid: d.gid ?? 0,
  };
}
