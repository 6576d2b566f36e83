// process.rlimits → setrlimit(2) steps with the resource numbers of Linux x86_64 (asm-generic).
import type { Process } from '../spec/types.ts';
import { invalid } from './invalid.ts';
import { quote } from '../spec/quote.ts';
import { toU64 } from './numbers.ts';
import type { ContainerStep } from './types.ts';

export const RLIMIT_RESOURCES: Record<string, number> = {
  RLIMIT_CPU: 0,
  RLIMIT_FSIZE: 1,
  RLIMIT_DATA: 2,
  RLIMIT_STACK: 3,
  RLIMIT_CORE: 4,
  RLIMIT_RSS: 5,
  RLIMIT_NPROC: 6,
  RLIMIT_NOFILE: 7,
  RLIMIT_MEMLOCK: 8,
  RLIMIT_AS: 9,
  RLIMIT_LOCKS: 10,
  RLIMIT_SIGPENDING: 11,
  RLIMIT_MSGQUEUE: 12,
  RLIMIT_NICE: 13,
  RLIMIT_RTPRIO: 14,
  RLIMIT_RTTIME: 15,
};

/** Values are uint64 kept exact; 2^64-1 is RLIM_INFINITY. */
export function planRlimits(process: Process): ContainerStep[] {
  const seen = new Set<string>();
  return (process.rlimits ?? []).map((r, i) => {
    const where = `process.rlimits[${i}]`;
    if (!Object.hasOwn(RLIMIT_RESOURCES, r.type)) throw invalid(`${where}.type`, `unknown rlimit ${quote(r.type)}`);
    if (seen.has(r.type)) throw invalid(`${where}.type`, `duplicate rlimit ${r.type}`);
    seen.add(r.type);
    const soft = toU64(r.soft, `${where}.soft`);
    const hard = toU64(r.hard, `${where}.hard`);
    // setrlimit would fail with EINVAL: say so before anything is created
    if (soft > hard) throw invalid(where, `soft limit ${soft} is above hard limit ${hard}`);
    return { op: 'rlimit', resource: RLIMIT_RESOURCES[r.type], soft, hard };
  });
}
