// One directory per container under the state root, holding state.json (written atomically: a
// temporary file renamed over the old one) and the two start fifos. The record keeps what later
// verbs need from config.json as it was at create time, since the spec forbids later edits of
// config.json from affecting the container.
import { mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { TsrunError, systemError } from '../errors.ts';
import { replaceFile } from '../files.ts';
import type { NamespaceType } from '../plan/types.ts';
import { parseJson, stringifyJson } from '../spec/load.ts';
import type { Hook, Process } from '../spec/types.ts';
import type { CreatedCgroups } from '../cgroups/manager.ts';

/** The status tsrun records; `stopped` is never recorded, it is observed (see status.ts). */
export type RecordedStatus = 'creating' | 'created' | 'running' | 'paused';

export interface ContainerRecord {
  ociVersion: string;
  id: string;
  bundle: string;
  rootfs: string;
  /** RFC 3339 creation time */
  created: string;
  annotations: Record<string, string>;
  status: RecordedStatus;
  /** host pid of the container init, 0 until it exists */
  pid: number;
  /** field 22 of /proc/<pid>/stat: tells the init from a later process that reused its pid */
  initStartTime: string;
  /** the cgroups of the container and which of them tsrun created */
  cgroups: CreatedCgroups;
  /**
   * set while create makes the cgroups: those it was about to make, for a delete after a create
   * killed before it recorded `cgroups` (they are only removed when empty, nothing in them is killed)
   */
  pendingCgroups?: CreatedCgroups;
  hooks: { poststart?: Hook[]; poststop?: Hook[] };
  /** config.json had a `process`: without one the container can be created but not started */
  hasProcess: boolean;
  /** the container's namespaces, which `exec` joins through /proc/<pid>/ns */
  namespaces: NamespaceType[];
  /** config.json's process at create time: the base of an `exec` without --process */
  process?: Process;
  /**
   * without a mount namespace: the rootfs bind in the host mount table, which holds every mount of
   * the container; recorded before it is attached
   */
  rootfsMount?: MountIdentity;
}

/**
 * A mount by identity: its mount id (as /proc/self/mountinfo shows it, reused once it is gone) and,
 * where the kernel has one (Linux 6.8), its id that is never reused (decimal; "0" when none).
 */
export interface MountIdentity {
  id: number;
  unique: string;
}

export class StateStore {
  constructor(readonly root: string) {}

  dir(id: string): string {
    return join(this.root, id);
  }

  path(id: string, file: string): string {
    return join(this.root, id, file);
  }

  /** Creates the container's directory; fails if the id is taken. mkdir is the atomic claim. */
  claim(id: string): void {
    try {
      mkdirSync(this.root, { recursive: true, mode: 0o700 });
    } catch (err) {
      throw systemError(`create state root ${this.root}`, err);
    }
    try {
      mkdirSync(this.dir(id), { mode: 0o700 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
        throw new TsrunError('ERR_EXISTS', `container ${id} already exists`);
      }
      throw systemError(`create state directory ${this.dir(id)}`, err);
    }
  }

  exists(id: string): boolean {
    try {
      readFileSync(this.path(id, 'state.json'));
      return true;
    } catch {
      return false;
    }
  }

  /** Reads a record; a directory without a readable record (a create killed early) reads as undefined. */
  tryRead(id: string): ContainerRecord | undefined {
    let text: string;
    try {
      text = readFileSync(this.path(id, 'state.json'), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw systemError(`read state of ${id}`, err);
    }
    try {
      // the config's own process is kept, with its big integers (an rlimit of 2^64-1) exact
      return parseJson(text, 'state.json') as ContainerRecord;
    } catch {
      return undefined;
    }
  }

  read(id: string): ContainerRecord {
    const record = this.tryRead(id);
    if (!record) throw new TsrunError('ERR_NOT_FOUND', `container ${id} does not exist`);
    return record;
  }

  /** True when the id has a state directory at all, even a half-written one. */
  hasDir(id: string): boolean {
    try {
      readdirSync(this.dir(id));
      return true;
    } catch {
      return false;
    }
  }

  write(record: ContainerRecord): void {
    replaceFile(this.path(record.id, 'state.json'), stringifyJson(record), `state of ${record.id}`, 0o600);
  }

  remove(id: string): void {
    rmSync(this.dir(id), { recursive: true, force: true });
  }

  /** Ids with a state directory, sorted. */
  ids(): string[] {
    try {
      return readdirSync(this.root, { withFileTypes: true })
        .filter((e) => e.isDirectory())
        .map((e) => e.name)
        .sort();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw systemError(`list ${this.root}`, err);
    }
  }
}
