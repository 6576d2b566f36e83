// tsrun as a library: the built package entry (dist/lib.js, package.json "main") runs containers
// in this Node process, which becomes their parent, with the event loop free meanwhile.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { REPO, inSandbox, waitFor } from './helpers.ts';

const lib = await import(join(REPO, JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')).main));

test('run: the container writes to the given files and its exit status comes back', () =>
  inSandbox(async (sb) => {
    const containers = new lib.Containers({ root: sb.root });
    const out = sb.file('out');
    const bundle = sb.bundle((c) => {
      c.hostname = 'from-library';
      c.process.args = ['sh', '-c', 'echo pid $$; hostname; echo oops >&2; exit 3'];
    });
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    const status = await containers.run(sb.id(), { bundle, stdio: { stdout: out, stderr: out } });
    clearInterval(timer);
    assert.equal(status, { exitCode: 3, signal: null });
    assert.match(readFileSync(out, 'utf8'), /^pid 1\nfrom-library\noops\n$/);
    assert.ok(ticks > 0, 'the event loop ran while the container did');
    assert.equal(containers.list(), []);
  }));

test('create, start, state, kill, wait and delete, step by step', () =>
  inSandbox(async (sb) => {
    const containers = new lib.Containers({ root: sb.root });
    const id = sb.id();
    const created = await containers.create(id, { bundle: sb.bundle((c) => (c.process.args = ['sleep', '300'])), stdio: { stdout: sb.file('out') } });
    assert.is(created.status, 'created');
    assert.ok(created.pid > 0);
    await containers.start(id);
    assert.is(containers.state(id).status, 'running');
    // The kill comes from a timer, which fires only while waiting leaves the event loop free.
    setTimeout(() => void containers.kill(id, 'SIGKILL'), 100);
    assert.equal(await containers.wait(id), { exitCode: null, signal: 9 });
    await waitFor(() => containers.state(id).status === 'stopped', 10_000, () => 'stopped');
    await containers.delete(id);
    assert.throws(() => containers.state(id), (e: unknown) => lib.isTsrunError(e, 'ERR_NOT_FOUND'));
  }));

test('bad input is a TsrunError with its code, and leaves nothing', () =>
  inSandbox(async (sb) => {
    const containers = new lib.Containers({ root: sb.root });
    const id = sb.id();
    const bundle = sb.bundle((c) => (c.process.user.uid = -1));
    try {
      await containers.create(id, { bundle });
      assert.unreachable('an invalid config must be refused');
    } catch (err) {
      assert.ok(lib.isTsrunError(err, 'ERR_CONFIG_INVALID'), String(err));
      assert.match((err as Error).message, 'process.user.uid');
    }
    assert.throws(() => containers.kill(id, 'NOPE'), (e: unknown) => lib.isTsrunError(e));
    assert.equal(containers.list(), []);
  }));

test.run();
