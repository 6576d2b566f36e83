// Files tsrun writes where its caller says (--pid-file, --log). Such a directory may be writable by
// a user who plants symlinks at the names tsrun is about to write, hoping that tsrun (as root)
// writes through them: so nothing here follows a symlink, and a temporary file has a name that
// cannot be guessed and is only ever created new. (Every verb loads this module for --log: Web
// Crypto's global is only loaded on first use, unlike an import of node:crypto.)
import { closeSync, constants, fstatSync, lstatSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { resolve } from 'node:path';
import { TsrunError, systemError } from './errors.ts';

const { O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW, O_APPEND } = constants;

/**
 * Replaces `path` with a new file holding `data`, atomically: written aside under a random name
 * (O_EXCL|O_NOFOLLOW: never an existing file or symlink) and renamed over `path`, which replaces a
 * symlink there instead of following it. `what` names the file in errors ("pid file"); `mode` is
 * the new file's, before the umask.
 */
export function replaceFile(path: string, data: string, what: string, mode = 0o666): void {
  const file = resolve(path);
  let tmp = '';
  let fd = -1;
  try {
    for (let attempt = 1; fd < 0; attempt++) {
      tmp = `${file}.${Buffer.from(crypto.getRandomValues(new Uint8Array(8))).toString('hex')}.tmp`;
      try {
        fd = openSync(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, mode);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt === 10) throw err;
      }
    }
    writeSync(fd, data);
    renameSync(tmp, file);
    // Whoever can write the directory could have swapped the temporary file for a symlink of theirs.
    if (!isStill(fd, file)) throw new TsrunError('ERR_SYSTEM', `write ${what} ${file}: it was replaced while being written`);
  } catch (err) {
    if (fd >= 0) removeQuietly(tmp);
    throw err instanceof TsrunError ? err : systemError(`write ${what} ${file}`, err);
  } finally {
    if (fd >= 0) closeSync(fd);
  }
}

/** Unlinks a name in the caller's directory (only the name: nothing it points to), if it is still there. */
function removeQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // gone, or something else by now
  }
}

/** Refuses a symlink at `path` with a usage error naming `flag`, before anything is written there. */
export function refuseSymlink(path: string, flag: string): void {
  if (lstatSync(path, { throwIfNoEntry: false })?.isSymbolicLink()) {
    throw new TsrunError('ERR_USAGE', `${flag} ${path} is a symbolic link: tsrun does not write through one, give the file it points to`);
  }
}

/** Appends to `path`, creating it; fails (ELOOP) rather than follow a symlink planted there since. */
export function appendNoFollow(path: string, data: string): void {
  const fd = openSync(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW, 0o666);
  try {
    writeSync(fd, data);
  } finally {
    closeSync(fd);
  }
}

/** Is the open file `fd` still the one at `path` (not followed)? */
export function isStill(fd: number, path: string): boolean {
  const opened = fstatSync(fd);
  const current = lstatSync(path, { throwIfNoEntry: false });
  return current !== undefined && current.ino === opened.ino && current.dev === opened.dev;
}
