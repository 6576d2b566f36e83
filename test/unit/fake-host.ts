// The host the plan tests and the fuzzer build plans for: a hybrid cgroup layout (or a pure v2
// one), and a file system where '/x/missing...' is missing, a few names are files and anything
// else is a directory. The golden plans (test/unit/golden) were made on it. And how those tests
// check a refused config.
import * as assert from 'uvu/assert';
import type { Placement } from '../../src/cgroups/hierarchies.ts';
import { isTsrunError, type ErrorCode } from '../../src/errors.ts';
import type { BuildContext } from '../../src/plan/build.ts';

export const HYBRID: Placement[] = [
  { dir: '/sys/fs/cgroup/cpu,cpuacct/tsrun/c1', version: 1, controllers: ['cpu', 'cpuacct'] },
  { dir: '/sys/fs/cgroup/memory/tsrun/c1', version: 1, controllers: ['memory'] },
  { dir: '/sys/fs/cgroup/systemd/tsrun/c1', version: 1, controllers: ['name=systemd'] },
  { dir: '/sys/fs/cgroup/unified/tsrun/c1', version: 2, controllers: ['hugetlb'] },
];
export const V2: Placement[] = [{ dir: '/sys/fs/cgroup/tsrun/c1', version: 2, controllers: ['cpu', 'memory', 'pids'] }];

const FILES = new Set(['/proc/kcore', '/bundles/demo/hosts']);
export function kindOf(path: string): 'dir' | 'file' | 'missing' {
  if (path.includes('/missing')) return 'missing';
  return FILES.has(path) || /\/(hosts|hostname|\.containerenv|resolv\.conf)$/.test(path) ? 'file' : 'dir';
}

export function planContext(over: Partial<BuildContext> = {}): BuildContext {
  return {
    bundle: '/bundles/demo',
    rootfs: '/bundles/demo/rootfs',
    startFifo: '/run/tsrun/c1/start.fifo',
    startedFifo: '/run/tsrun/c1/started.fifo',
    noPivot: false,
    preserveFds: 0,
    listenFds: 0,
    cgroups: { placements: HYBRID },
    host: { capLastCap: 40, hostUid: 0, hostGid: 0, kindOf },
    ...over,
  };
}

/** `fn` throws a TsrunError with this code, whose message names `text` if given. */
export const throwsCode = (fn: () => unknown, code: ErrorCode, text?: string) =>
  assert.throws(fn, (e: unknown) => isTsrunError(e, code) && (text === undefined || (e as Error).message.includes(text)), `${code} ${text ?? ''}`);
