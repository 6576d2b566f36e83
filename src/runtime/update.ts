// `update`: change the resource limits of a container that exists (created, running or paused).
// The limits are written to its cgroups as create writes them; memory.checkBeforeUpdate refuses
// a memory limit below the current usage.
import { applyResources } from '../cgroups/resources.ts';
import { TsrunError } from '../errors.ts';
import type { LinuxResources } from '../spec/types.ts';
import { validateId } from '../state/id.ts';
import { withLock } from '../state/lock.ts';
import { observeStatus } from '../state/status.ts';
import type { Runtime } from './context.ts';

export async function update(rt: Runtime, id: string, resources: LinuxResources): Promise<void> {
  if (resources.devices !== undefined) {
    // runc does not change device rules of a running container either: a new filter would not
    // revoke what the container has already opened.
    throw new TsrunError('ERR_NOT_SUPPORTED', 'not supported: update of linux.resources.devices');
  }
  await withLock(rt.root, validateId(id), () => {
    const record = rt.store.read(id);
    const status = observeStatus(rt.store, record);
    if (status === 'stopped' || status === 'creating') throw new TsrunError('ERR_STATE', `cannot update container ${id}: it is ${status}`);
    applyResources(record.cgroups.placements, resources, { update: true });
  });
}
