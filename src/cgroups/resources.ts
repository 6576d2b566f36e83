// linux.resources written to cgroup files. Each controller goes to the hierarchy that has it: a v1
// hierarchy of its own, or the cgroup2 mount (on a hybrid host, whichever holds the controller).
// What tsrun cannot apply is refused before the container exists (see src/spec/unsupported.ts).
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TsrunError, systemError } from '../errors.ts';
import type { Int64, LinuxResources, LinuxDeviceCgroup } from '../spec/types.ts';

/** A cgroup directory and the controllers it offers. */
export interface Placement {
  dir: string;
  version: 1 | 2;
  controllers: string[];
}

/** Devices every container may use whatever its rules say (runc's list): the spec's default devices and ptys. */
const DEFAULT_ALLOWED: LinuxDeviceCgroup[] = [
  { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' }, // null
  { allow: true, type: 'c', major: 1, minor: 5, access: 'rwm' }, // zero
  { allow: true, type: 'c', major: 1, minor: 7, access: 'rwm' }, // full
  { allow: true, type: 'c', major: 1, minor: 8, access: 'rwm' }, // random
  { allow: true, type: 'c', major: 1, minor: 9, access: 'rwm' }, // urandom
  { allow: true, type: 'c', major: 5, minor: 0, access: 'rwm' }, // tty
  { allow: true, type: 'c', major: 5, minor: 1, access: 'rwm' }, // console
  { allow: true, type: 'c', major: 5, minor: 2, access: 'rwm' }, // ptmx
  { allow: true, type: 'c', major: 136, access: 'rwm' }, // pts/*
];

function find(placements: Placement[], controller: string): Placement | undefined {
  return placements.find((p) => p.controllers.includes(controller));
}

function write(dir: string, file: string, value: string | number | bigint): void {
  try {
    writeFileSync(join(dir, file), String(value));
  } catch (err) {
    throw systemError(`write ${value} to cgroup file ${join(dir, file)}`, err, 'ERR_CGROUP');
  }
}

function need(placements: Placement[], controller: string, field: string): Placement {
  const p = find(placements, controller);
  if (!p) throw new TsrunError('ERR_CGROUP', `${field}: the ${controller} cgroup controller is not available on this host`);
  return p;
}

/** The config's device rules, then the default devices and linux.devices: last match wins. */
export function deviceRules(resources: LinuxResources | undefined, devices: { type: string; major?: Int64; minor?: Int64 }[] = []): LinuxDeviceCgroup[] {
  return [
    ...(resources?.devices ?? []),
    ...DEFAULT_ALLOWED,
    ...devices.filter((d) => d.type !== 'p').map((d) => ({ allow: true, type: d.type === 'u' ? 'c' : d.type, major: d.major, minor: d.minor, access: 'rwm' })),
  ];
}

function v1DeviceRule(rule: LinuxDeviceCgroup): string {
  const id = (n: Int64 | undefined) => (n === undefined || Number(n) === -1 ? '*' : String(n));
  return `${rule.type ?? 'a'} ${id(rule.major)}:${id(rule.minor)} ${rule.access ?? 'rwm'}`;
}

export function applyResources(placements: Placement[], resources: LinuxResources | undefined, devices: { type: string; major?: Int64; minor?: Int64 }[] = []): void {
  const r = resources ?? {};
  if (r.devices !== undefined) {
    const p = need(placements, 'devices', 'linux.resources.devices');
    if (p.version === 2) throw new TsrunError('ERR_NOT_SUPPORTED', 'not supported: linux.resources.devices on a cgroup v2 hierarchy');
    // Start from nothing, then replay the rules in order, so that the last matching rule wins.
    write(p.dir, 'devices.deny', 'a');
    for (const rule of deviceRules(r, devices)) write(p.dir, rule.allow ? 'devices.allow' : 'devices.deny', v1DeviceRule(rule));
  }
  if (r.pids?.limit !== undefined) {
    const p = need(placements, 'pids', 'linux.resources.pids');
    write(p.dir, 'pids.max', Number(r.pids.limit) > 0 ? r.pids.limit : 'max');
  }
  if (r.memory) applyMemory(need(placements, 'memory', 'linux.resources.memory'), r.memory);
  if (r.cpu) applyCpu(placements, r.cpu);
}

const isSet = (v: unknown): v is number | bigint => v !== undefined && v !== null;
/** -1 means unlimited in the spec. */
const limit = (v: number | bigint, v2: boolean) => (BigInt(v) < 0n ? (v2 ? 'max' : '-1') : v);

function applyMemory(p: Placement, m: NonNullable<LinuxResources['memory']>): void {
  const v2 = p.version === 2;
  if (v2) {
    if (isSet(m.limit)) write(p.dir, 'memory.max', limit(m.limit, true));
    if (isSet(m.reservation)) write(p.dir, 'memory.low', limit(m.reservation, true));
    // v1's swap is memory+swap; v2's memory.swap.max is swap alone (runc's conversion).
    if (isSet(m.swap)) {
      const swap = BigInt(m.swap);
      const mem = isSet(m.limit) ? BigInt(m.limit) : -1n;
      write(p.dir, 'memory.swap.max', swap < 0n ? 'max' : mem < 0n ? swap : swap - mem);
    }
    return;
  }
  // memsw must stay >= the memory limit at every step: raise memsw first when growing.
  const writes: [string, number | bigint | string][] = [];
  if (isSet(m.limit)) writes.push(['memory.limit_in_bytes', limit(m.limit, false)]);
  if (isSet(m.swap)) writes.push(['memory.memsw.limit_in_bytes', limit(m.swap, false)]);
  try {
    for (const [file, value] of writes) write(p.dir, file, value);
  } catch {
    for (const [file, value] of writes.reverse()) write(p.dir, file, value);
  }
  if (isSet(m.reservation)) write(p.dir, 'memory.soft_limit_in_bytes', limit(m.reservation, false));
  if (isSet(m.swappiness)) write(p.dir, 'memory.swappiness', m.swappiness);
  if (m.disableOOMKiller) write(p.dir, 'memory.oom_control', '1');
}

function applyCpu(placements: Placement[], c: NonNullable<LinuxResources['cpu']>): void {
  if (isSet(c.shares) || isSet(c.quota) || isSet(c.period)) {
    const p = need(placements, 'cpu', 'linux.resources.cpu');
    if (p.version === 2) {
      // runc's and crun's conversion of shares [2, 262144] to weight [1, 10000]
      if (isSet(c.shares)) write(p.dir, 'cpu.weight', 1 + Math.floor(((Number(c.shares) - 2) * 9999) / 262142));
      if (isSet(c.quota) || isSet(c.period)) {
        const quota = isSet(c.quota) && BigInt(c.quota) > 0n ? String(c.quota) : 'max';
        write(p.dir, 'cpu.max', isSet(c.period) ? `${quota} ${c.period}` : quota);
      }
    } else {
      if (isSet(c.shares)) write(p.dir, 'cpu.shares', c.shares);
      if (isSet(c.period)) write(p.dir, 'cpu.cfs_period_us', c.period);
      if (isSet(c.quota)) write(p.dir, 'cpu.cfs_quota_us', c.quota);
    }
  }
  if (c.cpus || c.mems) {
    const p = need(placements, 'cpuset', 'linux.resources.cpu.cpus');
    if (c.cpus) write(p.dir, 'cpuset.cpus', c.cpus);
    if (c.mems) write(p.dir, 'cpuset.mems', c.mems);
  }
}

/** The controllers a cgroup2 directory can use. */
export function v2Controllers(dir: string): string[] {
  try {
    return readFileSync(join(dir, 'cgroup.controllers'), 'utf8').trim().split(/\s+/).filter(Boolean);
  } catch {
    return [];
  }
}
