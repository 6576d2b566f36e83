// linux.sysctl → writes under /proc/sys, sorted by key so the plan is deterministic. Only sysctls
// of a namespace the container has of its own are allowed (runc's rules): anything else would
// change the host.
import type { Spec } from '../spec/types.ts';
import { invalid } from './invalid.ts';
import { joinPath } from '../spec/quote.ts';
import type { Namespaces } from './namespaces.ts';
import type { ContainerStep } from './types.ts';

const IPC_SYSCTLS = new Set([
  'kernel.msgmax', 'kernel.msgmnb', 'kernel.msgmni', 'kernel.sem', 'kernel.shmall', 'kernel.shmmax', 'kernel.shmmni', 'kernel.shm_rmid_forced',
]);

/**
 * sysctl(8) accepts "net/ipv4/ip_forward" as well as "net.ipv4.ip_forward": the dotted form is
 * canonical, with a '/' standing for a '.' inside a component ("net.ipv4.conf.eth0/100.rp_filter").
 */
export function canonicalSysctl(key: string): string {
  const sep = key.search(/[./]/);
  if (sep === -1 || key[sep] === '.') return key;
  return key.replace(/[./]/g, (ch) => (ch === '.' ? '/' : '.'));
}

/** The namespace that isolates a sysctl (runc's list of IPC sysctls, plus fs.mqueue.*), if any. */
export function requiredNamespace(key: string): 'ipc' | 'network' | 'uts' | 'user' | undefined {
  if (IPC_SYSCTLS.has(key) || key.startsWith('fs.mqueue.')) return 'ipc';
  if (key.startsWith('net.')) return 'network';
  if (key === 'kernel.domainname') return 'uts';
  if (key.startsWith('user.')) return 'user';
  return undefined;
}

export function planSysctl(config: Spec, ns: Namespaces): ContainerStep[] {
  const entries = Object.entries(config.linux?.sysctl ?? {}).map(([key, value]) => ({ key: canonicalSysctl(key), value, raw: key }));
  entries.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return entries.map(({ key, value, raw }) => {
    const where = joinPath('linux.sysctl', raw);
    if (key === 'kernel.hostname') throw invalid(where, 'set the hostname with the hostname field');
    const needs = requiredNamespace(key);
    if (!needs) throw invalid(where, 'this sysctl is not isolated by any namespace: it would change the host');
    if (!ns.byType.has(needs)) throw invalid(where, `this sysctl needs a ${needs} namespace of the container's own`);
    return { op: 'sysctl', key, value };
  });
}
