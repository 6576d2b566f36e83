// A lock per container id, so that concurrent verbs on one id cannot interleave: flock(2) on a
// file in the (0700) state root, which no other user can open, let alone lock (an abstract socket
// name, which any local user sees in /proc/net/unix and can bind first, could be squatted). The
// kernel releases it when the holder dies, so a tsrun killed halfway never leaves a stale lock.
// The file lives as long as the container: whoever holds the lock once the container is gone
// removes it, and a waiter that then finds it holds the lock of a removed file tries again.
import { createHash } from 'node:crypto';
import { closeSync, constants, existsSync, mkdirSync, openSync, rmSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { join } from 'node:path';
import { TsrunError, nativeError, systemError } from '../errors.ts';
import { isStill } from '../files.ts';
import { shimLibrary } from '../shim/binding.ts';

const WAIT_MS = 30_000;
const LOCK_EX = 2;
const LOCK_NB = 4;
const { errno } = osConstants;

/** The lock file of `id`: '~' is not allowed in ids, so no container directory has this name. */
export function lockFile(root: string, id: string): string {
  return join(root, `lock~${createHash('sha256').update(id).digest('hex').slice(0, 32)}`);
}

/** Runs fn while holding the lock of `id` under `root`; waits for another holder to finish. */
export async function withLock<T>(root: string, id: string, fn: () => Promise<T> | T): Promise<T> {
  const file = lockFile(root, id);
  const fd = await acquire(root, id, file);
  try {
    return await fn();
  } finally {
    try {
      // Removed while still held: a waiter that opened it meanwhile sees that it is gone.
      if (!existsSync(join(root, id))) rmSync(file, { force: true });
    } finally {
      closeSync(fd);
    }
  }
}

async function acquire(root: string, id: string, file: string): Promise<number> {
  try {
    mkdirSync(root, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw rootError(`create state root ${root}`, err);
  }
  const { flock } = shimLibrary();
  const deadline = Date.now() + WAIT_MS;
  for (let delay = 1; ; delay = Math.min(delay * 2, 50)) {
    let fd: number;
    try {
      fd = openSync(file, constants.O_RDWR | constants.O_CREAT | constants.O_NOFOLLOW, 0o600);
    } catch (err) {
      throw rootError(`state root ${root}: open the lock of container ${id}`, err);
    }
    const result = flock(fd, LOCK_EX | LOCK_NB);
    if (result === 0 && isStill(fd, file)) return fd;
    closeSync(fd);
    if (result === 0) continue; // the last holder removed it: lock the file now there
    if (result !== -errno.EWOULDBLOCK) {
      throw nativeError(`lock container ${id}`, result);
    }
    if (Date.now() > deadline) throw new TsrunError('ERR_LOCKED', `container ${id} is locked by another tsrun process`);
    await new Promise((r) => setTimeout(r, delay));
  }
}

/** A state root that cannot be written: one line naming it, with a hint for an unprivileged user. */
function rootError(step: string, err: unknown): TsrunError {
  const failure = systemError(step, err);
  return new TsrunError(failure.code, failure.message, { errno: failure.errno, hint: unwritableHint(err), cause: err });
}

function unwritableHint(err: unknown): string | undefined {
  if ((err as NodeJS.ErrnoException).code !== 'EACCES' || process.geteuid?.() === 0) return undefined;
  return process.env.XDG_RUNTIME_DIR ? 'choose a --root you can write to' : 'XDG_RUNTIME_DIR is not set: set it, or give a --root you can write to';
}
