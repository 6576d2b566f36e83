// tsrun under the real containerd: ctr drives containerd-shim-runc-v2 with tsrun as its runc
// binary, exactly as a user would plug it in. Every test checks what the container printed, and
// the last one that containerd, the shims and tsrun left nothing behind.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PrivateContainerd, IMAGE } from './clients.ts';
import { waitFor } from './helpers.ts';

const containerd = new PrivateContainerd();
let n = 0;
const name = () => `c${n++}`;

test.before(() => containerd.start());
test.after(() => containerd.stop().then(() => undefined)); // when a test failed before the last one

test('run --rm passes output and the exit status through; the container is pid 1 in its own cgroup', () => {
  const id = name();
  const result = containerd.ctr(['run', '--rm', ...containerd.runtimeFlags, IMAGE, id, 'sh', '-c', 'echo pid $$; echo to-stderr >&2; grep -m1 pids /proc/self/cgroup; exit 7']);
  assert.is(result.status, 7, result.stderr);
  assert.match(result.stdout, /^pid 1$/m);
  assert.match(result.stdout, new RegExp(`pids:/${containerd.tag}/${id}$`, 'm'));
  assert.match(result.stdout + result.stderr, 'to-stderr');
  assert.is(containerd.ctr(['containers', 'list', '--quiet']).stdout.trim(), '', '--rm removed the container');
});

test('run -t gives the container a working terminal', () => {
  const result = containerd.ctr(['run', '--rm', '-t', ...containerd.runtimeFlags, IMAGE, name(), 'sh'], {
    tty: true,
    input: 'tty; echo typed-$((6 * 7)); exit 5\n',
  });
  assert.match(result.stdout, /\/dev\/pts\/\d+/);
  assert.match(result.stdout, 'typed-42', 'the shell read what was typed at the terminal');
  assert.is(result.status, 5);
});

test('run -d, then task exec (with and without a tty), ps, pause, resume, kill and delete', async () => {
  const id = name();
  const ctr = containerd.ctr.bind(containerd);
  assert.is(ctr(['run', '-d', ...containerd.runtimeFlags, IMAGE, id, 'sleep', '300']).status, 0);
  const taskPid = () => Number(/^\S+\s+(\d+)\s+(\w+)/m.exec(ctr(['task', 'list']).stdout.split('\n').find((l) => l.startsWith(`${id} `)) ?? '')?.[1]);
  const status = () => ctr(['task', 'list']).stdout.split('\n').find((l) => l.startsWith(`${id} `))?.trim().split(/\s+/)[2];
  await waitFor(() => status() === 'RUNNING', 20_000, () => `task ${id} to run (is ${status()})`);

  const exec = ctr(['task', 'exec', '--exec-id', 'e1', id, 'sh', '-c', 'echo exec-pid $$; cat /proc/1/cmdline | tr "\\0" " "']);
  assert.is(exec.status, 0, exec.stderr);
  assert.match(exec.stdout, /^exec-pid ([2-9]|\d\d+)$/m, 'the exec process is in the container pid namespace');
  assert.match(exec.stdout, 'sleep 300');
  assert.is(ctr(['task', 'exec', '--exec-id', 'e2', id, 'sh', '-c', 'exit 3']).status, 3);

  const ttyExec = ctr(['task', 'exec', '-t', '--exec-id', 'e3', id, 'sh'], { tty: true, input: 'tty; echo in-exec-$((2 + 3)); exit\n' });
  assert.match(ttyExec.stdout, /\/dev\/pts\/\d+/);
  assert.match(ttyExec.stdout, 'in-exec-5');

  const ps = ctr(['task', 'ps', id]);
  assert.match(ps.stdout, new RegExp(`^${taskPid()}\\b`, 'm'), 'task ps lists the init by its host pid');

  assert.is(ctr(['task', 'pause', id]).status, 0);
  assert.is(status(), 'PAUSED');
  const frozen = ctr(['task', 'exec', '--exec-id', 'e4', id, 'true']);
  assert.not.equal(frozen.status, 0, 'nothing runs in a paused container');
  assert.is(ctr(['task', 'resume', id]).status, 0);
  assert.is(status(), 'RUNNING');
  assert.is(ctr(['task', 'exec', '--exec-id', 'e5', id, 'true']).status, 0);

  assert.is(ctr(['task', 'kill', '--signal', 'SIGKILL', id]).status, 0);
  await waitFor(() => status() === 'STOPPED', 20_000, () => `task ${id} to stop (is ${status()})`);
  assert.is(ctr(['task', 'delete', id]).status, 0);
  assert.is(ctr(['containers', 'delete', id]).status, 0);
});

test('a container that cannot start fails with the real cause, shown by ctr', () => {
  const result = containerd.ctr(['run', '--rm', ...containerd.runtimeFlags, IMAGE, name(), '/no/such/program']);
  assert.is.not(result.status, 0);
  assert.match(result.stderr, /\/no\/such\/program.*no such file or directory/);
  assert.is(containerd.ctr(['containers', 'list', '--quiet']).stdout.trim(), '');
});

test('20 containers started in parallel all run', async () => {
  const ids = Array.from({ length: 20 }, name);
  const results = await Promise.all(ids.map((id) => containerd.ctrAsync(['run', '--rm', ...containerd.runtimeFlags, IMAGE, id, 'echo', `hello from ${id}`])));
  results.forEach((result, i) => {
    assert.is(result.status, 0, `${ids[i]}: ${result.stderr}`);
    assert.is(result.stdout.trim(), `hello from ${ids[i]}`);
  });
});

test('containerd, its shims and tsrun leave nothing behind', async () => {
  assert.equal(await containerd.stop(), []);
});

test.run();
