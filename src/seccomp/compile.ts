// OCI `linux.seccomp` → classic BPF for seccomp(2), without libseccomp. rules.ts decides what each
// (architecture, system call number) gets; this file lays it out:
//
//   ld arch; jeq AUDIT_ARCH_* per architecture group, else the bad-arch action
//   per group: ld nr; a balanced binary search (jge) over the boundaries of the ranges of numbers
//              that share a verdict, each leaf a shared `ret` or a block of argument checks
//   argument blocks: rules tried in order, each an AND of 32-bit comparisons, then the default
//   one `ret` per distinct return value, at the end
//
// A profile of hundreds of allowed calls becomes a few dozen ranges, so a call costs about
// log2(ranges) jumps, where libseccomp's default output tests the numbers one by one.
import { TsrunError } from '../errors.ts';
import { type ArchName, hostArch } from './arch.ts';
import { Assembler, BPF_MAXINSNS, type Label, toBytes } from './bpf.ts';
import { FLAGS, SECCOMP_FILTER_FLAG_NEW_LISTENER, type SeccompProfile } from './profile.ts';
import { type Condition, planFilter, RET_BAD_ARCH, type Rule, type Verdict, verdictKey } from './rules.ts';

export interface CompiledSeccomp {
  /** struct sock_filter[] in host byte order */
  program: Buffer;
  instructions: number;
  /** seccomp(2) flags: the profile's, plus NEW_LISTENER when a rule uses SCMP_ACT_NOTIFY */
  flags: number;
  /** a rule notifies: the caller must send the listener fd to listenerPath */
  listener: boolean;
}

export interface CompileOptions {
  /** the host's architecture, always in the filter as in runc (default: this Node's) */
  nativeArch?: ArchName;
  /** the profile's JSON path, for messages */
  path?: string;
}

/** seccomp_data offsets: nr, arch, instruction_pointer, args[6] (little-endian: low word first). */
const OFFSET_NR = 0;
const OFFSET_ARCH = 4;
const argLow = (index: number) => 16 + 8 * index;
const argHigh = (index: number) => 16 + 8 * index + 4;
const U32 = 0xffffffffn;

export function compileSeccomp(profile: SeccompProfile, options: CompileOptions = {}): CompiledSeccomp {
  const path = options.path ?? 'linux.seccomp';
  const plan = planFilter(profile, options.nativeArch ?? hostArch());
  const asm = new Assembler();
  const rets = new Map<number, Label>();
  const retLabel = (value: number) => rets.get(value) ?? (rets.set(value, asm.label()), rets.get(value)!);
  const blocks = new Map<string, { label: Label; rules: Rule[] }>();
  const target = (verdict: Verdict): Label => {
    if ('ret' in verdict) return retLabel(verdict.ret);
    const key = verdictKey(verdict);
    if (!blocks.has(key)) blocks.set(key, { label: asm.label(), rules: verdict.rules });
    return blocks.get(key)!.label;
  };

  asm.ld(OFFSET_ARCH);
  const groupLabels = plan.groups.map(() => asm.label());
  plan.groups.forEach((group, i) => {
    const next = i + 1 < plan.groups.length ? asm.label() : retLabel(RET_BAD_ARCH);
    asm.jump('jeq', group.audit, groupLabels[i], next);
    if (i + 1 < plan.groups.length) asm.place(next);
  });
  if (plan.groups.length === 0) asm.ret(RET_BAD_ARCH);

  plan.groups.forEach((group, i) => {
    asm.place(groupLabels[i]);
    asm.ld(OFFSET_NR);
    const starts = group.ranges.map(([start]) => start);
    const leaf = (k: number) => target(group.ranges[k][1]);
    if (starts.length === 1) return asm.ja(leaf(0));
    // ranges i..j, of which the node tests the middle boundary: jge start[mid] → right, else left
    const node = (lo: number, hi: number, here: Label | null): void => {
      if (here) asm.place(here);
      const mid = (lo + hi + 1) >> 1;
      const left = mid - 1 === lo ? leaf(lo) : asm.label();
      const right = mid === hi ? leaf(hi) : asm.label();
      asm.jump('jge', starts[mid], right, left);
      if (mid - 1 !== lo) node(lo, mid - 1, left);
      if (mid !== hi) node(mid, hi, right);
    };
    node(0, starts.length - 1, null);
  });

  for (const { label, rules } of blocks.values()) {
    asm.place(label);
    rules.forEach((rule, k) => {
      const fail = k + 1 < rules.length ? asm.label() : retLabel(plan.defaultAction);
      rule.conditions.forEach((condition, m) => {
        const pass = m + 1 < rule.conditions.length ? asm.label() : retLabel(rule.action);
        emitCondition(asm, condition, rule.wide, pass, fail);
        if (m + 1 < rule.conditions.length) asm.place(pass);
      });
      if (k + 1 < rules.length) asm.place(fail);
    });
  }

  for (const [value, label] of rets) {
    asm.place(label);
    asm.ret(value);
  }

  const program = asm.assemble();
  if (program.length > BPF_MAXINSNS)
    throw new TsrunError('ERR_CONFIG_INVALID', `${path}: the filter needs ${program.length} BPF instructions, more than the kernel's limit of ${BPF_MAXINSNS}`);
  const listener = profile.syscalls.some((s) => s.action === 'SCMP_ACT_NOTIFY');
  const flags = profile.flags.reduce((acc, f) => acc | FLAGS[f], 0) | (listener ? SECCOMP_FILTER_FLAG_NEW_LISTENER : 0);
  return { program: toBytes(program), instructions: program.length, flags, listener };
}

/**
 * One argument condition: jump to `pass` when it holds, to `fail` when not. A 64-bit argument is
 * compared high word first, as libseccomp does (db.c's diagrams): for an ordering, a high word
 * greater or smaller decides, an equal one hands over to the low word.
 */
function emitCondition(asm: Assembler, c: Condition, wide: boolean, pass: Label, fail: Label): void {
  const lo = Number(c.value & U32);
  const hi = Number((c.value >> 32n) & U32);
  const maskLo = Number(c.mask & U32);
  const maskHi = Number((c.mask >> 32n) & U32);
  const masked = c.op === 'SCMP_CMP_MASKED_EQ';
  const load = (offset: number, mask: number) => {
    asm.ld(offset);
    if (masked && mask !== 0xffffffff) asm.and(mask);
  };
  const low = () => load(argLow(c.index), maskLo);

  if (!wide) {
    low();
    switch (c.op) {
      case 'SCMP_CMP_EQ':
      case 'SCMP_CMP_MASKED_EQ':
        return asm.jump('jeq', lo, pass, fail);
      case 'SCMP_CMP_NE':
        return asm.jump('jeq', lo, fail, pass);
      case 'SCMP_CMP_GT':
        return asm.jump('jgt', lo, pass, fail);
      case 'SCMP_CMP_GE':
        return asm.jump('jge', lo, pass, fail);
      case 'SCMP_CMP_LT':
        return asm.jump('jge', lo, fail, pass);
      case 'SCMP_CMP_LE':
        return asm.jump('jgt', lo, fail, pass);
    }
  }

  const then = asm.label();
  switch (c.op) {
    case 'SCMP_CMP_EQ':
    case 'SCMP_CMP_MASKED_EQ':
      if (masked && maskHi === 0) return low(), asm.jump('jeq', lo, pass, fail);
      load(argHigh(c.index), maskHi);
      if (masked && maskLo === 0) return asm.jump('jeq', hi, pass, fail);
      asm.jump('jeq', hi, then, fail);
      asm.place(then);
      low();
      return asm.jump('jeq', lo, pass, fail);
    case 'SCMP_CMP_NE':
      load(argHigh(c.index), maskHi);
      asm.jump('jeq', hi, then, pass);
      asm.place(then);
      low();
      return asm.jump('jeq', lo, fail, pass);
    case 'SCMP_CMP_GT':
    case 'SCMP_CMP_GE':
    case 'SCMP_CMP_LT':
    case 'SCMP_CMP_LE': {
      const greater = c.op === 'SCMP_CMP_GT' || c.op === 'SCMP_CMP_GE';
      const equalHi = asm.label();
      asm.ld(argHigh(c.index));
      asm.jump('jgt', hi, greater ? pass : fail, equalHi);
      asm.place(equalHi);
      asm.jump('jeq', hi, then, greater ? fail : pass);
      asm.place(then);
      asm.ld(argLow(c.index));
      if (c.op === 'SCMP_CMP_GT') return asm.jump('jgt', lo, pass, fail);
      if (c.op === 'SCMP_CMP_GE') return asm.jump('jge', lo, pass, fail);
      if (c.op === 'SCMP_CMP_LT') return asm.jump('jge', lo, fail, pass);
      return asm.jump('jgt', lo, fail, pass);
    }
  }
}
