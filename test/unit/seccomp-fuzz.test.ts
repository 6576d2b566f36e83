// The seccomp compiler against the reference (seccomp-reference.ts): random profiles (default
// actions, errno values, architectures, several rules per call with random conditions, names that
// collide, repeat, are multiplexed on x86 or unknown) compiled for a random native architecture,
// then run in the BPF interpreter on random seccomp_data: the verdicts must be equal, and every
// program must pass the kernel's checks.
//
// TSRUN_FUZZ_SEED=N replays a run (the seed is printed); TSRUN_FUZZ_CASES=N changes the number of
// profiles (each is run on INPUTS inputs).
//
// Checked to fail (TSRUN_FUZZ_SEED=1, 300 profiles): with the x86_64-alone bad-arch range left
// out of rules.ts, with the high-word jeq of the 64-bit orderings replaced by a plain jump in
// compile.ts, with runc's stub ranges made "everything above the largest" (no jset split), and
// (the long-jump test) with the assembler's trampolines turned off.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { ArchName } from '../../src/seccomp/arch.ts';
import { fromBytes } from '../../src/seccomp/bpf.ts';
import { compileSeccomp } from '../../src/seccomp/compile.ts';
import { ACTIONS, OPS, parseSeccomp, type SeccompProfile } from '../../src/seccomp/profile.ts';
import { SYSCALL_TABLES } from '../../src/seccomp/syscalls.generated.ts';
import { caseSeed, type Rng, rng } from '../fuzz/mutate.ts';
import { caseCount, runSeed } from '../fuzz/seeds.ts';
import { checkProgram, run, type SeccompData } from './seccomp-bpf.ts';
import { referenceVerdict } from './seccomp-reference.ts';

const PROFILES = caseCount(1500);
const INPUTS = 40;
const SEED = runSeed();

const ARCH_NAMES: Record<string, ArchName> = { SCMP_ARCH_X86_64: 'x86_64', SCMP_ARCH_X86: 'x86', SCMP_ARCH_X32: 'x32', SCMP_ARCH_AARCH64: 'aarch64', SCMP_ARCH_ARM: 'arm' };
const AUDITS = [0xc000003e, 0x40000003, 0xc00000b7, 0x40000028, 0x12345678];
const NATIVES: ArchName[] = ['x86_64', 'x86_64', 'aarch64', 'x86', 'arm'];
const ALL_NAMES = [...new Set(Object.values(SYSCALL_TABLES).flatMap((t) => Object.keys(t)))].sort();
const SPECIAL_NAMES = ['socket', 'socketcall', 'ipc', 'semop', 'shmat', 'recv', 'accept', 'accept4', 'personality', 'clone', 'clone3', 'read', 'openat', 'cacheflush', 'set_tls', 'arch_prctl', 'no_such_call'];
const VALUES = [0n, 1n, 2n, 8n, 0x7fffffffn, 0x80000000n, 0xffffffffn, 0x100000000n, 0x1ffffffffn, 0xffffffff00000000n, (1n << 63n), (1n << 64n) - 1n];

function u64(r: Rng): bigint {
  if (r.chance(0.6)) return (r.pick(VALUES) + (r.chance(0.2) ? BigInt(r.int(3)) : 0n)) & ((1n << 64n) - 1n);
  return (BigInt(r.int(0x100000000)) << 32n) | BigInt(r.int(0x100000000));
}

function randomProfile(r: Rng, pool: string[]): unknown {
  const actions = ACTIONS.filter((a) => a !== 'SCMP_ACT_NOTIFY');
  const defaultAction = r.pick(actions);
  const profile: Record<string, unknown> = { defaultAction };
  if ((defaultAction === 'SCMP_ACT_ERRNO' || defaultAction === 'SCMP_ACT_TRACE') && r.chance(0.4)) profile.defaultErrnoRet = r.pick([1, 38, 13, 0, 70000]);
  profile.architectures = Object.keys(ARCH_NAMES).filter(() => r.chance(0.4));
  const syscalls = [];
  for (let i = r.int(r.chance(0.1) ? 60 : 14); i > 0; i--) {
    const action = r.pick(ACTIONS);
    // runc refuses SCMP_ACT_NOTIFY on write (profile.ts too; tested in seccomp.test.ts)
    const names = Array.from({ length: 1 + r.int(3) }, () => r.pick(pool)).filter((n) => action !== 'SCMP_ACT_NOTIFY' || n !== 'write');
    const entry: Record<string, unknown> = { names: names.length ? names : ['read'], action };
    if ((action === 'SCMP_ACT_ERRNO' || action === 'SCMP_ACT_TRACE') && r.chance(0.5)) entry.errnoRet = r.pick([1, 38, 22, 0]);
    if (r.chance(0.6))
      entry.args = Array.from({ length: 1 + r.int(3) }, () => ({
        index: r.int(r.chance(0.5) ? 2 : 6),
        value: u64(r),
        ...(r.chance(0.5) ? { valueTwo: u64(r) } : {}),
        op: r.pick(OPS),
      }));
    syscalls.push(entry);
  }
  profile.syscalls = syscalls;
  if (syscalls.some((s) => s.action === 'SCMP_ACT_NOTIFY')) profile.listenerPath = '/run/agent.sock';
  return profile;
}

function randomInput(r: Rng, profile: SeccompProfile, native: ArchName): SeccompData {
  const arches: ArchName[] = [native, ...profile.architectures];
  const arch = r.pick(arches);
  const audit = r.chance(0.9) ? { x86_64: 0xc000003e, x32: 0xc000003e, x86: 0x40000003, aarch64: 0xc00000b7, arm: 0x40000028 }[arch] : r.pick(AUDITS);
  const names = profile.syscalls.flatMap((s) => s.names);
  let nr: number;
  const roll = r.int(10);
  if (roll < 6 && names.length) {
    const table = SYSCALL_TABLES[arch];
    const name = r.pick(names);
    nr = Object.hasOwn(table, name) ? table[name] : r.chance(0.5) ? SYSCALL_TABLES.x86.socketcall : SYSCALL_TABLES.x86.ipc;
    if (r.chance(0.2)) nr += r.pick([-1, 1]);
  } else if (roll < 8) nr = r.pick([0, 1, 0x3fffffff, 0x40000000, 0x40000001, 0x7fffffff, 0x80000000, 0xbfffffff, 0xc0000000, 0xfffffffe, 0xffffffff]) + 0;
  else nr = r.chance(0.5) ? r.int(1200) : r.int(0x100000000);
  const argValues = profile.syscalls.flatMap((s) => s.args.flatMap((a) => [a.value, a.valueTwo, a.value & a.valueTwo]));
  const arg = () => {
    if (argValues.length && r.chance(0.5)) {
      const v = r.pick(argValues);
      return r.chance(0.7) ? v : (v + BigInt(r.pick([-1, 1, 0x100000000, -0x100000000]))) & ((1n << 64n) - 1n);
    }
    return u64(r);
  };
  return { nr: nr >>> 0, arch: audit >>> 0, args: Array.from({ length: 6 }, arg) };
}

test(`compiled filters agree with the reference (seed ${SEED}, ${PROFILES} profiles × ${INPUTS} inputs)`, () => {
  console.log(`seccomp fuzz: seed ${SEED} (TSRUN_FUZZ_SEED=${SEED} replays)`);
  const failures: string[] = [];
  let cases = 0;
  let longest = 0;
  for (let i = 0; i < PROFILES && failures.length < 5; i++) {
    const r = rng(caseSeed(SEED, i));
    const pool = Array.from({ length: 4 + r.int(20) }, () => (r.chance(0.5) ? r.pick(SPECIAL_NAMES) : r.pick(ALL_NAMES)));
    const raw = randomProfile(r, pool);
    const native = r.pick(NATIVES);
    const where = `profile ${i} (native ${native}): ${JSON.stringify(raw, (_, v) => (typeof v === 'bigint' ? `${v}n` : v))}`;
    let profile: SeccompProfile;
    try {
      profile = parseSeccomp(raw);
    } catch (err) {
      failures.push(`${where}\n  refused: ${(err as Error).message}`);
      continue;
    }
    const compiled = compileSeccomp(profile, { nativeArch: native });
    const program = fromBytes(compiled.program);
    longest = Math.max(longest, program.length);
    try {
      checkProgram(program);
    } catch (err) {
      failures.push(`${where}\n  kernel check: ${(err as Error).message}`);
      continue;
    }
    for (let k = 0; k < INPUTS; k++) {
      const data = randomInput(r, profile, native);
      cases++;
      const got = run(program, data).ret;
      const want = referenceVerdict(profile, native, data);
      if (got !== want) {
        failures.push(`${where}\n  input nr=0x${data.nr.toString(16)} arch=0x${data.arch.toString(16)} args=${data.args.map((a) => `0x${a.toString(16)}`).join(',')}: filter 0x${got.toString(16)}, reference 0x${want.toString(16)}`);
        break;
      }
    }
  }
  console.log(`seccomp fuzz: ${cases} cases, longest program ${longest} instructions`);
  assert.ok(failures.length === 0, failures.join('\n\n'));
});

test('profiles with long jumps agree with the reference', () => {
  // Hundreds of rules with conditions put the shared returns more than 255 instructions away.
  const r = rng(caseSeed(SEED, 1 << 30));
  const names = Object.keys(SYSCALL_TABLES.x86_64).slice(0, 300);
  const raw = {
    defaultAction: 'SCMP_ACT_ERRNO',
    architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86'],
    syscalls: names.map((name, i) => ({ names: [name], action: i % 3 ? 'SCMP_ACT_ALLOW' : 'SCMP_ACT_TRAP', args: i % 2 ? [{ index: i % 6, value: BigInt(i), op: 'SCMP_CMP_GT' }] : [] })),
  };
  const profile = parseSeccomp(raw);
  const compiled = compileSeccomp(profile, { nativeArch: 'x86_64' });
  const program = fromBytes(compiled.program);
  checkProgram(program);
  assert.ok(program.some((f) => f.code === 0x05 && f.k > 255), 'a long BPF_JA');
  for (let k = 0; k < 5000; k++) {
    const data = randomInput(r, profile, 'x86_64');
    assert.is(run(program, data).ret, referenceVerdict(profile, 'x86_64', data), `nr ${data.nr} arch 0x${data.arch.toString(16)} args ${data.args.map((a) => a.toString(16))}`);
  }
});

test.run();
