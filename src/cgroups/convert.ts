// Pure conversions from linux.resources (written with cgroup v1 in mind) to cgroup file values, the
// way runc and crun do them, so a config behaves the same under either runtime.
import { TsrunError } from '../errors.ts';
import { keyPath, quote } from '../spec/quote.ts';
import type { Int64 } from '../spec/types.ts';

/** A field given in the config (JSON null counts as absent). */
export const isSet = <T>(v: T | undefined | null): v is T => v !== undefined && v !== null;
/** runc reads most resource integers as plain ones: 0 cannot be told from unset, and leaves the file alone */
export const nonZero = (v: Int64 | undefined | null): v is Int64 => isSet(v) && BigInt(v) !== 0n;

/** cpu.shares [2, 262144] → cpu.weight [1, 10000] (runc's ConvertCPUSharesToCgroupV2Value); 0 leaves it unset. */
export function sharesToWeight(shares: Int64): number {
  const s = BigInt(shares);
  if (s === 0n) return 0;
  return Number(1n + ((s - 2n) * 9999n) / 262142n);
}

/** blkio.weight [10, 1000] → io.weight [1, 10000] (runc's ConvertBlkIOToIOWeightValue); 0 leaves it unset. */
export function blkioWeightToIoWeight(weight: number): number {
  if (weight === 0) return 0;
  return 1 + Math.floor(((weight - 10) * 9999) / 990);
}

/**
 * v1's memory.memsw limit is memory+swap; v2's memory.swap.max is the swap alone. Returns the value
 * for memory.swap.max: -1 unlimited, 0 unset (runc's ConvertMemorySwapToCgroupV2Value).
 */
export function swapToV2(swap: bigint, memory: bigint): bigint {
  // memory unlimited and swap not given: both unlimited, as on v1
  if (memory === -1n && swap === 0n) return -1n;
  if (swap === -1n || swap === 0n) return swap;
  if (memory === 0n || memory === -1n) throw new TsrunError('ERR_CONFIG_INVALID', 'linux.resources.memory.swap: a swap limit needs a memory limit');
  if (memory < 0n) throw new TsrunError('ERR_CONFIG_INVALID', `linux.resources.memory.limit: invalid value ${memory}`);
  if (swap < memory) throw new TsrunError('ERR_CONFIG_INVALID', `linux.resources.memory.swap: ${swap} (memory+swap) must be >= the memory limit ${memory}`);
  return swap - memory;
}

/** cpu.max: "<quota|max> <period>"; a quota <= 0 means no limit, a period of 0 the kernel default. */
export function cpuMax(quota: bigint | undefined, period: bigint | undefined): string {
  const q = quota === undefined || quota <= 0n ? 'max' : String(quota);
  return `${q} ${period && period > 0n ? period : 100000n}`;
}

/** A hugepage size as the kernel spells it in file names: "2MB", "1GB", "64KB". */
export function hugepageSize(pageSize: string): string {
  const m = /^(\d+)\s*([KMGkmg])i?[Bb]?$/.exec(pageSize);
  if (!m) throw new TsrunError('ERR_CONFIG_INVALID', `linux.resources.hugepageLimits: page size ${quote(pageSize)} is not like "2MB"`);
  return `${Number(m[1])}${m[2].toUpperCase()}B`;
}

/** Files of a cgroup2 directory a `unified` key may name: "<controller>.<file>" of an enabled controller. */
const CGROUP_CORE_WRITABLE = new Set(['cgroup.max.depth', 'cgroup.max.descendants']);

/**
 * Checks linux.resources.unified against the controllers the container's cgroup2 directory has:
 * a key is a plain file name (no path, no "..") of one of those controllers. Returns every problem.
 */
export function unifiedProblems(unified: Record<string, string>, controllers: readonly string[]): string[] {
  const problems: string[] = [];
  for (const [key, value] of Object.entries(unified)) {
    const where = keyPath('linux.resources.unified', key);
    if (!/^[a-z_][a-z0-9_]*(\.[A-Za-z0-9_]+)+$/.test(key)) {
      problems.push(`${where}: not a cgroup file name (no paths, no "..")`);
      continue;
    }
    const controller = key.split('.')[0];
    if (controller === 'cgroup') {
      if (!CGROUP_CORE_WRITABLE.has(key)) problems.push(`${where}: only ${[...CGROUP_CORE_WRITABLE].join(', ')} may be set among the cgroup.* files`);
    } else if (!controllers.includes(controller)) {
      problems.push(`${where}: the ${controller} controller is not enabled in the container's cgroup v2 (has: ${controllers.join(' ') || 'none'})`);
    }
    if (typeof value !== 'string' || value.includes('\0')) problems.push(`${where}: the value must be a string without NUL`);
  }
  return problems;
}

/** A memory size from the command line: bytes, or with a k/m/g/t suffix (powers of 1024), -1 for unlimited. */
export function parseMemorySize(flag: string, text: string): bigint {
  const m = /^(-1|\d+)\s*(?:([kmgt])i?b?|b)?$/i.exec(text.trim());
  if (!m) throw new TsrunError('ERR_USAGE', `update: --${flag} must be a size in bytes (or with k, m, g, t), got ${JSON.stringify(text)}`);
  const n = BigInt(m[1]);
  if (n < 0n) return -1n;
  const shift = { k: 10n, m: 20n, g: 30n, t: 40n }[(m[2] ?? '').toLowerCase() as 'k'] ?? 0n;
  return n << shift;
}
