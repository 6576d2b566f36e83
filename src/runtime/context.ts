// What every verb is given: the state root and a store over it.
import { statSync, statfsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { TsrunError, systemError } from '../errors.ts';
import { debug } from '../log.ts';
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
  checkRoot(root);
  debug(`state root ${root}`);
  return { root, store: new StateStore(root) };
}

const PSEUDO_FILESYSTEMS: Record<number, string> = { 0x9fa0: 'procfs', 0x62656572: 'sysfs' };

/**
 * Refuses a state root that cannot hold state, with one line naming it and the cause: a path
 * through a file, or one on procfs or sysfs (where creating it would fail at best, and a
 * recursive mkdir in /proc never ends). The root itself need not exist yet: the check is made
 * on the deepest directory that does.
 */
export function checkRoot(root: string): void {
  for (let dir = resolve(root); ; dir = dirname(dir)) {
    let isDirectory: boolean;
    try {
      isDirectory = statSync(dir).isDirectory();
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if ((code === 'ENOENT' || code === 'ENOTDIR') && dirname(dir) !== dir) continue;
      throw systemError(`state root ${root}: ${dir}`, err);
    }
    if (!isDirectory) throw new TsrunError('ERR_SYSTEM', `state root ${root}: ${dir} is not a directory`, { hint: 'choose another --root' });
    const fs = PSEUDO_FILESYSTEMS[Number(statfsSync(dir).type)];
    if (fs) throw new TsrunError('ERR_SYSTEM', `state root ${root}: ${dir} is on ${fs}, which cannot hold tsrun's state`, { hint: 'choose another --root' });
    return;
  }
}
