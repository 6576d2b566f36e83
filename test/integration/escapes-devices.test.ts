// The device steps against a hostile image: its /dev (or /proc, /sys) a symlink to the place where a
// volume of the host is mounted later, or a volume mounted later under /dev. The device, symlink and
// console steps act through the /dev mount the init made itself and never unlink or change an
// entry they did not create; the host's files keep their names, types, modes, owners and contents.
import { spawnSync } from 'node:child_process';
import { chmodSync, closeSync, lstatSync, mkdirSync, readFileSync, readdirSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { hostMountPoints, inSandbox, type Config, type Sandbox } from './helpers.ts';
import { consoleSocket, drain } from './pty.ts';

/** Every name the device steps make in /dev (the default devices, the symlinks, /dev/core, ...). */
const DEV_NAMES = ['null', 'zero', 'full', 'random', 'urandom', 'tty', 'ptmx', 'fd', 'stdin', 'stdout', 'stderr', 'core', 'console', 'mydev'];

/** What a host directory holds: per name its type, mode, owner, device number and contents. */
function snapshot(dir: string): Record<string, string> {
  const entries: Record<string, string> = {};
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    const st = lstatSync(path);
    const content = st.isFile() ? readFileSync(path, 'utf8') : st.isSymbolicLink() ? readlinkSync(path) : '';
    entries[name] = `mode=${st.mode.toString(8)} owner=${st.uid}:${st.gid} rdev=${st.rdev} ${JSON.stringify(content)}`;
  }
  return entries;
}

/** A host directory of the user's files named like /dev entries: plain files, or root's 0600 device nodes. */
function hostVolume(sb: Sandbox, name: string, kind: 'files' | 'nodes'): string {
  const dir = sb.file(name);
  mkdirSync(dir);
  for (const entry of DEV_NAMES) {
    const path = join(dir, entry);
    if (kind === 'files') {
      writeFileSync(path, `the user's ${entry}\n`);
      chmodSync(path, 0o640);
    } else {
      // char devices of the host's kinds (1:3 is null, 5:0 tty...): only their metadata matters here
      const r = spawnSync('mknod', ['-m', '0600', path, 'c', entry === 'tty' || entry === 'ptmx' ? '5' : '1', '3']);
      assert.is(r.status, 0, `mknod ${path}: ${r.stderr}`);
    }
  }
  return dir;
}

/** The default config with a volume of the host bound after /dev (engines append volumes) and a device. */
function withVolume(c: Config, source: string, destination: string, device = '/dev/mydev'): void {
  c.mounts.push({ destination, type: 'bind', source, options: ['rbind', 'rw'] });
  c.linux.devices = [{ path: device, type: 'c', major: 1, minor: 3, fileMode: 0o666, uid: 1000, gid: 1000 }];
  c.process.args = ['sh', '-c', 'ls -l /dev'];
}

/** create, which must fail with `pattern` and leave nothing behind, after `check` looked at the host. */
function assertRefused(sb: Sandbox, bundle: string, pattern: RegExp, check: () => void = () => {}): void {
  const id = sb.id();
  const r = sb.tsrun(['create', '--bundle', bundle, id], { stdoutFile: sb.file(`${id}.out`) });
  check();
  assert.is(r.status, 1, r.stderr);
  assert.match(r.stderr, pattern);
  assert.not.ok(readdirSync(sb.root).includes(id), 'no state left behind');
}

function assertUntouched(dir: string, before: Record<string, string>): void {
  assert.equal(snapshot(dir), before, `${dir} is untouched`);
  assert.not.ok(hostMountPoints().some((m) => m === dir || m.startsWith(`${dir}/`)), `nothing is mounted on ${dir}`);
}

// Checked without the fix (fs.c with mount_step resolving every destination by open_in_root and
// the device steps by path, unlinking what was there): create succeeds, the volume's random, tty,
// stdout, ... are replaced by device nodes and symlinks, and root's 0600 nodes become 0666 nodes
// of uid 1000 (mydev).
test('an image whose /dev is a symlink to a volume of the host is refused; the volume keeps its files and nodes', () =>
  inSandbox((sb) => {
    for (const kind of ['files', 'nodes'] as const) {
      const volume = hostVolume(sb, `volume-${kind}`, kind);
      const before = snapshot(volume);
      const bundle = sb.bundle((c) => withVolume(c, volume, '/data'), { copyRootfs: true });
      rmSync(join(bundle, 'rootfs', 'dev'), { recursive: true });
      symlinkSync('data', join(bundle, 'rootfs', 'dev'));
      assertRefused(sb, bundle, /mount tmpfs on \/dev: \/dev is a symlink in the rootfs/, () => assertUntouched(volume, before));
    }
  }));

// Checked without the fix: the same, through the rootfs's /dev symlink when the config mounts no
// /dev of its own (the devices are then made in the image's /dev).
test('without a /dev mount, the device steps refuse an image whose /dev is a symlink', () =>
  inSandbox((sb) => {
    const volume = hostVolume(sb, 'volume', 'files');
    const before = snapshot(volume);
    const bundle = sb.bundle((c) => {
      c.mounts = c.mounts.filter((m: { destination: string }) => !m.destination.startsWith('/dev'));
      withVolume(c, volume, '/data');
    }, { copyRootfs: true });
    rmSync(join(bundle, 'rootfs', 'dev'), { recursive: true });
    symlinkSync('data', join(bundle, 'rootfs', 'dev'));
    assertRefused(sb, bundle, /\/dev is a symlink in the rootfs/, () => assertUntouched(volume, before));
  }));

// Checked without the fix: create succeeds and the proc (sysfs) mount lands on the symlink's target.
test('an image whose /proc or /sys is a symlink is refused', () =>
  inSandbox((sb) => {
    for (const [dir, fstype] of [['proc', 'proc'], ['sys', 'sysfs']]) {
      const bundle = sb.bundle(() => {}, { copyRootfs: true });
      rmSync(join(bundle, 'rootfs', dir), { recursive: true });
      mkdirSync(join(bundle, 'rootfs', 'elsewhere'));
      symlinkSync('elsewhere', join(bundle, 'rootfs', dir));
      assertRefused(sb, bundle, new RegExp(`mount ${fstype} on /${dir}: /${dir} is a symlink in the rootfs`));
    }
  }));

// Checked without the fix: mknod /dev/net/mydev goes by path into the volume mounted on /dev/net,
// unlinks the user's node there and makes a 0666 one of uid 1000; with the entry left alone but the
// walk by path (not from the init's /dev), /dev/net/tun is a new node in the volume.
test('a device under a volume mounted later in /dev is refused, never made in the volume', () =>
  inSandbox((sb) => {
    const volume = hostVolume(sb, 'volume', 'nodes');
    const before = snapshot(volume);
    for (const device of ['/dev/net/tun', '/dev/net/mydev']) {
      const bundle = sb.bundle((c) => withVolume(c, volume, '/dev/net', device));
      assertRefused(sb, bundle, new RegExp(`mknod ${device}: /dev/net is another mount`), () => assertUntouched(volume, before));
    }
  }));

// Checked without the fix: the symlink step unlinks the file bound on /dev/stdout (EBUSY: create
// fails) and mknod /dev/null does the same; with it, the bound files stay and the container sees them.
test('device and symlink steps leave an entry that a later mount put in /dev alone', () =>
  inSandbox(async (sb) => {
    const volume = hostVolume(sb, 'volume', 'files');
    const before = snapshot(volume);
    const bundle = sb.bundle((c) => {
      for (const name of ['null', 'stdout']) c.mounts.push({ destination: `/dev/${name}`, type: 'bind', source: join(volume, name), options: ['bind', 'ro'] });
      c.linux.maskedPaths = c.linux.maskedPaths.filter((p: string) => p.startsWith('/sys')); // no /dev/null device to mask files with
      c.process.args = ['sh', '-c', 'cat /dev/null; cat /dev/stdout; stat -c "%n %F %t:%T %a" /dev/zero'];
    });
    const out = await sb.runToEnd(bundle);
    assert.match(out, /^the user's null$/m, out);
    assert.match(out, /^the user's stdout$/m, out);
    assert.match(out, /^\/dev\/zero character special file 1:5 666$/m, 'the other devices are made');
    assertUntouched(volume, before);
  }));

// Without a /dev of the init's the walk starts at the rootfs, but crosses no mount point below /dev
// either: a volume on /dev/net is refused for a new node and for one the volume has, never written
// into. (Checked: with RESOLVE_NO_XDEV only on the init's /dev, create succeeded and /dev/net/tun
// was a new node in the volume; before the entry was left alone, mknod /dev/net/mydev unlinked the
// volume's node and made a 0666 one of uid 1000.)
test('without a /dev mount, a device under a volume in /dev is refused, never made in the volume', () =>
  inSandbox((sb) => {
    const volume = hostVolume(sb, 'volume', 'nodes');
    const before = snapshot(volume);
    for (const device of ['/dev/net/tun', '/dev/net/mydev']) {
      const bundle = sb.bundle((c) => {
        c.mounts = c.mounts.filter((m: { destination: string }) => m.destination !== '/dev');
        withVolume(c, volume, '/dev/net', device);
      }, { copyRootfs: true });
      assertRefused(sb, bundle, new RegExp(`mknod ${device}: /dev/net is another mount`), () => assertUntouched(volume, before));
    }
  }));

// Checked without the fix (mount_step keeping the tmpfs's fd when a bind on /dev follows): the pty
// is bound on the covered tmpfs's console, and the container's /dev/console is the volume's empty file.
test('a bind on /dev after the /dev tmpfs gets the console, not the covered tmpfs', () =>
  inSandbox(async (sb) => {
    const volume = sb.file('dev-volume');
    mkdirSync(volume);
    const socket = await consoleSocket(sb);
    try {
      const id = sb.id();
      const bundle = sb.bundle((c) => {
        // right after the tmpfs: /dev/pts and the rest are mounted in the volume
        c.mounts.splice(c.mounts.findIndex((m: { destination: string }) => m.destination === '/dev') + 1, 0, { destination: '/dev', type: 'bind', source: volume, options: ['rbind'] });
        c.linux.maskedPaths = []; // the volume has no /dev/null to mask with
        c.process.terminal = true;
        c.process.args = ['stat', '-c', '%n %F', '/dev/console'];
      });
      sb.tsrun(['create', '--bundle', bundle, '--console-socket', socket.path, id]).ok();
      const master = await socket.next();
      try {
        sb.tsrun(['start', id]).ok();
        await sb.waitForStatus(id, 'stopped');
        const out = drain(master);
        assert.match(out, /^\/dev\/console character special file$/m, out);
      } finally {
        closeSync(master);
      }
      sb.tsrun(['delete', id]).ok();
    } finally {
      socket.close();
    }
  }));

test.run();
