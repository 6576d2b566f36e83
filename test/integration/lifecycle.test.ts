// The lifecycle of runtime.md through the real CLI: create, state, start, kill, delete, run, list,
// and the errors each verb owes its caller.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DEFAULT_BUNDLE, TSRUN, inSandbox, leaksOf, tsrunAsync } from './helpers.ts';

test('run of the default bundle shows pid 1 and its own hostname', () =>
  inSandbox((sb) => {
    const result = sb.tsrun(['run', '--bundle', DEFAULT_BUNDLE, sb.id('demo')]).ok();
    assert.match(result.stdout, /pid 1, hostname tsrun-demo, user 0/);
  }));

test('create leaves a waiting init with a pid file; start runs it; delete removes everything', () =>
  inSandbox(async (sb) => {
    const bundle = sb.bundle((c) => (c.process.args = ['sh', '-c', 'echo "I am $$"; hostname']));
    const id = sb.id();
    const pidFile = sb.file('init.pid');
    const output = sb.file('out');
    sb.tsrun(['create', '--bundle', bundle, '--pid-file', pidFile, id], { stdoutFile: output }).ok();

    const pidText = readFileSync(pidFile, 'utf8');
    assert.match(pidText, /^\d+$/, 'pid file holds the pid and no newline');
    const created = sb.state(id);
    assert.is(created.status, 'created');
    assert.is(created.pid, Number(pidText));
    assert.is(created.id, id);
    assert.is(created.bundle, bundle);
    assert.is(created.ociVersion, '1.3.0');
    assert.ok(existsSync(`/proc/${created.pid}`), 'the init is alive on the host');
    assert.is(readFileSync(output, 'utf8'), '', 'nothing ran before start');

    sb.tsrun(['start', id]).ok();
    const stopped = await sb.waitForStatus(id, 'stopped');
    assert.is(stopped.pid, 0, 'a stopped container reports pid 0');
    assert.is(readFileSync(output, 'utf8'), 'I am 1\ntsrun-demo\n');

    sb.tsrun(['delete', id]).ok();
    assert.not.ok(existsSync(join(sb.root, id)), 'state removed');
    assert.equal(leaksOf(id), []);
    assert.match(sb.tsrun(['state', id]).stderr, `container ${id} does not exist`);
  }));

test('a created container is not stopped: delete fails, delete --force kills it', () =>
  inSandbox((sb) => {
    const id = sb.id();
    sb.tsrun(['create', '--bundle', sb.bundle(), id], { stdoutFile: sb.file('out') }).ok();
    const { pid } = sb.state(id);
    const refused = sb.tsrun(['delete', id]);
    assert.is(refused.status, 1);
    assert.match(refused.stderr, /not stopped/);
    assert.is(sb.state(id).status, 'created', 'a refused delete has no effect');
    sb.tsrun(['delete', '--force', id]).ok();
    assert.not.ok(existsSync(`/proc/${pid}/stat`) && !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z'), 'the init is gone');
    assert.equal(leaksOf(id), []);
  }));

test('kill accepts KILL, SIGKILL and 9; a stopped container is "not running"', () =>
  inSandbox(async (sb) => {
    for (const signal of ['KILL', 'SIGKILL', '9']) {
      const id = sb.id();
      sb.createAndStart(id, sb.bundle((c) => (c.process.args = ['sleep', '60'])));
      assert.is(sb.state(id).status, 'running');
      sb.tsrun(['kill', id, signal]).ok();
      await sb.waitForStatus(id, 'stopped');
      const again = sb.tsrun(['kill', id, 'KILL']);
      assert.is(again.status, 1);
      assert.match(again.stderr, 'container not running');
      sb.tsrun(['delete', id]).ok();
    }
  }));

test('kill without a signal sends TERM; an unknown signal is refused', () =>
  inSandbox(async (sb) => {
    const id = sb.id();
    // sh as pid 1 ignores TERM unless it traps it: the trap proves which signal arrived.
    const output = sb.createAndStart(id, sb.bundle((c) => (c.process.args = ['sh', '-c', 'trap "echo got TERM; exit 0" TERM; while :; do sleep 0.05; done'])));
    const bad = sb.tsrun(['kill', id, 'NOSUCHSIG']);
    assert.is(bad.status, 1);
    assert.match(bad.stderr, /invalid signal/);
    sb.tsrun(['kill', id]).ok();
    await sb.waitForStatus(id, 'stopped');
    assert.match(readFileSync(output, 'utf8'), 'got TERM');
    sb.tsrun(['delete', id]).ok();
  }));

test('run exits with the container status, and 128+signal when it is killed', () =>
  inSandbox(async (sb) => {
    assert.is(sb.tsrun(['run', '--bundle', sb.bundle((c) => (c.process.args = ['sh', '-c', 'exit 3'])), sb.id()]).status, 3);
    // pid 1 of a pid namespace cannot be killed from inside it: the signal comes from the host.
    const id = sb.id();
    const running = tsrunAsync(sb.root, ['run', '--bundle', sb.bundle((c) => (c.process.args = ['sleep', '60'])), id]);
    const exited = new Promise<number | null>((resolve) => running.on('exit', resolve));
    await sb.waitForStatus(id, 'running');
    sb.tsrun(['kill', id, 'KILL']).ok();
    assert.is(await exited, 137);
    assert.not.ok(existsSync(join(sb.root, id)), 'run deleted the container');
  }));

test('run --detach returns with the container running', () =>
  inSandbox(async (sb) => {
    const id = sb.id();
    sb.tsrun(['run', '--detach', '--bundle', sb.bundle((c) => (c.process.args = ['sleep', '60'])), id], { stdoutFile: sb.file('out') }).ok();
    assert.is(sb.state(id).status, 'running');
    sb.tsrun(['delete', '--force', id]).ok();
  }));

test('unknown ids: "does not exist", except delete --force which succeeds', () =>
  inSandbox((sb) => {
    const id = sb.id('missing');
    for (const verb of [['state', id], ['start', id], ['kill', id, 'KILL'], ['delete', id]]) {
      const result = sb.tsrun(verb);
      assert.is(result.status, 1, verb.join(' '));
      assert.match(result.stderr, `container ${id} does not exist`);
    }
    sb.tsrun(['delete', '--force', id]).ok();
  }));

test('a duplicate id is refused and the first container is untouched', () =>
  inSandbox((sb) => {
    const id = sb.id();
    const bundle = sb.bundle();
    sb.tsrun(['create', '--bundle', bundle, id], { stdoutFile: sb.file('out') }).ok();
    const first = sb.state(id);
    const dup = sb.tsrun(['create', '--bundle', bundle, id], { stdoutFile: sb.file('out') });
    assert.is(dup.status, 1);
    assert.match(dup.stderr, /already exists/);
    assert.equal(sb.state(id), first);
    sb.tsrun(['delete', '--force', id]).ok();
  }));

test('invalid ids and bad command lines are usage errors that create nothing', () =>
  inSandbox((sb) => {
    const bundle = sb.bundle();
    for (const id of ['a/b', '..', '.', 'x y', '../escape']) {
      const result = sb.tsrun(['create', '--bundle', bundle, id]);
      assert.ok(result.status !== 0, `id ${id} refused`);
      assert.match(result.stderr, /invalid container id/);
    }
    assert.is(sb.tsrun(['create', '--bundle', bundle]).status, 2, 'missing id');
    assert.is(sb.tsrun(['start']).status, 2, 'start without id');
    assert.is(sb.tsrun(['state', 'a', 'b']).status, 2, 'extra argument');
    assert.is(sb.tsrun(['kill', 'a', 'KILL', 'extra']).status, 2, 'extra argument');
    assert.is(sb.tsrun(['create', '--no-such-flag', 'x']).status, 2, 'unknown flag');
    assert.is(sb.tsrun(['frobnicate']).status, 2, 'unknown verb');
    assert.is(sb.tsrun(['create', '--preserve-fds', 'many', '--bundle', bundle, 'x']).status, 2);
    assert.not.ok(existsSync(sb.root) && readdirSync(sb.root).some((f) => !f.startsWith('.')), 'no state created');
  }));

test('an invalid config.json is rejected before anything exists, listing every problem', () =>
  inSandbox((sb) => {
    const bundle = sb.bundle((c) => {
      c.process.user.uid = -1;
      c.hostname = 42;
      c.linux.namespaces.push({ type: 'nosuchns' });
    });
    const id = sb.id();
    const result = sb.tsrun(['create', '--bundle', bundle, id]);
    assert.is(result.status, 2);
    assert.match(result.stderr, 'process.user.uid:');
    assert.match(result.stderr, 'hostname:');
    assert.match(result.stderr, 'linux.namespaces[');
    assert.not.ok(existsSync(join(sb.root, id)), 'no state directory');
    assert.equal(leaksOf(id), [], 'no cgroup');
  }));

test('a bundle without config.json, or with broken JSON, is a clear error', () =>
  inSandbox((sb) => {
    const missing = sb.tsrun(['create', '--bundle', sb.file('nope'), sb.id()]);
    assert.ok(missing.status !== 0);
    assert.match(missing.stderr, /config\.json/);
    const broken = sb.bundle();
    writeFileSync(join(broken, 'config.json'), '{"ociVersion": "1.3.0",');
    const result = sb.tsrun(['create', '--bundle', broken, sb.id()]);
    assert.ok(result.status !== 0);
    assert.match(result.stderr, /JSON/i);
  }));

test('seccomp is refused as not supported', () =>
  inSandbox((sb) => {
    const bundle = sb.bundle((c) => (c.linux.seccomp = { defaultAction: 'SCMP_ACT_ALLOW' }));
    const id = sb.id();
    const result = sb.tsrun(['create', '--bundle', bundle, id]);
    assert.is(result.status, 2);
    assert.match(result.stderr, 'not supported: linux.seccomp');
    assert.not.ok(existsSync(join(sb.root, id)));
    // Only an explicit operator choice runs it without the filter, and says so.
    const ignored = sb.tsrun(['run', '--bundle', bundle, id], { env: { TSRUN_IGNORE_SECCOMP: '1' } });
    assert.is(ignored.status, 0);
    assert.match(ignored.stderr, 'linux.seccomp is ignored');
  }));

// Checked: with the old start (a warning, then the init exits) start exited 0.
test('a config without process can be created, but not started (runtime-spec: process is REQUIRED for start)', () =>
  inSandbox(async (sb) => {
    const id = sb.id();
    sb.tsrun(['create', '--bundle', sb.bundle((c) => delete c.process), id], { stdoutFile: sb.file('out') }).ok();
    assert.is(sb.state(id).status, 'created');
    const result = sb.tsrun(['start', id]);
    assert.is(result.status, 2, 'a configuration error');
    assert.match(result.stderr, /process/);
    assert.is(sb.state(id).status, 'created', 'a refused start has no effect');
    sb.tsrun(['delete', '--force', id]).ok();
  }));

test('start of a running container fails and has no effect', () =>
  inSandbox((sb) => {
    const id = sb.id();
    sb.createAndStart(id, sb.bundle((c) => (c.process.args = ['sleep', '60'])));
    const again = sb.tsrun(['start', id]);
    assert.is(again.status, 1);
    assert.is(sb.state(id).status, 'running');
    sb.tsrun(['delete', '--force', id]).ok();
  }));

test('list shows containers as a table and as JSON', () =>
  inSandbox((sb) => {
    const id = sb.id();
    sb.tsrun(['create', '--bundle', sb.bundle(), id], { stdoutFile: sb.file('out') }).ok();
    const json = JSON.parse(sb.tsrun(['list', '--format', 'json']).ok().stdout);
    assert.is(json.length, 1);
    assert.is(json[0].id, id);
    assert.is(json[0].status, 'created');
    assert.match(sb.tsrun(['list']).ok().stdout, new RegExp(`^${id}\\s+\\d+\\s+created`, 'm'));
    sb.tsrun(['delete', '--force', id]).ok();
  }));

test('--log-format json writes one JSON line per error', () =>
  inSandbox((sb) => {
    const log = sb.file('log.json');
    const id = sb.id('missing');
    sb.tsrun(['--log', log, '--log-format=json', 'state', id]);
    const lines = readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.is(lines.length, 1);
    assert.is(lines[0].level, 'error');
    assert.match(lines[0].msg, `container ${id} does not exist`);
    assert.ok(!Number.isNaN(Date.parse(lines[0].time)));
  }));

test('the global flags callers pass: containerd, podman (with no PATH) and runc-only ones', () =>
  inSandbox((sb) => {
    const id = sb.id();
    sb.tsrun(['create', '--bundle', sb.bundle((c) => (c.process.args = ['sleep', '60'])), id], { stdoutFile: sb.file('out') }).ok();
    const log = sb.file('log.json');
    // containerd: --root R --log F --log-format json; podman: --log-format=json, and no PATH at all.
    assert.is(JSON.parse(sb.tsrun(['--log', log, '--log-format', 'json', 'state', id]).ok().stdout).status, 'created');
    const bare = spawnSync(TSRUN, ['--root', sb.root, '--log-format=json', '--log', log, 'state', id], { env: { XDG_RUNTIME_DIR: '' }, encoding: 'utf8' });
    assert.is(bare.status, 0, bare.stderr);
    assert.is(JSON.parse(bare.stdout).id, id);
    sb.tsrun(['--rootless=auto', '--criu', '/usr/sbin/criu', 'state', id]).ok();
    const badRootless = sb.tsrun(['--rootless', 'maybe', 'state', id]);
    assert.is(badRootless.status, 2);
    assert.match(badRootless.stderr, '--rootless');
    const systemd = sb.tsrun(['--systemd-cgroup', 'state', id]);
    assert.is(systemd.status, 2);
    assert.match(systemd.stderr, 'not supported: --systemd-cgroup');
    assert.ok(!existsSync(log), 'successful calls log nothing');
    sb.tsrun(['delete', '--force', id]).ok();
  }));

test('a JSON log holds only the error of a failed create (podman parses it as one object); warnings of a success go to the log, not stderr', () =>
  inSandbox((sb) => {
    const withSeccomp = (args: string[]) =>
      sb.bundle((c) => {
        c.process.args = args;
        c.linux.seccomp = { defaultAction: 'SCMP_ACT_ALLOW' };
      });
    const env = { TSRUN_IGNORE_SECCOMP: '1' };
    const failedLog = sb.file('failed.json');
    const failed = sb.tsrun(['--log-format=json', '--log', failedLog, 'create', '--bundle', withSeccomp(['/no/such/program']), sb.id()], { env });
    assert.is(failed.status, 1);
    const object = JSON.parse(readFileSync(failedLog, 'utf8'));
    assert.is(object.level, 'error');
    assert.match(object.msg, '/no/such/program');

    const okLog = sb.file('ok.json');
    const id = sb.id();
    const created = sb.tsrun(['--log-format', 'json', '--log', okLog, 'create', '--bundle', withSeccomp(['true']), id], { env, stdoutFile: sb.file('out') }).ok();
    assert.is(created.stderr, '', "with a log file, warnings stay out of the container's stderr");
    const lines = readFileSync(okLog, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(lines.map((l) => l.level), ['warning']);
    assert.match(lines[0].msg, 'seccomp');
    sb.tsrun(['delete', '--force', id]).ok();
  }));

test('spec writes a default config once', () =>
  inSandbox((sb) => {
    sb.tsrun(['spec', '--bundle', sb.dir]).ok();
    const config = JSON.parse(readFileSync(join(sb.dir, 'config.json'), 'utf8'));
    assert.is(config.ociVersion, '1.3.0');
    assert.ok(Array.isArray(config.process.args));
    assert.is(sb.tsrun(['spec', '--bundle', sb.dir]).status, 2, 'an existing config.json is not overwritten');
  }));

test('--version names the runtime-spec version', () =>
  inSandbox((sb) => {
    assert.match(sb.tsrun(['--version']).ok().stdout, /spec: 1\.3\.0/);
  }));

test.run();
