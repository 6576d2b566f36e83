// The architectures a seccomp profile can name (runtime-spec 1.3, libseccomp 2.6), the AUDIT_ARCH_*
// value the kernel puts in seccomp_data.arch for each, and which of them tsrun has a system call
// table for (src/seccomp/syscalls.generated.ts).
import { TsrunError } from '../errors.ts';
import { SYSCALL_TABLES } from './syscalls.generated.ts';

/** The architectures with a table: what the compiler can filter. */
export type ArchName = 'x86_64' | 'x86' | 'x32' | 'aarch64' | 'arm';

export interface ArchInfo {
  name: ArchName;
  /** AUDIT_ARCH_* (seccomp_data.arch); x32 shares x86_64's and sets __X32_SYSCALL_BIT instead. */
  audit: number;
  /**
   * libseccomp's ARCH_SIZE: 64 compares an argument on both halves, 32 on the low word only. x32
   * is 32 (arch-x32.c): its longs and pointers are 32 bits, though it shares x86_64's audit value.
   */
  bits: 32 | 64;
  /** number → name table, from the kernel's headers */
  table: Readonly<Record<string, number>>;
}

export const X32_SYSCALL_BIT = 0x40000000;
export const AUDIT_ARCH_X86_64 = 0xc000003e;

export const ARCHES: Readonly<Record<ArchName, ArchInfo>> = {
  x86_64: { name: 'x86_64', audit: AUDIT_ARCH_X86_64, bits: 64, table: SYSCALL_TABLES.x86_64 },
  x86: { name: 'x86', audit: 0x40000003, bits: 32, table: SYSCALL_TABLES.x86 },
  x32: { name: 'x32', audit: AUDIT_ARCH_X86_64, bits: 32, table: SYSCALL_TABLES.x32 },
  aarch64: { name: 'aarch64', audit: 0xc00000b7, bits: 64, table: SYSCALL_TABLES.aarch64 },
  arm: { name: 'arm', audit: 0x40000028, bits: 32, table: SYSCALL_TABLES.arm },
};

/** Every SCMP_ARCH_* the runtime-spec lists, with ours where we have a table, null where not. */
export const SCMP_ARCHES: Readonly<Record<string, ArchName | null>> = {
  SCMP_ARCH_X86: 'x86',
  SCMP_ARCH_X86_64: 'x86_64',
  SCMP_ARCH_X32: 'x32',
  SCMP_ARCH_ARM: 'arm',
  SCMP_ARCH_AARCH64: 'aarch64',
  SCMP_ARCH_MIPS: null,
  SCMP_ARCH_MIPS64: null,
  SCMP_ARCH_MIPS64N32: null,
  SCMP_ARCH_MIPSEL: null,
  SCMP_ARCH_MIPSEL64: null,
  SCMP_ARCH_MIPSEL64N32: null,
  SCMP_ARCH_PPC: null,
  SCMP_ARCH_PPC64: null,
  SCMP_ARCH_PPC64LE: null,
  SCMP_ARCH_S390: null,
  SCMP_ARCH_S390X: null,
  SCMP_ARCH_PARISC: null,
  SCMP_ARCH_PARISC64: null,
  SCMP_ARCH_RISCV64: null,
  SCMP_ARCH_LOONGARCH64: null,
  SCMP_ARCH_M68K: null,
  SCMP_ARCH_SH: null,
  SCMP_ARCH_SHEB: null,
};

/** libseccomp's native architecture for the Node running tsrun (what runc's filter always has). */
export function hostArch(arch: string = process.arch): ArchName {
  const native: Record<string, ArchName> = { x64: 'x86_64', ia32: 'x86', arm64: 'aarch64', arm: 'arm' };
  const name = native[arch];
  if (!name) throw new TsrunError('ERR_NOT_SUPPORTED', `not supported: linux.seccomp on this host's architecture (${arch}): tsrun has no system call table for it`);
  return name;
}

/** The number of a system call on an architecture, undefined when it has none there. */
export function syscallNumber(arch: ArchName, name: string): number | undefined {
  return Object.hasOwn(ARCHES[arch].table, name) ? ARCHES[arch].table[name] : undefined;
}
