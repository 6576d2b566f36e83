// Mount options as runc and crun apply them: a read-only /dev, tmpcopyup, and bind sources that
// only the host's root can reach in a container with a user namespace.
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { inSandbox, type Config, type Sandbox } from './helpers.ts';

function mountOptions(mountinfo: string, mountPoint: string): string[] {
  const line = mountinfo.split('\n').find((l) => l.split(' ')[4] === mountPoint);
  if (!line) throw new Error(`${mountPoint} is not a mount point in:\n${mountinfo}`);
  return line.split(' ')[5].split(',');
}

// runc mounts a "ro" /dev writable, makes its devices, and remounts it read-only at the end.
// (Checked: without the deferred remount, create failed making /dev/null on the read-only tmpfs.)
test('a read-only /dev gets its devices and ends read-only', () =>
  inSandbox(async (sb) => {
    const bundle = sb.bundle((c) => {
      const dev = c.mounts.find((m: { destination: string }) => m.destination === '/dev');
      dev.options = [...dev.options, 'ro'];
      c.process.args = ['sh', '-c', 'cat /proc/self/mountinfo; echo x > /dev/null && echo null-ok; touch /dev/new 2>/dev/null || echo touch-refused; ls /dev/pts/ptmx'];
    });
    const out = await sb.runToEnd(bundle);
    assert.ok(mountOptions(out, '/dev').includes('ro'), out);
    assert.match(out, /null-ok/);
    assert.match(out, /touch-refused/);
    assert.match(out, /\/dev\/pts\/ptmx/, 'the mounts under /dev are there');
  }));

// podman's --read-only and --tmpfs: a tmpfs that starts with the image's content. The image is
// hostile: a symlink in the directory is copied as a link, never followed out of the rootfs.
// (Checked: with the option ignored the image's files were missing; with the link followed the
// host directory's file showed up in the copy.)
test('tmpcopyup: a tmpfs on /etc starts with the image files; writes stay in the tmpfs', () =>
  inSandbox(async (sb) => {
    const secret = sb.file('host-secret');
    mkdirSync(secret);
    writeFileSync(join(secret, 'key'), 'host only');
    const bundle = sb.bundle(
      (c) => {
        c.mounts.push({ destination: '/etc', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'tmpcopyup'] });
        c.process.args = ['sh', '-c', [
          'grep " /etc " /proc/self/mountinfo',
          'cat /etc/marker; stat -c "%a %u %g" /etc /etc/marker /etc/sub /etc/sub/deep/file',
          'cat /etc/sub/deep/file; readlink /etc/evil; ls /etc/evil/key 2>/dev/null || echo evil-not-followed',
          'echo written > /etc/written && echo write-ok',
        ].join('; ')];
      },
      { copyRootfs: true },
    );
    const etc = join(bundle, 'rootfs', 'etc');
    chmodSync(etc, 0o750); // the tmpfs itself takes the directory's mode (a new tmpfs is 1777)
    writeFileSync(join(etc, 'marker'), 'from the image');
    chmodSync(join(etc, 'marker'), 0o644);
    chownSync(join(etc, 'marker'), 123, 456);
    mkdirSync(join(etc, 'sub', 'deep'), { recursive: true });
    chmodSync(join(etc, 'sub'), 0o711);
    writeFileSync(join(etc, 'sub', 'deep', 'file'), 'deep content');
    chmodSync(join(etc, 'sub', 'deep', 'file'), 0o604);
    symlinkSync(secret, join(etc, 'evil'));
    const out = await sb.runToEnd(bundle);
    assert.match(out, / \/etc [^\n]* - tmpfs /, out);
    assert.match(out, /from the image/, out);
    assert.match(out, /750 0 0\n644 123 456\n711 0 0\n604 0 0\n/, out);
    assert.match(out, /deep content/);
    assert.match(out, new RegExp(`${secret}\nevil-not-followed`), out);
    assert.match(out, /write-ok/);
    assert.not.ok(existsSync(join(etc, 'written')), 'the write stayed in the tmpfs');
  }));

// A bind source below a directory only the host's root may enter (the sandbox is 0700): with a
// user namespace the init is uid 100000 on the host, so stage 0 opens the source first, as runc
// 1.1 does with its mount source fds. (Checked: without the openMountSource steps create failed
// with EACCES at the mount step.) Stage 0's tree comes from the host's user namespace, where the
// kernel locks nothing: a plain read-write bind of a read-write mount is all it may be used for.
function rootOnlyBind(sb: Sandbox, options: string[], args = 'cat /tmp/file; grep " /tmp " /proc/self/mountinfo'): string {
  const shared = join(sb.file('private'), 'shared');
  mkdirSync(shared, { recursive: true });
  chmodSync(sb.file('private'), 0o700);
  writeFileSync(join(shared, 'file'), 'behind a root-only directory');
  return sb.bundle((c) => {
    userNamespace(c);
    c.mounts.push({ destination: '/tmp', type: 'bind', source: shared, options });
    c.process.args = ['sh', '-c', args];
  });
}

function userNamespace(c: Config): void {
  c.linux.namespaces.push({ type: 'user' });
  c.linux.uidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
  c.linux.gidMappings = [{ containerID: 0, hostID: 100000, size: 65536 }];
  c.mounts = c.mounts.filter((m: { type: string }) => m.type !== 'cgroup');
}

test('user namespace: a bind source only the host root can reach is mounted', () =>
  inSandbox(async (sb) => {
    const out = await sb.runToEnd(rootOnlyBind(sb, ['bind', 'rw']));
    assert.match(out, /behind a root-only directory/, out);
    assert.match(out, / \/tmp rw,/, 'the bind keeps its options');
  }));

// What such a bind would need locked is refused, naming the source: a read-only flag (the
// container's root could remount it read-write) or a submount of a recursive bind (it could
// unmount it and see what it covers). (Checked: without the refusal create succeeded and the
// bind was read-only but not locked.)
test('user namespace: a bind source only the host root can reach is refused read-only or with submounts', () =>
  inSandbox((sb) => {
    const readOnly = sb.tsrun(['create', '--bundle', rootOnlyBind(sb, ['bind', 'ro']), sb.id()]);
    assert.is(readOnly.status, 1, readOnly.stderr);
    assert.match(readOnly.stderr, /private\/shared/);
    const sub = join(sb.file('private'), 'shared', 'sub');
    mkdirSync(sub);
    assert.is(spawnSync('mount', ['-t', 'tmpfs', 'tsrun-test-sub', sub]).status, 0, 'mount the host tmpfs');
    try {
      const submount = sb.tsrun(['create', '--bundle', rootOnlyBind(sb, ['rbind', 'rw']), sb.id()]);
      assert.is(submount.status, 1, submount.stderr);
      assert.match(submount.stderr, /private\/shared/);
    } finally {
      spawnSync('umount', [sub]);
    }
  }));

// Stage 0 keeps a tree for every bind source, as many as the config has. (Checked: with the former
// fixed table of 256, create failed with "more than 256 bind mounts".)
test('user namespace: more than 256 binds are all mounted', () =>
  inSandbox(async (sb) => {
    const sources = join(sb.file('private'), 'many');
    const count = 300;
    const bundle = sb.bundle((c) => {
      userNamespace(c);
      c.mounts.push({ destination: '/tmp', type: 'tmpfs', source: 'tmpfs', options: ['size=1m'] });
      for (let i = 0; i < count; i++) {
        mkdirSync(join(sources, `m${i}`), { recursive: true });
        c.mounts.push({ destination: `/tmp/m${i}`, type: 'bind', source: join(sources, `m${i}`), options: ['bind'] });
      }
      c.process.args = ['sh', '-c', 'grep -c " /tmp/m[0-9]* " /proc/self/mountinfo'];
    });
    chmodSync(sb.file('private'), 0o700);
    const out = await sb.runToEnd(bundle);
    assert.match(out, new RegExp(`^${count}$`, 'm'), out);
  }));

// A recursive bind in a user namespace is a copy the kernel locks: the container's root (here with
// CAP_SYS_ADMIN in its user namespace) can neither unmount the read-only tmpfs that covers a host
// file, nor remount it read-write. (Checked: with stage 0's tree taken first, the umount succeeded
// and the covered file was read.)
test('user namespace: the submounts and flags of a bind are locked', () =>
  inSandbox(async (sb) => {
    const shared = mkdtempSync(join(tmpdir(), 'tsrun-test-locks-'));
    chmodSync(shared, 0o755);
    const sub = join(shared, 'sub');
    mkdirSync(sub);
    writeFileSync(join(sub, 'covered'), 'covered host file');
    let mounted = false;
    try {
      assert.is(spawnSync('mount', ['-t', 'tmpfs', '-o', 'ro', 'tsrun-test-locks', sub]).status, 0, 'mount the host tmpfs');
      mounted = true;
      const bundle = sb.bundle((c) => {
        userNamespace(c);
        for (const set of ['bounding', 'effective', 'permitted']) c.process.capabilities[set].push('CAP_SYS_ADMIN');
        c.mounts.push({ destination: '/tmp', type: 'bind', source: shared, options: ['rbind'] });
        c.process.args = ['sh', '-c', [
          'umount /tmp/sub 2>/dev/null && echo umount-done || echo umount-refused',
          'mount -o remount,bind,rw /tmp/sub 2>/dev/null && echo remount-done || echo remount-refused',
          'cat /tmp/sub/covered 2>/dev/null || echo covered-hidden',
        ].join('; ')];
      });
      const out = await sb.runToEnd(bundle);
      assert.match(out, /umount-refused\nremount-refused\ncovered-hidden/, out);
    } finally {
      if (mounted) spawnSync('umount', [sub]);
      rmSync(shared, { recursive: true, force: true });
    }
  }));

test.run();
