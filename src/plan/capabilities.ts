// process.capabilities → the five capability sets as bit masks (bit n = capability n).
import type { Process } from '../spec/types.ts';
import { invalid } from './invalid.ts';
import { quote } from '../spec/quote.ts';
import type { Capabilities } from './types.ts';

/** <linux/capability.h>, in bit order: CAP_CHOWN is bit 0, CAP_SYS_ADMIN bit 21. */
export const CAPABILITY_NAMES = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_DAC_READ_SEARCH', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL',
  'CAP_SETGID', 'CAP_SETUID', 'CAP_SETPCAP', 'CAP_LINUX_IMMUTABLE', 'CAP_NET_BIND_SERVICE',
  'CAP_NET_BROADCAST', 'CAP_NET_ADMIN', 'CAP_NET_RAW', 'CAP_IPC_LOCK', 'CAP_IPC_OWNER', 'CAP_SYS_MODULE',
  'CAP_SYS_RAWIO', 'CAP_SYS_CHROOT', 'CAP_SYS_PTRACE', 'CAP_SYS_PACCT', 'CAP_SYS_ADMIN', 'CAP_SYS_BOOT',
  'CAP_SYS_NICE', 'CAP_SYS_RESOURCE', 'CAP_SYS_TIME', 'CAP_SYS_TTY_CONFIG', 'CAP_MKNOD', 'CAP_LEASE',
  'CAP_AUDIT_WRITE', 'CAP_AUDIT_CONTROL', 'CAP_SETFCAP', 'CAP_MAC_OVERRIDE', 'CAP_MAC_ADMIN', 'CAP_SYSLOG',
  'CAP_WAKE_ALARM', 'CAP_BLOCK_SUSPEND', 'CAP_AUDIT_READ', 'CAP_PERFMON', 'CAP_BPF', 'CAP_CHECKPOINT_RESTORE',
] as const;

const BIT = new Map<string, number>(CAPABILITY_NAMES.map((name, bit) => [name, bit]));

/**
 * A set of names as a mask. A name tsrun does not know is a config error; a capability this kernel
 * does not have (above /proc/sys/kernel/cap_last_cap) is left out, as runc does, since the spec
 * says a capability that cannot be granted should not fail the container.
 */
export function capabilityMask(names: readonly string[] | undefined, path: string, capLastCap: number): bigint {
  let mask = 0n;
  (names ?? []).forEach((name, i) => {
    const bit = BIT.get(name);
    if (bit === undefined) throw invalid(`${path}[${i}]`, `unknown capability ${quote(name)}`);
    if (bit <= capLastCap) mask |= 1n << BigInt(bit);
  });
  return mask;
}

/**
 * The five sets; no capabilities object means none at all. The ambient set keeps only what is
 * both permitted and inheritable: the kernel refuses to raise anything else (runc tries, warns
 * and goes on, with the same result).
 */
export function planCapabilities(process: Process, capLastCap: number): Capabilities {
  const caps = process.capabilities ?? {};
  const mask = (set: keyof typeof caps) => capabilityMask(caps[set], `process.capabilities.${set}`, capLastCap);
  const permitted = mask('permitted');
  const inheritable = mask('inheritable');
  return {
    bounding: mask('bounding'),
    effective: mask('effective'),
    permitted,
    inheritable,
    ambient: mask('ambient') & permitted & inheritable,
  };
}
