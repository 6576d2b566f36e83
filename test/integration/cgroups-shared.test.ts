// The container's cgroup as runc leaves it and finds it: a frozen parent, an empty v1 cpuset
// parent made by someone else, sub-cgroups the container made, a cgroup that has processes.
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cgroupDir, startContainer, versionOf } from './cgroups-host.ts';
import { inSandbox, leaksOf, uniqueId } from './helpers.ts';

/** The mount point of the hierarchy that serves `controller` (the cgroup2 one for v2). */
function hierarchyOf(controller: string): string {
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const [left, right] = line.split(' - ');
    if (!right) continue;
    const [fstype, , options = ''] = right.split(' ');
    const mountPoint = left.split(' ')[4];
    if (versionOf(controller) === 1 ? fstype === 'cgroup' && options.split(',').includes(controller) : fstype === 'cgroup2') return mountPoint;
  }
  throw new Error(`no hierarchy serves ${controller}`);
}

const tidy = (dir: string) => existsSync(dir) && rmdirSync(dir);

// Checked: without the check, create hung until the test's 30 s timeout killed it.
test('create in a frozen cgroup fails at once and leaves nothing', () =>
  inSandbox((sb) => {
    const v1 = versionOf('freezer') === 1;
    const name = uniqueId('frozen');
    const parent = join(hierarchyOf('freezer'), name);
    mkdirSync(parent);
    try {
      writeFileSync(join(parent, v1 ? 'freezer.state' : 'cgroup.freeze'), v1 ? 'FROZEN' : '1');
      const id = sb.id();
      const bundle = sb.bundle((c) => (c.linux.cgroupsPath = `/${name}/${id}`));
      const started = Date.now();
      const result = sb.tsrun(['create', '--bundle', bundle, id], { stdoutFile: sb.file('out'), timeoutMs: 30_000 });
      assert.is(result.status, 1, result.stderr);
      assert.match(result.stderr, /frozen/);
      assert.ok(Date.now() - started < 20_000, 'failed without waiting for the init');
      assert.not.ok(existsSync(join(sb.root, id)));
      assert.equal(leaksOf(id), []);
      assert.not.ok(existsSync(join(parent, id)));
    } finally {
      writeFileSync(join(parent, v1 ? 'freezer.state' : 'cgroup.freeze'), v1 ? 'THAWED' : '0');
      rmdirSync(parent);
    }
  }));

// runc's cpusetEnsureParent. Checked: with only the parents tsrun made filled, create failed
// joining the leaf (ENOSPC: no cpus).
const v1Cpuset = versionOf('cpuset') === 1;
if (!v1Cpuset) console.log('skipped: cgroups-shared: no v1 cpuset hierarchy here, so no empty cpuset parent to fill');
(v1Cpuset ? test : test.skip)('v1 cpuset: an existing empty parent gets cpus and mems from its own parent', () =>
  inSandbox(async (sb) => {
    const name = uniqueId('cpuset');
    const parent = join(hierarchyOf('cpuset'), name);
    mkdirSync(parent);
    try {
      assert.is(readFileSync(join(parent, 'cpuset.cpus'), 'utf8').trim(), '', 'a new v1 cpuset is empty');
      const { id, pid } = startContainer(sb, (c) => (c.linux.cgroupsPath = `/${name}/c`));
      assert.is(readFileSync(join(parent, 'cpuset.cpus'), 'utf8'), readFileSync(join(dirname(parent), 'cpuset.cpus'), 'utf8'));
      assert.is(readFileSync(join(parent, 'cpuset.mems'), 'utf8'), readFileSync(join(dirname(parent), 'cpuset.mems'), 'utf8'));
      assert.is(cgroupDir(pid, 'cpuset'), join(parent, 'c'));
      sb.tsrun(['delete', '--force', id]).ok();
    } finally {
      tidy(join(parent, 'c'));
      rmdirSync(parent);
    }
  }));

// Checked: without removing the sub-cgroups, delete --force failed after 5 s with EBUSY.
test('delete --force removes the sub-cgroups the container made in its cgroups', () =>
  inSandbox(async (sb) => {
    const { id, pid } = startContainer(sb);
    const dirs = [...new Set(['pids', 'memory', ''].map((c) => cgroupDir(pid, c)))];
    for (const dir of dirs) mkdirSync(join(dir, 'sub', 'deeper'), { recursive: true });
    // the container's processes may live there too: the init moves into one
    writeFileSync(join(cgroupDir(pid, 'pids'), 'sub', 'deeper', 'cgroup.procs'), String(pid));
    assert.ok(sb.tsrun(['ps', id]).ok().stdout.includes(String(pid)), 'ps sees the processes of the sub-cgroups');
    sb.tsrun(['delete', '--force', id]).ok();
    for (const dir of dirs) assert.not.ok(existsSync(dir), `${dir} removed`);
    assert.equal(leaksOf(id), []);
  }));

test('a container put in a cgroup that already has processes is created with a warning', () =>
  inSandbox(async (sb) => {
    const path = `/${uniqueId('busy')}`;
    const first = startContainer(sb, (c) => (c.linux.cgroupsPath = path));
    const second = sb.id();
    const result = sb.tsrun(['create', '--bundle', sb.bundle((c) => (c.linux.cgroupsPath = path)), second], { stdoutFile: sb.file('second.out') }).ok();
    assert.match(result.stderr, /already has processes/);
    sb.tsrun(['delete', '--force', second]).ok();
    sb.tsrun(['delete', '--force', first.id]).ok();
  }));

test.run();
