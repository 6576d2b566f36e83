// Where tsrun meets what runc users expect: the loopback interface, start without a process,
// kill probes, exec's exit codes and flags, ps options, run --keep, and diagnostics. Each test
// was checked by removing its fix once and watching it fail (noted per test).
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { TSRUN, inSandbox, tsrunAsync, tsrunEnv, waitFor } from './helpers.ts';

/** IFF_UP in /sys/class/net/lo/flags */
const isUp = (flags: string) => (parseInt(flags.trim(), 16) & 1) === 1;

// Checked: without the loopbackUp step lo reads 0x8 (down).
test('loopback: lo is up in a network namespace the container creates', () =>
  inSandbox(async (sb) => {
    const out = await sb.runToEnd(sb.bundle((c) => (c.process.args = ['cat', '/sys/class/net/lo/flags'])));
    assert.ok(isUp(out), `lo flags ${out}`);
  }));

test('loopback: a joined network namespace is left as it is', () =>
  inSandbox(async (sb) => {
    const holder = spawn('unshare', ['--net', 'sleep', '1000'], { stdio: 'ignore' });
    try {
      await waitFor(() => readFileSync(`/proc/${holder.pid}/cmdline`, 'utf8').startsWith('sleep'), 10_000, () => 'unshare --net to exec sleep');
      const out = await sb.runToEnd(
        sb.bundle((c) => {
          c.process.args = ['cat', '/sys/class/net/lo/flags'];
          c.linux.namespaces = c.linux.namespaces.map((ns: { type: string }) => (ns.type === 'network' ? { type: 'network', path: `/proc/${holder.pid}/ns/net` } : ns));
        }),
      );
      assert.not.ok(isUp(out), `lo flags ${out}`);
    } finally {
      holder.kill('SIGKILL');
    }
  }));

// Checked: with parseSignal refusing 0, `kill ID 0` exits 1; with the old status check, kill --all
// of a stopped container exits 1.
test('kill: signal 0 probes the container; kill --all of a stopped container succeeds, as in runc', () =>
  inSandbox(async (sb) => {
    const id = sb.id();
    sb.createAndStart(id, sb.bundle((c) => (c.process.args = ['sleep', '60'])));
    sb.tsrun(['kill', id, '0']).ok();
    assert.is(sb.state(id).status, 'running', 'signal 0 is not delivered');
    sb.tsrun(['kill', id, 'KILL']).ok();
    await sb.waitForStatus(id, 'stopped');
    sb.tsrun(['kill', '--all', id, 'KILL']).ok();
    assert.is(sb.tsrun(['kill', id, '0']).status, 1, 'a stopped container cannot be probed');
    assert.is(sb.tsrun(['kill', id, 'KILL']).status, 1, 'nor its init signalled');
    sb.tsrun(['delete', id]).ok();
  }));

// Checked: before the fix each of these exited 1.
test('exec: its own failures exit 255, as runc\'s do; usage errors stay 2', () =>
  inSandbox(async (sb) => {
    const { id } = sb.startSleeper();
    assert.is(sb.tsrun(['exec', `${id}-nosuch`, 'true']).status, 255, 'no such container');
    assert.is(sb.tsrun(['exec', id, '/no/such/program']).status, 255, 'a missing program');
    assert.is(sb.tsrun(['exec', '--pid-file', sb.file('no/such/dir/pid'), id, 'true']).status, 255, 'a pid file that cannot be written');
    // ... and the process it had started does not run on (checked: without the kill, sleep 4242 stayed)
    assert.is(sb.tsrun(['exec', '--pid-file', sb.file('no/such/dir/pid'), id, 'sleep', '4242']).status, 255);
    assert.not.match(sb.tsrun(['ps', id, '-o', 'pid,args']).ok().stdout, /sleep 4242/, 'the exec whose pid file failed was ended');
    sb.tsrun(['pause', id]).ok();
    const paused = sb.tsrun(['exec', id, 'true']);
    assert.is(paused.status, 255, 'a paused container');
    assert.match(paused.stderr, /--ignore-paused/);
    sb.tsrun(['resume', id]).ok();
    assert.is(sb.tsrun(['exec', '--no-such-flag', id, 'true']).status, 2);
    await sb.stop(id);
  }));

// Checked: without --ignore-paused support the exec is refused (exit 255, then 2 for the flag).
test('exec --ignore-paused: the exec waits in the frozen cgroup and runs once resumed', () =>
  inSandbox(async (sb) => {
    const { id } = sb.startSleeper();
    sb.tsrun(['pause', id]).ok();
    const exec = tsrunAsync(sb.root, ['exec', '--ignore-paused', id, 'sh', '-c', 'echo ran']);
    let stdout = '';
    exec.stdout.on('data', (chunk) => (stdout += chunk));
    const exited = new Promise<number | null>((resolve) => exec.on('exit', (code) => resolve(code)));
    // The exec's stage 0 joins the frozen cgroup and stops there: two processes in it, the init and it.
    await waitFor(() => JSON.parse(sb.tsrun(['ps', '--format', 'json', id]).ok().stdout).length >= 2 || exec.exitCode !== null, 20_000, () => 'the exec to join the cgroup');
    assert.is(exec.exitCode, null, 'the exec waits while the container is paused');
    assert.is(sb.state(id).status, 'paused');
    sb.tsrun(['resume', id]).ok();
    assert.is(await exited, 0);
    assert.is(stdout.trim(), 'ran');
    await sb.stop(id);
  }));

// Checked: without the default user the process file fails validation (exit 2).
test('exec --process without a user runs as uid and gid 0', () =>
  inSandbox(async (sb) => {
    const id = sb.id();
    sb.createAndStart(id, sb.bundle((c) => ((c.process.args = ['sleep', '300']), (c.process.user = { uid: 1000, gid: 1000 }))));
    const processFile = sb.file('process.json');
    writeFileSync(processFile, JSON.stringify({ cwd: '/', args: ['sh', '-c', 'echo $(id -u):$(id -g)'], env: ['PATH=/bin'] }));
    assert.is(sb.tsrun(['exec', '--process', processFile, id]).ok().stdout.trim(), '0:0');
    await sb.stop(id);
  }));

// Checked: without --cgroup the exec is refused as an unknown flag (exit 2).
test('exec --cgroup: the process runs in a sub-cgroup of the container\'s; paths outside are refused', () =>
  inSandbox(async (sb) => {
    const { id } = sb.startSleeper();
    const dirs: string[] = JSON.parse(readFileSync(join(sb.root, id, 'state.json'), 'utf8')).cgroups.dirs;
    const subs = dirs.map((dir) => join(dir, 'sub'));
    for (const dir of dirs) {
      mkdirSync(join(dir, 'sub'));
      // a v1 cpuset child starts with no cpus and mems, and refuses processes until given some
      for (const file of ['cpuset.cpus', 'cpuset.mems']) {
        try {
          writeFileSync(join(dir, 'sub', file), readFileSync(join(dir, file)));
        } catch {
          // not a cpuset hierarchy
        }
      }
    }
    try {
      const all = sb.tsrun(['exec', '--cgroup', '/sub', id, 'cat', '/proc/self/cgroup']).ok().stdout.trim().split('\n');
      for (const line of all) assert.ok(line.endsWith(':/sub'), line);
      const pidsOnly = sb.tsrun(['exec', '--cgroup', 'pids:sub', id, 'cat', '/proc/self/cgroup']).ok().stdout.trim().split('\n');
      for (const line of pidsOnly) assert.ok(line.endsWith(line.split(':')[1] === 'pids' ? ':/sub' : ':/'), line);
      assert.is(sb.tsrun(['exec', '--cgroup', '../x', id, 'true']).status, 2, 'outside the container\'s cgroup');
      assert.is(sb.tsrun(['exec', '--cgroup', 'missing', id, 'true']).status, 255, 'a sub-cgroup that does not exist');
    } finally {
      subs.forEach((dir) => rmdirSync(dir));
    }
    await sb.stop(id);
  }));

// Checked: before the fix `ps ID -ef` failed with "Unknown option '--ef'" (exit 2).
test('ps ID [ps options] and exec ID COMMAND: what follows the id is not tsrun\'s', () =>
  inSandbox(async (sb) => {
    const { id } = sb.startSleeper();
    const { pid } = sb.state(id);
    const ef = sb.tsrun(['ps', id, '-ef']).ok().stdout.trim().split('\n');
    assert.match(ef[0], /UID\s+PID\s+PPID/);
    assert.is(ef.length, 2, ef.join('\n'));
    assert.match(ef[1], new RegExp(`^\\S+\\s+${pid}\\s.*sleep 300$`));
    const custom = sb.tsrun(['ps', id, '-o', 'pid,comm']).ok().stdout.trim().split('\n');
    assert.equal(custom.map((l) => l.trim().split(/\s+/)), [['PID', 'COMMAND'], [String(pid), 'sleep']]);
    // Checked: before, a -h after the id printed tsrun's help instead.
    assert.is(sb.tsrun(['exec', id, 'echo', '-h']).ok().stdout, '-h\n', "the command's -h is the command's");
    await sb.stop(id);
  }));

// Checked: without --keep support run refuses the flag (exit 2).
test('run --keep: the container stays after it exits, stopped, until deleted', () =>
  inSandbox(async (sb) => {
    const id = sb.id();
    const run = sb.tsrun(['run', '--keep', '--bundle', sb.bundle((c) => (c.process.args = ['sh', '-c', 'exit 3'])), id]);
    assert.is(run.status, 3);
    assert.is(sb.state(id).status, 'stopped');
    sb.tsrun(['delete', id]).ok();
  }));

// Checked: before the fix --debug printed nothing.
test('--debug logs the steps of a verb; with --log-format json as JSON lines', () =>
  inSandbox(async (sb) => {
    const id = sb.id();
    const run = sb.tsrun(['--debug', 'run', '--bundle', sb.bundle(), id]);
    assert.is(run.status, 0, run.stderr);
    for (const step of [`debug: run --bundle`, 'debug: plan container', 'debug: init: ready', `debug: container ${id} running`, 'debug: run: exit status 0']) {
      assert.ok(run.stderr.includes(step), `${step} in:\n${run.stderr}`);
    }
    const state = sb.tsrun(['--debug', '--log-format', 'json', 'state', `${id}-gone`]);
    assert.is(state.status, 1);
    const lines = state.stderr.trim().split('\n');
    const debugLines = lines.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
    assert.ok(debugLines.length >= 2 && debugLines.every((l) => l.level === 'debug' && l.msg && l.time), state.stderr);
  }));

/** One line on stderr, naming the root, no stack: what a bad --root must give. */
function assertOneLine(result: { status: number | null; stderr: string }, root: string): void {
  assert.is(result.status, 1, result.stderr);
  const lines = result.stderr.trim().split('\n');
  assert.is(lines.length, 1, result.stderr);
  assert.ok(lines[0].includes(root), result.stderr);
  assert.not.match(result.stderr, /internal error|\n\s+at /);
}

// Checked: before the fix a regular file gave a stack trace (an internal error), /proc spun until
// the 10 s timeout (status null), and an unwritable root gave a stack trace.
test('--root: a file, procfs or sysfs, or an unwritable directory is one line naming it, exit 1', () =>
  inSandbox(async (sb) => {
    const file = sb.file('a-file');
    writeFileSync(file, '');
    const bundle = sb.bundle();
    for (const root of [file, join(file, 'below'), '/proc/tsrun-test-root', '/sys/tsrun-test-root']) {
      for (const verb of [['create', '--bundle', bundle, sb.id()], ['list']]) {
        const result = spawnSync(TSRUN, ['--root', root, ...verb], { encoding: 'utf8', env: tsrunEnv(), timeout: 10_000 });
        assertOneLine(result, root);
      }
    }
    // An unprivileged user without XDG_RUNTIME_DIR gets /run/tsrun, which is not theirs; and a
    // directory they cannot write (delete: a verb that takes the container's lock in the root).
    chmodSync(sb.dir, 0o711); // reachable for that user, not writable
    const readOnly = sb.file('read-only');
    mkdirSync(readOnly, { mode: 0o755 });
    const env = tsrunEnv();
    delete env.XDG_RUNTIME_DIR;
    // npm test's coverage directory is root's: that user's node could not write there (and Node puts a
    // deleted NODE_V8_COVERAGE back into a child's environment; an empty one turns coverage off)
    env.NODE_V8_COVERAGE = '';
    for (const args of [['delete', sb.id()], ['--root', readOnly, 'delete', sb.id()]]) {
      const result = spawnSync(TSRUN, args, { encoding: 'utf8', env, uid: 65534, gid: 65534, cwd: '/', timeout: 20_000 });
      assertOneLine(result, args[0] === '--root' ? readOnly : '/run/tsrun');
    }
  }));

// Checked: both exited 1 before.
test('a missing rootfs or config.json is a configuration error: exit 2', () =>
  inSandbox(async (sb) => {
    const noRootfs = sb.bundle((c) => (c.root.path = '/no/such/rootfs'));
    assert.is(sb.tsrun(['create', '--bundle', noRootfs, sb.id()]).status, 2);
    const noConfig = sb.file('empty-bundle');
    mkdirSync(noConfig);
    assert.is(sb.tsrun(['create', '--bundle', noConfig, sb.id()]).status, 2);
  }));

test.run();
