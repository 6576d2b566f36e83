// The cgroup v2 driver: linux.resources, written for v1, converted to cgroup2 files as runc does.
import { TsrunError, errnoName } from '../errors.ts';
import { warn } from '../log.ts';
import { shimLibrary } from '../shim/binding.ts';
import { keyPath } from '../spec/quote.ts';
import type { LinuxDeviceCgroup, LinuxResources } from '../spec/types.ts';
import { blkioWeightToIoWeight, cpuMax, isSet, nonZero, sharesToWeight, swapToV2, unifiedProblems } from './convert.ts';
import { deviceProgram, encodeProgram } from './devices.ts';
import { hasFile, readFile, writeFile } from './files.ts';
import { THROTTLES, checkUsageBelow, type BlockIO } from './v1.ts';

const unlimited = (v: bigint) => (v < 0n ? 'max' : v);

export function memoryV2(dir: string, m: NonNullable<LinuxResources['memory']>, update: boolean): void {
  const field = 'linux.resources.memory';
  const limit = isSet(m.limit) ? BigInt(m.limit) : undefined;
  if (isSet(m.swap) || limit === -1n) {
    const swap = swapToV2(isSet(m.swap) ? BigInt(m.swap) : 0n, limit ?? currentLimit(dir));
    if (swap !== 0n) {
      if (!hasFile(dir, 'memory.swap.max')) {
        if (swap !== -1n) throw new TsrunError('ERR_CGROUP', `${field}.swap: this kernel does not account swap (no memory.swap.max)`);
      } else writeFile(dir, 'memory.swap.max', unlimited(swap), `${field}.swap`);
    }
  }
  if (limit !== undefined && limit !== 0n) {
    if (update && m.checkBeforeUpdate) checkUsageBelow(dir, 'memory.current', limit);
    writeFile(dir, 'memory.max', unlimited(limit), `${field}.limit`);
  }
  if (nonZero(m.reservation)) writeFile(dir, 'memory.low', unlimited(BigInt(m.reservation)), `${field}.reservation`);
  // cgroup v2 has neither: runc and crun leave them out too
  if (isSet(m.swappiness)) warn(`${field}.swappiness is ignored: cgroup v2 has no per-cgroup swappiness`);
  if (m.disableOOMKiller) warn(`${field}.disableOOMKiller is ignored: cgroup v2 cannot disable the OOM killer`);
  if (nonZero(m.kernelTCP)) warn(`${field}.kernelTCP is ignored: cgroup v2 has no TCP buffer limit`);
}

function currentLimit(dir: string): bigint {
  const text = readFile(dir, 'memory.max')?.trim();
  return !text || text === 'max' ? -1n : BigInt(text);
}

export function cpuV2(dir: string, c: NonNullable<LinuxResources['cpu']>): void {
  const field = 'linux.resources.cpu';
  if (nonZero(c.realtimePeriod) || nonZero(c.realtimeRuntime)) {
    throw new TsrunError('ERR_NOT_SUPPORTED', `not supported: ${field}.realtimePeriod and realtimeRuntime on cgroup v2 (the kernel has no realtime group scheduling there)`);
  }
  if (nonZero(c.shares)) writeFile(dir, 'cpu.weight', sharesToWeight(c.shares), `${field}.shares`);
  if (nonZero(c.quota) || nonZero(c.period)) {
    const period = isSet(c.period) ? BigInt(c.period) : BigInt(readFile(dir, 'cpu.max')?.trim().split(' ')[1] ?? 100000);
    writeFile(dir, 'cpu.max', cpuMax(isSet(c.quota) ? BigInt(c.quota) : undefined, period), `${field}.quota`);
  }
  if (isSet(c.burst)) writeFile(dir, 'cpu.max.burst', c.burst, `${field}.burst`);
  if (isSet(c.idle)) writeFile(dir, 'cpu.idle', c.idle, `${field}.idle`);
}

export function ioV2(dir: string, b: BlockIO): void {
  const field = 'linux.resources.blockIO';
  // BFQ takes blkio's weights unchanged; io.weight has its own range.
  const bfq = hasFile(dir, 'io.bfq.weight');
  if (b.weight) {
    if (bfq) writeFile(dir, 'io.bfq.weight', b.weight, `${field}.weight`);
    else writeFile(dir, 'io.weight', blkioWeightToIoWeight(b.weight), `${field}.weight`);
  }
  for (const [i, d] of (b.weightDevice ?? []).entries()) {
    if (!d.weight) continue;
    if (bfq) writeFile(dir, 'io.bfq.weight', `${d.major}:${d.minor} ${d.weight}`, `${field}.weightDevice[${i}]`);
    else writeFile(dir, 'io.weight', `${d.major}:${d.minor} ${blkioWeightToIoWeight(d.weight)}`, `${field}.weightDevice[${i}]`);
  }
  if (b.leafWeight || b.weightDevice?.some((d) => d.leafWeight)) warn(`${field}: leaf weights are ignored: cgroup v2 has none`);
  for (const [key, , name] of THROTTLES) {
    for (const [i, d] of (b[key] ?? []).entries()) writeFile(dir, 'io.max', `${d.major}:${d.minor} ${name}=${d.rate}`, `${field}.${key}[${i}]`);
  }
}

/** Replaces the cgroup's device filter with one for `rules` (config order, defaults included). */
export function devicesV2(dir: string, rules: LinuxDeviceCgroup[]): void {
  const log = Buffer.alloc(16 * 1024);
  const result = shimLibrary().attachDeviceProgram(dir, encodeProgram(deviceProgram(rules)), log);
  if (result < 0) {
    const verifier = log.toString('utf8', 0, Math.max(0, log.indexOf(0))).trim().split('\n').slice(-3).join('; ');
    throw new TsrunError('ERR_CGROUP', `linux.resources.devices: attach the device filter to ${dir}: ${errnoName(-result) ?? `errno ${-result}`}${verifier ? ` (${verifier})` : ''}`);
  }
}

export function unifiedV2(dir: string, unified: Record<string, string>, controllers: string[]): void {
  const problems = unifiedProblems(unified, controllers);
  if (problems.length) throw new TsrunError('ERR_CONFIG_INVALID', problems.join('; '));
  for (const [key, value] of Object.entries(unified)) writeFile(dir, key, value, keyPath('linux.resources.unified', key));
}
