// A container's resource usage read from its cgroups, in the shape of runc's `events --stats`
// (runc's types/events.go): cpu, memory, pids, blkio, hugetlb. Each part comes from the hierarchy
// that holds the controller, v1 or v2; a part whose controller is missing is left empty.
import { readdirSync } from 'node:fs';
import { readFile, readKeyValues, readNumber } from './files.ts';
import type { Placement } from './hierarchies.ts';
import { placementOf } from './resources.ts';

type N = bigint;
interface MemoryEntry {
  limit: N;
  usage?: N;
  max?: N;
  failcnt: N;
}
interface BlkioEntry {
  major: N;
  minor: N;
  op: string;
  value: N;
}
export interface Stats {
  cpu: { usage: { total?: N; percpu?: N[]; percpu_kernel?: N[]; percpu_user?: N[]; kernel: N; user: N }; throttling: { periods?: N; throttledPeriods?: N; throttledTime?: N } };
  memory: { cache?: N; usage: MemoryEntry; swap: MemoryEntry; kernel?: MemoryEntry; kernelTCP?: MemoryEntry; raw?: Record<string, N> };
  pids: { current?: N; limit?: N };
  blkio: { ioServiceBytesRecursive?: BlkioEntry[]; ioServicedRecursive?: BlkioEntry[] };
  hugetlb: Record<string, { usage?: N; max?: N; failcnt: N }>;
}

const NS_PER_USEC = 1000n;
const NS_PER_TICK = 10_000_000n; // USER_HZ is 100 on Linux

export function readStats(placements: Placement[]): Stats {
  return { cpu: cpuStats(placements), memory: memoryStats(placements), pids: pidsStats(placements), blkio: blkioStats(placements), hugetlb: hugetlbStats(placements) };
}

/** How often the OOM killer has killed in the container's memory cgroup (it only grows). */
export function oomKills(placements: Placement[]): bigint {
  const p = placementOf(placements, 'memory');
  if (!p) return 0n;
  const values = readKeyValues(p.dir, p.version === 1 ? 'memory.oom_control' : 'memory.events');
  return values.get('oom_kill') ?? 0n;
}

const numbers = (text: string | undefined) => (text ?? '').trim().split(/\s+/).filter((t) => /^\d+$/.test(t)).map(BigInt);
const limitOf = (dir: string, file: string) => readNumber(dir, file) ?? 0n; // "max": unlimited

function cpuStats(placements: Placement[]): Stats['cpu'] {
  const cpu: Stats['cpu'] = { usage: { kernel: 0n, user: 0n }, throttling: {} };
  const acct = placementOf(placements, 'cpuacct');
  const p = placementOf(placements, 'cpu');
  if (acct?.version === 1) {
    cpu.usage.total = readNumber(acct.dir, 'cpuacct.usage');
    cpu.usage.percpu = numbers(readFile(acct.dir, 'cpuacct.usage_percpu'));
    cpu.usage.percpu_kernel = numbers(readFile(acct.dir, 'cpuacct.usage_percpu_sys'));
    cpu.usage.percpu_user = numbers(readFile(acct.dir, 'cpuacct.usage_percpu_user'));
    const stat = readKeyValues(acct.dir, 'cpuacct.stat');
    cpu.usage.kernel = (stat.get('system') ?? 0n) * NS_PER_TICK;
    cpu.usage.user = (stat.get('user') ?? 0n) * NS_PER_TICK;
  }
  if (p?.version === 1) {
    const stat = readKeyValues(p.dir, 'cpu.stat');
    cpu.throttling = { periods: stat.get('nr_periods'), throttledPeriods: stat.get('nr_throttled'), throttledTime: stat.get('throttled_time') };
  } else if (p || placements.some((q) => q.version === 2)) {
    // cgroup2's cpu.stat has usage even without the cpu controller
    const dir = p?.dir ?? placements.find((q) => q.version === 2)!.dir;
    const stat = readKeyValues(dir, 'cpu.stat');
    if (acct?.version !== 1) {
      cpu.usage.total = (stat.get('usage_usec') ?? 0n) * NS_PER_USEC;
      cpu.usage.kernel = (stat.get('system_usec') ?? 0n) * NS_PER_USEC;
      cpu.usage.user = (stat.get('user_usec') ?? 0n) * NS_PER_USEC;
    }
    if (p) cpu.throttling = { periods: stat.get('nr_periods'), throttledPeriods: stat.get('nr_throttled'), throttledTime: (stat.get('throttled_usec') ?? 0n) * NS_PER_USEC };
  }
  return cpu;
}

function memoryStats(placements: Placement[]): Stats['memory'] {
  const p = placementOf(placements, 'memory');
  if (!p) return { usage: { limit: 0n, failcnt: 0n }, swap: { limit: 0n, failcnt: 0n } };
  const raw = Object.fromEntries(readKeyValues(p.dir, 'memory.stat'));
  if (p.version === 1) {
    const entry = (prefix: string): MemoryEntry => ({
      limit: limitOf(p.dir, `${prefix}.limit_in_bytes`),
      usage: readNumber(p.dir, `${prefix}.usage_in_bytes`),
      max: readNumber(p.dir, `${prefix}.max_usage_in_bytes`),
      failcnt: readNumber(p.dir, `${prefix}.failcnt`) ?? 0n,
    });
    return { cache: raw.cache, usage: entry('memory'), swap: entry('memory.memsw'), kernel: entry('memory.kmem'), kernelTCP: entry('memory.kmem.tcp'), raw };
  }
  const events = readKeyValues(p.dir, 'memory.events');
  return {
    cache: raw.file,
    usage: { limit: limitOf(p.dir, 'memory.max'), usage: readNumber(p.dir, 'memory.current'), max: readNumber(p.dir, 'memory.peak'), failcnt: events.get('max') ?? 0n },
    swap: { limit: limitOf(p.dir, 'memory.swap.max'), usage: readNumber(p.dir, 'memory.swap.current'), failcnt: readKeyValues(p.dir, 'memory.swap.events').get('max') ?? 0n },
    raw,
  };
}

function pidsStats(placements: Placement[]): Stats['pids'] {
  const p = placementOf(placements, 'pids');
  return p ? { current: readNumber(p.dir, 'pids.current'), limit: readNumber(p.dir, 'pids.max') } : {};
}

function blkioStats(placements: Placement[]): Stats['blkio'] {
  const p = placementOf(placements, 'blkio');
  if (!p) return {};
  if (p.version === 1) {
    // "254:0 Read 4096" lines; the CFQ files when the kernel has them, else the throttle layer's
    const entries = (file: string) =>
      (readFile(p.dir, `blkio.${file}`) ?? readFile(p.dir, `blkio.throttle.${file}`) ?? '')
        .split('\n')
        .map((line) => /^(\d+):(\d+) (\w+) (\d+)$/.exec(line.trim()))
        .filter((m): m is RegExpExecArray => m !== null)
        .map((m) => ({ major: BigInt(m[1]), minor: BigInt(m[2]), op: m[3], value: BigInt(m[4]) }));
    return { ioServiceBytesRecursive: entries('io_service_bytes_recursive'), ioServicedRecursive: entries('io_serviced_recursive') };
  }
  // io.stat: "254:0 rbytes=1 wbytes=2 rios=3 wios=4 ..."
  const bytes: BlkioEntry[] = [];
  const ios: BlkioEntry[] = [];
  for (const line of (readFile(p.dir, 'io.stat') ?? '').split('\n')) {
    const [device, ...fields] = line.trim().split(/\s+/);
    const m = /^(\d+):(\d+)$/.exec(device ?? '');
    if (!m) continue;
    const kv = Object.fromEntries(fields.map((f) => f.split('=')).map(([k, v]) => [k, BigInt(v ?? 0)]));
    const at = (op: string, value: bigint | undefined) => ({ major: BigInt(m[1]), minor: BigInt(m[2]), op, value: value ?? 0n });
    bytes.push(at('Read', kv.rbytes), at('Write', kv.wbytes));
    ios.push(at('Read', kv.rios), at('Write', kv.wios));
  }
  return { ioServiceBytesRecursive: bytes, ioServicedRecursive: ios };
}

/** The host's huge page sizes as cgroup files name them: hugepages-2048kB → 2MB. */
function hugepageSizes(): string[] {
  try {
    return readdirSync('/sys/kernel/mm/hugepages').map((d) => {
      const kb = Number(/(\d+)kB/.exec(d)?.[1] ?? 0);
      return kb >= 1 << 20 ? `${kb >> 20}GB` : kb >= 1 << 10 ? `${kb >> 10}MB` : `${kb}KB`;
    });
  } catch {
    return [];
  }
}

function hugetlbStats(placements: Placement[]): Stats['hugetlb'] {
  const p = placementOf(placements, 'hugetlb');
  const result: Stats['hugetlb'] = {};
  if (!p) return result;
  for (const size of hugepageSizes()) {
    const f = `hugetlb.${size}`;
    result[size] =
      p.version === 1
        ? { usage: readNumber(p.dir, `${f}.usage_in_bytes`), max: readNumber(p.dir, `${f}.max_usage_in_bytes`), failcnt: readNumber(p.dir, `${f}.failcnt`) ?? 0n }
        : { usage: readNumber(p.dir, `${f}.current`), max: readNumber(p.dir, `${f}.max`), failcnt: readKeyValues(p.dir, `${f}.events`).get('max') ?? 0n };
  }
  return result;
}
