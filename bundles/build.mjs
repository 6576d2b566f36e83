// Builds bundles/default/rootfs: a minimal busybox root filesystem from Debian's busybox-static,
// so the default bundle runs with nothing but this repository and one apt package.
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const BUSYBOX = '/bin/busybox';
const bundle = join(dirname(fileURLToPath(import.meta.url)), 'default');
const rootfs = join(bundle, 'rootfs');
const stamp = join(rootfs, '.tsrun-rootfs');
const version = execFileSync(BUSYBOX, ['--help'], { encoding: 'utf8' }).split('\n')[0];

if (existsSync(stamp) && readFileSync(stamp, 'utf8') === version) process.exit(0);

// Build next to the final place and rename, so an interrupted build never leaves half a rootfs.
const tmp = `${rootfs}.tmp`;
rmSync(tmp, { recursive: true, force: true });
for (const dir of ['bin', 'sbin', 'usr/bin', 'usr/sbin', 'etc', 'dev', 'proc', 'sys', 'tmp', 'root', 'run', 'var/tmp']) {
  mkdirSync(join(tmp, dir), { recursive: true });
}
copyFileSync(BUSYBOX, join(tmp, 'bin/busybox'));
execFileSync('chmod', ['0755', join(tmp, 'bin/busybox')]);
// busybox --list-full prints every applet with its path (bin/ls, usr/bin/env, ...).
for (const applet of execFileSync(BUSYBOX, ['--list-full'], { encoding: 'utf8' }).split('\n').filter(Boolean)) {
  const link = join(tmp, applet);
  if (applet === 'bin/busybox' || existsSync(link)) continue;
  mkdirSync(dirname(link), { recursive: true });
  symlinkSync('/bin/busybox', link);
}
writeFileSync(join(tmp, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n');
writeFileSync(join(tmp, 'etc/group'), 'root:x:0:\nnogroup:x:65534:\n');
writeFileSync(join(tmp, 'etc/hostname'), 'tsrun\n');
execFileSync('chmod', ['1777', join(tmp, 'tmp')]);
writeFileSync(join(tmp, '.tsrun-rootfs'), version);
rmSync(rootfs, { recursive: true, force: true });
renameSync(tmp, rootfs);
