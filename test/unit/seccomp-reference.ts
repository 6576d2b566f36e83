// The verdict of a seccomp profile on one system call, evaluated directly: what runc 1.1 with
// libseccomp does (runc's seccomp_linux.go and patchbpf/enosys_linux.go, libseccomp's db.c,
// gen_bpf.c and syscalls.c), written input by input without ranges, trees or BPF, so that the
// fuzzer can hold the compiler to it. It shares nothing with src/seccomp but the syscall tables.
import type { SeccompProfile } from '../../src/seccomp/profile.ts';
import { SYSCALL_TABLES } from '../../src/seccomp/syscalls.generated.ts';
import type { SeccompData } from './seccomp-bpf.ts';

const AUDIT: Record<string, number> = { x86_64: 0xc000003e, x32: 0xc000003e, x86: 0x40000003, aarch64: 0xc00000b7, arm: 0x40000028 };
// libseccomp's ARCH_SIZE_64 arches; x32 is ARCH_SIZE_32 (arch-x32.c)
const WIDE: Record<string, boolean> = { x86_64: true, x32: false, aarch64: true, x86: false, arm: false };
const BIT = 0x40000000;
const SOCKET = ['socket', 'bind', 'connect', 'listen', 'accept', 'getsockname', 'getpeername', 'socketpair', 'send', 'recv', 'sendto', 'recvfrom', 'shutdown', 'setsockopt', 'getsockopt', 'sendmsg', 'recvmsg', 'accept4', 'recvmmsg', 'sendmmsg'];
const IPC: Record<string, number> = { semop: 1, semget: 2, semctl: 3, semtimedop: 4, msgsnd: 11, msgrcv: 12, msgget: 13, msgctl: 14, shmat: 21, shmdt: 22, shmget: 23, shmctl: 24 };

const num = (arch: string, name: string): number | undefined => (Object.hasOwn(SYSCALL_TABLES[arch], name) ? SYSCALL_TABLES[arch][name] : undefined);

function ret(action: string, errno?: number): number {
  const e = (errno ?? 1) & 0xffff;
  const table: Record<string, number> = {
    SCMP_ACT_KILL: 0,
    SCMP_ACT_KILL_THREAD: 0,
    SCMP_ACT_KILL_PROCESS: 0x80000000,
    SCMP_ACT_TRAP: 0x30000,
    SCMP_ACT_ERRNO: 0x50000 + e,
    SCMP_ACT_TRACE: 0x7ff00000 + e,
    SCMP_ACT_ALLOW: 0x7fff0000,
    SCMP_ACT_LOG: 0x7ffc0000,
    SCMP_ACT_NOTIFY: 0x7fc00000,
  };
  return table[action];
}

/** Strongest first: KILL_PROCESS, KILL_THREAD, TRAP, ERRNO, USER_NOTIF, TRACE, LOG, ALLOW. */
function strength(value: number): number {
  const order = [0x80000000, 0, 0x30000, 0x50000, 0x7fc00000, 0x7ff00000, 0x7ffc0000, 0x7fff0000];
  return order.indexOf(value === 0x80000000 ? value : (value & 0xffff0000) >>> 0);
}

type Arg = { index: number; op: string; value: bigint; valueTwo: bigint };

function holds(arg: Arg, data: SeccompData, wide: boolean): boolean {
  const cut = (v: bigint) => (wide ? v : v & 0xffffffffn);
  const a = cut(data.args[arg.index]);
  const v = cut(arg.value);
  switch (arg.op) {
    case 'SCMP_CMP_EQ':
      return a === v;
    case 'SCMP_CMP_NE':
      return a !== v;
    case 'SCMP_CMP_GT':
      return a > v;
    case 'SCMP_CMP_GE':
      return a >= v;
    case 'SCMP_CMP_LT':
      return a < v;
    case 'SCMP_CMP_LE':
      return a <= v;
    case 'SCMP_CMP_MASKED_EQ':
      return (a & v) === (cut(arg.valueTwo) & v);
  }
  throw new Error(`op ${arg.op}`);
}

/** No comparison at all for libseccomp: a masked compare whose mask (cut to the arch) is 0. */
const tautology = (arg: Arg, wide: boolean) => arg.op === 'SCMP_CMP_MASKED_EQ' && (wide ? arg.value : arg.value & 0xffffffffn) === 0n;

/** `stub: false` leaves runc's -ENOSYS stub out: libseccomp's filter alone. */
export function referenceVerdict(profile: SeccompProfile, native: string, data: SeccompData, options: { stub?: boolean } = {}): number {
  return evaluate(profile, native, data, options).ret;
}

/**
 * The verdict, and whether it came from choosing between matching conditional rules with
 * different actions: libseccomp refuses some such profiles (EEXIST) and for the others picks by
 * the shape of its rule tree; we take the strongest action.
 */
export function evaluate(profile: SeccompProfile, native: string, data: SeccompData, options: { stub?: boolean } = {}): { ret: number; ambiguous: boolean; orderedOr: boolean } {
  let orderedOr = false;
  const verdict = (ret: number, ambiguous = false) => ({ ret, ambiguous, orderedOr });
  const nr = data.nr >>> 0;
  const defaultRet = ret(profile.defaultAction, profile.defaultErrnoRet);

  // runc's stub, before the filter: listed architectures only.
  const stub = options.stub !== false && profile.defaultErrnoRet !== 38 && !['SCMP_ACT_ALLOW', 'SCMP_ACT_LOG', 'SCMP_ACT_TRACE'].includes(profile.defaultAction);
  if (stub)
    for (const arch of new Set(profile.architectures)) {
      if (AUDIT[arch] !== data.arch >>> 0) continue;
      let largest = 0;
      for (const s of profile.syscalls)
        for (const name of s.names) {
          if (arch === 'x86' && (SOCKET.includes(name) || Object.hasOwn(IPC, name))) continue;
          const n = num(arch, name);
          if (n !== undefined && n > largest) largest = n;
        }
      if (largest === 0) continue;
      const x32Call = (nr & BIT) !== 0;
      if (arch === 'x86_64' && x32Call) continue;
      if (arch === 'x32' && !x32Call) continue;
      if (nr > largest) return verdict(0x50000 + 38);
    }

  const inFilter = [native, ...profile.architectures].filter((a, i, all) => all.indexOf(a) === i && AUDIT[a] === data.arch >>> 0);
  if (inFilter.length === 0) return verdict(0); // libseccomp's bad-arch action: SCMP_ACT_KILL
  if (inFilter.length === 1 && inFilter[0] === 'x86_64' && nr >= BIT && nr !== 0xffffffff) return verdict(0);
  if (inFilter.length === 1 && inFilter[0] === 'x32' && nr < BIT) return verdict(0);

  // The rules libseccomp holds for this number, in the order runc adds them.
  const rules: { args: Arg[]; action: number; wide: boolean }[] = [];
  for (const s of profile.syscalls) {
    const action = ret(s.action, s.errnoRet);
    if (action === defaultRet) continue;
    const counts = new Map<number, number>();
    for (const a of s.args) counts.set(a.index, (counts.get(a.index) ?? 0) + 1);
    const sets: Arg[][] = [...counts.values()].some((c) => c > 1) ? s.args.map((a) => [a]) : [s.args];
    for (const name of s.names) {
      if (num(native, name) === undefined) continue;
      for (const arch of inFilter) {
        const wide = WIDE[arch];
        for (const args of sets) {
          if (arch === 'x86') {
            const socketIndex = SOCKET.indexOf(name);
            const via = socketIndex >= 0 ? 'socketcall' : Object.hasOwn(IPC, name) ? 'ipc' : undefined;
            const call = socketIndex >= 0 ? socketIndex + 1 : IPC[name];
            if (via && num('x86', via) === nr)
              rules.push({ args: [{ index: 0, op: 'SCMP_CMP_EQ', value: BigInt(call), valueTwo: 0n }, ...args.filter((a) => a.index !== 0)], action, wide });
          }
          if (num(arch, name) === nr) rules.push({ args, action, wide });
        }
      }
    }
  }
  const effective = rules.map((r) => ({ ...r, args: r.args.filter((a) => !tautology(a, r.wide)) }));
  const unconditional = effective.find((r) => r.args.length === 0);
  if (unconditional) return verdict(unconditional.action);
  // Several conditional rules, one of them with an ordering or NE: libseccomp 2.5 merges such
  // rules into one tree whose "no" branches do not always reach the other rules (it can miss a
  // match); we OR them as the spec says.
  orderedOr = effective.length > 1 && effective.some((r) => r.args.some((a) => a.op !== 'SCMP_CMP_EQ' && a.op !== 'SCMP_CMP_MASKED_EQ'));
  const matching = effective.filter((r) => r.args.every((a) => holds(a, data, r.wide))).map((r) => r.action);
  if (matching.length === 0) return verdict(defaultRet);
  const best = matching.reduce((a, b) => (strength(b) < strength(a) ? b : a));
  return verdict(best, matching.some((a) => a !== best));
}
