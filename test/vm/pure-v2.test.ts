// Runs inside the guest only (test/vm/guest-tests.txt): proves the guest is a pure cgroup v2 host,
// that tsrun sees it as one, and that a container gets its cgroup there and leaves none behind.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { hostHierarchies } from '../../src/cgroups/hierarchies.ts';
import { inSandbox, waitFor } from '../integration/helpers.ts';

const mountinfo = () => readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter(Boolean);
const fstypeOf = (line: string) => line.split(' - ')[1]?.split(' ')[0];

test('the kernel offers no cgroup v1: cgroup_no_v1=all, no v1 mount, one v2 membership', () => {
  assert.match(readFileSync('/proc/cmdline', 'utf8'), /\bcgroup_no_v1=all\b/);
  assert.equal(mountinfo().filter((l) => fstypeOf(l) === 'cgroup'), [], 'no cgroup v1 mount');
  const v2 = mountinfo().filter((l) => fstypeOf(l) === 'cgroup2');
  assert.is(v2.length, 1);
  assert.is(v2[0].split(' ')[4], '/sys/fs/cgroup');
  assert.is(readFileSync('/proc/self/cgroup', 'utf8'), '0::/\n');
  const dir = mkdtempSync(join(tmpdir(), 'v1-'));
  try {
    const mount = spawnSync('mount', ['-t', 'cgroup', '-o', 'memory', 'cgroup', dir], { encoding: 'utf8' });
    if (mount.status === 0) spawnSync('umount', [dir]);
    assert.is.not(mount.status, 0, 'a v1 memory hierarchy cannot be mounted');
  } finally {
    rmdirSync(dir);
  }
});

test('the v2 root offers and delegates the resource controllers', () => {
  const offered = readFileSync('/sys/fs/cgroup/cgroup.controllers', 'utf8').trim().split(' ');
  const delegated = readFileSync('/sys/fs/cgroup/cgroup.subtree_control', 'utf8').trim().split(' ');
  for (const controller of ['cpu', 'io', 'memory', 'pids']) {
    assert.ok(offered.includes(controller), `${controller} in cgroup.controllers (${offered})`);
    assert.ok(delegated.includes(controller), `${controller} in cgroup.subtree_control (${delegated})`);
  }
});

test('the guest has a block device, for per-device io limits', () => {
  assert.is(readFileSync('/sys/block/loop0/dev', 'utf8'), '7:0\n');
  assert.ok(Number(readFileSync('/sys/block/loop0/size', 'utf8')) > 0, '/dev/loop0 has a backing file');
});

test('tsrun finds exactly one hierarchy: the unified one at /sys/fs/cgroup', () => {
  assert.equal(hostHierarchies(), [{ name: 'unified', version: 2, mountPoint: '/sys/fs/cgroup', mountRoot: '/', current: '/' }]);
});

test('a container lives in its own v2 cgroup, sees only that as its root, and leaves nothing behind', () =>
  inSandbox(async (sb) => {
    const bundle = sb.bundle((c) => {
      c.process.args = ['sh', '-c', 'cat /proc/self/cgroup; ls /sys/fs/cgroup/cgroup.procs; sleep 600'];
      delete c.linux.resources; // device rules need a BPF program on v2: not what this checks
    });
    const id = sb.id('v2');
    const output = sb.createAndStart(id, bundle);
    const dir = join('/sys/fs/cgroup/tsrun', id);
    const pid = sb.state(id).pid;
    assert.ok(existsSync(dir), `${dir} exists`);
    assert.equal(readFileSync(join(dir, 'cgroup.procs'), 'utf8').trim().split('\n'), [String(pid)]);
    const controllers = readFileSync(join(dir, 'cgroup.controllers'), 'utf8');
    assert.match(controllers, /\bmemory\b/);
    assert.match(controllers, /\bpids\b/);
    await waitFor(() => readFileSync(output, 'utf8').includes('cgroup.procs'), 20_000, () => `the container's output (${readFileSync(output, 'utf8')})`);
    assert.is(readFileSync(output, 'utf8'), '0::/\n/sys/fs/cgroup/cgroup.procs\n', 'its cgroup namespace is rooted at its cgroup');

    sb.tsrun(['kill', id, 'KILL']).ok();
    await sb.waitForStatus(id, 'stopped');
    sb.tsrun(['delete', id]).ok();
    assert.not.ok(existsSync(dir), `${dir} removed`);
    assert.not.ok(existsSync('/sys/fs/cgroup/tsrun'), 'the tsrun parent removed once empty');
  }));

test.run();
