import { TsrunError } from '../errors.ts';
import { validateId } from '../state/id.ts';
import { observeStatus } from '../state/status.ts';
import type { Runtime } from './context.ts';

/** Signals the container's init; only a created, running or paused container may be signalled. */
export function kill(rt: Runtime, id: string, signal: number): void {
  validateId(id);
  const record = rt.store.read(id);
  const status = observeStatus(rt.store, record);
  if (status === 'stopped' || status === 'creating') throw new TsrunError('ERR_STATE', `container ${id}: container not running`);
  try {
    process.kill(record.pid, signal);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') throw new TsrunError('ERR_STATE', `container ${id}: container not running`);
    throw err;
  }
}
