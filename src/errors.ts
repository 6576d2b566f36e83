// One error type for the whole runtime: a stable `code` for programs, a message for people that
// names the step and the object, an optional hint. Tests assert codes, never message text.
import { constants } from 'node:os';

export type ErrorCode =
  | 'ERR_USAGE' // bad command line: exit 2
  | 'ERR_CONFIG_INVALID' // config.json fails the schema: exit 2
  | 'ERR_NOT_SUPPORTED' // a valid field tsrun does not implement: exit 2
  | 'ERR_BUNDLE' // missing bundle, unreadable config.json, missing rootfs: a configuration error, exit 2
  | 'ERR_INVALID_ID' // a container id runc would not take either: a usage error, exit 2
  | 'ERR_EXISTS' // a container with that id already exists
  | 'ERR_NOT_FOUND' // container <id> does not exist
  | 'ERR_STATE' // wrong state for the operation (not running, not stopped, ...)
  | 'ERR_SIGNAL' // unknown signal
  | 'ERR_HOOK' // a hook failed or timed out
  | 'ERR_CGROUP'
  | 'ERR_SPAWN' // the container init failed: carries the step, object and errno
  | 'ERR_LOCKED'
  | 'ERR_SYSTEM'; // anything else the host refused

/** Exit status for a failed command: usage and configuration problems (the bundle too) are 2, the rest 1. */
const USAGE_CODES: ReadonlySet<ErrorCode> = new Set(['ERR_USAGE', 'ERR_INVALID_ID', 'ERR_CONFIG_INVALID', 'ERR_NOT_SUPPORTED', 'ERR_BUNDLE']);

export class TsrunError extends Error {
  readonly code: ErrorCode;
  readonly hint?: string;
  /** errno name such as 'EPERM' when the failure came from a system call */
  readonly errno?: string;

  constructor(code: ErrorCode, message: string, options: { hint?: string; errno?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'TsrunError';
    this.code = code;
    this.hint = options.hint;
    this.errno = options.errno;
  }

  get exitCode(): number {
    return USAGE_CODES.has(this.code) ? 2 : 1;
  }
}

export function isTsrunError(err: unknown, code?: ErrorCode): err is TsrunError {
  return err instanceof TsrunError && (code === undefined || err.code === code);
}

/** Wraps a Node system error (ENOENT, EPERM, ...) with the step that failed. */
export function systemError(step: string, err: unknown, code: ErrorCode = 'ERR_SYSTEM'): TsrunError {
  const e = err as NodeJS.ErrnoException;
  const errno = typeof e?.code === 'string' ? e.code : undefined;
  const detail = errno ? `${errno} (${describeErrno(errno)})` : String(e?.message ?? err);
  return new TsrunError(code, `${step}: ${detail}`, { errno, cause: err });
}

const ERRNO_TEXT: Record<string, string> = {
  EPERM: 'operation not permitted',
  ENOENT: 'no such file or directory',
  ESRCH: 'no such process',
  EINTR: 'interrupted system call',
  EIO: 'input/output error',
  ENXIO: 'no such device or address',
  E2BIG: 'argument list too long',
  ENOEXEC: 'exec format error',
  EBADF: 'bad file descriptor',
  EAGAIN: 'resource temporarily unavailable',
  ENOMEM: 'cannot allocate memory',
  EACCES: 'permission denied',
  EFAULT: 'bad address',
  EBUSY: 'device or resource busy',
  EEXIST: 'file exists',
  EXDEV: 'invalid cross-device link',
  ENODEV: 'no such device',
  ENOTDIR: 'not a directory',
  EISDIR: 'is a directory',
  EINVAL: 'invalid argument',
  ENFILE: 'too many open files in system',
  EMFILE: 'too many open files',
  ENOTTY: 'inappropriate ioctl for device',
  ETXTBSY: 'text file busy',
  EFBIG: 'file too large',
  ENOSPC: 'no space left on device',
  EROFS: 'read-only file system',
  EMLINK: 'too many links',
  EPIPE: 'broken pipe',
  ERANGE: 'numerical result out of range',
  ENAMETOOLONG: 'file name too long',
  ENOSYS: 'function not implemented',
  ENOTEMPTY: 'directory not empty',
  ELOOP: 'too many levels of symbolic links',
  EOPNOTSUPP: 'operation not supported',
  ECONNREFUSED: 'connection refused',
  ETIMEDOUT: 'connection timed out',
};

export function describeErrno(name: string): string {
  return ERRNO_TEXT[name] ?? name.toLowerCase();
}

let errnoNames: Map<number, string> | undefined;

/** The name of errno `n`, the first of its aliases ('EAGAIN', not 'EWOULDBLOCK'); undefined if none. */
export function errnoName(n: number): string | undefined {
  if (!errnoNames) {
    errnoNames = new Map();
    for (const [name, value] of Object.entries(constants.errno)) if (!errnoNames.has(value)) errnoNames.set(value, name);
  }
  return errnoNames.get(n);
}

/** A native call that returned -errno, as an error naming the step (and the errno by name). */
export function nativeError(step: string, result: number, code: ErrorCode = 'ERR_SYSTEM'): TsrunError {
  const name = errnoName(-result);
  return name ? systemError(step, { code: name }, code) : new TsrunError(code, `${step}: errno ${-result}`);
}
