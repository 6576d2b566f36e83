// The only importer of koffi. Loaded lazily: koffi costs more to load than a whole `tsrun state`,
// and only the verbs that wait for a container need it.
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { nativeDir, packageRoot } from '../paths.ts';

export interface ShimLibrary {
  /** waitpid for a child libuv did not spawn; resolves with the raw wait status, or -errno */
  waitExit(pid: number): Promise<number>;
  /** recvmsg one SCM_RIGHTS descriptor from a connected unix socket; resolves with it, or -errno */
  receiveFd(socket: number): Promise<number>;
  /** detach the mount at `relative` below `root`, resolved with no symlink followed and not leaving `root`; 0 or -errno */
  unmountBeneath(root: string, relative: string): number;
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
  const unmountBeneath = lib.func('int tsrun_unmount_beneath(const char *root, const char *relative)');
  const flock = lib.func('int tsrun_flock(int fd, int operation)');
  const attachDeviceProgram = lib.func('int tsrun_attach_device_program(const char *path, const void *insns, int count, void *log, int logSize)');
  library = {
    // .async runs the blocking waitpid on a worker thread, keeping the event loop free for signals.
    waitExit: (pid) =>
      new Promise((resolve, reject) => waitExit.async(pid, (err: unknown, status: number) => (err ? reject(err) : resolve(status)))),
    receiveFd: (socket) =>
      new Promise((resolve, reject) => receiveFd.async(socket, (err: unknown, fd: number) => (err ? reject(err) : resolve(fd)))),
    unmountBeneath: (root, relative) => unmountBeneath(root, relative),
    flock: (fd, operation) => flock(fd, operation),
    attachDeviceProgram: (dir, program, log) => attachDeviceProgram(dir, program, program.length / 8, log, log.length),
  };
  return library;
}
