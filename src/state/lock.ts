// A lock per container id, so that concurrent verbs on one id cannot interleave. It is an
// abstract unix socket name: binding it is atomic, and the kernel releases it when the holder
// dies, so a tsrun killed halfway never leaves a stale lock behind. The name is derived from a
// secret kept in the (0700) state root, so other users cannot squat on it.
import { randomBytes, createHash } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { TsrunError, systemError } from '../errors.ts';

const KEY_FILE = '.lock-key';
const WAIT_MS = 30_000;

function lockKey(root: string): string {
  const file = join(root, KEY_FILE);
  try {
    return readFileSync(file, 'utf8');
  } catch {
    // First use of this root. The key is written aside and linked into place, which fails if a
    // racing first user won: nobody ever reads a key that is still being written (an empty one
    // would name a different lock), and a kill halfway leaves no half key behind.
    const tmp = `${file}.${process.pid}.tmp`;
    try {
      mkdirSync(root, { recursive: true, mode: 0o700 });
      writeFileSync(tmp, randomBytes(16).toString('hex'), { mode: 0o600 });
      linkSync(tmp, file);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
        const failure = systemError(`state root ${root}: create ${KEY_FILE}`, err);
        throw new TsrunError(failure.code, failure.message, { errno: failure.errno, hint: unwritableHint(err), cause: err });
      }
    } finally {
      removeQuietly(tmp);
    }
    return readFileSync(file, 'utf8');
  }
}

/** Where tmp could not be written it cannot be removed either: that must not hide the first error. */
function removeQuietly(path: string): void {
  try {
    rmSync(path, { force: true });
  } catch {
    // the error that matters is already on its way
  }
}

function unwritableHint(err: unknown): string | undefined {
  if ((err as NodeJS.ErrnoException).code !== 'EACCES' || process.geteuid?.() === 0) return undefined;
  return process.env.XDG_RUNTIME_DIR ? 'choose a --root you can write to' : 'XDG_RUNTIME_DIR is not set: set it, or give a --root you can write to';
}

function listen(name: string): Promise<Server | undefined> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', (err: NodeJS.ErrnoException) => (err.code === 'EADDRINUSE' ? resolve(undefined) : reject(err)));
    server.listen({ path: name }, () => resolve(server.unref()));
  });
}

/** Runs fn while holding the lock of `id` under `root`; waits for another holder to finish. */
export async function withLock<T>(root: string, id: string, fn: () => Promise<T> | T): Promise<T> {
  const digest = createHash('sha256').update(lockKey(root)).update('\0').update(id).digest('hex').slice(0, 40);
  const name = `\0tsrun/${digest}`;
  const deadline = Date.now() + WAIT_MS;
  let server: Server | undefined;
  for (let delay = 1; !(server = await listen(name)); delay = Math.min(delay * 2, 50)) {
    if (Date.now() > deadline) throw new TsrunError('ERR_LOCKED', `container ${id} is locked by another tsrun process`);
    await new Promise((r) => setTimeout(r, delay));
  }
  try {
    return await fn();
  } finally {
    server.close();
  }
}
