// The rootfs and its mount tree: --no-pivot, rootfsPropagation, recursive mount attributes, and
// the time namespace; plus concurrent verbs on one id.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { inSandbox, mountsBelow, tsrunAsync, waitFor, type Config, type Sandbox } from './helpers.ts';

function mountLine(mountinfo: string, mountPoint: string): string {
  const line = mountinfo.split('\n').find((l) => l.split(' ')[4] === mountPoint);
  if (!line) throw new Error(`${mountPoint} is not a mount point in:\n${mountinfo}`);
  return line;
}

test('--no-pivot: the rootfs is moved onto / and chrooted; the container sees only its files', () =>
  inSandbox(async (sb) => {
    const id = sb.id();
    const output = sb.createAndStart(id, sb.bundle((c) => (c.process.args = ['sh', '-c', 'ls /; cat /proc/self/mountinfo | head -1'])), ['--no-pivot']);
    await sb.waitForStatus(id, 'stopped');
    sb.tsrun(['delete', id]).ok();
    const out = readFileSync(output, 'utf8');
    assert.match(out, /^bin$/m);
    assert.not.match(out, /^work$/m, 'no host directories');
  }));

test('rootfsPropagation sets the propagation of / inside the container', () =>
  inSandbox(async (sb) => {
    // slave shows master:N only when the host's / is shared; it is never shared itself
    for (const [propagation, expected] of [['shared', /shared:\d+/], ['private', /^$/], ['slave', /^(master:\d+)?$/]] as const) {
      const out = await sb.runToEnd(sb.bundle((c) => {
        c.linux.rootfsPropagation = propagation;
        c.process.args = ['cat', '/proc/self/mountinfo'];
      }));
      const line = mountLine(out, '/');
      assert.match(line.split(' - ')[0].split(' ').slice(6).join(' '), expected, `${propagation}: ${line}`);
    }
  }));

test('rro makes a bind mount and the mounts under it read-only; ro alone does not reach submounts', () =>
  inSandbox(async (sb) => {
    // the submount comes from the bind of a directory with a mount below it: an rbind of /sys has many
    const out = await sb.runToEnd(sb.bundle((c) => {
      c.mounts.push({ destination: '/hostsys', type: 'bind', source: '/sys', options: ['rbind', 'rro', 'nosuid', 'nodev', 'noexec'] });
      c.process.args = ['cat', '/proc/self/mountinfo'];
    }));
    const subs = out.split('\n').filter((l) => l.split(' ')[4]?.startsWith('/hostsys/'));
    assert.ok(subs.length > 0, 'sysfs has submounts');
    for (const line of [mountLine(out, '/hostsys'), ...subs]) assert.ok(line.split(' ')[5].split(',').includes('ro'), `read-only: ${line}`);
  }));

test('a new time namespace with offsets shifts CLOCK_MONOTONIC and CLOCK_BOOTTIME', () =>
  inSandbox(async (sb) => {
    const out = await sb.runToEnd(sb.bundle((c) => {
      c.linux.namespaces.push({ type: 'time' });
      c.linux.timeOffsets = { monotonic: { secs: 86400 * 1000, nanosecs: 0 }, boottime: { secs: 86400 * 2000, nanosecs: 0 } };
      c.process.args = ['sh', '-c', 'cat /proc/uptime; cat /proc/self/timens_offsets'];
    }));
    const uptime = Number(out.split(/\s/)[0]);
    assert.ok(uptime > 86400 * 2000, `uptime ${uptime} includes the boottime offset`);
    assert.match(out, /monotonic\s+86400000\s+0/);
  }));

test('without a mount namespace the mounts live in the host mount table until delete removes them', () =>
  inSandbox(async (sb) => {
    const id = sb.id();
    const bundle = sb.bundle((c) => {
      c.linux.namespaces = c.linux.namespaces.filter((ns: { type: string }) => ns.type !== 'mount');
      c.process.args = ['sh', '-c', 'readlink /proc/self/ns/mnt; sleep 60'];
    }, { copyRootfs: true });
    const rootfs = join(bundle, 'rootfs');
    const output = sb.createAndStart(id, bundle);
    const mountsBelow = () => readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.split(' ')[4]?.startsWith(rootfs));
    assert.ok(mountsBelow().length > 3, 'proc, dev, ... are mounted below the rootfs on the host');
    assert.ok(!readFileSync('/proc/self/mountinfo', 'utf8').split('\n').some((l) => l.split(' ')[4] === '/' && l.includes(rootfs)), 'the host / is untouched');
    sb.tsrun(['delete', '--force', id]).ok();
    assert.equal(mountsBelow(), [], 'delete unmounted everything');
    const { readlinkSync } = await import('node:fs');
    assert.is(readFileSync(output, 'utf8').trim(), readlinkSync('/proc/self/ns/mnt'), 'the host mount namespace');
  }));

// (Checked without the fix: delete --force succeeded with the rootfs bind and its proc, dev, ...
// still mounted at the moved bundle, and dropped the state that named them.)
test('without a mount namespace delete fails, keeping the state, while the rootfs path is gone but its mount is not', () =>
  inSandbox(async (sb) => {
    const id = sb.id();
    const bundle = sb.bundle((c) => {
      c.linux.namespaces = c.linux.namespaces.filter((ns: { type: string }) => ns.type !== 'mount');
      c.process.args = ['sleep', '60'];
    }, { copyRootfs: true });
    const moved = `${bundle}-moved`;
    sb.createAndStart(id, bundle);
    renameSync(bundle, moved);
    try {
      const r = sb.tsrun(['delete', '--force', id]);
      assert.is(r.status, 1, r.stderr);
      assert.ok(existsSync(join(sb.root, id)), 'the state stays');
      assert.ok(mountsBelow(join(moved, 'rootfs')).length > 3, 'the mounts are still there');
    } finally {
      renameSync(moved, bundle);
    }
    sb.tsrun(['delete', '--force', id]).ok();
    assert.equal(mountsBelow(join(bundle, 'rootfs')), [], 'delete unmounted everything');
  }));

/**
 * A bundle without a mount namespace whose copied rootfs has a host tmpfs at /mnt/pre, mounted
 * before the container exists, with a marker file. `body` gets the rootfs; the tmpfs goes after.
 */
async function withHostMountBelowRootfs(sb: Sandbox, edit: (c: Config) => void, body: (bundle: string, rootfs: string) => Promise<void>): Promise<void> {
  const bundle = sb.bundle((c) => {
    c.linux.namespaces = c.linux.namespaces.filter((ns: { type: string }) => ns.type !== 'mount');
    // a mount of tsrun's own on top of the host's
    c.mounts.push({ destination: '/mnt/pre/inner', type: 'tmpfs', source: 'tmpfs', options: ['size=1m'] });
    edit(c);
  }, { copyRootfs: true });
  const rootfs = join(bundle, 'rootfs');
  const pre = join(rootfs, 'mnt', 'pre');
  mkdirSync(pre, { recursive: true });
  assert.is(spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tsrun-test-pre', pre]).status, 0, 'mount the host tmpfs');
  try {
    writeFileSync(join(pre, 'marker'), 'host\n');
    await body(bundle, rootfs);
  } finally {
    // after a failure, tsrun's rootfs bind first: it hides the host tmpfs (and holds a copy of it)
    const mountedAt = (path: string) => mountsBelow(path).some((m) => m.endsWith(` ${path}`));
    for (const path of [rootfs, pre]) for (let i = 0; i < 10 && mountedAt(path); i++) spawnSync('umount', ['-l', path]);
  }
}

// Fails without the fix (checked by putting back delete's unmount of every mount point below the
// rootfs, as delete did before it recorded its own mounts): the host's tmpfs at rootfs/mnt/pre went with the container's.
test('without a mount namespace delete unmounts what tsrun mounted, and a host mount below the rootfs stays', () =>
  inSandbox((sb) =>
    withHostMountBelowRootfs(sb, (c) => (c.process.args = ['sh', '-c', 'cat /mnt/pre/marker; ls /mnt/pre/inner && echo inner=ok; sleep 60']), async (bundle, rootfs) => {
      const before = mountsBelow(rootfs);
      assert.is(before.length, 1, 'the host tmpfs alone');
      const id = sb.id();
      const output = sb.createAndStart(id, bundle);
      await waitFor(() => readFileSync(output, 'utf8').includes('inner=ok'), 10_000, () => readFileSync(output, 'utf8'));
      assert.match(readFileSync(output, 'utf8'), /^host$/m, 'the container sees the host mount below its rootfs');
      assert.ok(mountsBelow(rootfs).length > 4, 'proc, dev, ... are mounted below the rootfs on the host');
      sb.tsrun(['delete', '--force', id]).ok();
      assert.equal(mountsBelow(rootfs), before, 'the host tmpfs is still mounted, the same mount, and nothing else');
      assert.is(readFileSync(join(rootfs, 'mnt', 'pre', 'marker'), 'utf8'), 'host\n');
    })));

test('without a mount namespace delete also removes what the container stacked on its own /', () =>
  inSandbox((sb) =>
    withHostMountBelowRootfs(
      sb,
      (c) => {
        for (const set of ['bounding', 'effective', 'permitted']) c.process.capabilities[set].push('CAP_SYS_ADMIN');
        c.process.args = ['sh', '-c', 'mount -t tmpfs cover / && mount -t tmpfs cover2 / && echo covered; sleep 60'];
      },
      async (bundle, rootfs) => {
        const before = mountsBelow(rootfs);
        const id = sb.id();
        const output = sb.createAndStart(id, bundle);
        await waitFor(() => readFileSync(output, 'utf8').includes('covered'), 10_000, () => readFileSync(output, 'utf8'));
        assert.ok(mountsBelow(rootfs).filter((m) => m.endsWith(` ${rootfs}`)).length === 3, 'the rootfs bind and two mounts on it');
        sb.tsrun(['delete', '--force', id]).ok();
        assert.equal(mountsBelow(rootfs), before, 'the host tmpfs alone is left');
      },
    )));

// Fails without the fix (checked by recording the rootfs mount only once create is done, at the
// "created" write): the kill leaves the mounts, and delete --force has nothing to find them by.
test('without a mount namespace a create killed after its mounts leaves delete --force enough to unmount them', () =>
  inSandbox((sb) => {
    const started = sb.file('hook-started');
    return withHostMountBelowRootfs(
      sb,
      // the createRuntime hook runs once everything is mounted: create is killed while it waits
      (c) => (c.hooks = { createRuntime: [{ path: '/bin/sh', args: ['sh', '-c', `echo $$ > ${started}; exec sleep 60`] }] }),
      async (bundle, rootfs) => {
        const before = mountsBelow(rootfs);
        const id = sb.id();
        const create = tsrunAsync(sb.root, ['create', '--bundle', bundle, id]);
        const exited = new Promise((resolve) => create.on('exit', resolve));
        try {
          await waitFor(() => existsSync(started) && readFileSync(started, 'utf8').endsWith('\n'), 10_000, () => 'the createRuntime hook');
          assert.ok(mountsBelow(rootfs).length > 4, 'the container is mounted');
          create.kill('SIGKILL');
          await exited;
        } finally {
          try {
            if (existsSync(started)) process.kill(Number(readFileSync(started, 'utf8')), 'SIGKILL');
          } catch {
            // the hook is gone
          }
        }
        sb.tsrun(['delete', '--force', id]).ok();
        assert.equal(mountsBelow(rootfs), before, 'the host tmpfs alone is left');
      },
    );
  }));

test('concurrent creates of one id: exactly one succeeds, the others fail cleanly', () =>
  inSandbox(async (sb) => {
    const id = sb.id();
    const bundle = sb.bundle((c) => (c.process.args = ['sleep', '60']));
    const runs = Array.from({ length: 8 }, () => {
      const child = tsrunAsync(sb.root, ['create', '--bundle', bundle, id]);
      let stderr = '';
      child.stderr.on('data', (d) => (stderr += d));
      // the winner's container keeps create's stdout and stderr pipes open: only a loser's close
      return new Promise<{ code: number | null; stderr: string }>((resolve) =>
        child.on('exit', (code) => (code === 0 ? resolve({ code, stderr }) : child.on('close', () => resolve({ code, stderr })))),
      );
    });
    const results = await Promise.all(runs);
    assert.is(results.filter((r) => r.code === 0).length, 1, JSON.stringify(results));
    for (const r of results.filter((r) => r.code !== 0)) assert.match(r.stderr, /exists|locked|busy/);
    assert.is(sb.state(id).status, 'created');
    sb.tsrun(['delete', '--force', id]).ok();
  }));

test('a container id may be reused once deleted', () =>
  inSandbox(async (sb) => {
    const id = sb.id();
    const bundle = sb.bundle((c) => (c.process.args = ['true']));
    for (let i = 0; i < 2; i++) {
      sb.createAndStart(id, bundle);
      await sb.waitForStatus(id, 'stopped');
      sb.tsrun(['delete', id]).ok();
    }
  }));

test.run();
