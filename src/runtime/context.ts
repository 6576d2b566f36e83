// What every verb is given: the state root and a store over it.
import { StateStore } from '../state/store.ts';

export const DEFAULT_ROOT = '/run/tsrun';

export interface Runtime {
  root: string;
  store: StateStore;
}

export function openRuntime(root: string = DEFAULT_ROOT): Runtime {
  return { root, store: new StateStore(root) };
}
