// buildPlan end to end: golden plans for real configs (UPDATE_GOLDEN=1 rewrites them), the step
// order, and the namespace rules.
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { isTsrunError } from '../../src/errors.ts';
import { buildPlan, describePlan } from '../../src/plan/build.ts';
import type { Plan } from '../../src/plan/types.ts';
import type { Spec } from '../../src/spec/types.ts';
import { V2, planContext, throwsCode } from './fake-host.ts';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = join(here, '..', '..');
const clients = join(repoRoot, 'test', 'fixtures', 'clients');
const goldenDir = join(here, 'golden');

const ctx = planContext;

const readJson = (path: string): Spec => JSON.parse(readFileSync(path, 'utf8')) as Spec;
const defaultConfig = () => readJson(join(repoRoot, 'bundles', 'default', 'config.json'));

/** JSON with bigints as "123n" strings: stable and readable in a diff. */
function serialise(plan: Plan): string {
  return `${JSON.stringify(plan, (_, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v), 2)}\n`;
}

function golden(name: string, plan: Plan): void {
  const file = join(goldenDir, `${name}.plan.json`);
  const actual = serialise(plan);
  if (process.env.UPDATE_GOLDEN === '1') {
    writeFileSync(file, actual);
    return;
  }
  assert.ok(existsSync(file), `${file} is missing: run with UPDATE_GOLDEN=1`);
  assert.fixture(actual, readFileSync(file, 'utf8'), `${name}: plan differs from ${file} (UPDATE_GOLDEN=1 rewrites it)`);
}

const ops = (plan: Plan) => plan.container.map((s) => s.op);
function withLinux(config: Spec, linux: Partial<NonNullable<Spec['linux']>>): Spec {
  return { ...config, linux: { ...config.linux, ...linux } };
}

// ---------------------------------------------------------------------------------------------
// golden plans

test('golden: bundles/default on a hybrid host', () => {
  golden('default', buildPlan(defaultConfig(), ctx()));
});

test('golden: containerd ctr run', () => {
  golden('containerd-ctr-run', buildPlan(readJson(join(clients, 'containerd-ctr-run.config.json')), ctx()));
});

test('golden: podman run on a cgroup v2 host (its seccomp profile is not the plan\'s business)', () => {
  const config = readJson(join(clients, 'podman-run.config.json'));
  golden('podman-run', buildPlan(config, ctx({ cgroups: { placements: V2 } })));
});

test('golden: a new user namespace with mappings', () => {
  const config = withLinux(defaultConfig(), {
    namespaces: [...defaultConfig().linux!.namespaces!, { type: 'user' }],
    uidMappings: [{ containerID: 0, hostID: 100000, size: 65536 }],
    gidMappings: [
      { containerID: 0, hostID: 100000, size: 1000 },
      { containerID: 1000, hostID: 200000, size: 64536 },
    ],
  });
  golden('userns', buildPlan(config, ctx()));
});

test('golden: --no-pivot', () => {
  golden('no-pivot', buildPlan(defaultConfig(), ctx({ noPivot: true })));
});

test('golden: a terminal with a console socket', () => {
  const config = defaultConfig();
  config.process = { ...config.process!, terminal: true, consoleSize: { height: 40, width: 120 } };
  golden('terminal', buildPlan(config, ctx({ consoleSocket: '/tmp/pty/console.sock' })));
});

test('golden: namespaces joined by path', () => {
  const config = withLinux(defaultConfig(), {
    namespaces: [
      { type: 'mount', path: '/proc/42/ns/mnt' },
      { type: 'network', path: '/var/run/netns/blue' },
      { type: 'pid' },
      { type: 'ipc', path: '/proc/42/ns/ipc' },
      { type: 'uts' },
      { type: 'user', path: '/proc/42/ns/user' },
      { type: 'cgroup' },
    ],
  });
  golden('joined-namespaces', buildPlan(config, ctx()));
});

test('golden: a time namespace with offsets', () => {
  const config = withLinux(defaultConfig(), {
    namespaces: [...defaultConfig().linux!.namespaces!, { type: 'time' }],
    timeOffsets: { boottime: { secs: 86400n * 365n * 10n }, monotonic: { secs: -3600, nanosecs: 500 } },
  });
  golden('time-offsets', buildPlan(config, ctx()));
});

// ---------------------------------------------------------------------------------------------
// order

function everything(): Spec {
  const config = defaultConfig();
  config.process = { ...config.process!, terminal: true, oomScoreAdj: 100 };
  config.domainname = 'example.org';
  config.hooks = {
    createContainer: [{ path: '/bin/true' }],
    startContainer: [{ path: '/bin/echo', args: ['echo', 'hi'], env: ['A=1'], timeout: 5 }],
  };
  config.linux = { ...config.linux, rootfsPropagation: 'shared', sysctl: { 'net.ipv4.ip_forward': '1', 'kernel.shmmax': '1000' } };
  return config;
}

test('order: the container steps follow the contract at the top of build.ts', () => {
  const plan = buildPlan(everything(), ctx({ consoleSocket: '/tmp/c.sock' }));
  assert.equal(plan.host.map((s) => s.op), ['startFifos', 'connectConsole', 'openCgroup']);
  const seq = ops(plan).filter((op, i, all) => op !== all[i - 1]); // runs of mounts, devices, ... as one
  assert.equal(seq, [
    'loopbackUp', 'rootPropagation', 'bindRootfs', 'mount', 'symlink', 'mount', 'mknod', 'symlink', 'syncCreateRuntime', 'hooks', 'pivotRoot',
    'setRootPropagation', 'terminal', 'sysctl', 'maskPath', 'readonlyPath', 'remountRootReadonly', 'hostname', 'domainname',
    'oomScoreAdj', 'rlimit', 'chdir', 'identity', 'findExecutable', 'waitStart', 'hooks', 'exec',
  ]);
  assert.equal(plan.container[0], { op: 'loopbackUp' }, 'a new network namespace: lo up before anything else, as runc');
  assert.equal(plan.container[1], { op: 'rootPropagation', flags: 0x4000 | 0x80000 }, 'MS_REC|MS_SLAVE before any mount');
  assert.equal(plan.container[2], { op: 'bindRootfs', path: '/bundles/demo/rootfs' });
  const hooks = plan.container.filter((s) => s.op === 'hooks');
  assert.equal(hooks.map((h) => h.op === 'hooks' && h.stage), ['createContainer', 'startContainer']);
  const sysctls = plan.container.filter((s) => s.op === 'sysctl').map((s) => s.op === 'sysctl' && s.key);
  assert.equal(sysctls, ['kernel.shmmax', 'net.ipv4.ip_forward'], 'sorted by key');
});

test('order: without a process the init still waits for start, and nothing of a process is planned', () => {
  const config = everything();
  delete config.process;
  const plan = buildPlan(config, ctx({ consoleSocket: undefined }));
  const list = ops(plan);
  assert.is(list.at(-1), 'waitStart');
  for (const op of ['terminal', 'oomScoreAdj', 'rlimit', 'chdir', 'identity', 'findExecutable', 'exec']) assert.not.ok(list.includes(op as never), op);
  assert.is(plan.container.filter((s) => s.op === 'hooks').length, 1, 'createContainer hooks only');
  assert.ok(list.includes('syncCreateRuntime'));
});

test('order: syncCreateRuntime is always there; no hooks step without hooks; chroot with --no-pivot', () => {
  const config = defaultConfig();
  delete config.hooks;
  const plan = buildPlan(config, ctx({ noPivot: true }));
  assert.ok(ops(plan).includes('syncCreateRuntime'));
  assert.not.ok(ops(plan).includes('hooks'));
  assert.ok(ops(plan).includes('chroot'));
  assert.not.ok(ops(plan).includes('pivotRoot'));
  assert.not.ok(ops(plan).includes('setRootPropagation'));
});

test('describePlan names every step', () => {
  const lines = describePlan(buildPlan(defaultConfig(), ctx()));
  assert.ok(lines.includes('host 1: make start fifos'));
  assert.ok(lines.some((l) => /^container \d+: mount proc on \/proc$/.test(l)));
  assert.ok(lines.includes('clone: flags 0x6e020000'));
});

// ---------------------------------------------------------------------------------------------
// namespaces

test('namespaces: clone flags for new ones, setns for joined ones, user first and mount last', () => {
  const config = withLinux(defaultConfig(), {
    namespaces: [
      { type: 'mount', path: '/m' }, { type: 'cgroup', path: '/c' }, { type: 'network', path: '/n' }, { type: 'pid' },
      { type: 'user', path: '/u' }, { type: 'time', path: '/t' }, { type: 'uts', path: '/s' }, { type: 'ipc' },
    ],
  });
  const plan = buildPlan(config, ctx());
  assert.equal(plan.host.filter((s) => s.op === 'setns').map((s) => s.op === 'setns' && s.type), ['user', 'uts', 'network', 'cgroup', 'time', 'mount']);
  assert.is(plan.clone.flags, 0x20000000 | 0x08000000, 'CLONE_NEWPID|CLONE_NEWIPC');
  assert.is(plan.clone.uidMap, undefined);
  assert.ok(plan.container.some((s) => s.op === 'bindDevice'), 'a joined user namespace cannot mknod either');
});

test('namespaces: lo is brought up only in a network namespace the init creates', () => {
  const nsList = defaultConfig().linux!.namespaces!;
  const withNet = buildPlan(defaultConfig(), ctx()).container.map((s) => s.op);
  assert.is(withNet.filter((op) => op === 'loopbackUp').length, 1);
  const joined = withLinux(defaultConfig(), { namespaces: [...nsList.filter((n) => n.type !== 'network'), { type: 'network', path: '/n' }] });
  assert.not.ok(ops(buildPlan(joined, ctx())).includes('loopbackUp'), 'a joined netns is not touched');
  const hostNet = withLinux(defaultConfig(), { namespaces: nsList.filter((n) => n.type !== 'network') });
  assert.not.ok(ops(buildPlan(hostNet, ctx())).includes('loopbackUp'), 'the host netns is not touched');
});

test('namespaces: every CLONE_NEW* bit; never CLONE_NEWTIME in clone', () => {
  const all = ['pid', 'network', 'mount', 'ipc', 'uts', 'user', 'cgroup', 'time'] as const;
  const config = withLinux(defaultConfig(), { namespaces: all.map((type) => ({ type })), uidMappings: [{ containerID: 0, hostID: 1000, size: 1 }] });
  const plan = buildPlan(config, ctx());
  assert.is(plan.clone.flags, 0x20000000 | 0x40000000 | 0x20000 | 0x08000000 | 0x04000000 | 0x10000000 | 0x02000000);
  assert.equal(plan.host.at(-1), { op: 'unshareTime', offsets: [] }, 'a new time namespace without offsets');
  assert.is(plan.clone.uidMap, '0 1000 1\n');
  assert.is(plan.clone.gidMap, undefined);
});

test('no mount namespace: no propagation change of /, the rootfs bind recorded, and a plain chroot even with --no-pivot', () => {
  const base = defaultConfig();
  const nsList = base.linux!.namespaces!;
  for (const noPivot of [false, true]) {
    const steps = buildPlan(withLinux(base, { namespaces: nsList.filter((n) => n.type !== 'mount') }), { ...ctx(), noPivot }).container.map((s) => s.op);
    assert.not.ok(steps.includes('rootPropagation'));
    assert.is(steps.find((op) => op !== 'loopbackUp'), 'bindRootfsInHost', 'delete finds every mount inside it by its recorded ids');
    assert.not.ok(steps.includes('bindRootfs'));
    assert.ok(steps.includes('enterRoot'));
    assert.not.ok(steps.includes('pivotRoot') || steps.includes('chroot'));
  }
});

test('namespaces: refused configs', () => {
  const base = defaultConfig();
  const nsList = base.linux!.namespaces!;
  throwsCode(() => buildPlan(withLinux(base, { namespaces: [...nsList, { type: 'pid' }] }), ctx()), 'ERR_CONFIG_INVALID', 'linux.namespaces[6]');
  throwsCode(() => buildPlan(withLinux(base, { namespaces: [...nsList, { type: 'user' }] }), ctx()), 'ERR_CONFIG_INVALID', 'linux.uidMappings');
  throwsCode(() => buildPlan(withLinux(base, { gidMappings: [{ containerID: 0, hostID: 1, size: 1 }] }), ctx()), 'ERR_CONFIG_INVALID', 'linux.gidMappings');
  throwsCode(() => buildPlan(withLinux(base, { timeOffsets: { monotonic: { secs: 1 } } }), ctx()), 'ERR_CONFIG_INVALID', 'linux.timeOffsets');
  throwsCode(
    () => buildPlan(withLinux(base, { namespaces: [...nsList, { type: 'time', path: '/t' }], timeOffsets: { monotonic: { secs: 1 } } }), ctx()),
    'ERR_CONFIG_INVALID',
    'linux.timeOffsets',
  );
  throwsCode(
    () => buildPlan(withLinux(base, { namespaces: [...nsList, { type: 'time' }], timeOffsets: { realtime: { secs: 1 } } }), ctx()),
    'ERR_CONFIG_INVALID',
    'linux.timeOffsets.realtime',
  );
  throwsCode(() => buildPlan(withLinux(base, { namespaces: nsList.filter((n) => n.type !== 'uts') }), ctx()), 'ERR_CONFIG_INVALID', 'hostname');
});

test('namespaces: joined user namespace ignores the mappings that come along (containerd, CRI-O)', () => {
  const config = withLinux(defaultConfig(), {
    namespaces: [...defaultConfig().linux!.namespaces!, { type: 'user', path: '/proc/9/ns/user' }],
    uidMappings: [{ containerID: 0, hostID: 1000, size: 1 }],
    gidMappings: [{ containerID: 0, hostID: 1000, size: 1 }],
  });
  const plan = buildPlan(config, ctx());
  assert.equal(plan.host.filter((s) => s.op === 'setns')[0], { op: 'setns', type: 'user', path: '/proc/9/ns/user' });
  assert.is(plan.clone.uidMap, undefined);
  assert.is(plan.clone.flags & 0x10000000, 0);
});

test('rootfsPropagation: runc\'s table, not recursive; [r]private refused with --no-pivot', () => {
  const cases: [string, number][] = [['shared', 0x100000], ['slave', 0x80000], ['private', 0x40000], ['unbindable', 0x20000], ['rshared', 0x104000]];
  for (const [value, flags] of cases) {
    const plan = buildPlan(withLinux(defaultConfig(), { rootfsPropagation: value }), ctx());
    const i = ops(plan).indexOf('setRootPropagation');
    assert.equal(plan.container[i], { op: 'setRootPropagation', flags }, value);
    assert.is(ops(plan)[i - 1], 'pivotRoot', 'right after pivot_root');
  }
  throwsCode(() => buildPlan(withLinux(defaultConfig(), { rootfsPropagation: 'private' }), ctx({ noPivot: true })), 'ERR_CONFIG_INVALID', 'linux.rootfsPropagation');
  throwsCode(() => buildPlan(withLinux(defaultConfig(), { rootfsPropagation: 'bogus' }), ctx()), 'ERR_CONFIG_INVALID', 'linux.rootfsPropagation');
  assert.ok(ops(buildPlan(withLinux(defaultConfig(), { rootfsPropagation: 'shared' }), ctx({ noPivot: true }))).includes('setRootPropagation'));
});

test('a terminal needs a console socket', () => {
  const config = defaultConfig();
  config.process!.terminal = true;
  throwsCode(() => buildPlan(config, ctx()), 'ERR_USAGE');
  const plan = buildPlan(config, ctx({ consoleSocket: '/s.sock' }));
  assert.equal(plan.container.find((s) => s.op === 'terminal'), { op: 'terminal' }, 'no consoleSize, no size');
});

test('buildPlan is pure: the same input gives the same plan, and the config is not changed', () => {
  const config = readJson(join(clients, 'podman-run.config.json'));
  const before = JSON.stringify(config);
  assert.is(serialise(buildPlan(config, ctx())), serialise(buildPlan(config, ctx())));
  assert.is(JSON.stringify(config), before);
});

test('found by the fuzzer: the plan names a sysctl key and a clock as paths that lead to them', () => {
  const config = defaultConfig();
  config.linux!.sysctl = { 'vm.swappiness': '1' };
  assert.throws(() => buildPlan(config, ctx()), (e: Error) => e.message.startsWith('linux.sysctl["vm.swappiness"]: '));
  const timed = defaultConfig();
  timed.linux!.namespaces!.push({ type: 'time' });
  timed.linux!.timeOffsets = { 'real.time': { secs: 1 } };
  assert.throws(() => buildPlan(timed, ctx()), (e: Error) => e.message.startsWith('linux.timeOffsets["real.time"]: unknown clock'));
});

test('found by the fuzzer: a namespace type that is a property of every object is not a namespace', () => {
  const config = defaultConfig();
  config.linux!.namespaces = [{ type: 'toString' as 'pid' }];
  assert.throws(() => buildPlan(config, ctx()), (e: unknown) => isTsrunError(e, 'ERR_CONFIG_INVALID') && e.message.includes('unknown namespace type "toString"'));
});

test('found by the fuzzer: an unprivileged runtime without a user namespace is told where one goes, even with no linux at all', () => {
  const unprivileged = ctx({ host: { ...ctx().host, hostUid: 1000 } });
  const none = defaultConfig();
  delete none.linux;
  assert.throws(() => buildPlan(none, unprivileged), (e: Error) => e.message.startsWith('linux: an unprivileged user'));
  const noUserns = defaultConfig();
  noUserns.linux!.namespaces = noUserns.linux!.namespaces!.filter((ns) => ns.type !== 'user');
  assert.throws(() => buildPlan(noUserns, unprivileged), (e: Error) => e.message.startsWith('linux.namespaces: an unprivileged user'));
});

test.run();
