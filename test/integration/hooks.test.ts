// Hooks: the six stages in runtime.md's order, each with the state on stdin, its own args and env,
// in the right namespaces; failures and timeouts handled as the spec says.
import { existsSync, mkdirSync, readFileSync, readlinkSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { inSandbox, leaksOf } from './helpers.ts';

/** A hook that appends "<tag> <mnt ns> <state json>" to a log file. */
function logHook(tag: string, log: string, extra: Record<string, unknown> = {}) {
  return {
    path: '/bin/sh',
    args: ['sh', '-c', `read -r state; echo "${tag} $(readlink /proc/self/ns/mnt) $HOOK_ENV $state" >> ${log}`, 'ignored-arg0'],
    env: ['HOOK_ENV=env-ok'],
    ...extra,
  };
}

function readLog(file: string) {
  return readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((line) => {
      const [tag, mntns, env, ...json] = line.split(' ');
      return { tag, mntns, env, state: JSON.parse(json.join(' ')) };
    });
}

test('all hooks run in order, with the state on stdin and in their namespaces', () =>
  inSandbox(async (sb) => {
    const logDir = sb.file('hooklog');
    mkdirSync(logDir);
    const hostLog = join(logDir, 'log');
    const id = sb.id();
    const bundle = sb.bundle((c) => {
      c.process.args = ['sh', '-c', 'echo running'];
      c.mounts.push({ destination: '/hooklog', type: 'bind', source: logDir, options: ['rbind', 'rw'] });
      c.annotations = { 'org.example/key': 'value' };
      c.hooks = {
        prestart: [logHook('prestart', hostLog)],
        createRuntime: [logHook('createRuntime', hostLog)],
        createContainer: [logHook('createContainer', hostLog)],
        // startContainer runs inside the container: its path and the log path are container paths
        startContainer: [logHook('startContainer', '/hooklog/log')],
        poststart: [logHook('poststart', hostLog)],
        poststop: [logHook('poststop', hostLog)],
      };
    });
    sb.tsrun(['create', '--bundle', bundle, id], { stdoutFile: sb.file('out') }).ok();
    const { pid } = sb.state(id);
    const containerMnt = readlinkSync(`/proc/${pid}/ns/mnt`);
    assert.equal(readLog(hostLog).map((e) => e.tag), ['prestart', 'createRuntime', 'createContainer']);
    sb.tsrun(['start', id]).ok();
    assert.equal(readLog(hostLog).map((e) => e.tag), ['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart'], 'poststart ran before start returned');
    await sb.waitForStatus(id, 'stopped');
    sb.tsrun(['delete', id]).ok();

    const entries = readLog(hostLog);
    assert.equal(entries.map((e) => e.tag), ['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop']);
    const hostMnt = readlinkSync('/proc/self/ns/mnt');
    for (const e of entries) {
      assert.is(e.env, 'env-ok', `${e.tag} got its env`);
      assert.is(e.state.id, id);
      assert.is(e.state.bundle, bundle);
      assert.is(e.state.ociVersion, '1.3.0');
      assert.equal(e.state.annotations, { 'org.example/key': 'value' });
      const inContainer = e.tag === 'createContainer' || e.tag === 'startContainer';
      assert.is(e.mntns, inContainer ? containerMnt : hostMnt, `${e.tag} runs in the ${inContainer ? 'container' : 'runtime'} mount namespace`);
    }
    const byTag = Object.fromEntries(entries.map((e) => [e.tag, e.state]));
    assert.is(byTag.prestart.pid, pid, 'runtime-namespace hooks see the host pid');
    assert.is(byTag.createRuntime.pid, pid);
    assert.is(byTag.createContainer.pid, 1, 'container-namespace hooks see the pid as the container does');
    assert.is(byTag.prestart.status, 'created');
    assert.is(byTag.poststart.status, 'running');
    assert.is(byTag.poststop.status, 'stopped');
  }));

test('a failing prestart hook fails create, leaves nothing, and poststop hooks still run', () =>
  inSandbox((sb) => {
    const log = sb.file('log');
    const id = sb.id();
    const bundle = sb.bundle((c) => {
      c.hooks = {
        prestart: [{ path: '/bin/sh', args: ['sh', '-c', 'echo prestart broke >&2; exit 7'] }],
        poststop: [logHook('poststop', log)],
      };
    });
    const result = sb.tsrun(['create', '--bundle', bundle, id]);
    assert.is(result.status, 1);
    assert.match(result.stderr, /prestart hook \/bin\/sh exited with status 7: prestart broke/);
    assert.not.ok(existsSync(join(sb.root, id)), 'no state');
    assert.equal(leaksOf(id), []);
    assert.equal(readLog(log).map((e) => e.tag), ['poststop']);
  }));

// As runc: createContainer hooks run before pivot_root with the rootfs as their working directory,
// so a relative path reaches the container's files. (Checked: without the init's chdir the hook ran
// in the caller's directory and the test failed.)
test('createContainer hooks run in the container root directory', () =>
  inSandbox(async (sb) => {
    const logDir = sb.file('hooklog');
    mkdirSync(logDir);
    const log = join(logDir, 'log');
    const id = sb.id();
    const bundle = sb.bundle((c) => {
      c.hooks = { createContainer: [{ path: '/bin/sh', args: ['sh', '-c', `pwd -P > ${log}; ls bin/busybox >> ${log}`] }] };
    });
    const rootfs = JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8')).root.path;
    sb.tsrun(['create', '--bundle', bundle, id], { stdoutFile: sb.file('out') }).ok();
    sb.tsrun(['delete', '--force', id]).ok();
    assert.equal(readFileSync(log, 'utf8').trim().split('\n'), [realpathSync(rootfs), 'bin/busybox']);
  }));

test('a failing createContainer hook fails create and leaves nothing', () =>
  inSandbox((sb) => {
    const id = sb.id();
    const bundle = sb.bundle((c) => (c.hooks = { createContainer: [{ path: '/bin/false' }] }));
    const result = sb.tsrun(['create', '--bundle', bundle, id]);
    assert.is(result.status, 1);
    assert.match(result.stderr, /createContainer/);
    assert.not.ok(existsSync(join(sb.root, id)));
    assert.equal(leaksOf(id), []);
  }));

test('a failing startContainer hook fails start, and the container is gone', () =>
  inSandbox((sb) => {
    const id = sb.id();
    const bundle = sb.bundle((c) => (c.hooks = { startContainer: [{ path: '/bin/false' }] }));
    sb.tsrun(['create', '--bundle', bundle, id], { stdoutFile: sb.file('out') }).ok();
    const result = sb.tsrun(['start', id]);
    assert.is(result.status, 1);
    assert.match(result.stderr, /startContainer/);
    assert.not.ok(existsSync(join(sb.root, id)), 'start cleaned up');
    assert.equal(leaksOf(id), []);
  }));

test('a hook that outlives its timeout is killed and fails the operation', () =>
  inSandbox((sb) => {
    const id = sb.id();
    const bundle = sb.bundle((c) => (c.hooks = { createRuntime: [{ path: '/bin/sleep', args: ['sleep', '30'], timeout: 1 }] }));
    const started = Date.now();
    const result = sb.tsrun(['create', '--bundle', bundle, id]);
    assert.is(result.status, 1);
    assert.match(result.stderr, /timed out/);
    assert.ok(Date.now() - started < 15_000, 'did not wait for the hook to finish');
    assert.not.ok(existsSync(join(sb.root, id)));
  }));

test('a failing poststart hook is a warning: the next hooks run and the container keeps running', () =>
  inSandbox(async (sb) => {
    const log = sb.file('log');
    const id = sb.id();
    const bundle = sb.bundle((c) => {
      c.process.args = ['sleep', '60'];
      c.hooks = { poststart: [{ path: '/bin/false' }, logHook('poststart', log)] };
    });
    sb.tsrun(['create', '--bundle', bundle, id], { stdoutFile: sb.file('out') }).ok();
    const result = sb.tsrun(['start', id]).ok();
    assert.match(result.stderr, /warning.*poststart/);
    assert.equal(readLog(log).map((e) => e.tag), ['poststart'], 'the second hook ran');
    assert.is(sb.state(id).status, 'running');
    sb.tsrun(['delete', '--force', id]).ok();
  }));

test('a failing poststop hook is a warning: delete still succeeds', () =>
  inSandbox(async (sb) => {
    const id = sb.id();
    const bundle = sb.bundle((c) => (c.hooks = { poststop: [{ path: '/bin/false' }] }));
    sb.createAndStart(id, bundle);
    await sb.waitForStatus(id, 'stopped');
    const result = sb.tsrun(['delete', id]).ok();
    assert.match(result.stderr, /warning.*poststop/);
    assert.not.ok(existsSync(join(sb.root, id)));
  }));

test('edits to config.json after create do not affect the container', () =>
  inSandbox(async (sb) => {
    const log = sb.file('log');
    const id = sb.id();
    const bundle = sb.bundle((c) => (c.hooks = { poststop: [logHook('poststop', log)] }));
    sb.tsrun(['create', '--bundle', bundle, id], { stdoutFile: sb.file('out') }).ok();
    const { writeFileSync } = await import('node:fs');
    writeFileSync(join(bundle, 'config.json'), '{"broken": true}');
    sb.tsrun(['start', id]).ok();
    await sb.waitForStatus(id, 'stopped');
    sb.tsrun(['delete', id]).ok();
    assert.equal(readLog(log).map((e) => e.tag), ['poststop'], 'the poststop hook from create time ran');
  }));

test.run();
