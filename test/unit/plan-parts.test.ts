// The plan builders one by one: the mount option table, bind mounts, the cgroup mount, devices,
// capabilities, rlimits, the process environment, hooks, sysctls.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Placement } from '../../src/cgroups/hierarchies.ts';
import { buildPlan, type BuildContext } from '../../src/plan/build.ts';
import { capabilityMask, planCapabilities } from '../../src/plan/capabilities.ts';
import { parseMountOptions } from '../../src/plan/mount-options.ts';
import { RLIMIT_RESOURCES } from '../../src/plan/rlimits.ts';
import type { ContainerStep, MountStep, Plan } from '../../src/plan/types.ts';
import type { Mount, Process, Spec } from '../../src/spec/types.ts';
import { throwsCode } from './fake-host.ts';

// MS_* and MOUNT_ATTR_* written out again here, from <linux/mount.h>, to check the constants module.
const MS = {
  RDONLY: 1, NOSUID: 2, NODEV: 4, NOEXEC: 8, SYNCHRONOUS: 16, REMOUNT: 32, MANDLOCK: 64, DIRSYNC: 128, NOSYMFOLLOW: 256,
  NOATIME: 1024, NODIRATIME: 2048, BIND: 4096, REC: 16384, SILENT: 32768, UNBINDABLE: 1 << 17, PRIVATE: 1 << 18,
  SLAVE: 1 << 19, SHARED: 1 << 20, RELATIME: 1 << 21, I_VERSION: 1 << 23, STRICTATIME: 1 << 24, LAZYTIME: 1 << 25,
};
const ATTR = { RDONLY: 1, NOSUID: 2, NODEV: 4, NOEXEC: 8, ATIME: 0x70, NOATIME: 0x10, STRICTATIME: 0x20, NODIRATIME: 0x80, NOSYMFOLLOW: 0x200000 };

const HYBRID: Placement[] = [
  { dir: '/sys/fs/cgroup/cpu,cpuacct/tsrun/c1', version: 1, controllers: ['cpu', 'cpuacct'] },
  { dir: '/sys/fs/cgroup/net_cls,net_prio/tsrun/c1', version: 1, controllers: ['net_cls', 'net_prio'] },
  { dir: '/sys/fs/cgroup/pids/tsrun/c1', version: 1, controllers: ['pids'] },
  { dir: '/sys/fs/cgroup/systemd/tsrun/c1', version: 1, controllers: ['name=systemd'] },
  { dir: '/sys/fs/cgroup/unified/tsrun/c1', version: 2, controllers: [] },
];

function ctx(over: Partial<BuildContext> = {}): BuildContext {
  return {
    bundle: '/b',
    rootfs: '/b/rootfs',
    startFifo: '/s/start',
    startedFifo: '/s/started',
    noPivot: false,
    preserveFds: 0,
    listenFds: 0,
    cgroups: { placements: HYBRID },
    host: { capLastCap: 40, hostUid: 0, hostGid: 0, kindOf: (p) => (p.endsWith('.conf') || p.endsWith('/file') ? 'file' : p.includes('missing') ? 'missing' : 'dir') },
    ...over,
  };
}

function spec(over: Partial<Spec> = {}, process: Partial<Process> = {}): Spec {
  return {
    ociVersion: '1.3.0',
    root: { path: 'rootfs' },
    process: { cwd: '/', args: ['/bin/sh'], user: { uid: 0, gid: 0 }, ...process },
    linux: { namespaces: [{ type: 'mount' }, { type: 'pid' }] },
    ...over,
  };
}

const mountSteps = (plan: Plan) => plan.container.filter((s): s is MountStep => s.op === 'mount');
const mountsOf = (...mounts: Mount[]) => mountSteps(buildPlan(spec({ mounts }), ctx()));
// ---------------------------------------------------------------------------------------------
// the mount option table

test('mount options: every option of the table that sets a flag', () => {
  const sets: Record<string, number> = {
    ro: MS.RDONLY, nosuid: MS.NOSUID, nodev: MS.NODEV, noexec: MS.NOEXEC, sync: MS.SYNCHRONOUS, remount: MS.REMOUNT,
    mand: MS.MANDLOCK, dirsync: MS.DIRSYNC, nosymfollow: MS.NOSYMFOLLOW, noatime: MS.NOATIME, nodiratime: MS.NODIRATIME,
    bind: MS.BIND, rbind: MS.BIND | MS.REC, silent: MS.SILENT, relatime: MS.RELATIME, iversion: MS.I_VERSION,
    strictatime: MS.STRICTATIME, lazytime: MS.LAZYTIME,
  };
  for (const [option, flag] of Object.entries(sets)) {
    const o = parseMountOptions([option], 'm');
    assert.is(o.flags, flag, option);
    assert.is(o.cleared, 0, option);
    assert.equal(o.data, [], option);
  }
});

const SETTERS: Record<string, number> = {
  ro: MS.RDONLY, nosuid: MS.NOSUID, nodev: MS.NODEV, noexec: MS.NOEXEC, sync: MS.SYNCHRONOUS, mand: MS.MANDLOCK,
  nosymfollow: MS.NOSYMFOLLOW, noatime: MS.NOATIME, nodiratime: MS.NODIRATIME, silent: MS.SILENT, relatime: MS.RELATIME,
  iversion: MS.I_VERSION, strictatime: MS.STRICTATIME, lazytime: MS.LAZYTIME,
};

test('mount options: every option of the table that clears a flag, and defaults', () => {
  const clears: Record<string, number> = {
    rw: MS.RDONLY, suid: MS.NOSUID, dev: MS.NODEV, exec: MS.NOEXEC, async: MS.SYNCHRONOUS, nomand: MS.MANDLOCK,
    symfollow: MS.NOSYMFOLLOW, atime: MS.NOATIME, diratime: MS.NODIRATIME, loud: MS.SILENT, norelatime: MS.RELATIME,
    noiversion: MS.I_VERSION, nostrictatime: MS.STRICTATIME, nolazytime: MS.LAZYTIME,
  };
  for (const [option, flag] of Object.entries(clears)) {
    const o = parseMountOptions([option], 'm');
    assert.is(o.cleared, flag, option);
    assert.is(o.flags, 0, option);
    // and it undoes the option it opposes
    const setter = Object.keys(SETTERS).find((k) => SETTERS[k] === flag)!;
    assert.is(parseMountOptions([setter, option], 'm').flags, 0, `${setter},${option}`);
    assert.is(parseMountOptions([option, setter], 'm').flags, flag, `${option},${setter}`);
  }
  const d = parseMountOptions(['defaults'], 'm');
  assert.equal([d.flags, d.cleared, d.data], [0, 0, []], 'defaults is a placeholder');
});

test('mount options: propagation options, each one entry in order', () => {
  const o = parseMountOptions(['shared', 'rshared', 'slave', 'rslave', 'private', 'rprivate', 'unbindable', 'runbindable'], 'm');
  assert.equal(o.propagation, [
    MS.SHARED, MS.SHARED | MS.REC, MS.SLAVE, MS.SLAVE | MS.REC, MS.PRIVATE, MS.PRIVATE | MS.REC, MS.UNBINDABLE, MS.UNBINDABLE | MS.REC,
  ]);
  assert.is(o.flags, 0);
});

test('mount options: recursive attributes for mount_setattr', () => {
  const cases: Record<string, [set: number, clear: number]> = {
    rro: [ATTR.RDONLY, 0], rrw: [0, ATTR.RDONLY],
    rnosuid: [ATTR.NOSUID, 0], rsuid: [0, ATTR.NOSUID],
    rnodev: [ATTR.NODEV, 0], rdev: [0, ATTR.NODEV],
    rnoexec: [ATTR.NOEXEC, 0], rexec: [0, ATTR.NOEXEC],
    rnodiratime: [ATTR.NODIRATIME, 0], rdiratime: [0, ATTR.NODIRATIME],
    rnosymfollow: [ATTR.NOSYMFOLLOW, 0], rsymfollow: [0, ATTR.NOSYMFOLLOW],
    // the access time is an enum: setting a value clears the whole field
    rrelatime: [0, ATTR.ATIME], rnoatime: [ATTR.NOATIME, ATTR.ATIME], rstrictatime: [ATTR.STRICTATIME, ATTR.ATIME],
    // "not noatime", "not strictatime": back to the default, relatime (a clear of one value alone is EINVAL)
    ratime: [0, ATTR.ATIME], rnostrictatime: [0, ATTR.ATIME],
    // relatime has no bit: nothing to clear (as runc)
    rnorelatime: [0, 0],
  };
  for (const [option, [set, clear]] of Object.entries(cases)) {
    const o = parseMountOptions([option], 'm');
    assert.equal([o.recursiveAttrSet, o.recursiveAttrClear, o.flags, o.data], [set, clear, 0, []], option);
  }
  const combo = (...opts: string[]) => {
    const o = parseMountOptions(opts, 'm');
    return [o.recursiveAttrSet, o.recursiveAttrClear];
  };
  assert.equal(combo('rro', 'rrw'), [0, ATTR.RDONLY], 'the last one wins');
  assert.equal(combo('rrw', 'rro', 'rnosuid'), [ATTR.RDONLY | ATTR.NOSUID, 0]);
  assert.equal(combo('rnoatime', 'rstrictatime'), [ATTR.STRICTATIME, ATTR.ATIME]);
  assert.equal(combo('rnoatime', 'ratime'), [0, ATTR.ATIME]);
  assert.equal(combo('rstrictatime', 'ratime'), [ATTR.STRICTATIME, ATTR.ATIME], 'strictatime is not noatime: kept');
  assert.equal(combo('rnoatime', 'rnodiratime', 'rnosuid'), [ATTR.NOATIME | ATTR.NODIRATIME | ATTR.NOSUID, ATTR.ATIME]);
});

test('mount options: unknown options are fs data, in order; the steps carry everything', () => {
  const [m] = mountsOf({ destination: '/tmp', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'size=1m', 'ro', 'mode=1777', 'rshared', 'rnoexec', ''] });
  assert.equal(m, {
    op: 'mount', source: 'tmpfs', destination: '/tmp', fstype: 'tmpfs', flags: MS.NOSUID | MS.RDONLY, data: 'size=1m,mode=1777',
    remountFlags: 0, propagation: [MS.SHARED | MS.REC], recursiveAttrSet: ATTR.NOEXEC, recursiveAttrClear: 0, createAs: 'dir',
  });
});

test('mount options: tmpcopyup copies up into a tmpfs only', () => {
  const [etc] = mountsOf({ destination: '/etc', type: 'tmpfs', source: 'tmpfs', options: ['tmpcopyup', 'nosuid'] });
  assert.equal([etc.fstype, etc.flags, etc.data, etc.copyUp], ['tmpfs', MS.NOSUID, '', true]);
  assert.is(mountsOf({ destination: '/t', type: 'tmpfs', source: 'tmpfs' })[0].copyUp, undefined);
  // elsewhere validation refuses it (test/unit/validate.test.ts)
});

test('mount options: idmap, ridmap and id-mapped mounts are refused, naming the option', () => {
  for (const option of ['idmap', 'ridmap']) {
    const mounts: Mount[] = [{ destination: '/a', type: 'tmpfs', source: 'tmpfs' }, { destination: '/x', type: 'tmpfs', source: 'tmpfs', options: ['rw', option] }];
    throwsCode(() => buildPlan(spec({ mounts }), ctx()), 'ERR_NOT_SUPPORTED', 'mounts[1].options[1]');
  }
  throwsCode(
    () => buildPlan(spec({ mounts: [{ destination: '/x', type: 'bind', source: '/x', options: ['rbind'], uidMappings: [{ containerID: 0, hostID: 1, size: 1 }], gidMappings: [] }] }), ctx()),
    'ERR_NOT_SUPPORTED',
    'mounts[0].uidMappings',
  );
});

// ---------------------------------------------------------------------------------------------
// bind mounts, destinations

test('bind: flags, and the other flags in a remount', () => {
  const [ro, rw, plain, typed, recRo] = mountsOf(
    { destination: '/a', type: 'none', source: '/src/a', options: ['rbind', 'ro', 'nosuid', 'nodev', 'rprivate'] },
    { destination: '/b', source: '/src/b', options: ['bind', 'rw'] },
    { destination: '/c', source: '/src/c', options: ['rbind'] },
    { destination: '/d', type: 'bind', source: '/src/d' },
    { destination: '/e', source: '/src/e', options: ['bind', 'remount', 'rro', 'noexec'] },
  );
  assert.equal([ro.flags, ro.remountFlags, ro.propagation, ro.fstype], [MS.BIND | MS.REC, MS.BIND | MS.REMOUNT | MS.RDONLY | MS.NOSUID | MS.NODEV, [MS.PRIVATE | MS.REC], 'bind']);
  assert.equal([rw.flags, rw.remountFlags], [MS.BIND, 0], 'options that only clear flags do not remount (mount(8))');
  assert.equal([plain.flags, plain.remountFlags], [MS.BIND | MS.REC, 0]);
  assert.equal([typed.flags, typed.remountFlags, typed.source], [MS.BIND, 0, '/src/d'], 'type bind alone is a bind (runc, crun)');
  assert.equal([recRo.flags, recRo.remountFlags, recRo.recursiveAttrSet], [MS.BIND, MS.BIND | MS.REMOUNT | MS.NOEXEC, ATTR.RDONLY]);
});

test('bind: a file source makes a file mount point, a directory (or missing) source a directory', () => {
  const [file, dir, missing] = mountsOf(
    { destination: '/etc/resolv.conf', source: '/etc/resolv.conf', options: ['rbind', 'ro'] },
    { destination: '/data', source: '/srv/data', options: ['rbind'] },
    { destination: '/gone', source: '/srv/missing', options: ['bind'] },
  );
  assert.is(file.createAs, 'file');
  assert.is(dir.createAs, 'dir');
  assert.is(missing.createAs, 'dir', 'the mount itself reports ENOENT');
});

test('bind: a relative source is taken from the bundle dir; a relative destination from /', () => {
  const [m, n] = mountsOf(
    { destination: 'data/x', source: 'volumes/x', options: ['bind'] },
    { destination: '/a/../b/./c/', source: '../elsewhere/file', options: ['rbind'] },
  );
  assert.equal([m.source, m.destination], ['/b/volumes/x', '/data/x']);
  assert.equal([n.source, n.destination, n.createAs], ['/elsewhere/file', '/b/c', 'file']);
});

test('bind: filesystem options are ignored, as the kernel does', () => {
  const [step] = mountsOf({ destination: '/x', source: '/y', options: ['bind', 'mode=755'] }) as MountStep[];
  assert.is(step.data, '');
});

test('bind: refused shapes', () => {
  throwsCode(() => mountsOf({ destination: '/x', options: ['bind'] }), 'ERR_CONFIG_INVALID', 'mounts[0].source');
  throwsCode(() => mountsOf({ destination: '/', source: '/y', options: ['bind'] }), 'ERR_CONFIG_INVALID', 'mounts[0].destination');
});

// ---------------------------------------------------------------------------------------------
// the cgroup mount

test('cgroup mount on a hybrid host: tmpfs, a bind per hierarchy, symlinks, read-only tmpfs last', () => {
  const steps = buildPlan(
    spec({ mounts: [{ destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro', 'rslave'] }] }),
    ctx(),
  ).container;
  const start = steps.findIndex((s) => s.op === 'mount');
  const end = steps.findIndex((s, i) => i > start && s.op !== 'mount' && s.op !== 'symlink');
  const cg = steps.slice(start, end).filter((s) => s.op === 'symlink' || (s.op === 'mount' && s.destination.startsWith('/sys/fs/cgroup')));
  const own = MS.NOSUID | MS.NOEXEC | MS.NODEV | MS.RELATIME | MS.RDONLY;
  const bind = (source: string, destination: string): ContainerStep => ({
    op: 'mount', source, destination, fstype: 'bind', flags: MS.BIND | MS.REC, data: '', remountFlags: MS.BIND | MS.REMOUNT | own,
    propagation: [MS.SLAVE | MS.REC], recursiveAttrSet: 0, recursiveAttrClear: 0, createAs: 'dir',
  });
  assert.equal(cg, [
    {
      op: 'mount', source: 'tmpfs', destination: '/sys/fs/cgroup', fstype: 'tmpfs', flags: MS.NOSUID | MS.NODEV | MS.NOEXEC, data: 'mode=755',
      remountFlags: 0, propagation: [MS.SLAVE | MS.REC], recursiveAttrSet: 0, recursiveAttrClear: 0, createAs: 'dir',
    },
    bind('/sys/fs/cgroup/cpu,cpuacct/tsrun/c1', '/sys/fs/cgroup/cpu,cpuacct'),
    bind('/sys/fs/cgroup/net_cls,net_prio/tsrun/c1', '/sys/fs/cgroup/net_cls,net_prio'),
    bind('/sys/fs/cgroup/pids/tsrun/c1', '/sys/fs/cgroup/pids'),
    bind('/sys/fs/cgroup/systemd/tsrun/c1', '/sys/fs/cgroup/systemd'),
    bind('/sys/fs/cgroup/unified/tsrun/c1', '/sys/fs/cgroup/unified'),
    { op: 'symlink', target: 'cpu,cpuacct', path: '/sys/fs/cgroup/cpu' },
    { op: 'symlink', target: 'cpu,cpuacct', path: '/sys/fs/cgroup/cpuacct' },
    { op: 'symlink', target: 'net_cls,net_prio', path: '/sys/fs/cgroup/net_cls' },
    { op: 'symlink', target: 'net_cls,net_prio', path: '/sys/fs/cgroup/net_prio' },
    {
      op: 'mount', source: '', destination: '/sys/fs/cgroup', fstype: '', flags: MS.REMOUNT | MS.RDONLY | MS.NOSUID | MS.NODEV | MS.NOEXEC, data: '',
      remountFlags: 0, propagation: [], recursiveAttrSet: 0, recursiveAttrClear: 0, createAs: 'dir',
    },
  ]);
});

test('cgroup mount read-write on a hybrid host: no remounts at all', () => {
  const steps = mountSteps(buildPlan(spec({ mounts: [{ destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup' }] }), ctx()));
  assert.is(steps.length, 1 + HYBRID.length);
  assert.ok(steps.every((s) => s.remountFlags === 0 && !(s.flags & MS.REMOUNT)));
});

test('cgroup mount on a cgroup v2 host: one bind of the container\'s cgroup', () => {
  const placements: Placement[] = [{ dir: '/sys/fs/cgroup/tsrun/c1', version: 2, controllers: ['cpu', 'io', 'memory', 'pids'] }];
  const plan = buildPlan(spec({ mounts: [{ destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['ro', 'nosuid'] }] }), ctx({ cgroups: { placements } }));
  assert.equal(mountSteps(plan), [
    {
      op: 'mount', source: '/sys/fs/cgroup/tsrun/c1', destination: '/sys/fs/cgroup', fstype: 'bind', flags: MS.BIND, data: '',
      remountFlags: MS.BIND | MS.REMOUNT | MS.RDONLY | MS.NOSUID, propagation: [], recursiveAttrSet: 0, recursiveAttrClear: 0, createAs: 'dir',
    },
  ]);
  assert.not.ok(plan.container.some((s) => s.op === 'symlink' && s.path.startsWith('/sys')));
});

// ---------------------------------------------------------------------------------------------
// devices

test('devices: defaults, then linux.devices (which replace a default at the same path), then the symlinks', () => {
  const plan = buildPlan(
    spec({
      linux: {
        namespaces: [{ type: 'mount' }],
        devices: [
          { type: 'c', path: '/dev/fuse', major: 10, minor: 229, fileMode: 0o20600, uid: 1, gid: 2 },
          { type: 'b', path: '/dev/null', major: 7, minor: 0 },
          { type: 'p', path: '/run/fifo' },
          { type: 'u', path: 'dev/u', major: 4, minor: 1 },
          { type: 'c', path: '/dev/ptmx', major: 5, minor: 2 },
        ],
      },
    }),
    ctx({ host: { ...ctx().host, kindOf: () => 'missing' } }),
  );
  const dev = plan.container.filter((s) => s.op === 'mknod' || s.op === 'symlink' || s.op === 'bindDevice');
  const node = (path: string, kind: string, major: number, minor: number, mode = 0o666, uid = 0, gid = 0) => ({ op: 'mknod', path, kind, major, minor, mode, uid, gid });
  assert.equal(dev, [
    node('/dev/zero', 'c', 1, 5), node('/dev/full', 'c', 1, 7), node('/dev/random', 'c', 1, 8), node('/dev/urandom', 'c', 1, 9), node('/dev/tty', 'c', 5, 0),
    node('/dev/fuse', 'c', 10, 229, 0o600, 1, 2), node('/dev/null', 'b', 7, 0), node('/run/fifo', 'p', 0, 0), node('/dev/u', 'u', 4, 1),
    { op: 'symlink', target: 'pts/ptmx', path: '/dev/ptmx' },
    { op: 'symlink', target: '/proc/self/fd', path: '/dev/fd' },
    { op: 'symlink', target: '/proc/self/fd/0', path: '/dev/stdin' },
    { op: 'symlink', target: '/proc/self/fd/1', path: '/dev/stdout' },
    { op: 'symlink', target: '/proc/self/fd/2', path: '/dev/stderr' },
  ]);
});

test('id maps: root writes them; an unprivileged runtime maps itself, or asks newuidmap for ranges; it needs a user namespace', () => {
  const self = [{ containerID: 0, hostID: 1000, size: 1 }];
  const withRange = [...self, { containerID: 1, hostID: 100000, size: 65536 }];
  const userns = (uidMappings: typeof self, gidMappings = self) => spec({ linux: { namespaces: [{ type: 'mount' }, { type: 'user' }], uidMappings, gidMappings } });
  const unprivileged = ctx({ host: { ...ctx().host, hostUid: 1000, hostGid: 1000 } });
  assert.is(buildPlan(userns(self), ctx()).clone.idMapper, undefined);
  assert.is(buildPlan(userns(self), unprivileged).clone.idMapper, 'self');
  assert.is(buildPlan(userns(withRange), unprivileged).clone.idMapper, 'helpers');
  assert.is(buildPlan(userns(self, withRange), unprivileged).clone.idMapper, 'helpers');
  assert.is(buildPlan(userns([{ containerID: 0, hostID: 1001, size: 1 }]), unprivileged).clone.idMapper, 'helpers', 'another uid needs newuidmap');
  throwsCode(() => buildPlan(spec(), unprivileged), 'ERR_CONFIG_INVALID', 'linux.namespaces');
});

test('the init is cloned into its cgroup2 directory, except when a cgroup namespace is joined', () => {
  const v2: Placement[] = [{ dir: '/sys/fs/cgroup/tsrun/c1', version: 2, controllers: ['pids'] }];
  const openCgroup = (plan: Plan) => plan.host.filter((s) => s.op === 'openCgroup');
  assert.equal(openCgroup(buildPlan(spec(), ctx({ cgroups: { placements: v2 } }))), [{ op: 'openCgroup', path: '/sys/fs/cgroup/tsrun/c1' }]);
  const joined = spec({ linux: { namespaces: [{ type: 'mount' }, { type: 'cgroup', path: '/proc/9/ns/cgroup' }] } });
  assert.equal(openCgroup(buildPlan(joined, ctx({ cgroups: { placements: v2 } }))), [], 'outside the joined namespace root the kernel refuses it');
  assert.equal(openCgroup(buildPlan(spec(), ctx({ cgroups: { placements: [] } }))), []);
});

test('devices: bound from the host in a user namespace or for a non-root runtime; none when /dev is a bind mount', () => {
  const userns = spec({ linux: { namespaces: [{ type: 'mount' }, { type: 'user' }], uidMappings: [{ containerID: 0, hostID: 1000, size: 1 }], gidMappings: [{ containerID: 0, hostID: 1000, size: 1 }] } });
  const binds = buildPlan(userns, ctx()).container.filter((s) => s.op === 'bindDevice');
  assert.equal(binds[0], { op: 'bindDevice', source: '/dev/null', path: '/dev/null' });
  assert.is(binds.length, 6);
  assert.ok(buildPlan(userns, ctx({ host: { ...ctx().host, hostUid: 1000, hostGid: 1000 } })).container.some((s) => s.op === 'bindDevice'));
  for (const mount of [
    { destination: '/dev', source: '/dev', options: ['rbind'] },
    { destination: '/dev/', type: 'bind', source: '/dev' },
  ]) {
    const plan = buildPlan(spec({ mounts: [mount] }), ctx());
    assert.not.ok(plan.container.some((s) => s.op === 'mknod' || s.op === 'symlink' || s.op === 'bindDevice'), JSON.stringify(mount));
  }
  assert.ok(buildPlan(spec({ mounts: [{ destination: '/dev', type: 'tmpfs', source: 'tmpfs' }] }), ctx()).container.some((s) => s.op === 'mknod'));
});

// ---------------------------------------------------------------------------------------------
// capabilities

test('capabilities: names to bits', () => {
  assert.is(capabilityMask(['CAP_CHOWN'], 'x', 40), 1n);
  assert.is(capabilityMask(['CAP_SYS_ADMIN'], 'x', 40), 1n << 21n);
  assert.is(capabilityMask(['CAP_NET_BIND_SERVICE', 'CAP_KILL', 'CAP_AUDIT_WRITE'], 'x', 40), (1n << 10n) | (1n << 5n) | (1n << 29n));
  assert.is(capabilityMask(['CAP_CHECKPOINT_RESTORE'], 'x', 40), 1n << 40n);
  assert.is(capabilityMask(undefined, 'x', 40), 0n);
});

test('capabilities: the five sets; bounding (and the rest) capped at cap_last_cap; ambient only if permitted and inheritable', () => {
  const process: Process = {
    cwd: '/', args: ['x'], user: { uid: 0, gid: 0 },
    capabilities: {
      bounding: ['CAP_CHOWN', 'CAP_BPF', 'CAP_PERFMON', 'CAP_AUDIT_READ'],
      effective: ['CAP_SYS_ADMIN'],
      permitted: ['CAP_SYS_ADMIN', 'CAP_KILL', 'CAP_NET_RAW'],
      inheritable: ['CAP_KILL', 'CAP_NET_RAW'],
      ambient: ['CAP_KILL', 'CAP_SYS_ADMIN'],
    },
  };
  assert.equal(planCapabilities(process, 37), {
    bounding: 1n | (1n << 37n),
    effective: 1n << 21n,
    permitted: (1n << 21n) | (1n << 5n) | (1n << 13n),
    inheritable: (1n << 5n) | (1n << 13n),
    ambient: 1n << 5n,
  });
  const none = { bounding: 0n, effective: 0n, permitted: 0n, inheritable: 0n, ambient: 0n };
  assert.equal(planCapabilities({ ...process, capabilities: undefined }, 40), none, 'no capabilities object: none at all');
  const identity = buildPlan(spec({}, { capabilities: undefined }), ctx()).container.find((s) => s.op === 'identity');
  assert.equal(identity && identity.op === 'identity' && identity.capabilities, none);
});

test('capabilities: an unknown name is a config error naming its path', () => {
  throwsCode(() => buildPlan(spec({}, { capabilities: { effective: ['CAP_KILL', 'CAP_FLY'] } }), ctx()), 'ERR_CONFIG_INVALID', 'process.capabilities.effective[1]');
  throwsCode(() => buildPlan(spec({}, { capabilities: { bounding: ['chown'] } }), ctx()), 'ERR_CONFIG_INVALID', 'process.capabilities.bounding[0]');
});

// ---------------------------------------------------------------------------------------------
// rlimits

test('rlimits: resource numbers of x86_64, values exact as bigint', () => {
  assert.equal(RLIMIT_RESOURCES, {
    RLIMIT_CPU: 0, RLIMIT_FSIZE: 1, RLIMIT_DATA: 2, RLIMIT_STACK: 3, RLIMIT_CORE: 4, RLIMIT_RSS: 5, RLIMIT_NPROC: 6, RLIMIT_NOFILE: 7,
    RLIMIT_MEMLOCK: 8, RLIMIT_AS: 9, RLIMIT_LOCKS: 10, RLIMIT_SIGPENDING: 11, RLIMIT_MSGQUEUE: 12, RLIMIT_NICE: 13, RLIMIT_RTPRIO: 14, RLIMIT_RTTIME: 15,
  });
  const max = 18446744073709551615n;
  const plan = buildPlan(
    spec({}, {
      rlimits: [
        { type: 'RLIMIT_NOFILE', soft: 1024, hard: 4096 },
        { type: 'RLIMIT_CORE', soft: max, hard: max },
        { type: 'RLIMIT_MEMLOCK', soft: 2 ** 53, hard: 9007199254740993n },
      ],
    }),
    ctx(),
  );
  assert.equal(plan.container.filter((s) => s.op === 'rlimit'), [
    { op: 'rlimit', resource: 7, soft: 1024n, hard: 4096n },
    { op: 'rlimit', resource: 4, soft: max, hard: max },
    { op: 'rlimit', resource: 8, soft: 9007199254740992n, hard: 9007199254740993n },
  ]);
});

test('rlimits: unknown, duplicate, soft above hard, out of range are config errors', () => {
  const bad = (rlimits: Process['rlimits'], text: string) => throwsCode(() => buildPlan(spec({}, { rlimits }), ctx()), 'ERR_CONFIG_INVALID', text);
  bad([{ type: 'RLIMIT_FOO', soft: 1, hard: 1 }], 'process.rlimits[0].type');
  bad([{ type: 'RLIMIT_NOFILE', soft: 1, hard: 1 }, { type: 'RLIMIT_NOFILE', soft: 2, hard: 2 }], 'process.rlimits[1].type');
  bad([{ type: 'RLIMIT_NOFILE', soft: 2, hard: 1 }], 'process.rlimits[0]');
  bad([{ type: 'RLIMIT_NOFILE', soft: -1, hard: 1 }], 'process.rlimits[0].soft');
  bad([{ type: 'RLIMIT_NOFILE', soft: 1, hard: 1n << 64n }], 'process.rlimits[0].hard');
  bad([{ type: 'RLIMIT_NOFILE', soft: 1.5, hard: 2 }], 'process.rlimits[0].soft');
});

// ---------------------------------------------------------------------------------------------
// process: env, identity, cwd, args

test('process: LISTEN_FDS and LISTEN_PID=1 for socket activation, replacing inherited ones', () => {
  const env = ['PATH=/bin', 'LISTEN_FDS=9', 'A=1'];
  const plan = buildPlan(spec({}, { env }), ctx({ listenFds: 2 }));
  const expected = ['PATH=/bin', 'A=1', 'LISTEN_FDS=2', 'LISTEN_PID=1'];
  for (const op of ['findExecutable', 'exec'] as const) {
    const step = plan.container.find((s) => s.op === op);
    assert.equal(step && 'env' in step && step.env, expected, op);
  }
  const plain = buildPlan(spec({}, { env }), ctx()).container.find((s) => s.op === 'exec');
  assert.equal(plain && plain.op === 'exec' && plain.env, env, 'unchanged without LISTEN_FDS');
});

test('process: identity and the rest', () => {
  const plan = buildPlan(
    spec({}, { user: { uid: 1000, gid: 100, additionalGids: [5, 6], umask: 0o077 }, noNewPrivileges: true, oomScoreAdj: -500, cwd: '/home/u', terminal: true, consoleSize: { height: 24, width: 80 } }),
    ctx({ consoleSocket: '/c.sock' }),
  );
  const by = (op: string) => plan.container.find((s) => s.op === op);
  assert.equal(by('terminal'), { op: 'terminal', rows: 24, cols: 80 });
  assert.equal(by('oomScoreAdj'), { op: 'oomScoreAdj', value: -500 });
  assert.equal(by('chdir'), { op: 'chdir', path: '/home/u' });
  const id = by('identity');
  assert.ok(id && id.op === 'identity');
  assert.equal([id.uid, id.gid, id.additionalGids, id.umask, id.noNewPrivileges], [1000, 100, [5, 6], 0o077, true]);
  const dflt = buildPlan(spec(), ctx()).container.find((s) => s.op === 'identity');
  assert.ok(dflt && dflt.op === 'identity');
  assert.equal([dflt.umask, dflt.noNewPrivileges, dflt.additionalGids], [0o022, false, []], "runc's umask 0022 by default");
});

test('process: args and cwd are checked', () => {
  throwsCode(() => buildPlan(spec({}, { args: [] }), ctx()), 'ERR_CONFIG_INVALID', 'process.args');
  throwsCode(() => buildPlan(spec({}, { cwd: 'home' }), ctx()), 'ERR_CONFIG_INVALID', 'process.cwd');
});

// ---------------------------------------------------------------------------------------------
// hooks, sysctl, masked and read-only paths

test('hooks: argv defaults to [path]; env to none for createContainer and to the process env for startContainer (runc)', () => {
  const plan = buildPlan(
    spec({ hooks: { createContainer: [{ path: '/h/a' }, { path: '/h/b', args: ['b', '-x'], env: ['X=1'], timeout: 3 }], startContainer: [{ path: '/h/s' }] } }, { env: ['P=1'] }),
    ctx(),
  );
  const hooks = plan.container.filter((s) => s.op === 'hooks');
  assert.equal(hooks, [
    { op: 'hooks', stage: 'createContainer', hooks: [{ path: '/h/a', args: ['/h/a'], env: [] }, { path: '/h/b', args: ['b', '-x'], env: ['X=1'], timeout: 3 }] },
    { op: 'hooks', stage: 'startContainer', hooks: [{ path: '/h/s', args: ['/h/s'], env: ['P=1'] }] },
  ]);
});

test('sysctl: sorted, canonical keys, only for namespaces of the container\'s own', () => {
  const ns = [{ type: 'mount' as const }, { type: 'ipc' as const }, { type: 'network' as const }, { type: 'uts' as const }];
  const plan = buildPlan(spec({ linux: { namespaces: ns, sysctl: { 'net/ipv4/conf/eth0.100/rp_filter': '0', 'kernel.msgmax': '9', 'fs.mqueue.queues_max': '5', 'kernel.domainname': 'x' } } }), ctx());
  assert.equal(plan.container.filter((s) => s.op === 'sysctl'), [
    { op: 'sysctl', key: 'fs.mqueue.queues_max', value: '5' },
    { op: 'sysctl', key: 'kernel.domainname', value: 'x' },
    { op: 'sysctl', key: 'kernel.msgmax', value: '9' },
    { op: 'sysctl', key: 'net.ipv4.conf.eth0/100.rp_filter', value: '0' },
  ]);
  const bad = (sysctl: Record<string, string>, namespaces = ns) => throwsCode(() => buildPlan(spec({ linux: { namespaces, sysctl } }), ctx()), 'ERR_CONFIG_INVALID', 'linux.sysctl[');
  bad({ 'vm.swappiness': '1' });
  bad({ 'kernel.hostname': 'h' });
  bad({ 'net.ipv4.ip_forward': '1' }, [{ type: 'mount' }]);
  bad({ 'kernel.shmmax': '1' }, [{ type: 'mount' }]);
  bad({ 'user.max_user_namespaces': '0' });
});

test('masked and read-only paths must be absolute', () => {
  throwsCode(() => buildPlan(spec({ linux: { namespaces: [{ type: 'mount' }], maskedPaths: ['/ok', 'proc/kcore'] } }), ctx()), 'ERR_CONFIG_INVALID', 'linux.maskedPaths[1]');
  throwsCode(() => buildPlan(spec({ linux: { namespaces: [{ type: 'mount' }], readonlyPaths: ['sys'] } }), ctx()), 'ERR_CONFIG_INVALID', 'linux.readonlyPaths[0]');
});

test.run();
