// exec, ps, pause/resume and kill --all against a running container.
import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { inSandbox, waitFor } from './helpers.ts';

test('exec runs inside every namespace of the container and passes its exit status', () =>
  inSandbox(async (sb) => {
    const { id } = sb.startSleeper();
    const out = sb.tsrun(['exec', id, 'sh', '-c', 'echo pid=$$; hostname; cat /proc/1/cmdline | tr "\\0" " "; echo']).ok().stdout;
    assert.match(out, /^tsrun-demo$/m, 'the container hostname');
    assert.match(out, /^sleep 300 $/m, 'pid 1 is the container init');
    assert.match(out, /^pid=\d+$/m);
    assert.not.match(out, /^pid=1$/m, 'a new process in the container pid namespace');
    assert.is(sb.tsrun(['exec', id, 'sh', '-c', 'exit 7']).status, 7);
    const missing = sb.tsrun(['exec', id, 'no-such-program']);
    assert.is(missing.status, 255, 'runc exits 255 when exec itself fails');
    assert.match(missing.stderr, /no-such-program.*not found/);
    await sb.stop(id);
  }));

test('exec joins the namespaces of the init, not the host ones', () =>
  inSandbox(async (sb) => {
    const { id, pid } = sb.startSleeper();
    const { readlinkSync } = await import('node:fs');
    const out = sb.tsrun(['exec', id, 'sh', '-c', 'for n in pid net ipc uts mnt; do echo $n=$(readlink /proc/self/ns/$n); done']).ok().stdout;
    for (const ns of ['pid', 'net', 'ipc', 'uts', 'mnt']) {
      assert.match(out, new RegExp(`^${ns}=${readlinkSync(`/proc/${pid}/ns/${ns}`).replace(/[[\]]/g, '\\$&')}$`, 'm'), `${ns} of the init`);
    }
    await sb.stop(id);
  }));

test('exec --process, --env, --cwd, --user, --detach with --pid-file', () =>
  inSandbox(async (sb) => {
    const { id } = sb.startSleeper();
    const processFile = sb.file('process.json');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(processFile, JSON.stringify({ cwd: '/tmp', args: ['sh', '-c', 'echo $FOO $(pwd) $(id -u):$(id -g)'], env: ['FOO=bar', 'PATH=/bin'], user: { uid: 1234, gid: 567 } }));
    assert.is(sb.tsrun(['exec', '--process', processFile, id]).ok().stdout.trim(), 'bar /tmp 1234:567');
    const flags = sb.tsrun(['exec', '--env', 'X=1', '--cwd', '/etc', '--user', '42:43', id, 'sh', '-c', 'echo $X $(pwd) $(id -u):$(id -g)']).ok().stdout;
    assert.is(flags.trim(), '1 /etc 42:43');
    const pidFile = sb.file('exec.pid');
    // the detached process keeps the stdio it inherits: a file, not a pipe spawnSync would wait on
    sb.tsrun(['exec', '--detach', '--pid-file', pidFile, id, 'sleep', '200'], { stdoutFile: sb.file('detached.out') }).ok();
    const execPid = Number(readFileSync(pidFile, 'utf8'));
    assert.ok(execPid > 0);
    assert.ok(JSON.parse(sb.tsrun(['ps', '--format', 'json', id]).ok().stdout).includes(execPid), 'ps lists the exec process');
    const badUser = sb.tsrun(['exec', '--user', 'root', id, 'true']);
    assert.is(badUser.status, 2);
    await sb.stop(id);
  }));

test('ps lists the container processes; pause freezes them and resume thaws them', () =>
  inSandbox(async (sb) => {
    const { id, pid } = sb.startSleeper();
    const pids: number[] = JSON.parse(sb.tsrun(['ps', '--format', 'json', id]).ok().stdout);
    assert.equal(pids, [pid]);
    assert.match(sb.tsrun(['ps', id]).ok().stdout, new RegExp(`\\b${pid}\\b.*sleep 300`));

    sb.tsrun(['pause', id]).ok();
    assert.is(sb.state(id).status, 'paused');
    const freezerState = () => {
      const line = readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n').find((l) => l.split(':')[1] === 'freezer');
      return line ? readFileSync(`/sys/fs/cgroup/freezer${line.split(':')[2]}/freezer.state`, 'utf8').trim() : 'none';
    };
    assert.is(freezerState(), 'FROZEN');
    assert.is(sb.tsrun(['pause', id]).status, 1, 'pausing twice fails');
    sb.tsrun(['resume', id]).ok();
    assert.is(sb.state(id).status, 'running');
    assert.is(freezerState(), 'THAWED');
    assert.is(sb.tsrun(['resume', id]).status, 1, 'resuming a running container fails');

    sb.tsrun(['pause', id]).ok();
    sb.tsrun(['delete', '--force', id]).ok(); // a frozen container can still be deleted
  }));

test('kill --all reaches processes that left the init\'s session', () =>
  inSandbox(async (sb) => {
    const id = sb.id();
    sb.createAndStart(id, sb.bundle((c) => (c.process.args = ['sh', '-c', 'setsid sleep 300 & exec sleep 301'])));
    await waitFor(() => JSON.parse(sb.tsrun(['ps', '--format', 'json', id]).ok().stdout).length === 2, 10_000, () => 'two processes');
    const pids: number[] = JSON.parse(sb.tsrun(['ps', '--format', 'json', id]).ok().stdout);
    sb.tsrun(['kill', '--all', id, 'KILL']).ok();
    await waitFor(() => pids.every((p) => { try { return readFileSync(`/proc/${p}/stat`, 'utf8').includes(') Z'); } catch { return true; } }), 10_000, () => 'all processes gone');
    await sb.waitForStatus(id, 'stopped');
    sb.tsrun(['delete', id]).ok();
  }));

test.run();
