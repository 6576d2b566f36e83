// Starts the container init and talks to it (see native-shim/init.c for the whole dance).
//
// Stage 0 is spawned through libuv with create's stdio, the --preserve-fds descriptors at 3..3+N-1,
// and the sync socket right after them; it re-execs itself from a sealed memfd, walks the host
// steps, clones the init and exits. The init reports on the same socket, line by line.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { constants } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { TsrunError, describeErrno, errnoName, nativeError } from '../errors.ts';
import { debug } from '../log.ts';
import { nativeDir } from '../paths.ts';
import { describePlan } from '../plan/build.ts';
import { describeStep, type Plan } from '../plan/types.ts';
import { escapeUnsafe } from '../spec/quote.ts';
import type { MountIdentity } from '../state/store.ts';
import { shimLibrary } from './binding.ts';
import { encodePlan, frame } from './encode.ts';

/** The container's stdin, stdout and stderr: open fds, or this process's own. */
export type StdioFds = [number | 'inherit', number | 'inherit', number | 'inherit'];

export interface SpawnCallbacks {
  /** stage 0 runs but has not cloned yet: put it in the container's cgroups so the init is born there */
  onStage0(stage0Pid: number): void;
  /** the init waits for the prestart and createRuntime hooks; resolve with the state JSON for its own hooks */
  onCreateRuntime(initPid: number): Promise<string>;
  /** (bindRootfsInHost) the init attaches its rootfs bind in the host mount table once this returns: record it */
  onRootfsMount?(mount: MountIdentity, initPid: number): void;
}

/**
 * Spawns the init and resolves with its pid once it waits on the start fifo, or, for a plan
 * without waitStart (exec), once it has exec'd the program.
 */
export function spawnInit(plan: Plan, options: { preserveFds: number; stdio?: StdioFds }, callbacks: SpawnCallbacks): Promise<number> {
  for (const line of describePlan(plan)) debug(`plan ${line}`);
  const preserved = Array.from({ length: options.preserveFds }, (_, i) => 3 + i);
  const syncFd = 3 + options.preserveFds;
  const stage0 = spawn(join(nativeDir(), 'tsrun-init'), ['stage0', String(syncFd)], {
    stdio: [...(options.stdio ?? ['inherit', 'inherit', 'inherit']), ...preserved, 'pipe'],
    env: {},
  });
  const sync = stage0.stdio[syncFd] as Duplex;
  let initPid = 0;

  return new Promise<number>((resolve, reject) => {
    let settled = false;
    const finish = (err: Error | undefined) => {
      if (settled) return;
      settled = true;
      sync.destroy();
      stage0.unref();
      if (!err) return resolve(initPid);
      // stage0.kill does nothing once libuv has reaped it (its pid may be someone else's by then);
      // the init is never reaped here, so its pid stays its own (a zombie at worst).
      stage0.kill('SIGKILL');
      if (initPid > 0) {
        try {
          process.kill(initPid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      reject(err);
    };
    stage0.on('error', (err) => finish(new TsrunError('ERR_SPAWN', `start the container init: ${err.message}`, { cause: err })));
    if (stage0.pid === undefined) return;
    try {
      callbacks.onStage0(stage0.pid);
    } catch (err) {
      return finish(err as Error);
    }

    let execing = false;
    let pending = '';
    sync.setEncoding('utf8'); // error text may hold multibyte characters split across reads
    let queue = Promise.resolve();
    const handle = async (line: string): Promise<void> => {
      debug(`init: ${line}`);
      const [kind, ...rest] = line.split(' ');
      if (kind === 'init') {
        initPid = Number(rest[0]);
      } else if (kind === 'rootfsMount' && callbacks.onRootfsMount) {
        callbacks.onRootfsMount({ id: Number(rest[0]), unique: String(BigInt(rest[1])) }, initPid);
        sync.write(frame(Buffer.alloc(0)));
      } else if (kind === 'createRuntime') {
        const state = await callbacks.onCreateRuntime(initPid);
        sync.write(frame(Buffer.from(state)));
      } else if (kind === 'ready') {
        finish(undefined);
      } else if (kind === 'exec') {
        execing = true; // success is the socket closing with the execve

      } else if (kind === 'error') {
        finish(initError(plan, rest));
      } else {
        finish(new TsrunError('ERR_SPAWN', `unexpected message from the container init: ${line}`));
      }
    };
    sync.on('data', (chunk: string) => {
      pending += chunk;
      let newline: number;
      while ((newline = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, newline);
        pending = pending.slice(newline + 1);
        queue = queue.then(() => (settled ? undefined : handle(line))).catch((err: Error) => finish(err));
      }
    });
    sync.on('error', () => {
      // EPIPE or ECONNRESET: the init died; 'close' reports it
    });
    sync.on('close', () => {
      queue = queue.then(() => finish(execing ? undefined : new TsrunError('ERR_SPAWN', 'the container init exited before it was ready')));
    });
    sync.write(encodePlan(plan));
  });
}

/** "error <phase> <index> <errno> <text>" → a TsrunError naming the step. */
function initError(plan: Plan, [phase, index, errnum, ...text]: string[]): TsrunError {
  const step = phase === 'host' ? plan.host[Number(index)] : phase === 'container' ? plan.container[Number(index)] : phase === 'clone' ? plan.clone : undefined;
  const errno = errnoName(Number(errnum));
  // The init echoes paths, options and types from config.json as they are: escape and shorten.
  const said = escapeUnsafe(text.join(' '));
  const detail = (said.length > 300 ? `${said.slice(0, 300)}... (${said.length} characters)` : said) || (step ? describeStep(step) : 'container init');
  const message = errno ? `${detail}: ${errno} (${describeErrno(errno)})` : detail;
  return new TsrunError(step?.op === 'hooks' ? 'ERR_HOOK' : 'ERR_SPAWN', message, { errno });
}

export interface ExitStatus {
  exitCode: number | null;
  signal: number | null;
}

/** Waits for the container init (a child of this process through CLONE_PARENT) to exit. */
export async function waitForExit(pid: number): Promise<ExitStatus> {
  const status = await shimLibrary().waitExit(pid);
  if (status < 0) throw nativeError(`wait for process ${pid}`, status);
  const signal = status & 0x7f;
  return signal === 0 ? { exitCode: (status >> 8) & 0xff, signal: null } : { exitCode: null, signal };
}

/**
 * Receives the pty master a container sends to its --console-socket, from an accepted connection
 * (a net.Socket of a net.Server listening on that path).
 */
export async function receiveTerminal(connection: { _handle?: { fd?: number } }): Promise<number> {
  const fd = connection._handle?.fd;
  if (fd === undefined || fd < 0) throw new TsrunError('ERR_USAGE', 'receiveTerminal needs a connected unix socket');
  const received = await shimLibrary().receiveFd(fd);
  if (received < 0) throw nativeError('receive the terminal', received);
  return received;
}

/**
 * Unmounts the rootfs bind of a container without a mount namespace (bindRootfsInHost), found by
 * its identity at `rootfs`, and with it everything mounted inside it: MNT_DETACH takes the whole
 * tree, innermost mounts included. A mount that was below the rootfs in the host's table before
 * is not in that tree and stays. Mounts stacked on the bind at the same place (the container's own,
 * over its /) go first, each by its identity too. Nothing is found by a path the container could
 * redirect: only `rootfs` itself, a host path, is resolved. A bind already gone is no error; a
 * path gone while its mount id is still in the mount table is.
 */
export function unmountRootfsMount(rootfs: string, mount: MountIdentity): void {
  const lib = shimLibrary();
  const expected = Buffer.alloc(16);
  expected.writeBigUInt64LE(BigInt(mount.id), 0);
  expected.writeBigUInt64LE(BigInt(mount.unique), 8);
  const failed = (what: string, result: number) => nativeError(`unmount the rootfs bind at ${rootfs}: ${what}`, result);
  for (let stacked = 0; stacked < 1000; stacked++) {
    const top = Buffer.alloc(16);
    const result = lib.mountIds(rootfs, top);
    if (result === -constants.errno.ENOENT) {
      // the path is gone (a directory above it renamed, say), perhaps not the mount: the state
      // stays until it is unmounted, never dropped while the mount remains
      const left = mountTable().get(mount.id);
      if (left) throw new TsrunError('ERR_SYSTEM', `unmount the rootfs bind at ${rootfs}: the path is gone but mount ${mount.id} (${left.mountPoint}) is still mounted`);
      return;
    }
    if (result < 0) throw failed('read its mount id', result);
    const topId = Number(top.readBigUInt64LE(0));
    if (topId === mount.id) {
      const unmounted = lib.unmountMount(rootfs, expected);
      // ESTALE: the id is another mount's now, ours is gone
      if (unmounted === 0 || unmounted === -constants.errno.ESTALE) return;
      throw failed('detach it', unmounted);
    }
    const table = mountTable();
    const ours = table.get(mount.id);
    if (!ours) return;
    // the mount on top is the container's only when it stands on ours, at the same place
    let below = table.get(topId);
    while (below && below.id !== mount.id && below.mountPoint === ours.mountPoint) below = table.get(below.parent);
    if (below?.id !== mount.id) throw new TsrunError('ERR_SYSTEM', `unmount the rootfs bind at ${rootfs}: mount ${topId} there is not on it`);
    const unmounted = lib.unmountMount(rootfs, top);
    if (unmounted < 0 && unmounted !== -constants.errno.ESTALE) throw failed(`detach mount ${topId} on it`, unmounted);
  }
  throw new TsrunError('ERR_SYSTEM', `unmount the rootfs bind at ${rootfs}: too many mounts stacked on it`);
}

/** /proc/self/mountinfo by mount id: parent id and mount point (as escaped there). */
function mountTable(): Map<number, { id: number; parent: number; mountPoint: string }> {
  const table = new Map<number, { id: number; parent: number; mountPoint: string }>();
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const [id, parent, , , mountPoint] = line.split(' ');
    if (mountPoint !== undefined) table.set(Number(id), { id: Number(id), parent: Number(parent), mountPoint });
  }
  return table;
}
