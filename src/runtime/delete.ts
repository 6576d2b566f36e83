// `delete`: only a stopped container, unless --force (which kills it first). Deleting undoes what
// create made (processes, cgroups, state) and then runs the poststop hooks, whose failures are
// warnings (lifecycle step 13).
import { TsrunError } from '../errors.ts';
import { setFrozen } from '../cgroups/freezer.ts';
import { containerPids, removeCgroups } from '../cgroups/manager.ts';
import { runHooksCollectingFailures } from '../hooks/run.ts';
import { debug, warn } from '../log.ts';
import { validateId } from '../state/id.ts';
import { withLock } from '../state/lock.ts';
import { isAlive } from '../state/process.ts';
import { observeStatus } from '../state/status.ts';
import type { ContainerRecord } from '../state/store.ts';
import type { Runtime } from './context.ts';
import { hookState } from './state.ts';

export async function deleteContainer(rt: Runtime, id: string, force: boolean): Promise<void> {
  validateId(id);
  await withLock(rt.root, id, async () => {
    const record = rt.store.tryRead(id);
    if (!record) {
      // A create killed before its first write leaves only a directory: nothing else to undo.
      if (rt.store.hasDir(id) && force) return rt.store.remove(id);
      if (force) return; // containerd and podman delete --force ids that are already gone
      throw new TsrunError('ERR_NOT_FOUND', `container ${id} does not exist`);
    }
    const status = observeStatus(rt.store, record);
    if (status !== 'stopped' && !force) {
      throw new TsrunError('ERR_STATE', `cannot delete container ${id}: it is ${status}, not stopped (use --force)`);
    }
    await destroy(rt, record);
  });
}

/** Kills whatever is left of the container, removes its cgroups and state, runs poststop hooks. */
export async function destroy(rt: Runtime, record: ContainerRecord): Promise<void> {
  debug(`destroy container ${record.id}: kill its processes, remove cgroups ${record.cgroups.dirs.join(' ') || '(none)'} and state`);
  // A frozen process does not act on SIGKILL until it is thawed.
  if (record.status === 'paused') await setFrozen(record.cgroups.placements, false).catch((err: Error) => warn(err.message));
  await killEverything(record);
  let cleanupError: unknown;
  try {
    removeCgroups(record.cgroups);
  } catch (err) {
    cleanupError = err;
  }
  // A create killed while making the cgroups: what it made is empty (the init comes later); a
  // planned cgroup that holds processes was made by someone else meanwhile and stays.
  if (record.pendingCgroups) {
    try {
      removeCgroups(record.pendingCgroups, 0);
    } catch (err) {
      warn((err as Error).message);
    }
  }
  // a mount that stays keeps the state that names it: a later delete can still find it
  await unmountHostMounts(record);
  rt.store.remove(record.id);
  for (const failure of await runHooksCollectingFailures('poststop', record.hooks.poststop, hookState(record, 'stopped', 0))) {
    warn(failure);
  }
  if (cleanupError) throw cleanupError;
}

/**
 * A container without a mount namespace mounted into the host mount table, all inside its rootfs
 * bind: unmount that, by the identity recorded before it was attached. What the host had mounted
 * below the rootfs before stays. Without a record nothing of the container's was attached.
 */
export async function unmountHostMounts(record: ContainerRecord): Promise<void> {
  if (record.namespaces.includes('mount') || !record.rootfsMount) return;
  const { unmountRootfsMount } = await import('../shim/index.ts');
  try {
    unmountRootfsMount(record.rootfs, record.rootfsMount);
  } catch (err) {
    throw new TsrunError('ERR_SYSTEM', `container ${record.id}: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * SIGKILL the init and every process in the cgroups tsrun created (without a pid namespace, or
 * after a create killed halfway, processes can outlive the init), then wait until they are gone.
 */
async function killEverything(record: ContainerRecord): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const pids = new Set<number>(containerPids(record.cgroups.leaves));
    const initAlive = record.pid > 0 && isAlive(record.pid, record.initStartTime);
    if (initAlive) pids.add(record.pid);
    if (pids.size === 0) return;
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // exited meanwhile
      }
    }
    if (Date.now() > deadline) throw new TsrunError('ERR_SYSTEM', `container ${record.id}: processes ${[...pids].join(' ')} survive SIGKILL`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
