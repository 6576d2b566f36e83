import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { isTsrunError } from '../../src/errors.ts';
import { parseSignal } from '../../src/runtime/signals.ts';
import { parseHierarchies } from '../../src/cgroups/hierarchies.ts';
import { resolveCgroupPath } from '../../src/cgroups/manager.ts';
import { parseSubCgroups } from '../../src/cli/exec.ts';
import { parsePsArgs } from '../../src/cli/ps.ts';
import { subCgroupDirs } from '../../src/runtime/exec.ts';

test('signals: names with and without SIG, any case, and numbers', () => {
  assert.is(parseSignal('KILL'), 9);
  assert.is(parseSignal('SIGKILL'), 9);
  assert.is(parseSignal('kill'), 9);
  assert.is(parseSignal('9'), 9);
  assert.is(parseSignal(undefined), 15);
  assert.is(parseSignal('USR1'), 10);
  assert.is(parseSignal('0'), 0, 'signal 0 probes the container, as in runc');
  for (const bad of ['NOPE', '65', '-9', '9x', 'SIG']) {
    assert.throws(() => parseSignal(bad), (e: unknown) => isTsrunError(e, 'ERR_SIGNAL'), bad);
  }
});

const HYBRID_MOUNTINFO = `25 1 0:23 / / rw - ext4 /dev/vda rw
30 25 0:26 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
31 30 0:27 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
32 30 0:28 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 30 0:29 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
34 30 0:30 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
35 25 0:30 /sub /mnt/again\\040there rw,relatime - cgroup2 cgroup2 rw`;
const HYBRID_CGROUP = `4:memory:/machine/x
3:cpu:/
2:name=systemd:/
0::/`;

test('hierarchies: v1 controllers, named hierarchies and cgroup2 on a hybrid host', () => {
  const hs = parseHierarchies(HYBRID_MOUNTINFO, HYBRID_CGROUP);
  assert.equal(hs.map((h) => [h.name, h.version, h.mountPoint, h.current]), [
    ['memory', 1, '/sys/fs/cgroup/memory', '/machine/x'],
    ['cpu', 1, '/sys/fs/cgroup/cpu', '/'],
    ['name=systemd', 1, '/sys/fs/cgroup/systemd', '/'],
    ['unified', 2, '/sys/fs/cgroup/unified', '/'],
  ]);
});

test('cgroupsPath: unset, absolute, relative; ".." refused', () => {
  const [memory] = parseHierarchies(HYBRID_MOUNTINFO, HYBRID_CGROUP);
  assert.is(resolveCgroupPath(undefined, 'c1', memory), '/tsrun/c1');
  assert.is(resolveCgroupPath('/a/b', 'c1', memory), '/a/b');
  assert.is(resolveCgroupPath('a/b', 'c1', memory), '/machine/x/a/b');
  assert.throws(() => resolveCgroupPath('/a/../../b', 'c1', memory), (e: unknown) => isTsrunError(e, 'ERR_CONFIG_INVALID'));
});


// Checked: without parseSubCgroups' checks, '../x' and a second bare path are accepted.
test('exec --cgroup: runc\'s [controllers:]path forms and refusals', () => {
  assert.equal([...parseSubCgroups(['/sub/a'])], [['', 'sub/a']]);
  assert.equal([...parseSubCgroups(['pids,memory:x', 'cpu:/y/'])], [['pids', 'x'], ['memory', 'x'], ['cpu', 'y']]);
  assert.equal([...parseSubCgroups(['a/../b'])], [['', 'b']], 'a path that stays inside is cleaned');
  for (const bad of [['../x'], ['/a/../../x'], ['a:b:c'], ['/x', '/y'], [':x'], ['pids:x', 'pids:y'], ['pids,:x']]) {
    assert.throws(() => parseSubCgroups(bad), (e: unknown) => isTsrunError(e, 'ERR_USAGE'), bad.join(' '));
  }
});

test('exec --cgroup: the directories joined, per hierarchy', () => {
  const cgroups = {
    dirs: ['/cg/cpu/c1', '/cg/pids/c1', '/cg/unified/c1'],
    placements: [
      { dir: '/cg/cpu/c1', version: 1 as const, controllers: ['cpu', 'cpuacct'] },
      { dir: '/cg/pids/c1', version: 1 as const, controllers: ['pids'] },
      { dir: '/cg/unified/c1', version: 2 as const, controllers: ['hugetlb'] },
    ],
  };
  assert.equal(subCgroupDirs('c1', cgroups, new Map()), cgroups.dirs);
  assert.equal(subCgroupDirs('c1', cgroups, parseSubCgroups(['sub'])), ['/cg/cpu/c1/sub', '/cg/pids/c1/sub', '/cg/unified/c1/sub']);
  assert.equal(subCgroupDirs('c1', cgroups, parseSubCgroups(['pids:p'])), ['/cg/cpu/c1', '/cg/pids/c1/p', '/cg/unified/c1']);
  for (const bad of [['rdma:x'], ['cpu:a', 'cpuacct:b']]) {
    assert.throws(() => subCgroupDirs('c1', cgroups, parseSubCgroups(bad)), (e: unknown) => isTsrunError(e, 'ERR_USAGE'), bad.join(' '));
  }
});

// Checked: with the old parsing, -ef after the id was an unknown option of tsrun ps.
test('ps: everything after the id goes to ps(1), as in runc', () => {
  assert.equal(parsePsArgs(['c1']), { id: 'c1', psArgs: [], format: 'table' });
  assert.equal(parsePsArgs(['c1', '-ef']), { id: 'c1', psArgs: ['-ef'], format: 'table' });
  assert.equal(parsePsArgs(['--format', 'json', 'c1', '-o', 'pid,comm']), { id: 'c1', psArgs: ['-o', 'pid,comm'], format: 'json' });
  assert.equal(parsePsArgs(['--format=json', '--', 'c1', '--format', 'x']), { id: 'c1', psArgs: ['--format', 'x'], format: 'json' });
  assert.throws(() => parsePsArgs(['--nope', 'c1']), (e: unknown) => isTsrunError(e, 'ERR_USAGE'));
  assert.throws(() => parsePsArgs([]), (e: unknown) => isTsrunError(e, 'ERR_USAGE'));
});

test.run();
