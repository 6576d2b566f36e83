// Valid config fields that tsrun does not implement. A container that asks for one of them is
// refused before anything exists ("not supported: linux.seccomp"), rather than run without it.
//
// A field left at its zero value ("", 0, false, [], {} or an object holding only such values)
// asks for nothing and is not refused: runc, written in Go, cannot tell it from an absent field,
// and callers that build the config from Go structs emit empty objects such as `"blockIO": {}`.
import type { Spec } from './types.ts';

/** Paths in config.json; `[]` stands for every element of an array. */
export const UNSUPPORTED: readonly string[] = [
  'process.apparmorProfile',
  'process.scheduler',
  'process.ioPriority',
  'process.execCPUAffinity',
  'mounts[].uidMappings', // idmapped mounts
  'mounts[].gidMappings',
  'linux.seccomp',
  'linux.intelRdt',
  'linux.personality',
  'linux.netDevices',
  'linux.memoryPolicy',
];

/** Fields that ask for something even when empty: `"intelRdt": {}` means a resctrl group named after the container. */
const PRESENCE_COUNTS: ReadonlySet<string> = new Set(['linux.intelRdt']);

/**
 * Valid fields that tsrun reads and deliberately leaves alone, as runc does: the kernel memory limit
 * (deprecated by the kernel, ignored by runc since 1.0; kernelTCP is applied where v1 has it), memory.useHierarchy (always on in cgroup
 * v2; runc does not apply it), memory.checkBeforeUpdate (read by `update` only, see
 * src/cgroups/v1.ts) and SELinux labels (SELinux is not enabled on the hosts
 * tsrun runs on; runc skips labels when SELinux is off). Listed for the reader and the tests;
 * nothing refuses them.
 */
export const IGNORED: readonly string[] = [
  'process.selinuxLabel',
  'linux.mountLabel',
  'linux.resources.memory.kernel',
  'linux.resources.memory.useHierarchy',
  'linux.resources.memory.checkBeforeUpdate',
];

/** The concrete paths (e.g. "mounts[3].uidMappings") of the unsupported fields the config sets. */
export function unsupportedPaths(config: Spec): string[] {
  const found: string[] = [];
  for (const pattern of UNSUPPORTED) {
    for (const { path, value } of resolve(config, pattern)) {
      if (PRESENCE_COUNTS.has(pattern) ? value !== undefined && value !== null : !isZero(value)) found.push(path);
    }
  }
  return found;
}

function resolve(root: unknown, pattern: string): { path: string; value: unknown }[] {
  let nodes: { path: string; value: unknown }[] = [{ path: '', value: root }];
  for (const part of pattern.split('.')) {
    const each = part.endsWith('[]');
    const key = each ? part.slice(0, -2) : part;
    nodes = nodes.flatMap(({ path, value }) => {
      const child = isObject(value) ? value[key] : undefined;
      const childPath = path ? `${path}.${key}` : key;
      if (!each) return [{ path: childPath, value: child }];
      return Array.isArray(child) ? child.map((v, i) => ({ path: `${childPath}[${i}]`, value: v })) : [];
    });
  }
  return nodes;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isZero(value: unknown): boolean {
  if (value === undefined || value === null || value === '' || value === 0 || value === 0n || value === false) return true;
  if (Array.isArray(value)) return value.length === 0;
  if (isObject(value)) return Object.values(value).every(isZero);
  return false;
}
