// `state`: the spec's state JSON, with runc's extra fields (rootfs, created, owner).
import type { ContainerRecord } from '../state/store.ts';
import { observeStatus, type Status } from '../state/status.ts';
import type { Runtime } from './context.ts';

export interface ContainerState {
  ociVersion: string;
  id: string;
  status: Status;
  pid: number;
  bundle: string;
  rootfs: string;
  created: string;
  owner: string;
  annotations: Record<string, string>;
}

export function stateOf(rt: Runtime, record: ContainerRecord): ContainerState {
  const status = observeStatus(rt.store, record);
  return {
    ociVersion: record.ociVersion,
    id: record.id,
    status,
    // A stopped container has no process: pid 0, as podman and containerd expect.
    pid: status === 'stopped' ? 0 : record.pid,
    bundle: record.bundle,
    rootfs: record.rootfs,
    created: record.created,
    owner: '',
    annotations: record.annotations,
  };
}

export function state(rt: Runtime, id: string): ContainerState {
  return stateOf(rt, rt.store.read(id));
}

/** The state handed to hooks: the spec's fields only. */
export function hookState(record: ContainerRecord, status: Status, pid = record.pid): string {
  return JSON.stringify({
    ociVersion: record.ociVersion,
    id: record.id,
    status,
    pid,
    bundle: record.bundle,
    annotations: record.annotations,
  });
}
