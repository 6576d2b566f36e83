// linux.resources.devices: which device nodes the container may open (r, w) or create (m).
// The rules are evaluated in config order, the last matching rule wins, and nothing is allowed
// unless a rule allows it; like runc, tsrun applies them (the defaults at least) to every container.
// A node listed in linux.devices is created, but only these rules let the container use it (runc:
// a deny-all rule keeps /dev/kmsg closed even when it is listed). The v1 driver replays them into
// devices.allow/deny; cgroup v2 has no devices files, so the same rules become a
// BPF_PROG_TYPE_CGROUP_DEVICE program (built here, loaded and attached by native-shim/bpf.c), laid
// out like runc's and crun's.
import type { Int64, LinuxDeviceCgroup } from '../spec/types.ts';

/**
 * Devices every container may use whatever its rules say (runc's list): creating any node (using
 * one is what the rules decide), the spec's default devices, /dev/ptmx and the ptys. Not the host's
 * console (5:1): a container's /dev/console is a pty bound there.
 */
const DEFAULT_ALLOWED: LinuxDeviceCgroup[] = [
  { allow: true, type: 'c', access: 'm' },
  { allow: true, type: 'b', access: 'm' },
  { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' }, // null
  { allow: true, type: 'c', major: 1, minor: 5, access: 'rwm' }, // zero
  { allow: true, type: 'c', major: 1, minor: 7, access: 'rwm' }, // full
  { allow: true, type: 'c', major: 1, minor: 8, access: 'rwm' }, // random
  { allow: true, type: 'c', major: 1, minor: 9, access: 'rwm' }, // urandom
  { allow: true, type: 'c', major: 5, minor: 0, access: 'rwm' }, // tty
  { allow: true, type: 'c', major: 5, minor: 2, access: 'rwm' }, // ptmx
  { allow: true, type: 'c', major: 136, access: 'rwm' }, // pts/*
];

/** The config's device rules, then the default devices: last match wins. */
export function deviceRules(rules: LinuxDeviceCgroup[] = []): LinuxDeviceCgroup[] {
  return [...rules, ...DEFAULT_ALLOWED];
}

const isWildcard = (n: Int64 | undefined) => n === undefined || Number(n) === -1;

/** A rule in the syntax of v1's devices.allow and devices.deny: "c 1:3 rwm", "a *:* rwm". */
export function v1DeviceRule(rule: LinuxDeviceCgroup): string {
  const id = (n: Int64 | undefined) => (isWildcard(n) ? '*' : String(n));
  return `${rule.type ?? 'a'} ${id(rule.major)}:${id(rule.minor)} ${rule.access || 'rwm'}`;
}

// struct bpf_cgroup_dev_ctx { u32 access_type /* access << 16 | type */; u32 major; u32 minor; }
const DEV_BLOCK = 1;
const DEV_CHAR = 2;
const ACCESS_BITS: Record<string, number> = { m: 1, r: 2, w: 4 };
const ALL_ACCESS = 7;

// The few eBPF instructions the program needs (linux/bpf_common.h, linux/bpf.h).
const LDX_W = 0x61; // dst = *(u32 *)(src + off)
const AND32_K = 0x54;
const RSH32_K = 0x74;
const MOV32_X = 0xbc;
const MOV64_K = 0xb7;
const JNE_K = 0x55; // if dst != imm goto +off
const JNE_X = 0x5d; // if dst != src goto +off
const EXIT = 0x95;

interface Insn {
  code: number;
  dst: number;
  src: number;
  off: number;
  imm: number;
}
const insn = (code: number, dst: number, src: number, off: number, imm: number): Insn => ({ code, dst, src, off, imm });

function accessMask(access: string | undefined): number {
  let mask = 0;
  for (const c of access || 'rwm') mask |= ACCESS_BITS[c] ?? 0;
  return mask;
}

/**
 * The program for `rules` (already in config order, defaults included): registers r2 = type,
 * r3 = requested access, r4 = major, r5 = minor; then one block per rule, last rule first, that
 * returns its verdict when every condition holds and jumps to the next block otherwise; the end
 * denies. Blocks after a rule that matches everything would be unreachable, which the verifier
 * refuses, so they are left out.
 */
export function deviceProgram(rules: LinuxDeviceCgroup[]): Insn[] {
  const program: Insn[] = [
    insn(LDX_W, 2, 1, 0, 0),
    insn(AND32_K, 2, 0, 0, 0xffff),
    insn(LDX_W, 3, 1, 0, 0),
    insn(RSH32_K, 3, 0, 0, 16),
    insn(LDX_W, 4, 1, 4, 0),
    insn(LDX_W, 5, 1, 8, 0),
  ];
  let unconditional = false;
  for (const rule of [...rules].reverse()) {
    const block: Insn[] = [];
    const type = rule.type ?? 'a';
    if (type === 'c' || type === 'b') block.push(insn(JNE_K, 2, 0, 0, type === 'c' ? DEV_CHAR : DEV_BLOCK));
    const mask = accessMask(rule.access);
    if (mask !== ALL_ACCESS) {
      // the requested access must be a subset of the rule's: (requested & mask) == requested
      block.push(insn(MOV32_X, 1, 3, 0, 0), insn(AND32_K, 1, 0, 0, mask), insn(JNE_X, 1, 3, 0, 0));
    }
    if (!isWildcard(rule.major)) block.push(insn(JNE_K, 4, 0, 0, Number(rule.major)));
    if (!isWildcard(rule.minor)) block.push(insn(JNE_K, 5, 0, 0, Number(rule.minor)));
    const conditions = block.length;
    block.push(insn(MOV64_K, 0, 0, 0, rule.allow ? 1 : 0), insn(EXIT, 0, 0, 0, 0));
    // each failed condition jumps to the first instruction after the block
    block.forEach((b, i) => {
      if (b.code === JNE_K || b.code === JNE_X) b.off = block.length - i - 1;
    });
    program.push(...block);
    if (conditions === 0) {
      unconditional = true;
      break;
    }
  }
  if (!unconditional) program.push(insn(MOV64_K, 0, 0, 0, 0), insn(EXIT, 0, 0, 0, 0));
  return program;
}

/** struct bpf_insn as the kernel reads it: code u8, dst_reg:4 | src_reg:4 (little-endian), off s16, imm s32. */
export function encodeProgram(program: Insn[]): Buffer {
  const buf = Buffer.alloc(program.length * 8);
  program.forEach((p, i) => {
    buf.writeUInt8(p.code, i * 8);
    buf.writeUInt8((p.src << 4) | p.dst, i * 8 + 1);
    buf.writeInt16LE(p.off, i * 8 + 2);
    buf.writeInt32LE(p.imm | 0, i * 8 + 4);
  });
  return buf;
}
