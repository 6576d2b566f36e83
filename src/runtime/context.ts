// What every verb is given: the state root and a store over it.
import { StateStore } from '../state/store.ts';

export const DEFAULT_ROOT = '/run/tsrun';

/**
 * The state root when --root is not given: /run/tsrun for root; for an unprivileged user
 * $XDG_RUNTIME_DIR/tsrun (as runc), since /run is not theirs. podman calls some verbs with an
 * empty XDG_RUNTIME_DIR, which then means the root default.
 */
export function defaultRoot(env: NodeJS.ProcessEnv = process.env, euid = process.geteuid?.() ?? 0): string {
  return euid !== 0 && env.XDG_RUNTIME_DIR ? `${env.XDG_RUNTIME_DIR}/tsrun` : DEFAULT_ROOT;
}

export interface Runtime {
  root: string;
  store: StateStore;
}

export function openRuntime(root: string = DEFAULT_ROOT): Runtime {
  return { root, store: new StateStore(root) };
}
