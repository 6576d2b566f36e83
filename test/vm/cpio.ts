// Writes a cpio archive in the "newc" format, the one the kernel unpacks as an initramfs.
// Entries are written in the order given; a parent directory is written before anything in it.
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import { posix } from 'node:path';

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;
const S_IFCHR = 0o020000;

export class CpioWriter {
  private readonly fd: number;
  private offset = 0;
  private inode = 1;
  private readonly dirs = new Set<string>(['']);

  constructor(file: string) {
    this.fd = openSync(file, 'w');
  }

  /** A directory (and any missing parents) at path, relative to the archive's root. */
  dir(path: string, mode = 0o755): void {
    path = normalize(path);
    if (this.dirs.has(path)) return;
    this.dir(posix.dirname(path));
    this.entry(path, S_IFDIR | mode, Buffer.alloc(0));
    this.dirs.add(path);
  }

  file(path: string, content: Buffer | string, mode = 0o644): void {
    path = normalize(path);
    this.dir(posix.dirname(path));
    this.entry(path, S_IFREG | mode, typeof content === 'string' ? Buffer.from(content) : content);
  }

  /** A copy of a host file's content. */
  copy(path: string, hostFile: string, mode: number): void {
    this.file(path, readFileSync(hostFile), mode & 0o7777);
  }

  symlink(path: string, target: string): void {
    path = normalize(path);
    this.dir(posix.dirname(path));
    this.entry(path, S_IFLNK | 0o777, Buffer.from(target));
  }

  charDevice(path: string, major: number, minor: number, mode = 0o600): void {
    path = normalize(path);
    this.dir(posix.dirname(path));
    this.entry(path, S_IFCHR | mode, Buffer.alloc(0), major, minor);
  }

  close(): void {
    this.entry('TRAILER!!!', 0, Buffer.alloc(0), 0, 0, 0);
    closeSync(this.fd);
  }

  private entry(name: string, mode: number, data: Buffer, rdevMajor = 0, rdevMinor = 0, ino = this.inode++): void {
    const nameBytes = Buffer.from(`${name}\0`);
    const fields = [ino, mode, 0, 0, mode & S_IFDIR ? 2 : 1, 0, data.length, 0, 0, rdevMajor, rdevMinor, nameBytes.length, 0];
    const header = Buffer.from(`070701${fields.map((n) => n.toString(16).padStart(8, '0')).join('')}`);
    this.write(header);
    this.write(nameBytes);
    this.pad();
    this.write(data);
    this.pad();
  }

  private write(buffer: Buffer): void {
    for (let done = 0; done < buffer.length; ) done += writeSync(this.fd, buffer, done);
    this.offset += buffer.length;
  }

  private pad(): void {
    const rest = (4 - (this.offset % 4)) % 4;
    if (rest) this.write(Buffer.alloc(rest));
  }
}

function normalize(path: string): string {
  const normal = posix.normalize(path).replace(/^\/+|\/+$/g, '');
  return normal === '.' ? '' : normal;
}
