// `pause` and `resume`: freeze and thaw every process of a running container.
import { setFrozen } from '../cgroups/freezer.ts';
import { TsrunError } from '../errors.ts';
import { validateId } from '../state/id.ts';
import { withLock } from '../state/lock.ts';
import { observeStatus } from '../state/status.ts';
import type { Runtime } from './context.ts';

export async function pause(rt: Runtime, id: string): Promise<void> {
  await withLock(rt.root, validateId(id), async () => {
    const record = rt.store.read(id);
    const status = observeStatus(rt.store, record);
    if (status !== 'running' && status !== 'created') throw new TsrunError('ERR_STATE', `cannot pause container ${id}: it is ${status}, not running`);
    await setFrozen(record.cgroups.placements, true);
    record.status = 'paused';
    rt.store.write(record);
  });
}

export async function resume(rt: Runtime, id: string): Promise<void> {
  await withLock(rt.root, validateId(id), async () => {
    const record = rt.store.read(id);
    const status = observeStatus(rt.store, record);
    if (status !== 'paused') throw new TsrunError('ERR_STATE', `cannot resume container ${id}: it is ${status}, not paused`);
    await setFrozen(record.cgroups.placements, false);
    record.status = 'running';
    rt.store.write(record);
  });
}
