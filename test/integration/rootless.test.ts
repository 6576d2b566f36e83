// Rootless mode: tsrun run by an unprivileged user of its own (created here, removed afterwards),
// from a copy of the built package that this user can read (the checkout may sit in a directory
// only root can enter). The container runs in a user namespace with the user mapped to root, its
// state lives under $XDG_RUNTIME_DIR/tsrun, and what needs privileges is skipped or refused.
//
// Checked to fail without the protection: with the id maps written the root way (no setgroups
// "deny", no newuidmap), or with the init made non-dumpable before its maps are written, create
// fails with EACCES/EPERM; with cgroups required, every run fails with EACCES.
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DEFAULT_ROOTFS, REPO, tsrunEnv, waitFor } from './helpers.ts';

const user = `tsrun-rl-${process.pid}`;
const home = mkdtempSync('/tmp/tsrun-rootless-');
const install = join(home, 'tsrun');
const runtimeDir = join(home, 'xdg');
let uid = 0;
let gid = 0;
let subuid = { start: 0, count: 0 };
let subgid = { start: 0, count: 0 };
let counter = 0;

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the installed tsrun as the test user, as they would from their shell. */
function tsrun(args: string[], options: { cwd?: string; outFile?: string } = {}): Run {
  const env = tsrunEnv({ XDG_RUNTIME_DIR: runtimeDir, HOME: home, USER: user });
  // Under c8 the user may not write root's coverage directory; Node passes the variable on to
  // children unless the given environment has it, so it is emptied, not deleted.
  env.NODE_V8_COVERAGE = '';
  const out = options.outFile ? `>>${options.outFile} 2>&1` : '';
  // A created container inherits create's stdio: send it to a file, never to a pipe we wait on.
  const command = `exec "$0" "$@" ${out}`;
  const result = spawnSync('setpriv', ['--reuid', String(uid), '--regid', String(gid), '--init-groups', 'sh', '-c', command, join(install, 'bin', 'tsrun'), ...args], {
    cwd: options.cwd ?? home,
    env,
    encoding: 'utf8',
    timeout: 60_000,
  });
  if (result.error) throw result.error;
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

function ok(result: Run, what: string): Run {
  assert.is(result.status, 0, `${what}: ${result.stderr}${result.stdout}`);
  return result;
}

/** A bundle owned by the test user: `tsrun spec --rootless` output, adjusted by `edit`. */
function bundle(edit: (config: any) => void): string {
  const dir = join(home, `bundle-${counter++}`);
  mkdirSync(dir);
  cpSync(DEFAULT_ROOTFS, join(dir, 'rootfs'), { recursive: true, verbatimSymlinks: true });
  spawnSync('chown', ['-R', `${uid}:${gid}`, dir]);
  ok(tsrun(['spec', '--rootless', '--bundle', dir]), 'spec --rootless');
  const file = join(dir, 'config.json');
  const config = JSON.parse(readFileSync(file, 'utf8'));
  config.process.terminal = false;
  edit(config);
  writeFileSync(file, JSON.stringify(config));
  return dir;
}

/** create + start as the user; the container's output goes to a file that is returned once it stopped. */
async function runToEnd(dir: string, id = `rl-${counter++}`): Promise<string> {
  const out = join(home, `${id}.out`);
  ok(tsrun(['create', '--bundle', dir, id], { outFile: out }), 'create');
  ok(tsrun(['start', id]), 'start');
  await waitFor(() => JSON.parse(ok(tsrun(['state', id]), 'state').stdout).status === 'stopped', 20_000, () => `${id} to stop`);
  ok(tsrun(['delete', id]), 'delete');
  return readFileSync(out, 'utf8');
}

function subordinate(file: string): { start: number; count: number } {
  const line = readFileSync(file, 'utf8').split('\n').find((l) => l.startsWith(`${user}:`));
  if (!line) throw new Error(`${file} has no range for ${user}`);
  const [, start, count] = line.split(':');
  return { start: Number(start), count: Number(count) };
}

test.before(() => {
  const made = spawnSync('useradd', ['--no-create-home', '--home-dir', home, '--shell', '/bin/sh', '--user-group', user], { encoding: 'utf8' });
  if (made.status !== 0) throw new Error(`useradd ${user}: ${made.stderr}`);
  uid = Number(spawnSync('id', ['-u', user], { encoding: 'utf8' }).stdout);
  gid = Number(spawnSync('id', ['-g', user], { encoding: 'utf8' }).stdout);
  // Debian's useradd grants subordinate ranges itself; give one where it did not.
  if (!readFileSync('/etc/subuid', 'utf8').includes(`${user}:`)) spawnSync('usermod', ['--add-subuids', '400000-465535', '--add-subgids', '400000-465535', user]);
  subuid = subordinate('/etc/subuid');
  subgid = subordinate('/etc/subgid');
  // The built package as an installation would hold it.
  for (const part of ['package.json', 'bin', 'dist', 'build/native', 'node_modules/koffi']) cpSync(join(REPO, part), join(install, part), { recursive: true });
  mkdirSync(runtimeDir, { mode: 0o700 });
  spawnSync('chown', [`${uid}:${gid}`, home, runtimeDir]);
  chmodSync(home, 0o755);
});

test.after(() => {
  // End what the user may have left running, by pid, then remove the user and the files.
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (statSync(`/proc/${entry}`).uid === uid) process.kill(Number(entry), 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }
  spawnSync('userdel', [user]);
  rmSync(home, { recursive: true, force: true });
});

test('spec --rootless runs as the user mapped to root, state under $XDG_RUNTIME_DIR/tsrun', async () => {
  const output = await runToEnd(
    bundle((c) => (c.process.args = ['sh', '-c', 'id -u; echo pid $$; cat /proc/self/uid_map /proc/self/gid_map; cat /proc/self/setgroups; echo x > /dev/null && echo devnull-ok'])),
  );
  const lines = output.trim().split('\n');
  assert.is(lines[0], '0', output);
  assert.is(lines[1], 'pid 1');
  assert.match(output, new RegExp(`^\\s*0\\s+${uid}\\s+1$`, 'm'), 'uid_map maps the user to root');
  assert.match(output, new RegExp(`^\\s*0\\s+${gid}\\s+1$`, 'm'), 'gid_map maps the group to root');
  assert.match(output, /^deny$/m, 'setgroups is denied, as the kernel requires for a self-written gid map');
  assert.match(output, 'devnull-ok');
  assert.ok(existsSync(join(runtimeDir, 'tsrun')), 'state root under XDG_RUNTIME_DIR');
  assert.equal(readdirSync(join(runtimeDir, 'tsrun')).filter((e) => !e.startsWith('.')), [], 'nothing left after delete');
});

test('the host sees the container init as the user; exec, kill and delete work; ps and kill --all say why they cannot', async () => {
  const dir = bundle((c) => (c.process.args = ['sleep', '300']));
  const id = `rl-${counter++}`;
  ok(tsrun(['create', '--bundle', dir, id], { outFile: join(home, `${id}.out`) }), 'create');
  ok(tsrun(['start', id]), 'start');
  try {
    await checkRunning(id);
  } finally {
    tsrun(['delete', '--force', id]);
  }
});

async function checkRunning(id: string): Promise<void> {
  const pid = JSON.parse(ok(tsrun(['state', id]), 'state').stdout).pid;
  const hostUid = /^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  assert.is(Number(hostUid), uid, 'on the host the container runs with the user\'s uid');
  const exec = ok(tsrun(['exec', id, 'sh', '-c', 'id -u; tr "\\0" " " </proc/1/cmdline']), 'exec');
  assert.match(exec.stdout, /^0\nsleep 300/);
  const ps = tsrun(['ps', id]);
  assert.is(ps.status, 1);
  assert.match(ps.stderr, 'has no cgroup');
  const killAll = tsrun(['kill', '--all', id, 'KILL']);
  assert.is(killAll.status, 1);
  assert.match(killAll.stderr, 'has no cgroup');
  ok(tsrun(['kill', id, 'KILL']), 'kill');
  await waitFor(() => JSON.parse(ok(tsrun(['state', id]), 'state').stdout).status === 'stopped', 20_000, () => `${id} to stop`);
  ok(tsrun(['delete', id]), 'delete');
  assert.not.ok(existsSync(`/proc/${pid}`) && readFileSync(`/proc/${pid}/stat`, 'utf8').split(' ')[2] !== 'Z', 'the init is gone');
}

test('ranges beyond the user\'s own id go through newuidmap/newgidmap and /etc/subuid', async () => {
  const dir = bundle((c) => {
    c.root.readonly = false;
    c.linux.uidMappings = [{ containerID: 0, hostID: uid, size: 1 }, { containerID: 1, hostID: subuid.start, size: 65536 }];
    c.linux.gidMappings = [{ containerID: 0, hostID: gid, size: 1 }, { containerID: 1, hostID: subgid.start, size: 65536 }];
    c.process.capabilities.bounding.push('CAP_CHOWN');
    c.process.capabilities.effective.push('CAP_CHOWN');
    c.process.capabilities.permitted.push('CAP_CHOWN');
    c.process.args = ['sh', '-c', 'cat /proc/self/uid_map; touch /owned && chown 1000:1000 /owned && echo chowned'];
  });
  const output = await runToEnd(dir);
  assert.match(output, new RegExp(`^\\s*1\\s+${subuid.start}\\s+65536$`, 'm'));
  assert.match(output, 'chowned');
  const owned = statSync(join(dir, 'rootfs', 'owned'));
  assert.is(owned.uid, subuid.start + 999, 'container uid 1000 is the subordinate id on the host');
  assert.is(owned.gid, subgid.start + 999);
});

test('a mapping /etc/subuid does not grant, limits without a delegated cgroup, and no user namespace are refused, leaving nothing', () => {
  const tooFar = bundle((c) => (c.linux.uidMappings = [{ containerID: 0, hostID: uid, size: 1 }, { containerID: 1, hostID: subuid.start + subuid.count, size: 10 }]));
  const limits = bundle((c) => (c.linux.resources = { pids: { limit: 10 } }));
  const noUserns = bundle((c) => {
    c.linux.namespaces = c.linux.namespaces.filter((ns: { type: string }) => ns.type !== 'user');
    delete c.linux.uidMappings;
    delete c.linux.gidMappings;
  });
  for (const [dir, status, message] of [
    [tooFar, 1, /newuidmap .*failed.*\/etc\/subuid/],
    [limits, 1, /linux\.resources\.pids: limits need a cgroup/],
    [noUserns, 2, /linux\.namespaces: an unprivileged user can create namespaces only inside a user namespace/],
  ] as const) {
    const id = `rl-${counter++}`;
    const result = tsrun(['create', '--bundle', dir, id], { outFile: join(home, `${id}.out`) });
    const text = readFileSync(join(home, `${id}.out`), 'utf8');
    assert.is(result.status, status, text);
    assert.match(text, message);
    assert.not.ok(existsSync(join(runtimeDir, 'tsrun', id)), `no state of ${id} is left`);
  }
});

test('nothing of the user is left running', async () => {
  const mine = () =>
    readdirSync('/proc').filter((e) => {
      try {
        return /^\d+$/.test(e) && statSync(`/proc/${e}`).uid === uid && readFileSync(`/proc/${e}/stat`, 'utf8').split(') ')[1][0] !== 'Z';
      } catch {
        return false;
      }
    });
  await waitFor(() => mine().length === 0, 10_000, () => `the user's processes to end: ${mine().join(', ')}`);
});

test.run();
