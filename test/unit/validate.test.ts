// Loading and checking config.json: exact big integers, JSON errors with positions, one error that
// lists every problem with its path, the rules beyond the schema, and what tsrun refuses to run.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseUser } from '../../src/cli/exec.ts';
import { TsrunError } from '../../src/errors.ts';
import { loadBundle } from '../../src/runtime/create.ts';
import { hostFacts } from '../../src/runtime/host.ts';
import { defaultConfig } from '../../src/spec/default-config.ts';
import { loadConfig, parseJson } from '../../src/spec/load.ts';
import { quote } from '../../src/spec/quote.ts';
import type { Spec } from '../../src/spec/types.ts';
import { IGNORED, UNSUPPORTED } from '../../src/spec/unsupported.ts';
import { PROC_FILES_TO_MOUNT_ON, checkSupported, configProblems, validateConfig, type HostFacts } from '../../src/spec/validate.ts';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const clients = join(repoRoot, 'test', 'fixtures', 'clients');

const scratch = mkdtempSync(join(tmpdir(), 'tsrun-validate-'));
let bundles = 0;
function bundle(configText?: string): string {
  const dir = join(scratch, `b${bundles++}`);
  mkdirSync(dir);
  if (configText !== undefined) writeFileSync(join(dir, 'config.json'), configText);
  return dir;
}

function thrown(fn: () => unknown): TsrunError {
  try {
    fn();
  } catch (err) {
    assert.instance(err, TsrunError);
    return err as TsrunError;
  }
  return assert.unreachable('expected a TsrunError') as never;
}

const base = (): Spec => defaultConfig({ rootless: false, cgroupNamespace: false });
const problemLines = (config: Spec) => configProblems(config).map((p) => `${p.path}: ${p.message}`);

// ---- loading ---------------------------------------------------------------------------------

test('loadConfig: integers beyond 2^53 stay exact as bigint, small ones stay numbers', () => {
  const text = `{"ociVersion": "1.3.0", "root": {"path": "rootfs"},
    "process": {"cwd": "/", "args": ["sh"], "user": {"uid": 0, "gid": 0},
      "rlimits": [{"type": "RLIMIT_NOFILE", "soft": 1024, "hard": 18446744073709551615},
                  {"type": "RLIMIT_CORE", "soft": 9007199254740991, "hard": 9007199254740993}]},
    "linux": {"resources": {"memory": {"limit": 9223372036854775807, "swap": -9223372036854775808, "reservation": -1}}}}`;
  const dir = bundle(text);
  const { config, path } = loadConfig(dir);
  assert.is(path, join(dir, 'config.json'));
  const [nofile, core] = config.process!.rlimits!;
  assert.is(nofile.hard, 18446744073709551615n);
  assert.is(nofile.soft, 1024);
  assert.is(core.soft, 9007199254740991); // MAX_SAFE_INTEGER is still a number
  assert.is(core.hard, 9007199254740993n);
  assert.is(config.linux!.resources!.memory!.limit, 9223372036854775807n);
  assert.is(config.linux!.resources!.memory!.swap, -9223372036854775808n);
  assert.is(config.linux!.resources!.memory!.reservation, -1);
  validateConfig(config); // 2^64-1 is a valid uint64, 2^63-1 and -2^63 valid int64
});

test('parseJson: the same values as JSON.parse for ordinary JSON, strings with escapes included', () => {
  const samples = [
    readFileSync(join(clients, 'podman-run.config.json'), 'utf8'),
    '{"a":"x\\"18446744073709551615\\\\","b":"\\u00e9\\n\\t\\/\\ud83d\\ude00","c":[1.5,-0.25,1e3,2E-2,0,-0,true,false,null,{}],"d":[]}',
    ' [ "18446744073709551615" , -12 , 3.0 ] ',
    '"top-level string"',
    '{"__proto__": {"polluted": 1}, "constructor": 2}',
  ];
  for (const text of samples) assert.equal(parseJson(text), JSON.parse(text), text.slice(0, 60));
  const proto = parseJson('{"__proto__": {"polluted": 1}}') as Record<string, unknown>;
  assert.is(Object.getPrototypeOf(proto), Object.prototype);
  assert.equal(Object.keys(proto), ['__proto__']);
  assert.is(({} as Record<string, unknown>).polluted, undefined);
  assert.is(parseJson('[-18446744073709551616]') instanceof Array, true);
  assert.equal(parseJson('[-18446744073709551616, 1e400]'), [-18446744073709551616n, Infinity]);
});

test('parseJson: invalid JSON is ERR_CONFIG_INVALID with line and column', () => {
  const cases: [string, RegExp][] = [
    ['{\n  "ociVersion": "1.3.0",\n  "root": {"path": "rootfs",}\n}', /line 3, column 29: unexpected character "}"/],
    ['{\n  "a": 01\n}', /line 2, column 9: unexpected character "1"/],
    ['{"a": "x', /line 1, column 7: unterminated string/],
    ['{"a": "\\x"}', /line 1, column 7: invalid escape in string/],
    ['{"a": "tab\there"}', /control character in string/],
    ['{"a": 1', /line 1, column 8: unexpected end of input/],
    ['', /unexpected end of input/],
    ['{"a": 1} x', /unexpected character "x"/],
    ['{a: 1}', /line 1, column 2: unexpected character "a"/],
    ['[1, 2,]', /unexpected character "]"/],
    ['{"a": tru}', /unexpected character "t"/],
    ['{"a": -}', /unexpected character "-"/],
    ['{"a": NaN}', /unexpected character "N"/],
  ];
  for (const [text, expected] of cases) {
    const err = thrown(() => parseJson(text, '/b/config.json'));
    assert.is(err.code, 'ERR_CONFIG_INVALID');
    assert.is(err.exitCode, 2);
    assert.match(err.message, /^\/b\/config\.json: invalid JSON at line \d+, column \d+: /);
    assert.match(err.message, expected, `${JSON.stringify(text)} → ${err.message}`);
    assert.throws(() => JSON.parse(text));
  }
  assert.match(thrown(() => parseJson('['.repeat(100000))).message, /nested too deeply/);
});

test("loadBundle: the host's / is no rootfs for a container without a mount namespace, even through a symlink", () => {
  const config = defaultConfig({ rootless: false });
  config.linux!.namespaces = config.linux!.namespaces!.filter((ns) => ns.type !== 'mount');
  config.root = { path: 'to-host-root' };
  const dir = bundle(JSON.stringify(config));
  symlinkSync('/', join(dir, 'to-host-root'));
  const err = thrown(() => loadBundle(dir));
  assert.is(err.code, 'ERR_CONFIG_INVALID');
  assert.match(err.message, /^root\.path: the host's \//);
  config.linux!.namespaces!.push({ type: 'mount' });
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
  assert.is(loadBundle(dir).rootfs, join(dir, 'to-host-root'), 'with its own mount namespace it may');
});

test('loadConfig: bundle and file problems are ERR_BUNDLE naming the path', () => {
  const missing = join(scratch, 'no-such-bundle');
  let err = thrown(() => loadConfig(missing));
  assert.is(err.code, 'ERR_BUNDLE');
  assert.is(err.exitCode, 2, 'a configuration error (README); checked: exit status 1 before');
  assert.is(err.message, `bundle ${missing} does not exist: cannot read ${join(missing, 'config.json')}`);

  const empty = bundle();
  err = thrown(() => loadConfig(empty));
  assert.is(err.code, 'ERR_BUNDLE');
  assert.is(err.message, `read ${join(empty, 'config.json')}: ENOENT (no such file or directory)`);

  const file = join(scratch, 'a-file');
  writeFileSync(file, '{}');
  err = thrown(() => loadConfig(file));
  assert.is(err.code, 'ERR_BUNDLE');
  assert.is(err.message, `bundle ${file} is not a directory: cannot read ${join(file, 'config.json')}`);

  const dirConfig = bundle();
  mkdirSync(join(dirConfig, 'config.json'));
  err = thrown(() => loadConfig(dirConfig));
  assert.is(err.code, 'ERR_BUNDLE');
  assert.match(err.message, /EISDIR/);
});

test('loadConfig: bad JSON and a top level that is not an object are ERR_CONFIG_INVALID', () => {
  const dir = bundle('{\n  "ociVersion": "1.3.0"\n  "root": {}\n}');
  let err = thrown(() => loadConfig(dir));
  assert.is(err.code, 'ERR_CONFIG_INVALID');
  assert.ok(err.message.startsWith(`${join(dir, 'config.json')}: invalid JSON at line 3, column 3`), err.message);
  for (const text of ['[]', 'null', '"config"', '42']) {
    err = thrown(() => loadConfig(bundle(text)));
    assert.is(err.code, 'ERR_CONFIG_INVALID');
    assert.match(err.message, /top level must be a JSON object/);
  }
});

// ---- validation ------------------------------------------------------------------------------

test('validateConfig: one ERR_CONFIG_INVALID listing every problem, one per line, with paths', () => {
  const config = base() as any;
  config.process.capabilities.bounding[2] = 'CAP_TEST_FOO';
  config.process.user.uid = -1;
  config.process.cwd = 'relative';
  config.linux.namespaces[1].type = 'net';
  config.linux.namespaces.push({ type: 'pid' });
  config.mounts[0] = { type: 'proc' };
  config.hostname = 7;
  const err = thrown(() => validateConfig(config));
  assert.is(err.code, 'ERR_CONFIG_INVALID');
  assert.is(err.exitCode, 2);
  const lines = err.message.split('\n');
  assert.is(lines[0], 'invalid config (7 problems):');
  const expected = [
    'process.capabilities.bounding[2]: unknown capability "CAP_TEST_FOO"',
    'process.user.uid: must be >= 0 (got -1)',
    'process.cwd: must be an absolute path (got "relative")',
    'linux.namespaces[1].type: must be one of pid, network, mount, ipc, uts, user, cgroup, time (got "net")',
    'linux.namespaces[5].type: pid is already given by linux.namespaces[0]',
    'mounts[0].destination: is required',
    'hostname: must be a string (got 7)',
  ];
  for (const line of expected) assert.ok(lines.includes(`  ${line}`), `missing "${line}" in:\n${err.message}`);
  assert.is(lines.length, 1 + expected.length);
});

test('validateConfig: unknown capability names are refused wherever they are', () => {
  for (const set of ['bounding', 'effective', 'inheritable', 'permitted', 'ambient']) {
    const config = base() as any;
    config.process.capabilities[set] = ['CAP_KILL', 'CAP_TEST_FOO'];
    assert.equal(problemLines(config), [`process.capabilities.${set}[1]: unknown capability "CAP_TEST_FOO"`]);
  }
  const config = base() as any;
  config.process.capabilities.bounding = ['CAP_CHECKPOINT_RESTORE', 'CAP_BPF', 'CAP_PERFMON', 'CAP_SYS_ADMIN', 'CAP_AUDIT_READ'];
  assert.equal(problemLines(config), []);
  config.process.capabilities.bounding = ['cap_kill', 'KILL'];
  assert.is(problemLines(config).length, 2);
});

test('validateConfig: unknown properties are ignored, process is optional', () => {
  const config = base() as any;
  config.vendorExtension = { anything: [1, 2, 3] };
  config.process.futureField = true;
  config.linux.futureField = 'x';
  config.linux.resources.futureController = { limit: 1 };
  config.mounts[0].futureOption = 1;
  config.windows = { layerFolders: 'not checked on Linux' };
  validateConfig(config);
  delete config.process;
  validateConfig(config);
  validateConfig({ ociVersion: '1.0.0', root: { path: 'rootfs' } });
});

test('validateConfig: the exec form, a process file wrapped in a minimal config', () => {
  for (const file of ['containerd-exec.process.json', 'podman-exec.process.json']) {
    const process = parseJson(readFileSync(join(clients, file), 'utf8'));
    validateConfig({ ociVersion: '1.3.0', process } as Spec);
  }
});

test('validateConfig: ociVersion 1.0.0 to 1.3.x', () => {
  for (const v of ['1.0.0', '1.0.2-dev', '1.1.0', '1.2.1', '1.3.0', '1.3.7', '1.3.0-rc.1+build.5']) {
    assert.equal(problemLines({ ...base(), ociVersion: v }), [], v);
  }
  for (const v of ['1.4.0', '2.0.0', '0.5.0']) {
    assert.equal(problemLines({ ...base(), ociVersion: v }), [`ociVersion: ${v} is not supported: tsrun implements runtime-spec 1.0.0 to 1.3.x`]);
  }
  assert.match(problemLines({ ...base(), ociVersion: '1.3' })[0], /^ociVersion: must be a SemVer 2.0.0 version/);
});

test('validateConfig: rlimits: known names, once each, soft not above hard, exact uint64', () => {
  const config = base() as any;
  config.process.rlimits = [
    { type: 'RLIMIT_NOFILE', soft: 1024, hard: 1024 },
    { type: 'RLIMIT_FOO', soft: 1, hard: 1 },
    { type: 'RLIMIT_NOFILE', soft: 1, hard: 1 },
    { type: 'RLIMIT_CORE', soft: 18446744073709551615n, hard: 18446744073709551615n },
    { type: 'RLIMIT_STACK', soft: 18446744073709551615n, hard: 8388608 },
    { type: 'RLIMIT_AS', soft: 0, hard: 18446744073709551616n },
  ];
  assert.equal(problemLines(config), [
    'process.rlimits[5].hard: must be <= 18446744073709551615 (got 18446744073709551616)',
    'process.rlimits[1].type: unknown rlimit "RLIMIT_FOO"',
    'process.rlimits[2].type: RLIMIT_NOFILE is already set by process.rlimits[0]',
    'process.rlimits[4]: the soft limit 18446744073709551615 is above the hard limit 8388608',
  ]);
});

test('validateConfig: int64 fields take the whole int64 range exactly', () => {
  const memory = (value: bigint | number) => {
    const config = base() as any;
    config.linux.resources.memory = { limit: value };
    return problemLines(config);
  };
  assert.equal(memory(9223372036854775807n), []);
  assert.equal(memory(-9223372036854775808n), []);
  assert.equal(memory(9223372036854775808n), ['linux.resources.memory.limit: must be <= 9223372036854775807 (got 9223372036854775808)']);
  assert.equal(memory(-9223372036854775809n), ['linux.resources.memory.limit: must be >= -9223372036854775808 (got -9223372036854775809)']);
  assert.equal(memory(10n ** 40n), [`linux.resources.memory.limit: must be <= 9223372036854775807 (got ${10n ** 40n})`]);
  assert.equal(memory(1.5), ['linux.resources.memory.limit: must be an integer (got 1.5)']);
});

test('validateConfig: namespaces: each type once; what needs one', () => {
  const config = base() as any;
  config.linux.namespaces = [{ type: 'pid' }, { type: 'mount' }, { type: 'pid', path: '/proc/1/ns/pid' }];
  config.hostname = 'h';
  config.domainname = 'd';
  config.linux.sysctl = {
    'net.ipv4.ip_forward': '1',
    'net/ipv4/conf/eth0.100/rp_filter': '1',
    'kernel.shmmax': '1',
    'fs.mqueue.msg_max': '10',
    'kernel.domainname': 'x',
    'kernel.hostname': 'x',
    'vm.swappiness': '10',
  };
  config.linux.timeOffsets = { monotonic: { secs: 1 } };
  config.linux.uidMappings = [{ containerID: 0, hostID: 1000, size: 1 }];
  config.linux.gidMappings = [];
  assert.equal(problemLines(config), [
    'linux.namespaces[2].type: pid is already given by linux.namespaces[0]',
    'hostname: needs a uts namespace in linux.namespaces: setting it would change the host',
    'domainname: needs a uts namespace in linux.namespaces: setting it would change the host',
    'linux.uidMappings: needs a user namespace in linux.namespaces',
    'linux.timeOffsets: needs a time namespace in linux.namespaces',
    'linux.sysctl["net.ipv4.ip_forward"]: needs a network namespace in linux.namespaces',
    'linux.sysctl["net/ipv4/conf/eth0.100/rp_filter"]: needs a network namespace in linux.namespaces',
    'linux.sysctl["kernel.shmmax"]: needs an ipc namespace in linux.namespaces',
    'linux.sysctl["fs.mqueue.msg_max"]: needs an ipc namespace in linux.namespaces',
    'linux.sysctl["kernel.domainname"]: needs a uts namespace in linux.namespaces',
    'linux.sysctl["kernel.hostname"]: set the hostname with the hostname field instead',
    'linux.sysctl["vm.swappiness"]: is not isolated by any namespace: setting it would change the host',
  ]);
  config.linux.namespaces = ['pid', 'mount', 'uts', 'ipc', 'network', 'time', 'user'].map((type) => ({ type }));
  delete config.linux.sysctl['kernel.hostname'];
  delete config.linux.sysctl['vm.swappiness'];
  assert.equal(problemLines(config), ['linux.gidMappings: a new user namespace needs gid mappings']);
  config.linux.gidMappings = [{ containerID: 0, hostID: 1000, size: 1 }];
  assert.equal(problemLines(config), []);
  // joining a user namespace: its mappings exist already
  config.linux.namespaces[6] = { type: 'user', path: '/proc/42/ns/user' };
  delete config.linux.uidMappings;
  delete config.linux.gidMappings;
  assert.equal(problemLines(config), []);
  // without a mount namespace masked and read-only paths are mounts in the host table, as in runc
  config.linux.namespaces = [{ type: 'pid' }];
  config.linux.sysctl = {};
  config.hostname = config.domainname = '';
  delete config.linux.timeOffsets;
  assert.equal(problemLines(config), []);

});

// Checked to fail without the rule: with the id check of semanticProblems removed, the refused
// ids below came back without problems (and `exec --user` took 4294967295 without parseUser's).
test('validateConfig: uid, gid and additionalGids from 0 to 2^31-1; 2^31 and 2^32-1 (-1, "unchanged" to setuid) refused', () => {
  const withUser = (uid: number, gid: number, additionalGids: number[]) => {
    const config = base() as any;
    config.process.user = { uid, gid, additionalGids };
    return config as Spec;
  };
  const exec = (user: object) => ({ ociVersion: '1.3.0', process: { cwd: '/', args: ['id'], user } }) as Spec;
  for (const id of [0, 2 ** 31 - 1]) {
    assert.equal(problemLines(withUser(id, id, [id, id])), [], String(id));
    assert.equal(problemLines(exec({ uid: id, gid: id, additionalGids: [id] })), [], String(id));
  }
  for (const id of [2 ** 31, 2 ** 32 - 1]) {
    const beyond = `must be <= 2147483647 (got ${id}), as in runc: to setuid(2), 4294967295 means "unchanged"`;
    assert.equal(problemLines(withUser(id, 0, [])), [`process.user.uid: ${beyond}`]);
    assert.equal(problemLines(withUser(0, id, [])), [`process.user.gid: ${beyond}`]);
    assert.equal(problemLines(withUser(0, 0, [5, id])), [`process.user.additionalGids[1]: ${beyond}`]);
    assert.equal(problemLines(exec({ uid: id, gid: id, additionalGids: [id] })), [
      `process.user.uid: ${beyond}`, `process.user.gid: ${beyond}`, `process.user.additionalGids[0]: ${beyond}`,
    ]);
    assert.is(thrown(() => validateConfig(exec({ uid: id, gid: 0 }))).exitCode, 2);
  }
  // beyond uint32 the schema says it, once
  assert.equal(problemLines(withUser(2 ** 32, 0, [])), ['process.user.uid: must be <= 4294967295 (got 4294967296)']);
});

test('exec --user: 0 and 2^31-1 taken, 2^31 and 2^32-1 refused as usage errors', () => {
  assert.equal(parseUser('0'), { uid: 0 });
  assert.equal(parseUser('2147483647:2147483647'), { uid: 2147483647, gid: 2147483647 });
  for (const text of ['2147483648', '4294967295', '0:2147483648', '0:4294967295', '4294967296', '-1', '1:x']) {
    const err = thrown(() => parseUser(text));
    assert.is(err.code, 'ERR_USAGE', text);
    assert.is(err.exitCode, 2);
  }
});

// Checked to fail without the rule: with ownNamespaceProblem ignoring `host`, the joined runtime
// namespaces below came back without problems.
test('validateConfig: sysctls and hostnames need a namespace of the container\'s own, a joined one only if it is not the runtime\'s', () => {
  const config = base() as any;
  config.linux.namespaces = [{ type: 'pid' }, { type: 'mount' }, { type: 'network', path: '/run/netns/x' }, { type: 'ipc', path: '/run/ipc' }, { type: 'uts', path: '/run/uts' }];
  config.hostname = 'h';
  config.domainname = 'd';
  config.linux.sysctl = { 'net.core.somaxconn': '1024', 'kernel.msgmax': '8192', 'fs.mqueue.msg_max': '10', 'kernel.domainname': 'x' };
  const facts = (state: 'runtime' | 'other' | { unknown: string }): HostFacts => ({ joinedNamespaces: new Map(['network', 'ipc', 'uts'].map((t) => [t, state])) });
  const lines = (host?: HostFacts) => configProblems(config, host).map((p) => `${p.path}: ${p.message}`);
  // without host facts (and with other namespaces) a joined namespace counts as the container's own
  assert.equal(lines(), []);
  assert.equal(lines(facts('other')), []);
  const own = (i: number, type: string) => `linux.namespaces[${i}].path is the runtime's own ${type} namespace: setting it would change the host`;
  assert.equal(lines(facts('runtime')), [
    `hostname: ${own(4, 'uts')}`,
    `domainname: ${own(4, 'uts')}`,
    `linux.sysctl["net.core.somaxconn"]: ${own(2, 'network')}`,
    `linux.sysctl["kernel.msgmax"]: ${own(3, 'ipc')}`,
    `linux.sysctl["fs.mqueue.msg_max"]: ${own(3, 'ipc')}`,
    `linux.sysctl["kernel.domainname"]: ${own(4, 'uts')}`,
  ]);
  // a path that cannot be compared is refused, as runc does
  assert.equal(lines(facts({ unknown: 'ENOENT' }))[2],
    'linux.sysctl["net.core.somaxconn"]: linux.namespaces[2].path cannot be compared with the runtime\'s own network namespace (ENOENT): setting it could change the host');
  // what no sysctl or hostname depends on is not looked at
  config.linux.sysctl = {};
  config.hostname = config.domainname = '';
  assert.equal(lines(facts('runtime')), []);
});

test('hostFacts: a joined path is compared with the runtime\'s own namespace of its type', () => {
  const config = base() as any;
  config.linux.namespaces = [
    { type: 'network', path: `/proc/${process.pid}/ns/net` },
    { type: 'ipc', path: '/proc/self/ns/ipc' },
    { type: 'uts', path: '/proc/self/ns/net' }, // a namespace, but not of this type
    { type: 'mount', path: join(scratch, 'missing') },
    { type: 'pid' },
    { type: 'cgroup', path: 7 },
  ];
  assert.equal([...hostFacts(config).joinedNamespaces], [
    ['network', 'runtime'], ['ipc', 'runtime'], ['uts', 'other'], ['mount', { unknown: 'ENOENT' }],
  ]);
});

// Fails without the rule (procMountProblem removed once: every refused destination passed).
test('validateConfig: nothing is mounted inside /proc but on runc\'s list; only a procfs on /proc', () => {
  const config = base() as any;
  const first = config.mounts.length;
  const bind = (destination: string) => ({ destination, type: 'bind', source: '/etc/hostname', options: ['bind'] });
  config.mounts.push(
    bind('/proc/sys/kernel/core_pattern'),
    { destination: '/proc/sysrq-trigger', type: 'none', source: '/dev/null', options: ['rbind'] },
    bind('proc/sys/kernel/core_pattern'), // relative (deprecated): from /
    bind('/proc/../proc/./kcore'),
    bind('//proc/acpi/'),
    { destination: '/proc', type: 'tmpfs', source: 'tmpfs' },
    { destination: '/proc/sys', type: 'proc', source: 'proc' },
  );
  const inside = (path: string) => new RegExp(`^mounts\\[\\d+\\]\\.destination: "${path}" is inside /proc, where nothing may be mounted but on the files lxcfs provides`);
  const lines = problemLines(config);
  assert.is(lines.length, 7, lines.join('\n'));
  assert.ok(lines.every((line, i) => line.startsWith(`mounts[${first + i}].destination: `)), lines.join('\n'));
  for (const [i, path] of [[0, '/proc/sys/kernel/core_pattern'], [1, '/proc/sysrq-trigger'], [2, '/proc/sys/kernel/core_pattern'], [3, '/proc/kcore'], [4, '/proc/acpi'], [6, '/proc/sys']] as const) {
    assert.match(lines[i], inside(path));
  }
  assert.is(lines[5], `mounts[${first + 5}].destination: only a procfs may be mounted on /proc (type "proc", or a bind mount of a procfs)`);

  // runc's list, a procfs or a bind (of a procfs, checked by the init) on /proc, and what only looks like /proc
  config.mounts = [
    ...base().mounts!,
    ...['/proc/meminfo', '/proc/cpuinfo', '/proc/net/dev', '/proc/sys/kernel/ns_last_pid', '/proc/uptime/'].map(bind),
    { destination: '/proc', type: 'proc', source: 'proc' },
    { destination: '/proc', type: 'bind', source: '/proc', options: ['rbind'] },
    bind('/procfs/sys/kernel/core_pattern'),
    bind('/proc2'),
  ];
  assert.equal(problemLines(config), []);
  assert.ok(base().mounts!.some((m) => m.destination === '/proc'), 'the default config mounts a procfs on /proc');
});

// Fails without the rule (removed once: the proc and bind mounts passed).
test('validateConfig: tmpcopyup applies to a tmpfs mount only, every such mount named', () => {
  const config = base() as any;
  const first = config.mounts.length;
  config.mounts.push(
    { destination: '/p', type: 'proc', source: 'proc', options: ['tmpcopyup'] },
    { destination: '/b', type: 'bind', source: '/b', options: ['rbind', 'tmpcopyup'] },
    { destination: '/t', type: 'tmpfs', source: '/b', options: ['bind', 'tmpcopyup'] },
    { destination: '/etc', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'tmpcopyup'] },
  );
  assert.equal(problemLines(config), [0, 1, 2].map((i) => `mounts[${first + i}].options: tmpcopyup applies to a tmpfs mount only`));
  assert.is(thrown(() => validateConfig(config)).exitCode, 2);
});

test('validateConfig: rules beyond the schema also run on a malformed config', () => {
  const config = base() as any;
  config.process.capabilities.bounding = ['CAP_TEST_FOO', 5];
  config.process.rlimits = [{ type: 'RLIMIT_NOFILE', soft: 'x', hard: 1 }, 'junk'];
  config.linux.namespaces = [{ type: 'pid' }, { type: 'pid' }, 'uts', { type: 3 }];
  config.linux.sysctl = 'kernel.shmmax=1';
  const lines = problemLines(config);
  assert.ok(lines.includes('process.capabilities.bounding[0]: unknown capability "CAP_TEST_FOO"'), lines.join('\n'));
  assert.ok(lines.includes('process.capabilities.bounding[1]: must be a string (got 5)'), lines.join('\n'));
  assert.ok(lines.includes('linux.namespaces[1].type: pid is already given by linux.namespaces[0]'), lines.join('\n'));
  assert.ok(lines.includes('linux.sysctl: must be an object (got "kernel.shmmax=1")'), lines.join('\n'));
});

// ---- what tsrun does not implement -----------------------------------------------------------

test('checkSupported: "not supported: <path>", every path, joined with ", "', () => {
  const config = base() as any;
  config.linux.seccomp = { defaultAction: 'SCMP_ACT_ALLOW' };
  let err = thrown(() => checkSupported(config));
  assert.is(err.code, 'ERR_NOT_SUPPORTED');
  assert.is(err.exitCode, 2);
  assert.is(err.message, 'not supported: linux.seccomp');

  config.process.scheduler = { policy: 'SCHED_FIFO', priority: 1 };
  config.process.ioPriority = { class: 'IOPRIO_CLASS_IDLE', priority: 7 };
  config.process.execCPUAffinity = { final: '0' };
  config.process.apparmorProfile = 'docker-default';
  config.mounts.push({ destination: '/m', source: '/s', options: ['bind', 'idmap'], uidMappings: [{ containerID: 0, hostID: 1, size: 1 }], gidMappings: [{ containerID: 0, hostID: 1, size: 1 }] });
  config.linux.intelRdt = {};
  config.linux.personality = { domain: 'LINUX32' };
  config.linux.netDevices = { eth1: { name: 'eth0' } };
  config.linux.memoryPolicy = { mode: 'MPOL_BIND', nodes: '0' };
  validateConfig(config);
  err = thrown(() => checkSupported(config));
  assert.is(
    err.message,
    'not supported: process.apparmorProfile, process.scheduler, process.ioPriority, process.execCPUAffinity, ' +
      'mounts[7].uidMappings, mounts[7].gidMappings, linux.seccomp, linux.intelRdt, linux.personality, linux.netDevices, ' +
      'linux.memoryPolicy',
  );
  assert.is(UNSUPPORTED.length, 11);
});

test('checkSupported: zero values ask for nothing; kernel memory and SELinux labels are ignored', () => {
  const config = base() as any;
  config.process.apparmorProfile = '';
  config.process.execCPUAffinity = { initial: '', final: '' };
  config.process.selinuxLabel = 'system_u:system_r:container_t:s0';
  config.linux.mountLabel = 'system_u:object_r:container_file_t:s0';
  config.mounts[0].uidMappings = [];
  config.mounts[0].gidMappings = [];
  config.linux.netDevices = {};
  Object.assign(config.linux.resources, {
    blockIO: {},
    hugepageLimits: [],
    network: { priorities: [] },
    rdma: {},
    unified: {},
    cpu: { burst: 0, idle: 0, realtimeRuntime: 0, realtimePeriod: 0, shares: 2, quota: 50000, period: 100000, cpus: '0' },
    memory: { limit: 1048576, kernel: 1048576, kernelTCP: 1048576, swap: -1, swappiness: 0, disableOOMKiller: true, useHierarchy: true, checkBeforeUpdate: true },
    pids: { limit: 10 },
  });
  validateConfig(config);
  checkSupported(config);
  assert.ok(IGNORED.includes('linux.resources.memory.kernel') && IGNORED.includes('process.selinuxLabel'));
});

// ---- real callers and tsrun spec -------------------------------------------------------------

test('containerd ctr run: valid and supported', () => {
  const dir = bundle(readFileSync(join(clients, 'containerd-ctr-run.config.json'), 'utf8'));
  const { config } = loadConfig(dir);
  validateConfig(config);
  checkSupported(config);
});

test('podman run: valid, refused only for linux.seccomp', () => {
  const dir = bundle(readFileSync(join(clients, 'podman-run.config.json'), 'utf8'));
  const { config } = loadConfig(dir);
  validateConfig(config);
  const err = thrown(() => checkSupported(config));
  assert.is(err.code, 'ERR_NOT_SUPPORTED');
  assert.is(err.message, 'not supported: linux.seccomp');
});

test('defaultConfig: valid and supported in both modes, like runc spec', () => {
  for (const rootless of [false, true]) {
    for (const cgroupNamespace of [false, true]) {
      const config = defaultConfig({ rootless, cgroupNamespace });
      validateConfig(config);
      checkSupported(config);
      assert.is(config.ociVersion, '1.3.0');
      assert.equal(JSON.parse(JSON.stringify(config)), config); // plain JSON: no bigint
      assert.is(config.linux!.namespaces!.some((ns) => ns.type === 'cgroup'), cgroupNamespace);
    }
  }
  const root = defaultConfig({ rootless: false, cgroupNamespace: false });
  assert.equal(root.linux!.namespaces!.map((ns) => ns.type), ['pid', 'network', 'ipc', 'uts', 'mount']);
  assert.equal(root.linux!.resources, { devices: [{ allow: false, access: 'rwm' }] });
  assert.equal(root.process!.args, ['sh']);
  assert.is(root.process!.terminal, true);
  assert.is(root.hostname, 'runc');
  assert.equal(root.root, { path: 'rootfs', readonly: true });
  assert.ok(root.mounts!.find((m) => m.destination === '/dev/pts')!.options!.includes('gid=5'));

  const rootless = defaultConfig({ rootless: true, cgroupNamespace: false });
  assert.equal(rootless.linux!.namespaces!.map((ns) => ns.type), ['pid', 'ipc', 'uts', 'mount', 'user']);
  assert.equal(rootless.linux!.uidMappings, [{ containerID: 0, hostID: process.geteuid!(), size: 1 }]);
  assert.equal(rootless.linux!.gidMappings, [{ containerID: 0, hostID: process.getegid!(), size: 1 }]);
  assert.is(rootless.linux!.resources, undefined);
  assert.equal(rootless.mounts!.find((m) => m.destination === '/sys'), { destination: '/sys', type: 'none', source: '/sys', options: ['rbind', 'nosuid', 'noexec', 'nodev', 'ro'] });
  assert.equal(rootless.mounts!.find((m) => m.destination === '/dev/pts')!.options, ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620']);
  assert.equal(rootless.linux!.maskedPaths, root.linux!.maskedPaths);
});

test.after(() => rmSync(scratch, { recursive: true, force: true }));

// ---- found by the fuzzer (test/unit/fuzz.test.ts) -------------------------------------------

test('found by the fuzzer: echoed values are quoted with invisible and direction-changing characters escaped', () => {
  const config = base();
  config.process!.capabilities!.bounding = ['CAP_KILL\u202egnp.exe', 'CAP_\u001b[31mRED', 'CAP_\ud800'];
  assert.equal(problemLines(config), [
    'process.capabilities.bounding[0]: unknown capability "CAP_KILL\\u202egnp.exe"',
    'process.capabilities.bounding[1]: unknown capability "CAP_\\u001b[31mRED"',
    'process.capabilities.bounding[2]: unknown capability "CAP_\\ud800"',
  ]);
  assert.is(quote('a\u2028b\u0085c"\\'), '"a\\u2028b\\u0085c\\"\\\\"');
  assert.is(quote('\u{1F600}'), '"\u{1F600}"', 'a whole surrogate pair is a character, not an escape');
});

test('found by the fuzzer: a long value is cut short in the message', () => {
  const config = base();
  config.process!.rlimits = [{ type: `/${'a/'.repeat(3000)}`, soft: 1, hard: 1 }];
  const [line] = problemLines(config);
  assert.ok(line.length < 250, line);
  assert.match(line, /^process\.rlimits\[0\]\.type: must be an RLIMIT_\* name .*\.\.\. \(6001 characters\)\)$/);
});

test('found by the fuzzer: NUL bytes are refused by validation, naming the field, not by the plan encoder', () => {
  const config = base();
  config.process!.args = ['sh', 'a\0b'];
  config.hooks = { poststop: [{ path: '/bin/true', env: ['A=\0'] }] };
  config.linux!.sysctl = { 'net.ipv4.ip_forward\0x': '1' };
  config.mounts![0].options = ['nosuid\0'];
  config.annotations = { 'org.example': 'opaque\0data' };
  assert.equal(problemLines(config), [
    'process.args[1]: must not contain a NUL byte',
    'mounts[0].options[0]: must not contain a NUL byte',
    'hooks.poststop[0].env[0]: must not contain a NUL byte',
    'linux.sysctl["net.ipv4.ip_forward\\u0000x"]: the key must not contain a NUL byte',
  ]);
});

test('found by the fuzzer: a path longer than PATH_MAX is refused at its field, not echoed by the init', () => {
  const config = base();
  const long = `/${'a/'.repeat(3000)}`;
  config.linux!.readonlyPaths = ['/proc/sys', long];
  config.mounts![1].destination = long;
  config.hooks = { prestart: [{ path: long }] };
  assert.equal(problemLines(config), [
    'mounts[1].destination: is 6001 bytes long: a path must be shorter than 4096 bytes (PATH_MAX)',
    'linux.readonlyPaths[1]: is 6001 bytes long: a path must be shorter than 4096 bytes (PATH_MAX)',
    'hooks.prestart[0].path: is 6001 bytes long: a path must be shorter than 4096 bytes (PATH_MAX)',
  ]);
  config.linux!.readonlyPaths = [`/${'b'.repeat(4094)}`];
  assert.equal(problemLines({ ...config, mounts: [], hooks: {} }), []);
});

// ---- kernel limits: each value is refused at its field one byte (or item) beyond what the kernel or
// the init takes, and accepted at the limit. Each rule was removed once: its refusal went missing.

test('kernel limits: a sysctl key fits under /proc/sys in PATH_MAX, each component in NAME_MAX, none empty', () => {
  const config = base();
  const atLimit = `net.${'a'.repeat(255)}.${'b.'.repeat(1912)}c`; // 4085 bytes: "/proc/sys/" + key is 4095
  assert.is(Buffer.byteLength(atLimit), 4085);
  config.linux!.sysctl = { [atLimit]: '1', [`net/${'x'.repeat(255)}`]: '1' };
  assert.equal(problemLines(config), []);
  // the finding: "net." and 400 "a." segments overflowed the init's 512-byte path
  const finding = `net.${'a.'.repeat(400)}`;
  const tooLong = `${atLimit}d`;
  const longComponent = `net.${'a'.repeat(256)}`;
  config.linux!.sysctl = { [finding]: '1', [tooLong]: '1', [longComponent]: '1', 'net..ipv4': '1', 'net/../kernel/x': '1' };
  assert.equal(configProblems(config).map((p) => [p.path, p.message]), [
    [`linux.sysctl["${finding}"]`, 'has an empty component: each part between dots names a directory or file under /proc/sys'],
    [`linux.sysctl["${tooLong}"]`, 'is 4086 bytes long: a sysctl key must be at most 4085 bytes, for /proc/sys/<key> to be shorter than 4096 bytes (PATH_MAX)'],
    [`linux.sysctl["${longComponent}"]`, 'has a component of 256 bytes: a file name is at most 255 bytes (NAME_MAX)'],
    ['linux.sysctl["net..ipv4"]', 'has an empty component: each part between dots names a directory or file under /proc/sys'],
    ['linux.sysctl["net/../kernel/x"]', 'has a component starting with "." (".."): it names no file under /proc/sys'],
  ]);
});

test('kernel limits: the filesystem data of a mount is shorter than a page, as mount(2) takes it', () => {
  const config = base();
  const tmpfs = config.mounts!.findIndex((m) => m.type === 'tmpfs');
  // "size=..." and the rest joined with "," is the data; flags and propagation options are not
  const data = (length: number) => ['nosuid', `size=${'1'.repeat(length - 5 - 9)}`, 'rprivate', 'mode=755'];
  assert.is(data(4095).filter((o) => o.includes('=')).join(',').length, 4095);
  config.mounts![tmpfs].options = data(4095);
  assert.equal(problemLines(config), []);
  config.mounts![tmpfs].options = data(4096);
  assert.equal(problemLines(config), [`mounts[${tmpfs}].options: the filesystem options (4096 bytes joined with ",") must be shorter than one page (4096 bytes), as for mount(2)`]);
  // a bind mount has no filesystem data: whatever else its options hold is ignored, as by the kernel
  config.mounts![tmpfs] = { destination: '/data', type: 'bind', source: '/tmp', options: ['rbind', 'x'.repeat(5000)] };
  assert.equal(problemLines(config), []);
});

test('kernel limits: a uid or gid map is at most 340 lines and shorter than a page', () => {
  const config = base();
  config.linux!.namespaces!.push({ type: 'user' });
  const lines = (count: number) => Array.from({ length: count }, (_, i) => ({ containerID: i, hostID: i, size: 1 }));
  config.linux!.uidMappings = lines(340);
  config.linux!.gidMappings = lines(340);
  assert.equal(problemLines(config), []);
  config.linux!.uidMappings = lines(341);
  assert.equal(problemLines(config), ['linux.uidMappings: has 341 mappings: the kernel takes at most 340']);
  // 123 lines of 33 bytes ("1000000000 1000000000 1000000000\n") and two of 18: 4095 bytes
  const wide = (last: number) => [
    ...Array.from({ length: 123 }, () => ({ containerID: 1000000000, hostID: 1000000000, size: 1000000000 })),
    { containerID: 1000000, hostID: 1000000, size: 1 },
    { containerID: last, hostID: 1000000, size: 1 },
  ];
  config.linux!.uidMappings = lines(1);
  config.linux!.gidMappings = wide(1000000);
  assert.equal(problemLines(config), []);
  config.linux!.gidMappings = wide(10000000);
  assert.equal(problemLines(config), ['linux.gidMappings: takes 4096 bytes as gid_map: the kernel takes less than one page (4096 bytes)']);
});

test('kernel limits: hostname and domainname of at most 64 bytes, at most 65536 additionalGids', () => {
  const config = base();
  config.hostname = 'h'.repeat(64);
  config.domainname = 'é'.repeat(32);
  config.process!.user.additionalGids = Array.from({ length: 65536 }, (_, i) => i);
  assert.equal(problemLines(config), []);
  config.hostname = 'h'.repeat(65);
  config.domainname = `${'é'.repeat(32)}x`;
  config.process!.user.additionalGids.push(1);
  assert.equal(problemLines(config), [
    'hostname: is 65 bytes long: the kernel takes at most 64 (HOST_NAME_MAX)',
    'domainname: is 65 bytes long: the kernel takes at most 64 (HOST_NAME_MAX)',
    'process.user.additionalGids: has 65537 groups: the kernel takes at most 65536 (NGROUPS_MAX)',
  ]);
});

test('found by the fuzzer: nothing more is said inside a field the schema refused', () => {
  const config = base();
  (config.mounts![0] as unknown as { options: unknown }).options = [[[['/nul\0byte']]]];
  assert.equal(problemLines(config), ['mounts[0].options[0]: must be a string']);
  // A NUL in data tsrun never reads is nobody's problem, and the path of deeply nested or long-named
  // unknown data would fill the screen.
  let deep: unknown = 'x\0y';
  for (let i = 0; i < 300; i++) deep = { ['k'.repeat(300)]: [deep] };
  const unknown = base() as Spec & { x: unknown };
  unknown.x = deep;
  (unknown.mounts![0] as unknown as Record<string, unknown>)['y'.repeat(300)] = 'a\0b';
  assert.equal(problemLines(unknown), []);
});

test('found by the fuzzer: a wrong type is one problem, and a long list of allowed values is summed up', () => {
  const config = base();
  config.linux!.seccomp = { defaultAction: 'SCMP_ACT_ALLOW', architectures: [null, 'SCMP_ARCH_NOPE'] };
  assert.equal(problemLines(config), [
    'linux.seccomp.architectures[0]: must be a string',
    'linux.seccomp.architectures[1]: must be one of SCMP_ARCH_X86, SCMP_ARCH_X86_64, SCMP_ARCH_X32, SCMP_ARCH_ARM, SCMP_ARCH_AARCH64, SCMP_ARCH_MIPS or 17 more of the same kind (got "SCMP_ARCH_NOPE")',
  ]);
});

// The init checks the resolved destination against its own copy of the list (native-shim/fs.c).
test('the /proc files a mount may cover are the same list in validation and in the init', () => {
  const c = readFileSync(join(repoRoot, 'native-shim', 'fs.c'), 'utf8');
  const array = /proc_files_to_mount_on\[\] = \{([^}]*)\}/.exec(c)?.[1];
  assert.ok(array, 'fs.c has proc_files_to_mount_on');
  const inC = [...array.matchAll(/"([^"]+)"/g)].map((m) => m[1]).sort();
  assert.equal(inC, [...PROC_FILES_TO_MOUNT_ON].sort());
});

test.run();
