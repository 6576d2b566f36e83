// What the filter must decide, as runc 1.1 builds it with libseccomp, reduced to plain data: for
// each architecture group (one AUDIT_ARCH value), a verdict per range of system call numbers,
// where a verdict is a return value or a list of argument rules.
//
// runc (libcontainer/seccomp/seccomp_linux.go, patchbpf/enosys_linux.go):
// - the filter holds libseccomp's native architecture plus every listed one; any other
//   seccomp_data.arch gets libseccomp's bad-arch action, SCMP_ACT_KILL (kill the thread);
// - one rule per (entry, name); a rule whose action (with its errno) equals the default action is
//   dropped; a name the native architecture does not know is dropped everywhere, and a name
//   another architecture does not know is skipped there;
// - a rule naming the same argument index twice becomes one rule per condition (ORed);
// - SCMP_ACT_ERRNO and SCMP_ACT_TRACE without errnoRet return EPERM;
// - the -ENOSYS stub: unless the default action is ALLOW, LOG or TRACE, or defaultErrnoRet is
//   ENOSYS, each *listed* architecture returns ENOSYS for numbers above the largest number any
//   name of the profile has there (x86_64 and x32 apart, by __X32_SYSCALL_BIT).
// libseccomp (src/db.c, gen_bpf.c, syscalls.c):
// - the first unconditional rule of a system call wins and drops its conditional rules;
// - conditions of a rule are ANDed and rules ORed; a 64-bit architecture compares both halves of
//   an argument, a 32-bit one (x86, arm, and x32) only the low word (the value cut to 32 bits); SCMP_CMP_MASKED_EQ
//   is (arg & value) == (valueTwo & value), and is no condition at all when the mask is 0;
// - x86_64 alone: numbers from __X32_SYSCALL_BIT up get the bad-arch action, except -1 (the number
//   a tracer uses to skip a call); x32 alone: numbers without it do; both: one shared table;
// - on x86, the socket and SysV IPC calls are also matched through socketcall(2)/ipc(2), with
//   argument 0 replaced by the call's number (SYS_SOCKET...).
// Where libseccomp would refuse (two overlapping conditional rules with different actions give
// EEXIST), the rule with the stronger action wins, in the kernel's order of precedence.
import { ARCHES, type ArchName, AUDIT_ARCH_X86_64, syscallNumber, X32_SYSCALL_BIT } from './arch.ts';
import type { ActionName, OpName, SeccompProfile } from './profile.ts';

export const RET = {
  KILL_PROCESS: 0x80000000,
  KILL_THREAD: 0,
  TRAP: 0x00030000,
  ERRNO: 0x00050000,
  USER_NOTIF: 0x7fc00000,
  TRACE: 0x7ff00000,
  LOG: 0x7ffc0000,
  ALLOW: 0x7fff0000,
} as const;
export const EPERM = 1;
export const ENOSYS = 38;
export const RET_ENOSYS = RET.ERRNO | ENOSYS;
/** libseccomp's default bad-arch action, which runc keeps */
export const RET_BAD_ARCH = RET.KILL_THREAD;

/** SECCOMP_RET_* for an action (runc's getAction; errno values are 16 bits, as libseccomp keeps them). */
export function actionValue(action: ActionName, errnoRet?: number): number {
  switch (action) {
    case 'SCMP_ACT_KILL':
    case 'SCMP_ACT_KILL_THREAD':
      return RET.KILL_THREAD;
    case 'SCMP_ACT_KILL_PROCESS':
      return RET.KILL_PROCESS;
    case 'SCMP_ACT_TRAP':
      return RET.TRAP;
    case 'SCMP_ACT_ERRNO':
      return (RET.ERRNO | ((errnoRet ?? EPERM) & 0xffff)) >>> 0;
    case 'SCMP_ACT_TRACE':
      return (RET.TRACE | ((errnoRet ?? EPERM) & 0xffff)) >>> 0;
    case 'SCMP_ACT_ALLOW':
      return RET.ALLOW;
    case 'SCMP_ACT_LOG':
      return RET.LOG;
    case 'SCMP_ACT_NOTIFY':
      return RET.USER_NOTIF;
  }
}

/** The kernel's precedence: lower is stronger (KILL_PROCESS first, ALLOW last). */
export function actionRank(value: number): number {
  if (value === RET.KILL_PROCESS) return 0;
  const order = [RET.KILL_THREAD, RET.TRAP, RET.ERRNO, RET.USER_NOTIF, RET.TRACE, RET.LOG, RET.ALLOW];
  const i = order.indexOf((value & 0xffff0000) as (typeof order)[number]);
  return i < 0 ? order.length + 1 : i + 1;
}

/** One 32-bit comparison chain on one argument, as the filter evaluates it. */
export interface Condition {
  index: number;
  op: OpName;
  /** the value compared (for MASKED_EQ, valueTwo & mask), cut to 32 bits on a 32-bit arch */
  value: bigint;
  /** MASKED_EQ's mask, cut likewise; all ones otherwise */
  mask: bigint;
}

export interface Rule {
  conditions: Condition[];
  action: number;
  /** compared on both halves (libseccomp's 64-bit arches), or on the low word only */
  wide: boolean;
}

/** What a range of numbers gets: a return value, or rules tried in order before the default. */
export type Verdict = { ret: number } | { rules: Rule[] };

export interface ArchGroup {
  audit: number;
  arches: ArchName[];
  /** sorted, disjoint, covering 0..2^32-1: [first number, verdict] from each start to the next */
  ranges: [number, Verdict][];
}

export interface FilterPlan {
  defaultAction: number;
  groups: ArchGroup[];
}

const SOCKET_CALLS = ['socket', 'bind', 'connect', 'listen', 'accept', 'getsockname', 'getpeername', 'socketpair', 'send', 'recv', 'sendto', 'recvfrom', 'shutdown', 'setsockopt', 'getsockopt', 'sendmsg', 'recvmsg', 'accept4', 'recvmmsg', 'sendmmsg'];
const IPC_CALLS: Record<string, number> = { semop: 1, semget: 2, semctl: 3, semtimedop: 4, msgsnd: 11, msgrcv: 12, msgget: 13, msgctl: 14, shmat: 21, shmdt: 22, shmget: 23, shmctl: 24 };
/** x86's multiplexers: the call's number in socketcall(2)/ipc(2) argument 0, by name. */
export const X86_MULTIPLEXED: Readonly<Record<string, { via: 'socketcall' | 'ipc'; call: number }>> = Object.fromEntries([
  ...SOCKET_CALLS.map((n, i) => [n, { via: 'socketcall' as const, call: i + 1 }]),
  ...Object.entries(IPC_CALLS).map(([n, call]) => [n, { via: 'ipc' as const, call }]),
]);

const U32 = 0xffffffffn;
const ALL_ONES = (1n << 64n) - 1n;

/** The architectures in the filter: the native one first, then the profile's. */
export function filterArches(profile: SeccompProfile, native: ArchName): ArchName[] {
  return [native, ...profile.architectures.filter((a) => a !== native)];
}

interface ProfileRule {
  name: string;
  action: number;
  args: { index: number; op: OpName; value: bigint; valueTwo: bigint }[];
}

/** runc's rule list: one per (entry, name), minus those equal to the default, split per argument. */
function runcRules(profile: SeccompProfile, native: ArchName, defaultAction: number): ProfileRule[] {
  const rules: ProfileRule[] = [];
  for (const entry of profile.syscalls) {
    const action = actionValue(entry.action, entry.errnoRet);
    if (action === defaultAction) continue;
    const indexes = entry.args.map((a) => a.index);
    const split = new Set(indexes).size !== indexes.length;
    for (const name of entry.names) {
      if (syscallNumber(native, name) === undefined) continue;
      if (split) for (const arg of entry.args) rules.push({ name, action, args: [arg] });
      else rules.push({ name, action, args: entry.args });
    }
  }
  return rules;
}

function conditionsOn(args: ProfileRule['args'], wide: boolean): Condition[] {
  const cut = (v: bigint) => (wide ? v : v & U32);
  const conditions: Condition[] = [];
  for (const arg of [...args].sort((a, b) => a.index - b.index)) {
    if (arg.op === 'SCMP_CMP_MASKED_EQ') {
      const mask = cut(arg.value);
      if (mask === 0n) continue; // a tautology: libseccomp leaves it out
      conditions.push({ index: arg.index, op: arg.op, value: cut(arg.valueTwo) & mask, mask });
    } else conditions.push({ index: arg.index, op: arg.op, value: cut(arg.value), mask: wide ? ALL_ONES : U32 });
  }
  return conditions;
}

/** Per number on one architecture: the rules in the order libseccomp adds them. */
function rulesByNumber(rules: ProfileRule[], arch: ArchName): Map<number, Rule[]> {
  const wide = ARCHES[arch].bits === 64;
  const byNumber = new Map<number, Rule[]>();
  const add = (nr: number, rule: Rule) => {
    const list = byNumber.get(nr) ?? [];
    list.push(rule);
    byNumber.set(nr, list);
  };
  for (const rule of rules) {
    const mux = arch === 'x86' ? X86_MULTIPLEXED[rule.name] : undefined;
    if (mux) {
      const muxArgs = [{ index: 0, op: 'SCMP_CMP_EQ' as const, value: BigInt(mux.call), valueTwo: 0n }, ...rule.args.filter((a) => a.index !== 0)];
      add(syscallNumber('x86', mux.via)!, { conditions: conditionsOn(muxArgs, wide), action: rule.action, wide });
    }
    const nr = syscallNumber(arch, rule.name);
    if (nr !== undefined) add(nr, { conditions: conditionsOn(rule.args, wide), action: rule.action, wide });
  }
  return byNumber;
}

/** libseccomp's merge: the first unconditional rule alone, else the rules strongest action first. */
function merged(rules: Rule[]): Verdict {
  const unconditional = rules.find((r) => r.conditions.length === 0);
  if (unconditional) return { ret: unconditional.action };
  return { rules: rules.map((r, i) => ({ r, i })).sort((a, b) => actionRank(a.r.action) - actionRank(b.r.action) || a.i - b.i).map(({ r }) => r) };
}

/** runc's -ENOSYS stub: per listed architecture, the largest number a name of the profile has there. */
export function enosysLimits(profile: SeccompProfile): Map<ArchName, number> | undefined {
  if (profile.defaultErrnoRet === ENOSYS) return undefined;
  if (['SCMP_ACT_ALLOW', 'SCMP_ACT_LOG', 'SCMP_ACT_TRACE'].includes(profile.defaultAction)) return undefined;
  const limits = new Map<ArchName, number>();
  for (const arch of profile.architectures) {
    let largest = 0;
    for (const entry of profile.syscalls)
      for (const name of entry.names) {
        // libseccomp resolves x86's socket and IPC names to negative pseudo numbers: never the largest.
        if (arch === 'x86' && X86_MULTIPLEXED[name]) continue;
        largest = Math.max(largest, syscallNumber(arch, name) ?? 0);
      }
    if (largest !== 0) limits.set(arch, largest);
  }
  return limits;
}

/**
 * The numbers runc's stub answers ENOSYS on one architecture: those above the largest. On x86_64
 * and x32 it first tests __X32_SYSCALL_BIT (jset), so each sees only the numbers with (x32) or
 * without (x86_64) that bit, whatever the other bits.
 */
export function enosysRanges(arch: ArchName, largest: number): [number, number][] {
  let spans: [number, number][] = [[0, 0xffffffff]];
  if (arch === 'x86_64') spans = [[0, 0x3fffffff], [0x80000000, 0xbfffffff]];
  if (arch === 'x32') spans = [[0x40000000, 0x7fffffff], [0xc0000000, 0xffffffff]];
  return spans.filter(([, to]) => to > largest).map(([from, to]) => [Math.max(from, largest + 1), to]);
}

/** Verdicts over 0..2^32-1: single numbers, then ranges set later that override them. */
class NumberSpace {
  private singles = new Map<number, Verdict>();
  private spans: [number, number, Verdict][] = [];
  constructor(private base: Verdict) {}
  setNumber(nr: number, verdict: Verdict): void {
    this.singles.set(nr, verdict);
  }
  /** [from, to] inclusive; a later span wins over earlier ones and over every single number. */
  setRange(from: number, to: number, verdict: Verdict): void {
    this.spans.push([from, to, verdict]);
  }
  private at(nr: number): Verdict {
    for (let i = this.spans.length - 1; i >= 0; i--) if (this.spans[i][0] <= nr && nr <= this.spans[i][1]) return this.spans[i][2];
    return this.singles.get(nr) ?? this.base;
  }
  /** Sorted [start, verdict] pairs, neighbours with equal verdicts merged. */
  ranges(): [number, Verdict][] {
    const cuts = new Set<number>([0]);
    const cut = (n: number) => n <= 0xffffffff && cuts.add(n);
    for (const nr of this.singles.keys()) cut(nr), cut(nr + 1);
    for (const [from, to] of this.spans) cut(from), cut(to + 1);
    const out: [number, Verdict][] = [];
    for (const start of [...cuts].sort((a, b) => a - b)) {
      const v = this.at(start);
      if (!out.length || !sameVerdict(out[out.length - 1][1], v)) out.push([start, v]);
    }
    return out;
  }
}

export function sameVerdict(a: Verdict, b: Verdict): boolean {
  if (a === b) return true;
  if ('ret' in a || 'ret' in b) return 'ret' in a && 'ret' in b && a.ret === b.ret;
  return verdictKey(a) === verdictKey(b);
}

const keys = new WeakMap<Verdict, string>();
/** A stable text for a verdict: equal keys, equal decisions. */
export function verdictKey(v: Verdict): string {
  let key = keys.get(v);
  if (key === undefined) keys.set(v, (key = 'ret' in v ? `ret:${v.ret}` : JSON.stringify(v.rules, bigintJson)));
  return key;
}
const bigintJson = (_: string, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v);

/** The whole decision, per AUDIT_ARCH value, ready to be laid out as BPF. */
export function planFilter(profile: SeccompProfile, native: ArchName): FilterPlan {
  const defaultAction = actionValue(profile.defaultAction, profile.defaultErrnoRet);
  const rules = runcRules(profile, native, defaultAction);
  const limits = enosysLimits(profile);
  const arches = filterArches(profile, native);
  const groups: ArchGroup[] = [];
  for (const arch of arches) {
    const audit = ARCHES[arch].audit;
    let group = groups.find((g) => g.audit === audit);
    if (!group) groups.push((group = { audit, arches: [], ranges: [] }));
    group.arches.push(arch);
  }
  for (const group of groups) {
    const map = new NumberSpace({ ret: defaultAction });
    for (const arch of group.arches) for (const [nr, list] of rulesByNumber(rules, arch)) map.setNumber(nr, merged(list));
    if (group.audit === AUDIT_ARCH_X86_64 && group.arches.length === 1) {
      // libseccomp keeps x86_64 and x32 apart by __X32_SYSCALL_BIT when only one is in the filter.
      if (group.arches[0] === 'x86_64') {
        map.setRange(X32_SYSCALL_BIT, 0xfffffffe, { ret: RET_BAD_ARCH });
        map.setRange(0xffffffff, 0xffffffff, { ret: defaultAction });
      } else map.setRange(0, X32_SYSCALL_BIT - 1, { ret: RET_BAD_ARCH });
    }
    // runc's stub runs before libseccomp's filter, so its ENOSYS ranges override everything.
    for (const arch of group.arches) {
      const largest = limits?.get(arch);
      if (largest === undefined) continue;
      for (const [from, to] of enosysRanges(arch, largest)) map.setRange(from, to, { ret: RET_ENOSYS });
    }
    group.ranges = map.ranges();
  }
  return { defaultAction, groups };
}
