// Builds the guest's initramfs: busybox, the host's node with the shared libraries it loads, and
// the built project under /tsrun (what the tests need at run time), plus test/vm/init.sh as /init.
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, readdirSync, readlinkSync, statSync } from 'node:fs';
import { basename, join, posix } from 'node:path';
import { CpioWriter } from './cpio.ts';

export const GUEST_PROJECT = '/tsrun';

/** What of the project the guest needs; all of it must exist (run `npm ci` or `npm run build`). */
const PROJECT_PATHS = ['package.json', 'tsconfig.json', 'bin', 'dist', 'build/native', 'src', 'test', 'bundles/default', 'node_modules'];

/** Large and never loaded at run time. */
function skipped(path: string): boolean {
  if (path === 'node_modules/typescript' || path === 'node_modules/@types') return true;
  // koffi ships a prebuilt module for every platform; the guest loads only this one's.
  const koffi = /^node_modules\/koffi\/build\/koffi\/([^/]+)$/.exec(path);
  return koffi !== null && koffi[1] !== `${process.platform}_${process.arch}`;
}

export interface InitramfsOptions {
  repo: string;
  /** kernel modules for init.sh to load, in order */
  modules: string[];
  /** the test files to run, relative to the repo */
  tests: string[];
  output: string;
}

export function buildInitramfs({ repo, modules, tests, output }: InitramfsOptions): void {
  for (const path of PROJECT_PATHS) {
    if (!existsSync(join(repo, path))) throw new Error(`${join(repo, path)} is missing: build the project first (npm ci)`);
  }
  const cpio = new CpioWriter(output);
  try {
    cpio.charDevice('dev/console', 5, 1);
    cpio.copy('bin/busybox', '/bin/busybox', 0o755);
    cpio.copy('init', join(repo, 'test/vm/init.sh'), 0o755);
    modules.forEach((module, i) => cpio.copy(`lib/modules/${i}-${basename(module)}`, module, 0o644));
    for (const dir of ['tmp', 'run', 'root', 'etc']) cpio.dir(dir, dir === 'tmp' ? 0o1777 : 0o755);
    cpio.file('etc/passwd', 'root:x:0:0:root:/root:/bin/sh\n');
    cpio.file('etc/group', 'root:x:0:\ntty:x:5:\n');
    cpio.file('etc/hostname', 'tsrun-vm\n');
    cpio.file('etc/hosts', '127.0.0.1 localhost\n::1 localhost\n');

    cpio.copy('usr/bin/node', process.execPath, 0o755);
    const elves = [process.execPath, ...nativeFiles(repo)];
    for (const lib of sharedLibraries(elves)) cpio.copy(lib, lib, 0o755);

    for (const path of PROJECT_PATHS) copyTree(cpio, join(repo, path), posix.join(GUEST_PROJECT, path), path);
    cpio.file(posix.join(GUEST_PROJECT, '.vm-tests'), tests.join('\n') + '\n');
  } finally {
    cpio.close();
  }
}

/** The project's own native code: it loads shared libraries too. */
function nativeFiles(repo: string): string[] {
  const files = readdirSync(join(repo, 'build/native')).map((f) => join(repo, 'build/native', f));
  const koffi = join(repo, 'node_modules/koffi/build/koffi', `${process.platform}_${process.arch}`, 'koffi.node');
  if (existsSync(koffi)) files.push(koffi);
  return files;
}

/** The libraries and loader that ldd lists for the given ELF files, each by the path it names. */
function sharedLibraries(files: string[]): string[] {
  const libs = new Set<string>();
  for (const file of files) {
    let out: string;
    try {
      out = execFileSync('ldd', [file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    } catch {
      continue; // static: nothing to load
    }
    for (const line of out.split('\n')) {
      const path = /=>\s+(\/\S+)/.exec(line)?.[1] ?? /^\s*(\/\S+)\s+\(/.exec(line)?.[1];
      if (path) libs.add(path);
    }
  }
  return [...libs];
}

/** Copies a host tree into the archive: directories, files with their modes, symlinks as they are. */
function copyTree(cpio: CpioWriter, hostPath: string, guestPath: string, projectPath: string): void {
  if (skipped(projectPath)) return;
  const stat = lstatSync(hostPath);
  if (stat.isSymbolicLink()) cpio.symlink(guestPath, readlinkSync(hostPath));
  else if (stat.isFile()) cpio.copy(guestPath, hostPath, stat.mode);
  else if (stat.isDirectory()) {
    cpio.dir(guestPath, stat.mode & 0o7777);
    for (const name of readdirSync(hostPath).sort()) {
      copyTree(cpio, join(hostPath, name), posix.join(guestPath, name), posix.join(projectPath, name));
    }
  }
  // sockets, fifos and devices have no place in the project
}

/** Sizes for a log line: how much the archive holds. */
export function describe(output: string): string {
  return `${(statSync(output).size / 2 ** 20).toFixed(0)} MiB`;
}
