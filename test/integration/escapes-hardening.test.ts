// Hardening found in review, next to the escape regressions: hook timeouts against a full pipe,
// the pty of exec --tty and /dev/console against planted symlinks, the unmounting of a container
// without a mount namespace, and the refusal of such a container while it may chroot.
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, readFileSync, readlinkSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { inSandbox, waitFor } from './helpers.ts';
import { consoleSocket, drain } from './pty.ts';

// Fails without the fix: the init's blocking write and node's wait for the hook's output pipes
// (held by its sleeping child) both outlast the 1 s timeout until the hook's 30 s sleep ends,
// beyond the 15 s this test allows.
test('a hook that never reads a state larger than the pipe buffer still times out', () =>
  inSandbox((sb) => {
    const big = 'x'.repeat(200 * 1024); // the state carries the annotations: over 64 KiB
    for (const stage of ['prestart', 'createContainer'] as const) {
      const bundle = sb.bundle((c) => {
        c.annotations = { big };
        c.hooks = { [stage]: [{ path: '/bin/sh', args: ['sh', '-c', 'sleep 30; true'], timeout: 1 }] };
      });
      const id = sb.id();
      const started = Date.now();
      const r = sb.tsrun(['create', '--bundle', bundle, id], { stdoutFile: sb.file(`${id}.out`), timeoutMs: 15_000 });
      assert.is(r.status, 1, `${stage}: ${r.stderr}`);
      assert.match(r.stderr, /timed out/, stage);
      assert.ok(Date.now() - started < 15_000, `${stage}: the timeout held`);
      assert.not.ok(existsSync(join(sb.root, id)), `${stage}: nothing left behind`);
    }
  }));

// Fails without the fix: the init opens the planted /dev/ptmx (here /dev/zero), whose ioctls fail,
// and exec --tty errors out ("unlock the pty").
test('exec --tty opens the container\'s devpts even when the container replaced /dev/ptmx by a symlink', () =>
  inSandbox(async (sb) => {
    const id = sb.id();
    const output = sb.createAndStart(id, sb.bundle((c) => (c.process.args = ['sh', '-c', 'rm -f /dev/ptmx && ln -s /dev/zero /dev/ptmx && echo planted; sleep 60'])));
    await waitFor(() => readFileSync(output, 'utf8').includes('planted'), 10_000, () => 'the container to plant its /dev/ptmx');
    const socket = await consoleSocket(sb);
    try {
      const exec = sb.tsrun(['exec', '--tty', '--console-socket', socket.path, '--detach', id, 'sh', '-c', 'tty; readlink /dev/ptmx']);
      assert.is(exec.status, 0, exec.stderr);
      const master = await socket.next();
      try {
        const out = drain(master);
        assert.match(out, /^\/dev\/pts\/\d+$/m, `a pty of the container's devpts:\n${out}`);
        assert.match(out, /^\/dev\/zero$/m, 'the planted symlink is still there');
      } finally {
        closeSync(master);
      }
    } finally {
      socket.close();
    }
    sb.tsrun(['delete', '--force', id]).ok();
  }));

// Fails without the fix: the bind of the pty follows the volume's symlink and lands on the
// container's /proc/sys/kernel/core_pattern: reading it then blocks on the pty, and the container
// never stops. Unlinking the symlink instead (as tsrun once did) changes the user's volume: checked
// by restoring that, the volume's console is a file and create succeeds.
test('CVE-2025-52565: a /dev/console that is a symlink is refused, never followed by the bind of the pty nor removed', () =>
  inSandbox(async (sb) => {
    const dev = sb.file('dev-volume');
    mkdirSync(dev);
    symlinkSync('/proc/sys/kernel/core_pattern', join(dev, 'console'));
    const corePattern = readFileSync('/proc/sys/kernel/core_pattern', 'utf8').trim();
    const socket = await consoleSocket(sb);
    try {
      const id = sb.id();
      const bundle = sb.bundle((c) => {
        c.mounts = c.mounts.map((m: { destination: string }) => (m.destination === '/dev' ? { destination: '/dev', type: 'bind', source: dev, options: ['rbind'] } : m));
        c.linux.maskedPaths = []; // the volume has no /dev/null to mask with
        c.process.terminal = true;
        c.process.args = ['sh', '-c', 'echo "core=$(cat /proc/sys/kernel/core_pattern)"'];
      });
      const r = sb.tsrun(['create', '--bundle', bundle, '--console-socket', socket.path, id]);
      assert.is(r.status, 1, r.stderr);
      assert.match(r.stderr, /\/dev\/console is a symlink/);
      assert.not.ok(existsSync(join(sb.root, id)), 'nothing left behind');
      assert.is(readlinkSync(join(dev, 'console')), '/proc/sys/kernel/core_pattern', 'the volume keeps its symlink');
      assert.is(readFileSync('/proc/sys/kernel/core_pattern', 'utf8').trim(), corePattern);
    } finally {
      socket.close();
    }
  }));

// Guards delete against path-based unmounting (checked with a delete that unmounted each mount
// point of /proc/self/mountinfo below the rootfs by its path with umount2, as tsrun once did: it
// followed the symlink b planted under the container's mount on /a and detached the canary).
// delete now detaches the rootfs bind by its mount id and never resolves a path in the rootfs.
test('delete of a container without a mount namespace never follows a symlink it planted to a host mount', () =>
  inSandbox(async (sb) => {
    const canary = sb.file('canary');
    mkdirSync(join(canary, 'c'), { recursive: true });
    assert.is(spawnSync('mount', ['-t', 'tmpfs', 'tsrun-test-canary', join(canary, 'c')]).status, 0, 'mount the canary');
    try {
      const id = sb.id();
      const bundle = sb.bundle((c) => {
        c.linux.namespaces = c.linux.namespaces.filter((ns: { type: string }) => ns.type !== 'mount');
        for (const set of ['bounding', 'effective', 'permitted']) c.process.capabilities[set].push('CAP_SYS_ADMIN');
        c.root.readonly = false;
        // a mount over /a hides the real /a/b/c; in it, b is a symlink to the canary's host path
        c.process.args = ['sh', '-c', `mkdir -p /a/b/c && mount -t tmpfs inner /a/b/c && mount -t tmpfs over /a && ln -s ${canary} /a/b && echo planted; sleep 60`];
      }, { copyRootfs: true });
      const output = sb.createAndStart(id, bundle);
      await waitFor(() => readFileSync(output, 'utf8').includes('planted'), 10_000, () => readFileSync(output, 'utf8'));
      sb.tsrun(['delete', '--force', id]).ok();
      const mountPoints = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' ')[4]);
      assert.ok(mountPoints.includes(join(canary, 'c')), 'the canary mount outside the rootfs is still there');
      assert.not.ok(mountPoints.some((m) => m?.startsWith(join(bundle, 'rootfs'))), 'nothing is left below the rootfs');
    } finally {
      spawnSync('umount', ['-l', join(canary, 'c')]);
    }
  }));

test('a container without a mount namespace is refused while CAP_SYS_CHROOT is in its bounding set', () =>
  inSandbox(async (sb) => {
    const withoutMountNamespace = (caps: string[]) =>
      sb.bundle((c) => {
        c.linux.namespaces = c.linux.namespaces.filter((ns: { type: string }) => ns.type !== 'mount');
        c.process.capabilities = { bounding: caps, effective: caps, permitted: caps };
        c.process.args = ['sh', '-c', 'echo ran'];
      }, { copyRootfs: true });
    const id = sb.id();
    const r = sb.tsrun(['create', '--bundle', withoutMountNamespace(['CAP_KILL', 'CAP_SYS_CHROOT']), id]);
    assert.is(r.status, 2, r.stderr);
    assert.match(r.stderr, /process\.capabilities\.bounding\[1\]/);
    assert.match(r.stderr, /CAP_SYS_CHROOT/);
    assert.not.ok(existsSync(join(sb.root, id)), 'nothing left behind');
    assert.match(await sb.runToEnd(withoutMountNamespace(['CAP_KILL'])), /^ran$/m, 'without the capability it runs');
    const accepted = sb.id();
    const output = sb.file('accepted.out');
    sb.tsrun(['create', '--bundle', withoutMountNamespace(['CAP_KILL', 'CAP_SYS_CHROOT']), accepted], { env: { TSRUN_ALLOW_CHROOT_ONLY: '1' }, stdoutFile: output }).ok();
    assert.match(readFileSync(`${output}.create-err`, 'utf8'), /warning: .*TSRUN_ALLOW_CHROOT_ONLY=1/, 'the operator who accepts it is warned');
    sb.tsrun(['delete', '--force', accepted]).ok();
  }));

test.run();
