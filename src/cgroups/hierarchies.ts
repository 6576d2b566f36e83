// The cgroup hierarchies of this host, read from /proc/self/mountinfo: a pure cgroup v2 host has
// one (cgroup2 at /sys/fs/cgroup); a hybrid host such as a cgroup v1 one has a hierarchy per v1
// controller plus a cgroup2 mount. Each is returned with the cgroup this process sits in.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Hierarchy {
  /** 'unified' for cgroup2, else the v1 controllers joined by ',' (e.g. "cpu", "name=systemd") */
  name: string;
  version: 1 | 2;
  mountPoint: string;
  /** the path of the mount's root within the hierarchy ("/" unless mounted from a sub-cgroup) */
  mountRoot: string;
  /** the cgroup of this process in that hierarchy */
  current: string;
}

const V1_CONTROLLERS = new Set(['cpu', 'cpuacct', 'cpuset', 'memory', 'devices', 'freezer', 'blkio', 'pids', 'net_cls', 'net_prio', 'perf_event', 'hugetlb', 'rdma', 'misc']);

export function parseHierarchies(mountinfo: string, procCgroup: string): Hierarchy[] {
  const membership = new Map<string, string>();
  for (const line of procCgroup.split('\n')) {
    const m = /^\d+:([^:]*):(.*)$/.exec(line);
    if (m) membership.set(m[1] === '' ? 'unified' : m[1], m[2]);
  }
  const seen = new Set<string>();
  const result: Hierarchy[] = [];
  for (const line of mountinfo.split('\n')) {
    const [left, right] = line.split(' - ');
    if (!right) continue;
    const [fstype, , superOptions = ''] = right.split(' ');
    const fields = left.split(' ');
    const mountRoot = unescapeMountPath(fields[3]);
    const mountPoint = unescapeMountPath(fields[4]);
    let name: string;
    if (fstype === 'cgroup2') name = 'unified';
    else if (fstype === 'cgroup') {
      name = superOptions
        .split(',')
        .filter((o) => V1_CONTROLLERS.has(o) || o.startsWith('name='))
        .join(',');
    } else continue;
    if (!name || seen.has(name)) continue; // the same hierarchy mounted twice: the first will do
    const current = membership.get(name);
    if (current === undefined) continue;
    seen.add(name);
    result.push({ name, version: fstype === 'cgroup2' ? 2 : 1, mountPoint, mountRoot, current });
  }
  return result;
}

export function hostHierarchies(): Hierarchy[] {
  return parseHierarchies(readFileSync('/proc/self/mountinfo', 'utf8'), readFileSync('/proc/self/cgroup', 'utf8'));
}

function unescapeMountPath(path: string): string {
  return path.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

/** A cgroup directory and the controllers it offers. */
export interface Placement {
  dir: string;
  version: 1 | 2;
  controllers: string[];
}

/** The controllers a cgroup2 directory can use. */
export function v2Controllers(dir: string): string[] {
  try {
    return readFileSync(join(dir, 'cgroup.controllers'), 'utf8').trim().split(/\s+/).filter(Boolean);
  } catch {
    return [];
  }
}
