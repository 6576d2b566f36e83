// Facts about the host that create hands to validation and to the plan.
import { readFileSync, statSync } from 'node:fs';
import { PROC_NAME } from '../plan/namespaces.ts';
import type { NamespaceType } from '../plan/types.ts';
import type { Spec } from '../spec/types.ts';
import type { HostFacts, JoinedNamespace } from '../spec/validate.ts';

/** The highest capability number this kernel knows. */
export function capLastCap(): number {
  return Number(readFileSync('/proc/sys/kernel/cap_last_cap', 'utf8'));
}

/**
 * The facts validation needs: whether each namespace that linux.namespaces joins by path is the
 * runtime's own (the same nsfs device and inode as /proc/self/ns/<type>, as runc's isHostNetNS
 * compares). Read before validation, so that nothing exists yet when a rule refuses the config.
 */
export function hostFacts(config: Spec): HostFacts {
  const joinedNamespaces = new Map<string, JoinedNamespace>();
  const namespaces: unknown = config.linux?.namespaces;
  for (const ns of Array.isArray(namespaces) ? namespaces : []) {
    const { type, path } = (ns ?? {}) as { type?: unknown; path?: unknown };
    if (typeof type !== 'string' || typeof path !== 'string' || !Object.hasOwn(PROC_NAME, type)) continue;
    try {
      const [joined, own] = [statSync(path, { bigint: true }), statSync(`/proc/self/ns/${PROC_NAME[type as NamespaceType]}`, { bigint: true })];
      joinedNamespaces.set(type, joined.dev === own.dev && joined.ino === own.ino ? 'runtime' : 'other');
    } catch (err) {
      joinedNamespaces.set(type, { unknown: (err as NodeJS.ErrnoException).code ?? 'not a path' });
    }
  }
  return { joinedNamespaces };
}
