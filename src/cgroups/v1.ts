// The cgroup v1 driver: linux.resources written to the files of each controller's own hierarchy.
import { TsrunError } from '../errors.ts';
import { warn } from '../log.ts';
import type { LinuxDeviceCgroup, LinuxResources } from '../spec/types.ts';
import { isSet, nonZero } from './convert.ts';
import { v1DeviceRule } from './devices.ts';
import { hasFile, readNumber, writeFile } from './files.ts';

type Value = string | number | bigint;
/** v1 reports "no limit" as a huge number (PAGE_COUNTER_MAX pages); anything this large counts as none. */
const V1_UNLIMITED = 1n << 62n;

/**
 * Writes pairs of files that constrain each other (memory below memory+swap, quota against
 * period): if the first order fails, the other one is tried, as runc does.
 */
function writeEitherOrder(dir: string, writes: [string, Value, string][]): void {
  try {
    for (const [file, value, field] of writes) writeFile(dir, file, value, field);
  } catch {
    for (const [file, value, field] of [...writes].reverse()) writeFile(dir, file, value, field);
  }
}

export function devicesV1(dir: string, rules: LinuxDeviceCgroup[]): void {
  // Start from nothing, then replay the rules in order, so that the last matching rule wins.
  writeFile(dir, 'devices.deny', 'a', 'linux.resources.devices');
  for (const rule of rules) writeFile(dir, rule.allow ? 'devices.allow' : 'devices.deny', v1DeviceRule(rule), 'linux.resources.devices');
}

export function memoryV1(dir: string, m: NonNullable<LinuxResources['memory']>, update: boolean): void {
  const field = 'linux.resources.memory';
  const writes: [string, Value, string][] = [];
  if (isSet(m.limit)) {
    if (update && m.checkBeforeUpdate) checkUsageBelow(dir, 'memory.usage_in_bytes', BigInt(m.limit));
    writes.push(['memory.limit_in_bytes', m.limit, `${field}.limit`]);
  }
  if (isSet(m.swap)) {
    if (!hasFile(dir, 'memory.memsw.limit_in_bytes') && BigInt(m.swap) !== -1n) {
      throw new TsrunError('ERR_CGROUP', `${field}.swap: this kernel does not account swap (no memory.memsw.limit_in_bytes; boot with swapaccount=1)`);
    }
    if (hasFile(dir, 'memory.memsw.limit_in_bytes')) writes.push(['memory.memsw.limit_in_bytes', m.swap, `${field}.swap`]);
  } else if (isSet(m.limit) && hasFile(dir, 'memory.memsw.limit_in_bytes')) {
    // memory+swap must stay >= memory: an unlimited memory takes swap along (as runc does); a
    // limit above the old memory+swap raises it, and an explicit "no swap" stays no swap.
    const limit = BigInt(m.limit);
    const oldLimit = readNumber(dir, 'memory.limit_in_bytes') ?? V1_UNLIMITED;
    const oldSwap = readNumber(dir, 'memory.memsw.limit_in_bytes') ?? V1_UNLIMITED;
    if (limit === -1n || oldSwap < limit || (oldSwap === oldLimit && oldLimit < V1_UNLIMITED)) writes.push(['memory.memsw.limit_in_bytes', limit, `${field}.limit`]);
  }
  writeEitherOrder(dir, writes);
  if (isSet(m.reservation)) writeFile(dir, 'memory.soft_limit_in_bytes', m.reservation, `${field}.reservation`);
  if (isSet(m.swappiness)) {
    if (BigInt(m.swappiness) > 100n) throw new TsrunError('ERR_CONFIG_INVALID', `${field}.swappiness: ${m.swappiness} is above 100`);
    writeFile(dir, 'memory.swappiness', m.swappiness, `${field}.swappiness`);
  }
  if (isSet(m.disableOOMKiller)) writeFile(dir, 'memory.oom_control', m.disableOOMKiller ? 1 : 0, `${field}.disableOOMKiller`);
  // As crun: the TCP buffer limit where the kernel still has it (memory.kernel, kmem.limit_in_bytes,
  // is a no-op on current kernels and stays ignored, as runc ignores it).
  if (nonZero(m.kernelTCP)) {
    if (hasFile(dir, 'memory.kmem.tcp.limit_in_bytes')) writeFile(dir, 'memory.kmem.tcp.limit_in_bytes', m.kernelTCP, `${field}.kernelTCP`);
    else warn(`${field}.kernelTCP is ignored: this kernel has no memory.kmem.tcp.limit_in_bytes`);
  }
}

export function cpuV1(dir: string, c: NonNullable<LinuxResources['cpu']>): void {
  const field = 'linux.resources.cpu';
  if (nonZero(c.realtimePeriod) || nonZero(c.realtimeRuntime)) {
    const rt: [string, Value, string][] = [];
    if (nonZero(c.realtimePeriod)) rt.push(['cpu.rt_period_us', c.realtimePeriod, `${field}.realtimePeriod`]);
    if (nonZero(c.realtimeRuntime)) rt.push(['cpu.rt_runtime_us', c.realtimeRuntime, `${field}.realtimeRuntime`]);
    writeEitherOrder(dir, rt);
  }
  if (nonZero(c.shares)) writeFile(dir, 'cpu.shares', c.shares, `${field}.shares`);
  const cfs: [string, Value, string][] = [];
  if (nonZero(c.period)) cfs.push(['cpu.cfs_period_us', c.period, `${field}.period`]);
  if (nonZero(c.quota)) cfs.push(['cpu.cfs_quota_us', BigInt(c.quota) < 0n ? -1 : c.quota, `${field}.quota`]);
  writeEitherOrder(dir, cfs);
  if (isSet(c.burst)) writeFile(dir, 'cpu.cfs_burst_us', c.burst, `${field}.burst`);
  if (isSet(c.idle)) writeFile(dir, 'cpu.idle', c.idle, `${field}.idle`);
}

interface WeightDevice {
  major: number;
  minor: number;
  weight?: number;
  leafWeight?: number;
}
interface ThrottleDevice {
  major: number;
  minor: number;
  rate: number | bigint;
}
export interface BlockIO {
  weight?: number;
  leafWeight?: number;
  weightDevice?: WeightDevice[];
  throttleReadBpsDevice?: ThrottleDevice[];
  throttleWriteBpsDevice?: ThrottleDevice[];
  throttleReadIOPSDevice?: ThrottleDevice[];
  throttleWriteIOPSDevice?: ThrottleDevice[];
}

export const THROTTLES = [
  ['throttleReadBpsDevice', 'read_bps_device', 'rbps'],
  ['throttleWriteBpsDevice', 'write_bps_device', 'wbps'],
  ['throttleReadIOPSDevice', 'read_iops_device', 'riops'],
  ['throttleWriteIOPSDevice', 'write_iops_device', 'wiops'],
] as const;

export function blkioV1(dir: string, b: BlockIO): void {
  const field = 'linux.resources.blockIO';
  // CFQ's files are gone from current kernels; BFQ offers the same weights under its own names.
  const weightFile = hasFile(dir, 'blkio.weight') || !hasFile(dir, 'blkio.bfq.weight') ? 'blkio.weight' : 'blkio.bfq.weight';
  if (b.weight) writeFile(dir, weightFile, b.weight, `${field}.weight`);
  if (b.leafWeight) writeFile(dir, 'blkio.leaf_weight', b.leafWeight, `${field}.leafWeight`);
  for (const [i, d] of (b.weightDevice ?? []).entries()) {
    if (d.weight) writeFile(dir, `${weightFile}_device`, `${d.major}:${d.minor} ${d.weight}`, `${field}.weightDevice[${i}]`);
    if (d.leafWeight) writeFile(dir, 'blkio.leaf_weight_device', `${d.major}:${d.minor} ${d.leafWeight}`, `${field}.weightDevice[${i}]`);
  }
  for (const [key, file] of THROTTLES) {
    for (const [i, d] of (b[key] ?? []).entries()) writeFile(dir, `blkio.throttle.${file}`, `${d.major}:${d.minor} ${d.rate}`, `${field}.${key}[${i}]`);
  }
}

export interface Network {
  classID?: number;
  priorities?: { name: string; priority: number }[];
}

export function netClsV1(dir: string, n: Network): void {
  if (isSet(n.classID)) writeFile(dir, 'net_cls.classid', n.classID, 'linux.resources.network.classID');
}

export function netPrioV1(dir: string, n: Network): void {
  for (const [i, p] of (n.priorities ?? []).entries()) writeFile(dir, 'net_prio.ifpriomap', `${p.name} ${p.priority}`, `linux.resources.network.priorities[${i}]`);
}

/** Refuses a limit below what the cgroup already uses (memory.checkBeforeUpdate). */
export function checkUsageBelow(dir: string, usageFile: string, limit: bigint): void {
  const usage = readNumber(dir, usageFile);
  if (limit > 0n && usage !== undefined && usage > limit) {
    throw new TsrunError('ERR_CGROUP', `linux.resources.memory.limit: ${limit} is below the current usage ${usage} (checkBeforeUpdate)`);
  }
}
