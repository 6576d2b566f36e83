// The config.json that `tsrun spec` writes: the same as `runc spec` (runc's specconv.Example and,
// with --rootless, specconv.ToRootless), fields in the same order, for runtime-spec 1.3.0.
import { existsSync } from 'node:fs';
import type { Mount, Namespace, Spec } from './types.ts';

export interface DefaultConfigOptions {
  /** for a container started by an unprivileged user (runc spec --rootless) */
  rootless: boolean;
  /** add a cgroup namespace; by default when the host has the unified cgroup v2 hierarchy, as runc does */
  cgroupNamespace?: boolean;
}

const CAPS = ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'];

export function defaultConfig({ rootless, cgroupNamespace = isCgroup2Host() }: DefaultConfigOptions): Spec {
  const mounts: Mount[] = [
    { destination: '/proc', type: 'proc', source: 'proc' },
    { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
    { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'] },
    { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
    { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'] },
  ];
  const namespaces: Namespace[] = [{ type: 'pid' }, { type: 'network' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }];
  if (cgroupNamespace) namespaces.push({ type: 'cgroup' });

  const config: Spec = {
    ociVersion: '1.3.0',
    process: {
      terminal: true,
      user: { uid: 0, gid: 0 },
      args: ['sh'],
      env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'TERM=xterm'],
      cwd: '/',
      capabilities: { bounding: [...CAPS], effective: [...CAPS], permitted: [...CAPS] },
      rlimits: [{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 }],
      noNewPrivileges: true,
    },
    root: { path: 'rootfs', readonly: true },
    hostname: 'runc',
    mounts,
    linux: {
      resources: { devices: [{ allow: false, access: 'rwm' }] },
      namespaces,
      maskedPaths: [
        '/proc/acpi', '/proc/asound', '/proc/kcore', '/proc/keys', '/proc/latency_stats', '/proc/timer_list',
        '/proc/timer_stats', '/proc/sched_debug', '/sys/firmware', '/proc/scsi', '/sys/devices/virtual/tpm',
      ],
      readonlyPaths: ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'],
    },
  };
  return rootless ? toRootless(config) : config;
}

/**
 * An unprivileged user cannot make a network namespace worth having, mount sysfs, own cgroups or
 * map ids other than its own: a new user namespace mapping the caller to root, /sys bound from the
 * host, no uid=/gid= mount options and no resources.
 */
function toRootless(config: Spec): Spec {
  const { resources: _dropped, namespaces = [], ...linux } = config.linux ?? {};
  const mounts = (config.mounts ?? []).map((m): Mount => {
    if (m.destination === '/sys') return { destination: '/sys', type: 'none', source: '/sys', options: ['rbind', 'nosuid', 'noexec', 'nodev', 'ro'] };
    return m.options ? { ...m, options: m.options.filter((o) => !o.startsWith('uid=') && !o.startsWith('gid=')) } : m;
  });
  return {
    ...config,
    mounts,
    linux: {
      uidMappings: [{ containerID: 0, hostID: process.geteuid?.() ?? 0, size: 1 }],
      gidMappings: [{ containerID: 0, hostID: process.getegid?.() ?? 0, size: 1 }],
      namespaces: [...namespaces.filter((ns) => ns.type !== 'network' && ns.type !== 'user'), { type: 'user' }],
      ...linux,
    },
  };
}

function isCgroup2Host(): boolean {
  return existsSync('/sys/fs/cgroup/cgroup.controllers');
}
