import { existsSync } from 'node:fs';
import { signalAll } from '../cgroups/signal.ts';
import { TsrunError } from '../errors.ts';
import { debug } from '../log.ts';
import { validateId } from '../state/id.ts';
import { observeStatus } from '../state/status.ts';
import type { Runtime } from './context.ts';

/**
 * Signals the container's init (or all its processes); only a created, running or paused container's
 * init may be signalled. Signal 0 only checks that it could be.
 */
export async function kill(rt: Runtime, id: string, signal: number, all = false): Promise<void> {
  validateId(id);
  const record = rt.store.read(id);
  const status = observeStatus(rt.store, record);
  debug(`kill container ${id} (${status}): signal ${signal} to ${all ? 'every process' : `init ${record.pid}`}`);
  // Like runc, --all of a stopped container signals what is left in its cgroup, if anything.
  if (all && status === 'stopped' && !record.cgroups.dirs.some((dir) => existsSync(dir))) return;
  if (status === 'creating' || (status === 'stopped' && !all)) throw new TsrunError('ERR_STATE', `container ${id}: container not running`);
  if (all) {
    if (!record.cgroups.dirs.length) {
      throw new TsrunError('ERR_STATE', `container ${id} has no cgroup (an unprivileged user without a delegated cgroup created it): kill --all finds a container's processes through its cgroup`);
    }
    await signalAll(record.cgroups.placements, record.cgroups.dirs, signal, status === 'paused');
    return;
  }
  try {
    process.kill(record.pid, signal);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') throw new TsrunError('ERR_STATE', `container ${id}: container not running`);
    throw err;
  }
}
