// linux.namespaces → the host steps of stage 0 (join existing namespaces, make the time namespace)
// and the clone flags and id maps of the container init.
import type { IdMapping, Namespace, Spec } from '../spec/types.ts';
import {
  CLONE_NEWCGROUP, CLONE_NEWIPC, CLONE_NEWNET, CLONE_NEWNS, CLONE_NEWPID, CLONE_NEWTIME, CLONE_NEWUSER, CLONE_NEWUTS,
} from './constants.ts';
import { invalid } from './invalid.ts';
import { joinPath, quote } from '../spec/quote.ts';
import { toBigInt } from './numbers.ts';
import type { CloneStep, HostStep, NamespaceType } from './types.ts';

export const CLONE_FLAGS: Record<NamespaceType, number> = {
  user: CLONE_NEWUSER,
  mount: CLONE_NEWNS,
  uts: CLONE_NEWUTS,
  ipc: CLONE_NEWIPC,
  pid: CLONE_NEWPID,
  network: CLONE_NEWNET,
  cgroup: CLONE_NEWCGROUP,
  time: CLONE_NEWTIME,
};

/**
 * The order namespaces are joined in: runc's (configs.NamespaceTypes: user always first, so that the
 * others are joined with the privileges of the container's user namespace), except that the mount
 * namespace comes last. Stage 0 opens each path at its own step, and the spec defines every path in
 * the runtime's mount namespace: once the mount namespace is joined, a path like /var/run/netns/x
 * would be looked up in the container's mount table instead (runc opens every path up front).
 */
export const JOIN_ORDER: NamespaceType[] = ['user', 'ipc', 'uts', 'network', 'pid', 'cgroup', 'time', 'mount'];

/** The name of each namespace type under /proc/<pid>/ns. */
export const PROC_NAME: Record<NamespaceType, string> = {
  user: 'user', ipc: 'ipc', uts: 'uts', network: 'net', pid: 'pid', cgroup: 'cgroup', time: 'time', mount: 'mnt',
};

const CLOCKS = ['monotonic', 'boottime'] as const;

export interface Namespaces {
  /** the namespaces of the config by type: path set = join, path unset = create */
  byType: Map<NamespaceType, Namespace>;
  host: HostStep[];
  clone: CloneStep;
}

export const isNew = (ns: Namespaces, type: NamespaceType): boolean => ns.byType.has(type) && !ns.byType.get(type)!.path;
export const isJoined = (ns: Namespaces, type: NamespaceType): boolean => !!ns.byType.get(type)?.path;

/** `host`: the runtime's own uid and gid, which decide how the id maps can be written. */
export function planNamespaces(config: Spec, host: { uid: number; gid: number }): Namespaces {
  const linux = config.linux ?? {};
  const byType = new Map<NamespaceType, Namespace>();
  (linux.namespaces ?? []).forEach((ns, i) => {
    if (!Object.hasOwn(CLONE_FLAGS, ns.type)) throw invalid(`linux.namespaces[${i}].type`, `unknown namespace type ${quote(ns.type)}`);
    if (byType.has(ns.type)) throw invalid(`linux.namespaces[${i}]`, `duplicate ${ns.type} namespace`);
    byType.set(ns.type, ns);
  });
  const ns: Namespaces = { byType, host: [], clone: { op: 'clone', flags: 0 } };


  for (const type of JOIN_ORDER) {
    const path = byType.get(type)?.path;
    if (path) ns.host.push({ op: 'setns', type, path });
  }
  for (const [type, entry] of byType) {
    // CLONE_NEWTIME shares its bit with CSIGNAL in clone(2): stage 0 unshares it instead.
    if (!entry.path && type !== 'time') ns.clone.flags |= CLONE_FLAGS[type];
  }

  planIdMaps(config, ns, host);
  planTime(config, ns);
  return ns;
}

export function idMap(mappings: IdMapping[]): string {
  return mappings.map((m) => `${m.containerID} ${m.hostID} ${m.size}\n`).join('');
}

function planIdMaps(config: Spec, ns: Namespaces, host: { uid: number; gid: number }): void {
  const { uidMappings, gidMappings } = config.linux ?? {};
  const hasMappings = uidMappings !== undefined || gidMappings !== undefined;
  if (!ns.byType.has('user')) {
    // Named where the user namespace goes: linux.namespaces, or linux itself when the config has none.
    if (host.uid !== 0) throw invalid(config.linux ? 'linux.namespaces' : 'linux', 'an unprivileged user can create namespaces only inside a user namespace: add one with uid and gid mappings (see tsrun spec --rootless)');
    if (hasMappings) throw invalid(uidMappings ? 'linux.uidMappings' : 'linux.gidMappings', 'id mappings are given but linux.namespaces has no user namespace');
    return;
  }
  // Joining a user namespace: its maps are already written. Like runc, mappings that come along
  // (containerd and CRI-O send both) are not applied; runc also checks that they match, which
  // would need a read of /proc, so tsrun leaves that to the kernel.
  if (isJoined(ns, 'user')) return;
  if (!hasMappings) throw invalid('linux.uidMappings', 'a new user namespace needs uidMappings and gidMappings');
  if (uidMappings?.length) ns.clone.uidMap = idMap(uidMappings);
  if (gidMappings?.length) ns.clone.gidMap = idMap(gidMappings);
  if (host.uid !== 0) ns.clone.idMapper = mapsOnlySelf(uidMappings, host.uid) && mapsOnlySelf(gidMappings, host.gid) ? 'self' : 'helpers';
}

const mapsOnlySelf = (mappings: IdMapping[] = [], id: number) =>
  mappings.length === 1 && Number(mappings[0].hostID) === id && Number(mappings[0].size) === 1;

function planTime(config: Spec, ns: Namespaces): void {
  const offsets = config.linux?.timeOffsets;
  if (!ns.byType.has('time')) {
    if (offsets !== undefined) throw invalid('linux.timeOffsets', 'time offsets are given but linux.namespaces has no time namespace');
    return;
  }
  if (isJoined(ns, 'time')) {
    if (offsets !== undefined) throw invalid('linux.timeOffsets', 'a joined time namespace (with a path) cannot take offsets');
    return;
  }
  for (const clock of Object.keys(offsets ?? {})) {
    if (!(CLOCKS as readonly string[]).includes(clock)) throw invalid(joinPath('linux.timeOffsets', clock), `unknown clock (expected ${CLOCKS.join(' or ')})`);
  }
  ns.host.push({
    op: 'unshareTime',
    offsets: CLOCKS.filter((clock) => offsets?.[clock] !== undefined).map((clock) => ({
      clock,
      secs: toBigInt(offsets![clock].secs ?? 0, `linux.timeOffsets.${clock}.secs`),
      nanosecs: offsets![clock].nanosecs ?? 0,
    })),
  });
}
