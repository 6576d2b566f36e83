// What the cgroup tests need to know about the host, so that they run unchanged on a hybrid host
// (v1 controllers plus a cgroup2 mount) and on a pure cgroup v2 host: where a process's cgroup for
// a controller is, and which file a resource lands in under each version.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Config, Sandbox } from './helpers.ts';

export const MB = 1024 * 1024;

/** A running container of the default bundle (`sleep 300` unless `args`), its config adjusted by `edit`. */
export function startContainer(sb: Sandbox, edit: (c: Config) => void = () => {}, args = ['sleep', '300']): { id: string; pid: number; output: string } {
  const id = sb.id('cg');
  const output = sb.createAndStart(
    id,
    sb.bundle((c) => {
      c.process.args = args;
      edit(c);
    }),
  );
  return { id, pid: sb.state(id).pid, output };
}

interface Mount {
  version: 1 | 2;
  controllers: string[];
  mountPoint: string;
  root: string;
}

function mounts(): Mount[] {
  const result: Mount[] = [];
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const [left, right] = line.split(' - ');
    if (!right) continue;
    const [fstype, , options = ''] = right.split(' ');
    const fields = left.split(' ');
    if (fstype === 'cgroup2') result.push({ version: 2, controllers: [], mountPoint: fields[4], root: fields[3] });
    else if (fstype === 'cgroup') result.push({ version: 1, controllers: options.split(','), mountPoint: fields[4], root: fields[3] });
  }
  return result;
}

/** True when the host has only cgroup2 (the v2 driver, BPF devices and cgroup.kill are used). */
export const PURE_V2 = !mounts().some((m) => m.version === 1);

/** The version that serves a v1 controller name on this host ('blkio' is 'io' on v2). */
export function versionOf(controller: string): 1 | 2 {
  return mounts().some((m) => m.version === 1 && m.controllers.includes(controller)) ? 1 : 2;
}

/** The host directory of `pid`'s cgroup for `controller` (v1 hierarchy, or the cgroup2 one). */
export function cgroupDir(pid: number, controller: string): string {
  const lines = readFileSync(`/proc/${pid}/cgroup`, 'utf8').trim().split('\n').map((l) => l.split(':'));
  const v1 = controller ? mounts().find((m) => m.version === 1 && m.controllers.includes(controller)) : undefined;
  const line = v1 ? lines.find((l) => l[1].split(',').includes(controller)) : lines.find((l) => l[0] === '0');
  const mount = v1 ?? mounts().find((m) => m.version === 2);
  if (!line || !mount) throw new Error(`no ${controller} cgroup for ${pid}`);
  const relative = line.slice(2).join(':').slice(mount.root === '/' ? 0 : mount.root.length);
  return join(mount.mountPoint, relative);
}

/** The host directory of `pid`'s cgroup2 cgroup (where cgroup.* files and v2 controllers are). */
export function cgroup2Dir(pid: number): string {
  return cgroupDir(pid, '');
}

export function cgroupFile(pid: number, controller: string, file: string): string {
  return readFileSync(join(cgroupDir(pid, controller), file), 'utf8').trim();
}

/** "major:minor" of a real disk, for blockIO throttles; undefined when the host has none. */
export function someDisk(): string | undefined {
  for (const name of readdirSync('/sys/block')) {
    if (/^(loop|ram|zram|dm-|md|sr)/.test(name)) continue;
    return readFileSync(`/sys/block/${name}/dev`, 'utf8').trim();
  }
  return undefined;
}

export const HAS_2MB_HUGEPAGES = existsSync('/sys/kernel/mm/hugepages/hugepages-2048kB');

/** Whether the host can limit `controller` at all (a v1 hierarchy, or enabled at the cgroup2 root). */
export function hasController(controller: string): boolean {
  if (versionOf(controller) === 1) return true;
  const v2 = mounts().find((m) => m.version === 2);
  if (!v2) return false;
  const name = controller === 'blkio' ? 'io' : controller;
  return readFileSync(join(v2.mountPoint, 'cgroup.controllers'), 'utf8').split(/\s+/).includes(name);
}
