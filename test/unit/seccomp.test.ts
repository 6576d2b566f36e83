// The seccomp compiler on the real default profiles of docker, containerd and podman, and on the
// rules of runc and libseccomp one at a time; profile problems with their JSON paths. Verdicts are
// those of the compiled BPF, run in seccomp-bpf.ts's interpreter. (seccomp-fuzz.test.ts compares
// random profiles with the reference evaluator.)
import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { isTsrunError } from '../../src/errors.ts';
import type { ArchName } from '../../src/seccomp/arch.ts';
import { fromBytes } from '../../src/seccomp/bpf.ts';
import { compileSeccomp } from '../../src/seccomp/compile.ts';
import { parseSeccomp, seccompProblems } from '../../src/seccomp/profile.ts';
import { SYSCALL_TABLES as T } from '../../src/seccomp/syscalls.generated.ts';
import { checkProgram, run } from './seccomp-bpf.ts';

const fixture = (name: string) => JSON.parse(readFileSync(new URL(`../fixtures/${name}`, import.meta.url), 'utf8'));
const DOCKER = fixture('seccomp/docker.json');
const CONTAINERD = fixture('seccomp/containerd.json');
const PODMAN = fixture('clients/podman-run.config.json').linux.seccomp;

const AUDIT = { x86_64: 0xc000003e, x32: 0xc000003e, x86: 0x40000003, aarch64: 0xc00000b7, arm: 0x40000028 };
const ALLOW = 0x7fff0000;
const EPERM = 0x50001;
const ENOSYS = 0x50026;
const KILL_THREAD = 0;

function filter(profile: unknown, native: ArchName = 'x86_64') {
  const compiled = compileSeccomp(parseSeccomp(profile), { nativeArch: native });
  const program = fromBytes(compiled.program);
  checkProgram(program);
  const verdict = (arch: keyof typeof AUDIT, nr: number, ...args: bigint[]) => run(program, { nr, arch: AUDIT[arch], args: [...args, 0n, 0n, 0n, 0n, 0n, 0n].slice(0, 6) });
  return { compiled, program, ret: (arch: keyof typeof AUDIT, nr: number, ...args: bigint[]) => verdict(arch, nr, ...args).ret, verdict };
}

test("docker's default profile on an x86_64 host", () => {
  const f = filter(DOCKER);
  console.log(`docker's profile: ${f.compiled.instructions} BPF instructions`);
  assert.ok(f.compiled.instructions < 700, `${f.compiled.instructions} instructions`);
  assert.is(f.ret('x86_64', T.x86_64.read), ALLOW);
  assert.is(f.ret('x86_64', T.x86_64.mount), EPERM);
  assert.is(f.ret('x86_64', T.x86_64.clone3), ENOSYS); // docker's own rule: errnoRet 38
  assert.is(f.ret('x86_64', T.x86_64.personality, 0xffffffffn), ALLOW);
  assert.is(f.ret('x86_64', T.x86_64.personality, 8n), ALLOW);
  assert.is(f.ret('x86_64', T.x86_64.personality, 5n), EPERM);
  assert.is(f.ret('x86_64', T.x86_64.personality, 0x1ffffffffn), EPERM); // both halves compared
  assert.is(f.ret('x86_64', T.x86_64.clone, 0x11n), ALLOW); // SIGCHLD | ... without namespace flags
  assert.is(f.ret('x86_64', T.x86_64.clone, 0x10000000n), EPERM); // CLONE_NEWUSER
  // runc's stub: numbers above the largest the profile names are ENOSYS, so glibc falls back.
  assert.is(f.ret('x86_64', 1000), ENOSYS);
  assert.is(f.ret('x86_64', 0x3fffffff), ENOSYS);
  // x32 and x86 are listed: their own numbers, their own stub.
  assert.is(f.ret('x32', T.x32.read), ALLOW);
  assert.is(f.ret('x32', T.x32.mount), EPERM);
  assert.is(f.ret('x32', 0x40000000 + 1000), ENOSYS);
  assert.is(f.ret('x86', T.x86.read), ALLOW);
  assert.is(f.ret('x86', T.x86.personality, 0x100000005n), EPERM); // a 32-bit arch: the low word only, 5
  assert.is(f.ret('x86', T.x86.personality, 0x1000000ffffffffn), ALLOW); // low word 0xffffffff: allowed
  assert.is(f.ret('x86', T.x86.mount), EPERM);
  assert.is(f.ret('x86', 2000), ENOSYS);
  // socketcall(2) on x86: x86_64 has no socketcall, so runc drops docker's own rule for it, but
  // libseccomp matches "socket" and friends through it by their SYS_* number.
  assert.is(f.ret('x86', T.x86.socketcall, 1n), ALLOW);
  assert.is(f.ret('x86', T.x86.socketcall, 99n), EPERM);
  assert.is(f.ret('x86', T.x86.socket), ALLOW);
  // not in the filter: libseccomp's bad-arch action
  assert.is(f.ret('aarch64', 63), KILL_THREAD);
  assert.is(f.ret('arm', 3), KILL_THREAD);
  // a call costs a binary search, not a walk through hundreds of numbers
  assert.ok(f.verdict('x86_64', T.x86_64.read).steps <= 16, `${f.verdict('x86_64', T.x86_64.read).steps} steps`);
  assert.ok(f.verdict('x86_64', T.x86_64.mount).steps <= 16);
});

test("docker's profile on an aarch64 host", () => {
  const f = filter(DOCKER, 'aarch64');
  assert.is(f.ret('aarch64', T.aarch64.read), ALLOW);
  assert.is(f.ret('aarch64', T.aarch64.mount), EPERM);
  // aarch64 is not listed: runc's stub covers listed architectures only, the default answers.
  assert.is(f.ret('aarch64', 1000), EPERM);
  assert.is(f.ret('x86_64', T.x86_64.read), ALLOW);
  assert.is(f.ret('arm', 3), KILL_THREAD);
});

test("containerd's and podman's default profiles", () => {
  const c = filter(CONTAINERD);
  console.log(`containerd's profile: ${c.compiled.instructions} BPF instructions`);
  assert.is(c.ret('x86_64', T.x86_64.read), ALLOW);
  assert.is(c.ret('x86_64', T.x86_64.mount), EPERM);
  assert.is(c.ret('x86_64', T.x86_64.clone3), ENOSYS);
  const p = filter(PODMAN);
  console.log(`podman's profile: ${p.compiled.instructions} BPF instructions`);
  assert.is(p.ret('x86_64', T.x86_64.read), ALLOW);
  assert.is(p.ret('x86_64', T.x86_64.kexec_load), EPERM); // errnoRet 1
  assert.is(p.ret('x86_64', T.x86_64.personality, 5n), ENOSYS); // defaultErrnoRet 38
  assert.is(p.ret('x86_64', 1000), ENOSYS);
});

test('each action gives its SECCOMP_RET value', () => {
  const cases: [string, number | undefined, number][] = [
    ['SCMP_ACT_KILL', undefined, 0],
    ['SCMP_ACT_KILL_THREAD', undefined, 0],
    ['SCMP_ACT_KILL_PROCESS', undefined, 0x80000000],
    ['SCMP_ACT_TRAP', undefined, 0x30000],
    ['SCMP_ACT_ERRNO', undefined, 0x50001],
    ['SCMP_ACT_ERRNO', 13, 0x5000d],
    ['SCMP_ACT_TRACE', undefined, 0x7ff00001],
    ['SCMP_ACT_TRACE', 7, 0x7ff00007],
    ['SCMP_ACT_LOG', undefined, 0x7ffc0000],
    ['SCMP_ACT_NOTIFY', undefined, 0x7fc00000],
  ];
  for (const [action, errnoRet, value] of cases) {
    const f = filter({ defaultAction: 'SCMP_ACT_ALLOW', listenerPath: '/run/a.sock', syscalls: [{ names: ['getpid'], action, ...(errnoRet === undefined ? {} : { errnoRet }) }] });
    assert.is(f.ret('x86_64', T.x86_64.getpid), value, action);
    assert.is(f.ret('x86_64', T.x86_64.getppid), ALLOW);
  }
});

test('the first instruction loads seccomp_data.arch, in struct sock_filter layout', () => {
  const { compiled } = filter({ defaultAction: 'SCMP_ACT_ALLOW' });
  assert.is(compiled.program.length, compiled.instructions * 8);
  assert.is(compiled.program.readUInt16LE(0), 0x20); // BPF_LD | BPF_W | BPF_ABS
  assert.is(compiled.program.readUInt32LE(4), 4);
});

test("runc's rules: one equal to the default is dropped, a repeated argument index ORs, an unconditional rule wins", () => {
  const f = filter({
    defaultAction: 'SCMP_ACT_ERRNO',
    syscalls: [
      { names: ['getpid'], action: 'SCMP_ACT_ERRNO' }, // = default: dropped, so the next rule counts
      { names: ['getpid'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 1, op: 'SCMP_CMP_EQ' }] },
      { names: ['dup'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 1, op: 'SCMP_CMP_EQ' }, { index: 0, value: 2, op: 'SCMP_CMP_EQ' }] },
      { names: ['dup2'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 1, op: 'SCMP_CMP_EQ' }, { index: 1, value: 2, op: 'SCMP_CMP_EQ' }] },
      { names: ['close'], action: 'SCMP_ACT_TRAP', args: [{ index: 0, value: 1, op: 'SCMP_CMP_EQ' }] },
      { names: ['close'], action: 'SCMP_ACT_ALLOW' },
      { names: ['kill'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 1, op: 'SCMP_CMP_GE' }] },
      { names: ['kill'], action: 'SCMP_ACT_KILL_PROCESS', args: [{ index: 1, value: 9, op: 'SCMP_CMP_EQ' }] },
    ],
  });
  assert.is(f.ret('x86_64', T.x86_64.getpid, 1n), ALLOW);
  assert.is(f.ret('x86_64', T.x86_64.getpid, 0n), EPERM);
  assert.is(f.ret('x86_64', T.x86_64.dup, 1n), ALLOW);
  assert.is(f.ret('x86_64', T.x86_64.dup, 2n), ALLOW);
  assert.is(f.ret('x86_64', T.x86_64.dup, 3n), EPERM);
  assert.is(f.ret('x86_64', T.x86_64.dup2, 1n, 2n), ALLOW);
  assert.is(f.ret('x86_64', T.x86_64.dup2, 1n, 3n), EPERM);
  assert.is(f.ret('x86_64', T.x86_64.close, 1n), ALLOW);
  assert.is(f.ret('x86_64', T.x86_64.kill, 5n, 0n), ALLOW);
  assert.is(f.ret('x86_64', T.x86_64.kill, 5n, 9n), 0x80000000); // both match: the stronger action
  assert.is(f.ret('x86_64', T.x86_64.kill, 0n, 0n), EPERM);
});

test('64-bit comparisons on both halves; 32-bit architectures (x86, arm, x32) on the low word', () => {
  const big = 0x100000005n;
  const ops = ['SCMP_CMP_NE', 'SCMP_CMP_LT', 'SCMP_CMP_LE', 'SCMP_CMP_EQ', 'SCMP_CMP_GE', 'SCMP_CMP_GT'] as const;
  const holds: Record<string, (a: bigint, v: bigint) => boolean> = {
    SCMP_CMP_NE: (a, v) => a !== v,
    SCMP_CMP_LT: (a, v) => a < v,
    SCMP_CMP_LE: (a, v) => a <= v,
    SCMP_CMP_EQ: (a, v) => a === v,
    SCMP_CMP_GE: (a, v) => a >= v,
    SCMP_CMP_GT: (a, v) => a > v,
  };
  const samples = [0n, 5n, 6n, 4n, 0xffffffffn, big, big - 1n, big + 1n, 0x200000000n, 0x200000004n, (1n << 64n) - 1n];
  for (const op of ops) {
    const f = filter({ defaultAction: 'SCMP_ACT_ERRNO', architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'], syscalls: [{ names: ['getpid'], action: 'SCMP_ACT_ALLOW', args: [{ index: 2, value: big, op }] }] });
    for (const a of samples) {
      assert.is(f.ret('x86_64', T.x86_64.getpid, 0n, 0n, a) === ALLOW, holds[op](a, big), `${op} x86_64 ${a}`);
      assert.is(f.ret('x86', T.x86.getpid, 0n, 0n, a) === ALLOW, holds[op](a & 0xffffffffn, 5n), `${op} x86 ${a}`);
      assert.is(f.ret('x32', T.x32.getpid, 0n, 0n, a) === ALLOW, holds[op](a & 0xffffffffn, 5n), `${op} x32 ${a}`);
    }
  }
  const m = filter({ defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{ names: ['getpid'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 0xf0000000fn, valueTwo: 0x300000003n, op: 'SCMP_CMP_MASKED_EQ' }] }] });
  assert.is(m.ret('x86_64', T.x86_64.getpid, 0x3000000f3n), ALLOW);
  assert.is(m.ret('x86_64', T.x86_64.getpid, 0x300000002n), EPERM);
  assert.is(m.ret('x86_64', T.x86_64.getpid, 0x200000003n), EPERM);
});

test('x86_64 alone: x32 numbers get the bad-arch action, except -1; x32 alone: x86_64 numbers do', () => {
  const a = filter({ defaultAction: 'SCMP_ACT_ALLOW', architectures: ['SCMP_ARCH_X86_64'] });
  assert.is(a.ret('x86_64', 0), ALLOW);
  assert.is(a.ret('x86_64', 0x40000000), KILL_THREAD);
  assert.is(a.ret('x86_64', 0xffffffff), ALLOW);
  const b = filter({ defaultAction: 'SCMP_ACT_ALLOW', architectures: ['SCMP_ARCH_X32'] }, 'x86');
  assert.is(b.ret('x32', 0x40000000), ALLOW);
  assert.is(b.ret('x32', 0), KILL_THREAD);
  assert.is(b.ret('x86', 3), ALLOW);
});

test('flags: the listed ones, and NEW_LISTENER when a rule notifies', () => {
  const f = filter({
    defaultAction: 'SCMP_ACT_ALLOW',
    flags: ['SECCOMP_FILTER_FLAG_LOG', 'SECCOMP_FILTER_FLAG_SPEC_ALLOW'],
    listenerPath: '/run/agent.sock',
    listenerMetadata: 'x',
    syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_NOTIFY' }],
  });
  assert.is(f.compiled.flags, 2 | 4 | 8);
  assert.is(f.compiled.listener, true);
  assert.is(filter({ defaultAction: 'SCMP_ACT_ALLOW', flags: ['SECCOMP_FILTER_FLAG_TSYNC'] }).compiled.flags, 1);
});

test('profile problems name their JSON paths', () => {
  const paths = (raw: unknown) => seccompProblems(raw).map((p) => p.path);
  assert.equal(paths('x'), ['linux.seccomp']);
  assert.equal(paths({}), ['linux.seccomp.defaultAction']);
  assert.equal(paths({ defaultAction: 'SCMP_ACT_NOPE' }), ['linux.seccomp.defaultAction']);
  assert.equal(paths({ defaultAction: 'SCMP_ACT_NOTIFY', listenerPath: '/a' }), ['linux.seccomp.defaultAction']);
  assert.equal(paths({ defaultAction: 'SCMP_ACT_ALLOW', defaultErrnoRet: 1 }), ['linux.seccomp.defaultErrnoRet']);
  assert.equal(paths({ defaultAction: 'SCMP_ACT_ERRNO', defaultErrnoRet: -1 }), ['linux.seccomp.defaultErrnoRet']);
  assert.equal(paths({ defaultAction: 'SCMP_ACT_ALLOW', architectures: ['SCMP_ARCH_X86', 'SCMP_ARCH_MIPS', 'SCMP_ARCH_Z80'] }), ['linux.seccomp.architectures[1]', 'linux.seccomp.architectures[2]']);
  assert.equal(paths({ defaultAction: 'SCMP_ACT_ALLOW', flags: ['SECCOMP_FILTER_FLAG_NOPE'] }), ['linux.seccomp.flags[0]']);
  assert.equal(paths({ defaultAction: 'SCMP_ACT_ALLOW', listenerMetadata: 'm' }), ['linux.seccomp.listenerMetadata']);
  assert.equal(paths({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_NOTIFY' }] }), ['linux.seccomp.listenerPath']);
  assert.equal(
    paths({
      defaultAction: 'SCMP_ACT_ALLOW',
      listenerPath: '/a',
      syscalls: [
        { names: [], action: 'SCMP_ACT_ERRNO' },
        { names: ['read'], action: 'SCMP_ACT_BOGUS' },
        { names: ['read'], action: 'SCMP_ACT_KILL', errnoRet: 1 },
        { names: ['read'], action: 'SCMP_ACT_ERRNO', args: [{ index: 6, value: 1, op: 'SCMP_CMP_EQ' }] },
        { names: ['read'], action: 'SCMP_ACT_ERRNO', args: [{ index: 0, value: 2n ** 64n, op: 'SCMP_CMP_EQ' }] },
        { names: ['read'], action: 'SCMP_ACT_ERRNO', args: [{ index: 0, value: 1, op: 'SCMP_CMP_LIKE' }] },
        { names: ['read'], action: 'SCMP_ACT_ERRNO', args: [{ index: 0, value: 1, valueTwo: -1, op: 'SCMP_CMP_EQ' }] },
        { names: ['write'], action: 'SCMP_ACT_NOTIFY' },
        { names: [''], action: 'SCMP_ACT_ERRNO' },
      ],
    }),
    [
      'linux.seccomp.syscalls[0].names',
      'linux.seccomp.syscalls[1].action',
      'linux.seccomp.syscalls[2].errnoRet',
      'linux.seccomp.syscalls[3].args[0].index',
      'linux.seccomp.syscalls[4].args[0].value',
      'linux.seccomp.syscalls[5].args[0].op',
      'linux.seccomp.syscalls[6].args[0].valueTwo',
      'linux.seccomp.syscalls[7].names',
      'linux.seccomp.syscalls[8].names[0]',
    ],
  );
  // unknown names are no problem: runc skips them
  assert.equal(paths({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['no_such_call'], action: 'SCMP_ACT_ERRNO' }] }), []);
  try {
    parseSeccomp({ defaultAction: 'SCMP_ACT_ALLOW', architectures: ['SCMP_ARCH_PPC64LE'] });
    assert.unreachable();
  } catch (err) {
    assert.ok(isTsrunError(err, 'ERR_CONFIG_INVALID'));
    assert.match((err as Error).message, 'linux.seccomp.architectures[0]');
  }
});

test('a profile too big for BPF_MAXINSNS is refused, naming linux.seccomp', () => {
  const names = Object.keys(T.x86_64).slice(0, 300);
  const raw = {
    defaultAction: 'SCMP_ACT_ERRNO',
    architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
    syscalls: names.map((name, i) => ({ names: [name], action: 'SCMP_ACT_ALLOW', args: [0, 1, 2].map((index) => ({ index, value: i + index, op: 'SCMP_CMP_LT' })) })),
  };
  try {
    compileSeccomp(parseSeccomp(raw), { nativeArch: 'x86_64' });
    assert.unreachable();
  } catch (err) {
    assert.ok(isTsrunError(err, 'ERR_CONFIG_INVALID'), String(err));
    assert.match((err as Error).message, /^linux\.seccomp: .*4096/);
  }
});

test.run();
