// The only importer of koffi. Loaded lazily: koffi costs more to load than a whole `tsrun state`,
// and only the verbs that take a container's lock (flock) or wait for a container need it.
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { nativeDir, packageRoot } from '../paths.ts';

export interface ShimLibrary {
  /** waitpid for a child libuv did not spawn; resolves with the raw wait status, or -errno */
  waitExit(pid: number): Promise<number>;
  /** recvmsg one SCM_RIGHTS descriptor from a connected unix socket; resolves with it, or -errno */
  receiveFd(socket: number): Promise<number>;
  /** the ids of the topmost mount at a directory into `ids` (2 u64: mount id, never reused id or 0); 0 or -errno */
  mountIds(path: string, ids: Buffer): number;
  /** detach the topmost mount at a directory only if it has the ids `expected` (as mountIds; a 0 second id is not compared); 0, -ESTALE or -errno */
  unmountMount(path: string, expected: Buffer): number;
  /** the size of the terminal on fd, or -errno */
  windowSize(fd: number): { rows: number; cols: number } | number;
  /** resize the pty whose master is fd (its foreground group gets SIGWINCH); 0 or -errno */
  setWindowSize(fd: number, rows: number, cols: number): number;
  /** copy what a pty master still holds to out, until EIO or quiet for quietMs, at most maxMs; 0 or -errno */
  drainPty(master: number, out: number, quietMs: number, maxMs: number): number;
  /** flock(2) on a descriptor: 0 or -errno */
  flock(fd: number, operation: number): number;
  /** load a cgroup device program (struct bpf_insn[]) and attach it to a cgroup2 directory, replacing older ones; 0 or -errno */
  attachDeviceProgram(cgroupDir: string, program: Buffer, log: Buffer): number;
}

let library: ShimLibrary | undefined;

/**
 * koffi's native module, loaded directly from where npm puts it: koffi's index.js first loads
 * https, zlib and crypto for its installer, which costs four times as much as the module itself
 * (start and delete lock through this library). Elsewhere (musl, hoisted), koffi finds its own.
 */
function loadKoffi(): typeof import('koffi') {
  const module = { exports: {} };
  try {
    process.dlopen(module, join(packageRoot(), 'node_modules', 'koffi', 'build', 'koffi', `${process.platform}_${process.arch}`, 'koffi.node'));
    return module.exports as typeof import('koffi');
  } catch {
    return createRequire(import.meta.url)('koffi');
  }
}

export function shimLibrary(): ShimLibrary {
  if (library) return library;
  const koffi = loadKoffi();
  const lib = koffi.load(join(nativeDir(), 'libtsrun-shim.so'));
  const waitExit = lib.func('int tsrun_wait_exit(int pid)');
  const receiveFd = lib.func('int tsrun_recv_fd(int socket)');
  const mountIds = lib.func('int tsrun_mount_ids(const char *path, void *ids)');
  const unmountMount = lib.func('int tsrun_unmount_mount(const char *path, const void *expected)');
  const windowSize = lib.func('int tsrun_window_size(int fd)');
  const setWindowSize = lib.func('int tsrun_set_window_size(int fd, int rows, int cols)');
  const drainPty = lib.func('int tsrun_drain_pty(int master, int out, int quiet_ms, int max_ms)');
  const flock = lib.func('int tsrun_flock(int fd, int operation)');
  const attachDeviceProgram = lib.func('int tsrun_attach_device_program(const char *path, const void *insns, int count, void *log, int logSize)');
  library = {
    // .async runs the blocking waitpid on a worker thread, keeping the event loop free for signals.
    waitExit: (pid) =>
      new Promise((resolve, reject) => waitExit.async(pid, (err: unknown, status: number) => (err ? reject(err) : resolve(status)))),
    receiveFd: (socket) =>
      new Promise((resolve, reject) => receiveFd.async(socket, (err: unknown, fd: number) => (err ? reject(err) : resolve(fd)))),
    mountIds: (path, ids) => mountIds(path, ids),
    unmountMount: (path, expected) => unmountMount(path, expected),
    windowSize: (fd) => {
      const size: number = windowSize(fd);
      return size < 0 ? size : { rows: size >>> 16, cols: size & 0xffff };
    },
    setWindowSize: (fd, rows, cols) => setWindowSize(fd, rows, cols),
    drainPty: (master, out, quietMs, maxMs) => drainPty(master, out, quietMs, maxMs),
    flock: (fd, operation) => flock(fd, operation),
    attachDeviceProgram: (dir, program, log) => attachDeviceProgram(dir, program, program.length / 8, log, log.length),
  };
  return library;
}
