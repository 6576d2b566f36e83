// linux.resources written to cgroup files. Each controller goes to the hierarchy that has it: a v1
// hierarchy of its own (src/cgroups/v1.ts), or the cgroup2 mount (src/cgroups/v2.ts); on a hybrid
// host, whichever holds the controller. A resource whose controller the host lacks is an error
// only when the config asks for it.
import { TsrunError } from '../errors.ts';
import { keyPath } from '../spec/quote.ts';
import type { LinuxResources } from '../spec/types.ts';
import { hugepageSize, isSet, nonZero } from './convert.ts';
import { deviceRules } from './devices.ts';
import { hasFile, writeFile } from './files.ts';
import type { Placement } from './hierarchies.ts';
import { blkioV1, cpuV1, devicesV1, memoryV1, netClsV1, netPrioV1, type BlockIO, type Network } from './v1.ts';
import { cpuV2, devicesV2, ioV2, memoryV2, unifiedV2 } from './v2.ts';

export interface ApplyOptions {
  /** changing a running container (`update`): memory.checkBeforeUpdate applies */
  update?: boolean;
}

/** The cgroup v2 name of a v1 controller where they differ. */
const V2_NAME: Record<string, string> = { blkio: 'io' };

/** The placement that serves `controller`: its v1 hierarchy first, else the cgroup2 directory if it has it enabled. */
export function placementOf(placements: Placement[], controller: string): Placement | undefined {
  return (
    placements.find((p) => p.version === 1 && p.controllers.includes(controller)) ??
    placements.find((p) => p.version === 2 && p.controllers.includes(V2_NAME[controller] ?? controller))
  );
}

function need(placements: Placement[], controller: string, field: string): Placement {
  const p = placementOf(placements, controller);
  if (!p) throw new TsrunError('ERR_CGROUP', `${field}: the ${controller} cgroup controller is not available on this host (neither a v1 hierarchy nor enabled in cgroup v2)`);
  return p;
}


export function applyResources(placements: Placement[], resources: LinuxResources | undefined, options: ApplyOptions = {}): void {
  const r = resources ?? {};
  const update = options.update ?? false;
  // create always filters devices, as runc does; update leaves the filter as create set it
  if (!update) {
    const rules = deviceRules(r.devices);
    const v1 = placements.find((p) => p.version === 1 && p.controllers.includes('devices'));
    const v2 = placements.find((p) => p.version === 2);
    if (v1) devicesV1(v1.dir, rules);
    else if (v2) devicesV2(v2.dir, rules);
    else need(placements, 'devices', 'linux.resources.devices');
  }
  // 0 leaves the limit alone (runc's reading), a negative value removes it
  if (r.pids && nonZero(r.pids.limit)) {
    const p = need(placements, 'pids', 'linux.resources.pids');
    writeFile(p.dir, 'pids.max', BigInt(r.pids.limit) > 0n ? r.pids.limit : 'max', 'linux.resources.pids.limit');
  }
  if (r.memory && hasAny(r.memory, ['limit', 'reservation', 'swap', 'swappiness', 'disableOOMKiller'])) {
    const p = need(placements, 'memory', 'linux.resources.memory');
    (p.version === 1 ? memoryV1 : memoryV2)(p.dir, r.memory, update);
  }
  if (r.cpu) applyCpu(placements, r.cpu);
  const blockIO = r.blockIO as BlockIO | undefined;
  if (blockIO && hasAny(blockIO, ['weight', 'leafWeight', 'weightDevice', 'throttleReadBpsDevice', 'throttleWriteBpsDevice', 'throttleReadIOPSDevice', 'throttleWriteIOPSDevice'])) {
    const p = need(placements, 'blkio', 'linux.resources.blockIO');
    (p.version === 1 ? blkioV1 : ioV2)(p.dir, blockIO);
  }
  for (const [i, h] of (r.hugepageLimits ?? []).entries()) {
    const field = `linux.resources.hugepageLimits[${i}]`;
    const p = need(placements, 'hugetlb', field);
    const size = hugepageSize(h.pageSize);
    if (p.version === 1) writeFile(p.dir, `hugetlb.${size}.limit_in_bytes`, h.limit, field);
    else {
      writeFile(p.dir, `hugetlb.${size}.max`, h.limit, field);
      // the reservation limit too, or reserved but unfaulted pages escape the limit (runc does the same)
      if (hasFile(p.dir, `hugetlb.${size}.rsvd.max`)) writeFile(p.dir, `hugetlb.${size}.rsvd.max`, h.limit, field);
    }
  }
  const network = r.network as Network | undefined;
  if (isSet(network?.classID)) netClsV1(needV1(placements, 'net_cls', 'linux.resources.network.classID'), network);
  if (network?.priorities?.length) netPrioV1(needV1(placements, 'net_prio', 'linux.resources.network.priorities'), network);
  const rdma = r.rdma as Record<string, { hcaHandles?: number; hcaObjects?: number }> | undefined;
  for (const [device, limits] of Object.entries(rdma ?? {})) {
    const field = keyPath('linux.resources.rdma', device);
    if (!/^[\w.:-]+$/.test(device)) throw new TsrunError('ERR_CONFIG_INVALID', `${field}: not a device name`);
    const values = [isSet(limits.hcaHandles) && `hca_handle=${limits.hcaHandles}`, isSet(limits.hcaObjects) && `hca_object=${limits.hcaObjects}`].filter(Boolean);
    if (values.length) writeFile(need(placements, 'rdma', field).dir, 'rdma.max', `${device} ${values.join(' ')}`, field);
  }
  if (r.unified && Object.keys(r.unified).length) {
    const v2 = placements.find((p) => p.version === 2);
    if (!v2) throw new TsrunError('ERR_CGROUP', 'linux.resources.unified: this host has no cgroup v2 hierarchy');
    unifiedV2(v2.dir, r.unified, v2.controllers);
  }
}

function needV1(placements: Placement[], controller: string, field: string): string {
  const p = placements.find((q) => q.version === 1 && q.controllers.includes(controller));
  if (!p) throw new TsrunError('ERR_CGROUP', `${field}: the ${controller} cgroup controller is not available on this host (cgroup v2 has no equivalent)`);
  return p.dir;
}

function applyCpu(placements: Placement[], c: NonNullable<LinuxResources['cpu']>): void {
  if (hasAny(c, ['shares', 'quota', 'period', 'burst', 'idle', 'realtimeRuntime', 'realtimePeriod'])) {
    const p = need(placements, 'cpu', 'linux.resources.cpu');
    (p.version === 1 ? cpuV1 : cpuV2)(p.dir, c);
  }
  if (c.cpus || c.mems) {
    const p = need(placements, 'cpuset', 'linux.resources.cpu.cpus');
    if (c.cpus) writeFile(p.dir, 'cpuset.cpus', c.cpus, 'linux.resources.cpu.cpus');
    if (c.mems) writeFile(p.dir, 'cpuset.mems', c.mems, 'linux.resources.cpu.mems');
  }
}

function hasAny(object: object, keys: string[]): boolean {
  const o = object as Record<string, unknown>;
  return keys.some((k) => isSet(o[k]) && !(Array.isArray(o[k]) && (o[k] as unknown[]).length === 0));
}
