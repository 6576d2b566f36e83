// Creates the container's cgroup in every hierarchy, puts a process in it, and removes it again.
// Only directories tsrun created are ever removed; a cgroup that cannot be removed is reported.
import { mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync, existsSync } from 'node:fs';
import { join, posix } from 'node:path';
import { TsrunError, systemError } from '../errors.ts';
import { warn } from '../log.ts';
import { quote } from '../spec/quote.ts';
import { hostHierarchies, v2Controllers, type Hierarchy, type Placement } from './hierarchies.ts';

export const DEFAULT_PARENT = '/tsrun';

/** The cgroup path inside each hierarchy for linux.cgroupsPath (absolute, relative, or unset). */
export function resolveCgroupPath(cgroupsPath: string | undefined, id: string, hierarchy: Hierarchy): string {
  if (!cgroupsPath) return posix.join(DEFAULT_PARENT, id);
  if (cgroupsPath.includes('\0') || cgroupsPath.split('/').includes('..')) {
    throw new TsrunError('ERR_CONFIG_INVALID', `linux.cgroupsPath: ${quote(cgroupsPath)} must not contain ".."`);
  }
  return cgroupsPath.startsWith('/') ? posix.normalize(cgroupsPath) : posix.join(hierarchy.current, cgroupsPath);
}

function hostDir(h: Hierarchy, cgroupPath: string): string {
  // A mount of a sub-cgroup shows that sub-cgroup at its mount point.
  const relative = posix.relative(h.mountRoot, cgroupPath);
  if (relative.startsWith('..')) throw new TsrunError('ERR_CGROUP', `cgroup ${cgroupPath} is outside the ${h.name} mount at ${h.mountPoint}`);
  return join(h.mountPoint, relative);
}

export interface CreatedCgroups {
  /** the container's cgroup directory in each hierarchy: its processes go there */
  dirs: string[];
  /** those of them tsrun created (an existing cgroup is shared, never removed) */
  leaves: string[];
  /** ancestors tsrun created on the way, deepest first; removed when empty */
  parents: string[];
  /** which directory serves which controllers, for linux.resources */
  placements: Placement[];
}

export function createCgroups(cgroupsPath: string | undefined, id: string): CreatedCgroups {
  const created: CreatedCgroups = { dirs: [], leaves: [], parents: [], placements: [] };
  try {
    for (const h of hostHierarchies()) {
      const leaf = hostDir(h, resolveCgroupPath(cgroupsPath, id, h));
      const madeParents: string[] = [];
      const missing = missingAncestors(leaf);
      if (h.version === 2) enableControllers(posix.dirname(missing[0] ?? leaf));
      // Other tsrun processes make and remove the shared parents (/tsrun) concurrently: one made
      // meanwhile is theirs, and one removed before our leaf was in it is made again.
      let fresh = true;
      for (let attempt = 1; ; attempt++) {
        try {
          for (const parent of attempt === 1 ? missing : missingAncestors(leaf)) {
            if (makeDir(parent)) madeParents.unshift(parent);
            // also when another create made it: it may not have set it up yet (both steps are idempotent)
            if (h.version === 2) enableControllers(parent);
          }
          // A cgroup that already exists may belong to someone else: share it like runc, never remove it.
          fresh = makeDir(leaf);
          break;
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || attempt === 5) throw err;
        }
      }
      if (h.name.split(',').includes('cpuset')) inheritCpuset(leaf, h.mountPoint);
      if (!fresh) warnIfBusy(leaf);
      created.dirs.push(leaf);
      created.placements.push({ dir: leaf, version: h.version, controllers: h.version === 2 ? v2Controllers(leaf) : h.name.split(',') });
      if (fresh) created.leaves.push(leaf);
      created.parents.push(...madeParents);
      if (cgroupsPath === undefined) created.parents.push(posix.dirname(leaf));
    }
  } catch (err) {
    removeCgroups(created);
    throw systemError(`create cgroup for ${id}`, err, 'ERR_CGROUP');
  }
  return created;
}

/**
 * What createCgroups(cgroupsPath, id) is about to make: the leaves and the ancestors that do not
 * exist yet (deepest first). Recorded beforehand, so that a create killed meanwhile leaves delete
 * the list of what may be its own.
 */
export function plannedCgroups(cgroupsPath: string | undefined, id: string): CreatedCgroups {
  const planned: CreatedCgroups = { dirs: [], leaves: [], parents: [], placements: [] };
  for (const h of hostHierarchies()) {
    const leaf = hostDir(h, resolveCgroupPath(cgroupsPath, id, h));
    if (!existsSync(leaf)) planned.leaves.push(leaf);
    planned.parents.push(...missingAncestors(leaf).reverse());
  }
  return planned;
}

/** The ancestors of `dir` that do not exist, outermost first. */
function missingAncestors(dir: string): string[] {
  const missing: string[] = [];
  for (let parent = posix.dirname(dir); !existsSync(parent); parent = posix.dirname(parent)) missing.unshift(parent);
  return missing;
}

/** mkdir that tells whether it made the directory (false: it existed already). */
function makeDir(dir: string): boolean {
  try {
    mkdirSync(dir);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
}

/**
 * cgroup v2: a child can use only the controllers its parent enables in cgroup.subtree_control.
 * Each is enabled on its own, since one refused controller fails a whole write. Enabling fails in
 * a cgroup that holds processes (other than the root); the container then lacks that controller,
 * and a resource that needs it is reported when it is applied.
 */
function enableControllers(dir: string): void {
  const enabled = new Set(readFileSync(join(dir, 'cgroup.subtree_control'), 'utf8').split(/\s+/));
  for (const controller of v2Controllers(dir)) {
    if (enabled.has(controller)) continue;
    try {
      writeFileSync(join(dir, 'cgroup.subtree_control'), `+${controller}`);
    } catch {
      // see above
    }
  }
}

/**
 * cgroup v1 cpuset: a new cgroup has no cpus or mems, and no task may join it until they are set.
 * As runc's cpusetEnsureParent: every empty ancestor up to the first one that has them (one made
 * empty by someone else too) is filled from its own parent, top down, then `dir`.
 */
function inheritCpuset(dir: string, mountPoint: string): void {
  for (const file of ['cpuset.cpus', 'cpuset.mems']) {
    const empty: string[] = [];
    for (let d = dir; d !== mountPoint && d.startsWith(`${mountPoint}/`); d = posix.dirname(d)) {
      if (readFileSync(join(d, file), 'utf8').trim() !== '') break;
      empty.unshift(d);
    }
    for (const d of empty) writeFileSync(join(d, file), readFileSync(join(posix.dirname(d), file), 'utf8'));
  }
}

/** runc warns too: an existing cgroup with processes is shared with them (limits, kill --all, ps). */
function warnIfBusy(dir: string): void {
  const procs = readFileSync(join(dir, 'cgroup.procs'), 'utf8').trim();
  if (procs) warn(`cgroup ${dir} already has processes (${procs.split('\n').length}): the container shares it with them`);
}

/** The cgroups below `dir`, deepest first (the container may make its own inside its cgroup). */
function subCgroups(dir: string): string[] {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  return entries.filter((e) => e.isDirectory()).flatMap((e) => [...subCgroups(join(dir, e.name)), join(dir, e.name)]);
}

/** What stage 0 joins before it clones: every cgroup but the one the init is cloned into, if any. */
export const cgroupsToJoin = (dirs: string[], clonedInto: string | undefined): string[] => dirs.filter((dir) => dir !== clonedInto);

export function joinCgroups(dirs: string[], pid: number): void {
  for (const dir of dirs) {
    try {
      writeFileSync(join(dir, 'cgroup.procs'), String(pid));
    } catch (err) {
      throw systemError(`join cgroup ${dir}`, err, 'ERR_CGROUP');
    }
  }
}

/**
 * Removes the cgroups; the leaves must go (their processes are already dead, but the kernel may
 * take a moment to let go of them), the parents only when empty.
 */
export function removeCgroups(created: CreatedCgroups, timeoutMs = 5000): void {
  const deadline = Date.now() + timeoutMs;
  const stuck: string[] = [];
  // the sub-cgroups the container made in its own cgroups go first, deepest first
  for (const leaf of created.leaves.flatMap((dir) => [...subCgroups(dir), dir])) {
    for (;;) {
      try {
        rmdirSync(leaf);
        break;
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') break;
        if (code !== 'EBUSY' || Date.now() > deadline) {
          stuck.push(`${leaf} (${code})`);
          break;
        }
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5);
      }
    }
  }
  for (const parent of created.parents) {
    try {
      rmdirSync(parent);
    } catch {
      // still used by another container, or by someone else: not ours to force
    }
  }
  if (stuck.length) throw new TsrunError('ERR_CGROUP', `cannot remove cgroup ${stuck.join(', ')}`);
}

/** Every process in the container's cgroups and the cgroups below them (host pids), sorted. */
export function containerPids(dirs: string[]): number[] {
  const pids = new Set<number>();
  for (const dir of dirs.flatMap((d) => [d, ...subCgroups(d)])) {
    try {
      for (const line of readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n')) if (line) pids.add(Number(line));
    } catch {
      // a hierarchy that vanished has no processes
    }
  }
  return [...pids].sort((a, b) => a - b);
}
