// What a container can leave on the host after `tsrun delete --force`, looked for everywhere tsrun
// puts something: its state directory, its lock, its cgroups, mounts, and live processes. Shared
// by the fault injection and concurrency tests, which also check that `tsrun list` stays sane.
import { existsSync, readFileSync, readdirSync, readlinkSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { lockFile } from '../../src/state/lock.ts';
import { leaksOf, waitFor, type Sandbox } from './helpers.ts';

export const STATUSES = new Set(['creating', 'created', 'running', 'paused', 'stopped']);

/** Is the lock file of `id` under `root` (src/state/lock.ts) still there, or even held? */
export function lockLeft(root: string, id: string): string | undefined {
  const file = lockFile(root, id);
  const stat = statSync(file, { throwIfNoEntry: false });
  if (!stat) return undefined;
  const held = readFileSync('/proc/locks', 'utf8').split('\n').some((line) => line.includes(`:${stat.ino} `));
  return held ? `the lock of ${id} is still held` : `the lock file of ${id} is left behind`;
}

/**
 * Live processes of the container: members of a cgroup named after it, or holders of a file below one of
 * `paths` (its state directory, where the waiting init holds the start fifos, or the file that
 * got the container's stdio). Zombies are skipped: they hold nothing and no cgroup.
 */
export function processesOf(id: string, paths: string[]): string[] {
  const found: string[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
      if (state === 'Z' || state === 'X') continue;
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const cgroup = readFileSync(`/proc/${entry}/cgroup`, 'utf8');
      if (cgroup.split('\n').some((line) => line.endsWith(`/${id}`))) {
        found.push(`pid ${entry} (${name}) in a cgroup named ${id}`);
        continue;
      }
      for (const fd of readdirSync(`/proc/${entry}/fd`)) {
        let target: string;
        try {
          target = readlinkSync(`/proc/${entry}/fd/${fd}`);
        } catch {
          continue;
        }
        if (paths.some((p) => target === p || target.startsWith(`${p}/`))) {
          found.push(`pid ${entry} (${name}) holds ${target}`);
          break;
        }
      }
    } catch {
      // exited while we looked
    }
  }
  return found;
}

/**
 * Everything of container `id` still on the host. Processes get a moment to finish exiting (a
 * stage 0 whose runtime was killed exits on its own once it reads EOF), but an init waiting on
 * its start fifo never does, so it is reported.
 */
export async function leftovers(sb: Sandbox, id: string, paths: string[] = [], cgroupParent = 'tsrun'): Promise<string[]> {
  const problems = [...leaksOf(id)];
  for (const hierarchy of readdirSync('/sys/fs/cgroup')) {
    const dir = join('/sys/fs/cgroup', hierarchy, cgroupParent, id);
    if (cgroupParent !== 'tsrun' && existsSync(dir)) problems.push(`cgroup ${dir}`);
  }
  if (existsSync(join(sb.root, id))) problems.push(`state directory ${join(sb.root, id)}`);
  const lock = lockLeft(sb.root, id);
  if (lock) problems.push(lock);
  const mountinfo = readFileSync('/proc/self/mountinfo', 'utf8');
  for (const p of paths) if (mountinfo.includes(` ${p}`)) problems.push(`a mount below ${p}`);
  let processes: string[] = [];
  const stateDir = join(sb.root, id);
  try {
    await waitFor(() => (processes = processesOf(id, [stateDir, ...paths])).length === 0, 10_000, () => '');
  } catch {
    problems.push(...processes);
  }
  return problems;
}

export interface ListedContainer {
  id: string;
  status: string;
  pid: number;
}

/**
 * `tsrun list` in both formats: each must succeed and parse, and every entry must have a known
 * status and a sane pid. Returns the JSON entries.
 */
export function checkedList(sb: Sandbox): ListedContainer[] {
  const json = sb.tsrun(['list', '--format', 'json']).ok();
  const entries = JSON.parse(json.stdout) as ListedContainer[];
  if (!Array.isArray(entries)) throw new Error(`list --format json printed no array: ${json.stdout}`);
  for (const e of entries) {
    if (typeof e.id !== 'string' || !STATUSES.has(e.status) || !Number.isInteger(e.pid) || e.pid < 0) {
      throw new Error(`list --format json shows a corrupt entry: ${JSON.stringify(e)}`);
    }
  }
  const table = sb.tsrun(['list']).ok().stdout.trimEnd().split('\n');
  if (!/^ID\s+PID\s+STATUS\s+BUNDLE\s+CREATED$/.test(table[0])) throw new Error(`list prints no header: ${table[0]}`);
  for (const row of table.slice(1)) {
    const [rowId, pid, status] = row.split(/\s+/);
    if (!rowId || !/^\d+$/.test(pid ?? '') || !STATUSES.has(status)) throw new Error(`list shows a corrupt row: ${row}`);
  }
  return entries;
}
