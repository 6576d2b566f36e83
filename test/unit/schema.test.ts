// Our schemas (spec-schemas/, compiled by scripts/build-validators.mjs) against the official
// runtime-spec v1.3.0 schema, over one corpus: the official test fixtures, real client configs,
// `tsrun spec` output and mutated configs. Both must give the same verdict on every case, except
// for the deliberate differences listed in spec-schemas/README.md, each asserted below.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv, type ValidateFunction } from 'ajv';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { defaultConfig } from '../../src/spec/default-config.ts';
import { parseJson } from '../../src/spec/load.ts';
import type { Spec } from '../../src/spec/types.ts';
import { configSchemaProblems } from '../../src/spec/validate.ts';
import { validate as ourState } from '../../src/spec/generated/state.js';
import { validate as ourFeatures } from '../../src/spec/generated/features.js';
import { features as tsrunFeatures } from '../../src/cli/features.ts';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
// The official runtime-spec v1.3.0 schema with its test fixtures, and configs real clients made.
const fixtures = join(repoRoot, 'test', 'fixtures');
const officialDir = join(fixtures, 'runtime-spec-schema');

// ---- the official schema, made loadable by ajv 8 ---------------------------------------------
// It is draft-04 in name only (no draft-04-only keyword is used), so it is compiled as draft-07
// with its $schema dropped and each file given an $id. Its defs.json has one broken reference,
// "#definitions/uint32" (no slash), which is repaired.
const OFFICIAL_BASE = 'https://official.invalid/runtime-spec/schema/';
const officialAjv = new Ajv({ allErrors: true, strict: false });
for (const file of readdirSync(officialDir).filter((f) => f.endsWith('.json'))) {
  const schema = JSON.parse(readFileSync(join(officialDir, file), 'utf8').replaceAll('"#definitions/', '"#/definitions/'));
  delete schema.$schema;
  schema.$id = OFFICIAL_BASE + file;
  officialAjv.addSchema(schema);
}
const official = (name: string) => officialAjv.getSchema(OFFICIAL_BASE + name) as ValidateFunction;

/** Official validators see bigints as numbers, which is what a JSON.parse reader would have. */
const asNumbers = (value: unknown): unknown => JSON.parse(JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? Number(v) : v)));

type Kind = 'config' | 'state' | 'features';
const ours: Record<Kind, (data: unknown) => boolean> = {
  config: (data) => configSchemaProblems(data as Spec).length === 0,
  state: (data) => ourState(data),
  features: (data) => ourFeatures(data),
};
const theirs: Record<Kind, ValidateFunction> = {
  config: official('config-schema.json'),
  state: official('state-schema.json'),
  features: official('features-schema.json'),
};

interface Case {
  name: string;
  kind: Kind;
  data: unknown;
  /** the verdict both must reach; undefined: they only have to agree */
  valid?: boolean;
}

// ---- deliberate differences (spec-schemas/README.md) -----------------------------------------
// case name → our verdict; the official schema gives the opposite.
const DIFFERENCES: Record<string, { ours: boolean; why: string }> = {
  'fixture config/good/freebsd-example.json': { ours: false, why: 'process.user is needed for uid and gid (REQUIRED on POSIX)' },
  'fixture config/bad/freebsd-vnet-disable.json': { ours: true, why: 'platforms other than Linux are not validated' },
  'mutation: windows section of the wrong shape': { ours: true, why: 'platforms other than Linux are not validated' },
  'mutation: ociVersion is not SemVer': { ours: false, why: 'ociVersion MUST be SemVer 2.0.0' },
  'mutation: process.user missing': { ours: false, why: 'uid and gid are REQUIRED on POSIX' },
  'mutation: process.user.uid missing': { ours: false, why: 'uid is REQUIRED' },
  'mutation: process.args missing': { ours: false, why: 'args needs at least one entry on Linux' },
  'mutation: process.args empty': { ours: false, why: 'args needs at least one entry on Linux' },
  'mutation: process.cwd relative': { ours: false, why: 'cwd MUST be an absolute path' },
  'mutation: hook path relative': { ours: false, why: 'hook path MUST be absolute' },
  'mutation: namespace path relative': { ours: false, why: 'namespace path MUST be absolute' },
  'mutation: maskedPaths relative': { ours: false, why: 'maskedPaths MUST be absolute' },
  'mutation: readonlyPaths relative': { ours: false, why: 'readonlyPaths MUST be absolute' },
  'mutation: device path relative': { ours: false, why: 'device path is the full path in the container' },
  'mutation: char device without major and minor': { ours: false, why: 'major and minor are REQUIRED unless type is p' },
  'mutation: device fileMode with setuid bit': { ours: true, why: 'fileMode is uint32 in the spec, not 0..0777' },
  'mutation: device rule type x': { ours: false, why: 'type is a, c or b' },
  'mutation: device rule access rwx': { ours: false, why: 'access is a composition of r, w and m' },
  'mutation: device rule access empty': { ours: false, why: 'a composition of none of r, w and m: runc refuses it (an absent access means rwm)' },
  'mutation: mount uidMappings without gidMappings': { ours: false, why: 'each MUST be specified along with the other' },
  'mutation: annotation with an empty key': { ours: false, why: 'keys MUST NOT be empty' },
  'mutation: ioPriority without priority': { ours: false, why: 'priority is REQUIRED' },
  'mutation: personality without domain': { ours: false, why: 'domain is REQUIRED' },
  'mutation: memoryPolicy without mode': { ours: false, why: 'mode is REQUIRED' },
  'mutation: weightDevice without weight or leafWeight': { ours: false, why: 'at least one of them MUST be given' },
  'mutation: throttle device without rate': { ours: false, why: 'rate is REQUIRED' },
  'mutation: rdma entry without limits': { ours: false, why: 'at least one of hcaHandles, hcaObjects MUST be given' },
  'mutation: seccomp listenerMetadata without listenerPath': { ours: false, why: 'MUST NOT be set without listenerPath' },
  'mutation: intelRdt schemata line with a newline': { ours: false, why: 'schemata values MUST NOT contain newlines' },
  'mutation: timeOffsets clock of the wrong shape': { ours: false, why: 'every clock entry has the offset shape' },
  'mutation: pids without limit': { ours: true, why: 'pids.limit is OPTIONAL in v1.3.0' },
  'mutation: rlimit soft 2^64': { ours: false, why: 'uint64 bounds are exact' },
  'mutation: memory.limit 2^63': { ours: false, why: 'int64 bounds are exact' },
  'state: paused': { ours: true, why: 'a runtime MAY define further states' },
  'state: created without pid': { ours: false, why: 'pid is REQUIRED when created or running' },
  'state: relative bundle': { ours: false, why: 'bundle is an absolute path' },
  'features: null properties': { ours: true, why: 'properties other than ociVersionMin/Max MAY be null' },
  'features: ociVersionMax not SemVer': { ours: false, why: 'the versions are ociVersion values: SemVer' },
};

// ---- the corpus ------------------------------------------------------------------------------
const cases: Case[] = [];

for (const kind of ['config', 'state', 'features'] as const) {
  for (const verdict of ['good', 'bad']) {
    const dir = join(officialDir, 'test', kind, verdict);
    if (!existsSync(dir)) continue;
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.json'))) {
      const text = readFileSync(join(dir, file), 'utf8');
      let data: unknown;
      try {
        data = parseJson(text);
      } catch {
        test(`fixture ${kind}/${verdict}/${file}: not JSON, refused by the loader`, () => {
          assert.is(verdict, 'bad');
          assert.throws(() => JSON.parse(text));
        });
        continue;
      }
      cases.push({ name: `fixture ${kind}/${verdict}/${file}`, kind, data, valid: verdict === 'good' });
    }
  }
}

const clients = join(fixtures, 'clients');
for (const file of readdirSync(clients).filter((f) => f.endsWith('.json'))) {
  const data = parseJson(readFileSync(join(clients, file), 'utf8'));
  const config = file.endsWith('.process.json') ? { ociVersion: '1.0.2-dev', process: data } : data;
  cases.push({ name: `client ${file}`, kind: 'config', data: config, valid: true });
}
cases.push({ name: 'tsrun spec', kind: 'config', data: defaultConfig({ rootless: false }), valid: true });
cases.push({ name: 'tsrun spec --rootless', kind: 'config', data: defaultConfig({ rootless: true }), valid: true });
cases.push({ name: 'bundles/default', kind: 'config', data: parseJson(readFileSync(join(repoRoot, 'bundles', 'default', 'config.json'), 'utf8')), valid: true });

/** A config using nearly every field the schema knows, valid for both schemas. */
function base(): Spec {
  const c = defaultConfig({ rootless: false, cgroupNamespace: false });
  const p = c.process!;
  p.consoleSize = { height: 25, width: 80 };
  p.user = { uid: 1, gid: 1, umask: 18, additionalGids: [5, 6] };
  p.capabilities!.inheritable = ['CAP_KILL'];
  p.capabilities!.ambient = ['CAP_KILL'];
  p.rlimits!.push({ type: 'RLIMIT_CORE', soft: 0, hard: 18446744073709551615n });
  p.oomScoreAdj = 100;
  p.apparmorProfile = 'profile';
  p.selinuxLabel = 'system_u:system_r:svirt_lxc_net_t:s0:c124,c675';
  p.scheduler = { policy: 'SCHED_OTHER', nice: 0, flags: ['SCHED_FLAG_RESET_ON_FORK'] };
  p.ioPriority = { class: 'IOPRIO_CLASS_BE', priority: 4 };
  p.execCPUAffinity = { initial: '0-3,7', final: '4' };
  c.domainname = 'example.org';
  c.annotations = { 'com.example.key': 'value' };
  c.hooks = {
    prestart: [{ path: '/usr/bin/fix-mounts', args: ['fix-mounts', 'arg1'], env: ['key1=value1'], timeout: 5 }],
    poststop: [{ path: '/usr/sbin/cleanup.sh' }],
  };
  c.mounts!.push({ destination: '/data', type: 'none', source: '/volumes/data', options: ['rbind', 'rw'] });
  c.mounts!.push({ destination: '/idmapped', type: 'none', source: '/src', options: ['bind', 'idmap'], uidMappings: [{ containerID: 0, hostID: 1000, size: 1 }], gidMappings: [{ containerID: 0, hostID: 1000, size: 1 }] });
  const l = c.linux!;
  l.namespaces!.push({ type: 'time' }, { type: 'cgroup', path: '/proc/1/ns/cgroup' });
  l.timeOffsets = { monotonic: { secs: 1, nanosecs: 0 }, boottime: { secs: -1 } };
  l.devices = [
    { type: 'c', path: '/dev/fuse', major: 10, minor: 229, fileMode: 438, uid: 0, gid: 0 },
    { type: 'p', path: '/dev/fifo' },
  ];
  l.netDevices = { eth0: { name: 'ctr0' }, eth1: {} };
  l.cgroupsPath = '/tsrun/test';
  l.resources = {
    devices: [{ allow: false, access: 'rwm' }, { allow: true, type: 'c', major: 10, minor: 229, access: 'rw' }],
    memory: { limit: 536870912, reservation: 268435456, swap: -1, kernel: -1, kernelTCP: -1, swappiness: 0, disableOOMKiller: false },
    cpu: { shares: 1024, quota: 100000, burst: 0, period: 100000, realtimeRuntime: 0, realtimePeriod: 0, cpus: '0-3', mems: '0', idle: 0 },
    pids: { limit: 100 },
    blockIO: {
      weight: 500,
      leafWeight: 300,
      weightDevice: [{ major: 8, minor: 0, weight: 100 }],
      throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 1048576 }],
      throttleWriteIOPSDevice: [{ major: 8, minor: 16, rate: 300 }],
    },
    hugepageLimits: [{ pageSize: '2MB', limit: 209715200 }],
    network: { classID: 1048577, priorities: [{ name: 'eth0', priority: 500 }] },
    rdma: { mlx5_1: { hcaHandles: 3, hcaObjects: 10000 } },
    unified: { 'memory.high': '1073741824' },
  };
  l.intelRdt = { closID: 'guaranteed_group', l3CacheSchema: 'L3:0=7f0;1=1f', memBwSchema: 'MB:0=20;1=70', schemata: ['L2:0=ff'], enableMonitoring: true };
  l.memoryPolicy = { mode: 'MPOL_BIND', nodes: '0-1', flags: ['MPOL_F_STATIC_NODES'] };
  l.sysctl = { 'net.ipv4.ip_forward': '1' };
  l.seccomp = {
    defaultAction: 'SCMP_ACT_ERRNO',
    defaultErrnoRet: 1,
    architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86'],
    flags: ['SECCOMP_FILTER_FLAG_LOG'],
    listenerPath: '/run/seccomp-agent.sock',
    listenerMetadata: 'meta',
    syscalls: [{ names: ['getcwd', 'chmod'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 1, valueTwo: 0, op: 'SCMP_CMP_EQ' }] }],
  };
  l.rootfsPropagation = 'slave';
  l.mountLabel = 'system_u:object_r:svirt_sandbox_file_t:s0:c715,c811';
  l.personality = { domain: 'LINUX', flags: [] };
  return c;
}

type Mutation = [name: string, mutate: (c: any) => void, valid?: boolean];
const MUTATIONS: Mutation[] = [
  ['ociVersion is a number', (c) => (c.ociVersion = 1)],
  ['ociVersion missing', (c) => delete c.ociVersion],
  ['ociVersion is not SemVer', (c) => (c.ociVersion = '1.0')],
  ['root is a string', (c) => (c.root = 'rootfs')],
  ['root without path', (c) => delete c.root.path],
  ['root.readonly is a string', (c) => (c.root.readonly = 'yes')],
  ['hostname is a number', (c) => (c.hostname = 42)],
  ['domainname is an array', (c) => (c.domainname = ['a'])],
  ['mounts is an object', (c) => (c.mounts = { destination: '/x' })],
  ['mount without destination', (c) => delete c.mounts[0].destination],
  ['mount options is a string', (c) => (c.mounts[1].options = 'nosuid')],
  ['mount uidMappings without gidMappings', (c) => delete c.mounts.at(-1).gidMappings],
  ['mount mapping without size', (c) => delete c.mounts.at(-1).uidMappings[0].size],
  ['process is an array', (c) => (c.process = [])],
  ['process.cwd missing', (c) => delete c.process.cwd],
  ['process.cwd relative', (c) => (c.process.cwd = 'home')],
  ['process.args is a string', (c) => (c.process.args = 'sh')],
  ['process.args missing', (c) => delete c.process.args],
  ['process.args empty', (c) => (c.process.args = [])],
  ['process.env holds a number', (c) => (c.process.env = [1])],
  ['process.terminal is a string', (c) => (c.process.terminal = 'true')],
  ['consoleSize without width', (c) => delete c.process.consoleSize.width],
  ['consoleSize height negative', (c) => (c.process.consoleSize.height = -1)],
  ['process.user missing', (c) => delete c.process.user],
  ['process.user.uid missing', (c) => delete c.process.user.uid],
  ['process.user.uid negative', (c) => (c.process.user.uid = -1)],
  ['process.user.uid above uint32', (c) => (c.process.user.uid = 4294967296)],
  ['process.user.gid is a string', (c) => (c.process.user.gid = '0')],
  ['additionalGids negative', (c) => (c.process.user.additionalGids = [-5])],
  ['umask is a fraction', (c) => (c.process.user.umask = 1.5)],
  ['capabilities.bounding is a string', (c) => (c.process.capabilities.bounding = 'CAP_KILL')],
  ['capabilities.effective holds a number', (c) => (c.process.capabilities.effective = [42])],
  ['rlimit without soft', (c) => delete c.process.rlimits[0].soft],
  ['rlimit type without RLIMIT_', (c) => (c.process.rlimits[0].type = 'NOFILE')],
  ['rlimit hard negative', (c) => (c.process.rlimits[0].hard = -1)],
  ['rlimit soft 2^64', (c) => (c.process.rlimits[0].soft = 2n ** 64n)],
  ['noNewPrivileges is a number', (c) => (c.process.noNewPrivileges = 1)],
  ['oomScoreAdj is a fraction', (c) => (c.process.oomScoreAdj = 1.5)],
  ['apparmorProfile is a boolean', (c) => (c.process.apparmorProfile = true)],
  ['scheduler policy unknown', (c) => (c.process.scheduler.policy = 'SCHED_FOO')],
  ['scheduler without policy', (c) => delete c.process.scheduler.policy],
  ['scheduler flag unknown', (c) => (c.process.scheduler.flags = ['SCHED_FLAG_FOO'])],
  ['scheduler nice above int32', (c) => (c.process.scheduler.nice = 2 ** 31)],
  ['ioPriority class unknown', (c) => (c.process.ioPriority.class = 'IOPRIO_CLASS_NONE')],
  ['ioPriority without priority', (c) => delete c.process.ioPriority.priority],
  ['execCPUAffinity with letters', (c) => (c.process.execCPUAffinity.initial = 'a-b')],
  ['hook without path', (c) => delete c.hooks.prestart[0].path],
  ['hook timeout zero', (c) => (c.hooks.prestart[0].timeout = 0)],
  ['hook path relative', (c) => (c.hooks.poststop[0].path = 'cleanup.sh')],
  ['hooks.poststart is an object', (c) => (c.hooks.poststart = { path: '/bin/true' })],
  ['annotation value is a number', (c) => (c.annotations['com.example.n'] = 1)],
  ['annotation with an empty key', (c) => (c.annotations[''] = 'x')],
  ['linux is an array', (c) => (c.linux = [])],
  ['namespace type unknown', (c) => (c.linux.namespaces[1].type = 'net')],
  ['namespace without type', (c) => delete c.linux.namespaces[0].type],
  ['namespace path relative', (c) => (c.linux.namespaces.at(-1).path = 'proc/1/ns/cgroup')],
  ['uidMappings hostID negative', (c) => (c.linux.uidMappings = [{ containerID: 0, hostID: -1, size: 1 }])],
  ['gidMappings entry is a string', (c) => (c.linux.gidMappings = ['0:1000:1'])],
  ['device type unknown', (c) => (c.linux.devices[0].type = 'x')],
  ['device without path', (c) => delete c.linux.devices[0].path],
  ['device path relative', (c) => (c.linux.devices[0].path = 'dev/fuse')],
  ['char device without major and minor', (c) => (delete c.linux.devices[0].major, delete c.linux.devices[0].minor)],
  ['device fileMode with setuid bit', (c) => (c.linux.devices[0].fileMode = 0o4666)],
  ['device uid negative', (c) => (c.linux.devices[0].uid = -1)],
  ['device rule without allow', (c) => delete c.linux.resources.devices[0].allow],
  ['device rule type x', (c) => (c.linux.resources.devices[1].type = 'x')],
  ['device rule access rwx', (c) => (c.linux.resources.devices[1].access = 'rwx')],
  ['device rule access empty', (c) => (c.linux.resources.devices[1].access = '')],
  ['memory.limit is a string', (c) => (c.linux.resources.memory.limit = '1G')],
  ['memory.limit 2^63', (c) => (c.linux.resources.memory.limit = 2n ** 63n)],
  ['memory.swappiness negative', (c) => (c.linux.resources.memory.swappiness = -1)],
  ['cpu.shares negative', (c) => (c.linux.resources.cpu.shares = -2)],
  ['cpu.cpus is a number', (c) => (c.linux.resources.cpu.cpus = 5)],
  ['pids.limit is a string', (c) => (c.linux.resources.pids.limit = 'max')],
  ['pids without limit', (c) => (c.linux.resources.pids = {})],
  ['blockIO weight above uint16', (c) => (c.linux.resources.blockIO.weight = 70000)],
  ['weightDevice without major', (c) => delete c.linux.resources.blockIO.weightDevice[0].major],
  ['weightDevice without weight or leafWeight', (c) => delete c.linux.resources.blockIO.weightDevice[0].weight],
  ['throttle device without rate', (c) => delete c.linux.resources.blockIO.throttleReadBpsDevice[0].rate],
  ['hugepage size in lower case', (c) => (c.linux.resources.hugepageLimits[0].pageSize = '2mb')],
  ['hugepage without limit', (c) => delete c.linux.resources.hugepageLimits[0].limit],
  ['network priority without priority', (c) => delete c.linux.resources.network.priorities[0].priority],
  ['rdma hcaHandles negative', (c) => (c.linux.resources.rdma.mlx5_1.hcaHandles = -1)],
  ['rdma entry without limits', (c) => (c.linux.resources.rdma.mlx4_0 = {})],
  ['unified value is a number', (c) => (c.linux.resources.unified['pids.max'] = 10)],
  ['rootfsPropagation unknown', (c) => (c.linux.rootfsPropagation = 'rslave')],
  ['seccomp without defaultAction', (c) => delete c.linux.seccomp.defaultAction],
  ['seccomp architecture unknown', (c) => (c.linux.seccomp.architectures = ['SCMP_ARCH_Z80'])],
  ['seccomp syscall without names', (c) => (c.linux.seccomp.syscalls[0].names = [])],
  ['seccomp arg op unknown', (c) => (c.linux.seccomp.syscalls[0].args[0].op = 'SCMP_CMP_ABOUT')],
  ['seccomp flag unknown', (c) => (c.linux.seccomp.flags = ['SECCOMP_FILTER_FLAG_FOO'])],
  ['seccomp listenerMetadata without listenerPath', (c) => delete c.linux.seccomp.listenerPath],
  ['sysctl value is a number', (c) => (c.linux.sysctl['net.core.somaxconn'] = 256)],
  ['maskedPaths holds a number', (c) => (c.linux.maskedPaths = [1])],
  ['maskedPaths relative', (c) => (c.linux.maskedPaths = ['proc/kcore'])],
  ['readonlyPaths relative', (c) => (c.linux.readonlyPaths = ['proc/sys'])],
  ['intelRdt memBwSchema without MB:', (c) => (c.linux.intelRdt.memBwSchema = 'L3:0=20')],
  ['intelRdt schemata line with a newline', (c) => (c.linux.intelRdt.schemata = ['L3:0=ff\nMB:0=1'])],
  ['personality domain unknown', (c) => (c.linux.personality.domain = 'LINUX64')],
  ['personality without domain', (c) => delete c.linux.personality.domain],
  ['memoryPolicy mode unknown', (c) => (c.linux.memoryPolicy.mode = 'MPOL_RANDOM')],
  ['memoryPolicy without mode', (c) => delete c.linux.memoryPolicy.mode],
  ['timeOffsets nanosecs negative', (c) => (c.linux.timeOffsets.monotonic.nanosecs = -1)],
  ['timeOffsets clock of the wrong shape', (c) => (c.linux.timeOffsets.realtime = { secs: 'soon' })],
  ['netDevice name is a number', (c) => (c.linux.netDevices.eth0.name = 5)],
  ['windows section of the wrong shape', (c) => (c.windows = { layerFolders: 'C:\\layers' })],
  // valid variants
  ['no process', (c) => delete c.process, true],
  ['unknown properties everywhere', (c) => ((c.vendorThing = { a: 1 }), (c.process.futureField = [1]), (c.linux.futureField = 'x'), (c.linux.resources.memory.futureField = 1)), true],
  ['int64 extremes', (c) => ((c.linux.resources.memory.limit = 2n ** 63n - 1n), (c.linux.resources.memory.reservation = -(2n ** 63n))), true],
];

cases.push({ name: 'mutation base', kind: 'config', data: base(), valid: true });
for (const [name, mutate, valid = false] of MUTATIONS) {
  const data = base();
  mutate(data);
  cases.push({ name: `mutation: ${name}`, kind: 'config', data, valid });
}

const state = { ociVersion: '1.3.0', id: 'c1', status: 'running', pid: 42, bundle: '/run/bundles/c1', annotations: { a: 'b' } };
/** [name, data, the verdict both give (none for a deliberate difference)] */
const stateCases: [string, object, boolean?][] = [
  ['state: running', state, true],
  ['state: stopped without pid', { ...state, status: 'stopped', pid: undefined }, true],
  ['state: paused', { ...state, status: 'paused' }],
  ['state: created without pid', { ...state, status: 'created', pid: undefined }],
  ['state: relative bundle', { ...state, bundle: 'bundles/c1' }],
  ['state: without id', { ...state, id: undefined }, false],
  ['state: status not a string', { ...state, status: 1 }, false],
  ['state: pid negative', { ...state, pid: -1 }, false],
];
for (const [name, data, valid] of stateCases) cases.push({ name, kind: 'state', data: asNumbers(data), valid });

const features = { ociVersionMin: '1.0.0', ociVersionMax: '1.3.0', hooks: ['prestart'], linux: { namespaces: ['pid'], cgroup: { v1: true } } };
cases.push({ name: 'features: full', kind: 'features', data: features, valid: true });
cases.push({ name: 'features: tsrun features', kind: 'features', data: tsrunFeatures(), valid: true });
cases.push({ name: 'features: null properties', kind: 'features', data: { ...features, hooks: null, mountOptions: null, linux: null }, valid: true });
cases.push({ name: 'features: namespace unknown', kind: 'features', data: { ...features, linux: { namespaces: ['net'] } }, valid: false });
cases.push({ name: 'features: ociVersionMax not SemVer', kind: 'features', data: { ...features, ociVersionMax: '1.3' }, valid: false });

// ---- the tests -------------------------------------------------------------------------------
test('the corpus is large enough', () => {
  assert.ok(MUTATIONS.length >= 50, `${MUTATIONS.length} mutations`);
  assert.ok(cases.filter((c) => c.name.startsWith('fixture config/')).length >= 5);
});

for (const c of cases) {
  test(c.name, () => {
    const mine = ours[c.kind](c.data);
    const theirVerdict = theirs[c.kind](asNumbers(c.data));
    const difference = DIFFERENCES[c.name];
    const detail = () => (c.kind === 'config' ? JSON.stringify(configSchemaProblems(c.data as Spec)) : '');
    if (difference) {
      assert.is(mine, difference.ours, `ours: expected ${difference.ours} (${difference.why}) ${detail()}`);
      assert.is(theirVerdict, !difference.ours, `official: expected ${!difference.ours} (deliberate difference: ${difference.why})`);
    } else {
      assert.is(mine, theirVerdict, `ours ${mine}, official ${theirVerdict} ${detail()} ${JSON.stringify(theirs[c.kind].errors)}`);
      if (c.valid !== undefined) assert.is(mine, c.valid, `expected ${c.valid ? 'valid' : 'invalid'} ${detail()}`);
    }
  });
}

test('every listed difference is exercised', () => {
  const names = new Set(cases.map((c) => c.name));
  for (const name of Object.keys(DIFFERENCES)) assert.ok(names.has(name), `no case named ${name}`);
});

test('spec-schemas/README.md names every difference', () => {
  const readme = readFileSync(join(repoRoot, 'spec-schemas', 'README.md'), 'utf8');
  for (const name of Object.keys(DIFFERENCES)) assert.ok(readme.includes(`\`${name}\``), `spec-schemas/README.md does not name \`${name}\``);
});

test.run();
