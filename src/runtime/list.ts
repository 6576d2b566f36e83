import type { Runtime } from './context.ts';
import { stateOf, type ContainerState } from './state.ts';

/** Every container under the root; a directory left by a create killed early shows as creating. */
export function list(rt: Runtime): ContainerState[] {
  return rt.store.ids().flatMap((id) => {
    const record = rt.store.tryRead(id);
    if (record) return [stateOf(rt, record)];
    return [{ ociVersion: '', id, status: 'creating' as const, pid: 0, bundle: '', rootfs: '', created: '', owner: '', annotations: {} }];
  });
}
