import { mkdirSync, mkdtempSync, readdirSync, rmSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { isTsrunError } from '../../src/errors.ts';
import { validateId } from '../../src/state/id.ts';
import { lockFile, withLock } from '../../src/state/lock.ts';
import { isAlive, readProcStat } from '../../src/state/process.ts';
import { StateStore, type ContainerRecord } from '../../src/state/store.ts';

const scratch = () => mkdtempSync(join(tmpdir(), 'tsrun-unit-'));

function record(id: string): ContainerRecord {
  return {
    ociVersion: '1.3.0', id, bundle: '/b', rootfs: '/b/rootfs', created: new Date(0).toISOString(), annotations: {},
    status: 'created', pid: 0, initStartTime: '', cgroups: { dirs: [], leaves: [], parents: [], placements: [] }, hooks: {}, hasProcess: true, namespaces: [],
  };
}

test('ids: runc\'s alphabet, and no path tricks', () => {
  for (const ok of ['a', 'c1', 'my_container.v2+x-y', 'A'.repeat(200)]) assert.is(validateId(ok), ok);
  for (const bad of ['a/b', '.', '..', 'x y', '../x', 'é', 'a\nb']) {
    assert.throws(() => validateId(bad), (e: unknown) => isTsrunError(e, 'ERR_INVALID_ID'), bad);
  }
  assert.throws(() => validateId(''), (e: unknown) => isTsrunError(e, 'ERR_USAGE'));
});

test('store: claim is exclusive, writes are whole, remove forgets', () => {
  const root = scratch();
  try {
    const store = new StateStore(join(root, 'state'));
    store.claim('c1');
    assert.throws(() => store.claim('c1'), (e: unknown) => isTsrunError(e, 'ERR_EXISTS'));
    assert.is(store.tryRead('c1'), undefined, 'a claimed id without a record reads as undefined');
    store.write(record('c1'));
    assert.equal(store.read('c1'), record('c1'));
    writeFileSync(store.path('c1', 'state.json'), '{"trunc');
    assert.is(store.tryRead('c1'), undefined, 'a corrupt record is not trusted');
    assert.equal(store.ids(), ['c1']);
    store.remove('c1');
    assert.throws(() => store.read('c1'), (e: unknown) => isTsrunError(e, 'ERR_NOT_FOUND'));
    assert.equal(store.ids(), []);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

// The fuzzer found it: create failed on JSON.stringify of an rlimit of 2^64-1 (a bigint) in the record.
test('store: big integers of the config (an rlimit of 2^64-1) are written and read back exact', () => {
  const dir = scratch();
  try {
    const store = new StateStore(dir);
    const r = record('big');
    store.claim(r.id);
    r.process = { cwd: '/', args: ['true'], rlimits: [{ type: 'RLIMIT_CORE', hard: 18446744073709551615n, soft: 2n ** 63n }] } as ContainerRecord['process'];
    store.write(r);
    assert.equal(store.read('big').process?.rlimits, [{ type: 'RLIMIT_CORE', hard: 18446744073709551615n, soft: 2n ** 63n }]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('process: our own pid is alive with its start time, not with another', () => {
  const stat = readProcStat(process.pid)!;
  assert.ok(stat.startTime.length > 0);
  assert.ok(isAlive(process.pid, stat.startTime));
  assert.not.ok(isAlive(process.pid, String(Number(stat.startTime) + 1)), 'a reused pid is not the same process');
  assert.is(readProcStat(0), undefined);
});

test('lock: holders of one id run one at a time; other ids do not wait', async () => {
  const root = scratch();
  try {
    const events: string[] = [];
    const hold = (tag: string, ms: number) =>
      withLock(root, 'same', async () => {
        events.push(`${tag}+`);
        await new Promise((r) => setTimeout(r, ms));
        events.push(`${tag}-`);
      });
    await Promise.all([hold('a', 30), hold('b', 1), withLock(root, 'other', () => events.push('other'))]);
    const a = events.indexOf('a+'), b = events.indexOf('b+');
    const first = a < b ? 'a' : 'b', second = first === 'a' ? 'b' : 'a';
    assert.ok(events.indexOf(`${first}-`) < events.indexOf(`${second}+`), `no overlap: ${events}`);
    assert.equal(readdirSync(root), [], 'the lock files of ids without a container are gone');
    mkdirSync(join(root, 'kept'));
    await withLock(root, 'kept', () => {});
    assert.equal(readdirSync(root).sort(), ['kept', basename(lockFile(root, 'kept'))].sort(), 'a container keeps its lock file');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test.run();
