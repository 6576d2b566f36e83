// tsrun under the real podman (through conmon), registered in a private containers.conf with
// runtime_supports_json, as a user would configure it. podman's default config asks for seccomp,
// which tsrun does not implement yet: runs say --security-opt seccomp=unconfined, and one test
// checks that without it the podman user sees tsrun's own "not supported" message.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PrivatePodman, IMAGE } from './clients.ts';

const podman = new PrivatePodman();
const UNCONFINED = ['--security-opt', 'seccomp=unconfined'];

test.before(() => podman.start());
test.after(() => podman.stop().then(() => undefined)); // when a test failed before the last one

test('run --rm passes output and the exit status through; the container is pid 1', () => {
  const result = podman.podman(['run', '--rm', ...UNCONFINED, IMAGE, 'sh', '-c', 'echo pid $$; echo to-stderr >&2; grep -m1 pids /proc/self/cgroup; echo lo $(cat /sys/class/net/lo/flags); exit 7']);
  assert.is(result.status, 7, result.stderr);
  assert.match(result.stdout, /^pid 1$/m);
  assert.match(result.stdout, /^lo 0x9$/m, 'lo is up (IFF_UP|IFF_LOOPBACK) in the network namespace of --network none, as with runc');
  assert.match(result.stdout, new RegExp(`pids:/${podman.tag}/libpod-[0-9a-f]{64}$`, 'm'));
  assert.match(result.stdout + result.stderr, 'to-stderr');
});

test('run -d, exec, stop and rm', () => {
  const run = podman.podman(['run', '-d', '--name', 'p1', ...UNCONFINED, IMAGE, 'sleep', '300']);
  assert.is(run.status, 0, run.stderr);
  const exec = podman.podman(['exec', 'p1', 'sh', '-c', 'echo exec-pid $$; cat /proc/1/cmdline | tr "\\0" " "']);
  assert.is(exec.status, 0, exec.stderr);
  assert.match(exec.stdout, /^exec-pid ([2-9]|\d\d+)$/m, 'the exec process is in the container pid namespace');
  assert.match(exec.stdout, 'sleep 300');
  assert.is(podman.podman(['exec', 'p1', 'sh', '-c', 'exit 4']).status, 4);
  const ttyExec = podman.podman(['exec', '-t', 'p1', 'sh', '-c', 'tty'], { tty: true });
  assert.match(ttyExec.stdout, /\/dev\/pts\/\d+/);
  // sleep, as pid 1, ignores SIGTERM: podman stop sends TERM, then KILL after the timeout, then deletes.
  const stop = podman.podman(['stop', '--time', '1', 'p1']);
  assert.is(stop.status, 0, stop.stderr);
  assert.match(podman.podman(['inspect', '--format', '{{.State.Status}}', 'p1']).stdout, 'exited');
  assert.is(podman.podman(['rm', 'p1']).status, 0);
});

test('run -t gives the container a working terminal', () => {
  const result = podman.podman(['run', '--rm', '-it', ...UNCONFINED, IMAGE, 'sh'], { tty: true, input: 'tty; echo typed-$((6 * 7)); exit 5\n' });
  assert.match(result.stdout, /\/dev\/pts\/\d+/);
  assert.match(result.stdout, 'typed-42', 'the shell read what was typed at the terminal');
  assert.is(result.status, 5);
});

test('without seccomp=unconfined the podman user sees tsrun\'s "not supported: linux.seccomp"', () => {
  const result = podman.podman(['run', '--rm', IMAGE, 'true']);
  assert.is.not(result.status, 0);
  assert.match(result.stderr, 'not supported: linux.seccomp');
  assert.is(podman.podman(['ps', '--all', '--quiet']).stdout.trim(), '', 'nothing is left of the failed container');
});

test('podman, conmon and tsrun leave nothing behind', async () => {
  assert.equal(await podman.stop(), []);
});

test.run();
