// The status of a container is observed, not trusted from state.json: the init may have exited, or
// exec'd the user's program, since the record was written.
import { closeSync, constants, openSync } from 'node:fs';
import { isAlive } from './process.ts';
import type { ContainerRecord, StateStore } from './store.ts';

export type Status = 'creating' | 'created' | 'running' | 'paused' | 'stopped';

export const START_FIFO = 'start.fifo';
export const STARTED_FIFO = 'started.fifo';

export function observeStatus(store: StateStore, record: ContainerRecord): Status {
  if (record.pid === 0 || !isAlive(record.pid, record.initStartTime)) {
    return record.status === 'creating' && record.pid === 0 ? 'creating' : 'stopped';
  }
  if (record.status === 'creating' || record.status === 'paused') return record.status;
  return initWaitsForStart(store.path(record.id, START_FIFO)) ? 'created' : 'running';
}

/**
 * The init holds the start fifo open (close-on-exec) until it execs the user's program, so a
 * non-blocking open for writing succeeds exactly while it still waits (ENXIO: no reader left).
 * Opening without writing leaves the init undisturbed.
 */
export function initWaitsForStart(fifo: string): boolean {
  try {
    closeSync(openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK));
    return true;
  } catch {
    return false;
  }
}
