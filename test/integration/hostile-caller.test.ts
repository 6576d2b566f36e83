// A hostile local user around a root tsrun: symlinks planted where tsrun writes files its caller
// names, the per-id lock squatted, and more descriptors asked for than the caller passed.
//
// How we checked that each test fails without its protection (each removed, the file run again):
// - pid files (src/files.ts replaceFile): with the old writer (writeFileSync to `${file}.${pid}.tmp`,
//   then rename), the planted symlink at the temporary name was followed: the victim held the pid.
// - --log (src/files.ts refuseSymlink, appendNoFollow): with a plain append, tsrun exited 1 and
//   the victim got the error line.
// - the lock (src/state/lock.ts): with the abstract socket lock, the squatter bound its name (as
//   one who saw it in /proc/net/unix would) and create failed after 30 s, "locked by another tsrun".
// - --preserve-fds (src/runtime/fds.ts checkPassedFds): without the check, create --preserve-fds 20
//   with two fds passed exited 0 (and a container listing its fds showed Node's epoll, pipes and
//   eventfds at 5 and up).
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, chownSync, closeSync, existsSync, lstatSync, mkdirSync, openSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { lockFile } from '../../src/state/lock.ts';
import { inSandbox, isRoot, TSRUN, tsrunEnv, waitFor, type Sandbox } from './helpers.ts';
import { lockLeft } from './leftovers.ts';

const NOBODY = 65534;
const canDropPrivileges = isRoot && spawnSync('setpriv', ['--version']).status === 0;

/** A root-owned file the attacker wants overwritten. */
function victim(sb: Sandbox): string {
  const file = sb.file('victim');
  writeFileSync(file, 'precious\n');
  return file;
}

/** A directory the unprivileged user owns and can fill with symlinks. */
function hostileDir(sb: Sandbox): string {
  chmodSync(sb.dir, 0o755);
  const dir = sb.file('hostile');
  mkdirSync(dir);
  chownSync(dir, NOBODY, NOBODY);
  return dir;
}

test('a pid file is never written through a symlink planted at its temporary or final name', () =>
  inSandbox((sb) => {
    const target = victim(sb);
    const dir = hostileDir(sb);
    const pidFile = join(dir, 'init.pid');
    // The old temporary name was `${file}.${pid}.tmp`: plant one for each pid tsrun may get next.
    const last = Number(readFileSync('/proc/sys/kernel/ns_last_pid', 'utf8'));
    for (let pid = last + 1; pid < last + 3000; pid++) symlinkSync(target, `${pidFile}.${pid}.tmp`);
    symlinkSync(target, pidFile);

    const id = sb.id();
    sb.tsrun(['create', '--bundle', sb.bundle((c) => (c.process.args = ['sleep', '100'])), '--pid-file', pidFile, id], { stdoutFile: sb.file('out') }).ok();
    const pid = sb.state(id).pid;
    assert.is(readFileSync(target, 'utf8'), 'precious\n', 'the victim is untouched');
    assert.ok(lstatSync(pidFile).isFile(), 'the planted symlink was replaced, not followed');
    assert.is(readFileSync(pidFile, 'utf8'), String(pid));

    // exec writes its pid file the same way.
    const execPidFile = join(dir, 'exec.pid');
    symlinkSync(target, execPidFile);
    sb.tsrun(['start', id]).ok();
    sb.tsrun(['exec', '--pid-file', execPidFile, id, 'true']).ok();
    assert.is(readFileSync(target, 'utf8'), 'precious\n', 'the victim is untouched by exec');
    assert.ok(lstatSync(execPidFile).isFile());
    assert.match(readFileSync(execPidFile, 'utf8'), /^\d+$/);
    sb.tsrun(['delete', '--force', id]).ok();
  }));

test('--log refuses a symlink: a usage error naming --log, nothing written through it', () =>
  inSandbox((sb) => {
    const target = victim(sb);
    const log = join(hostileDir(sb), 'log.json');
    symlinkSync(target, log);
    const result = sb.tsrun(['--log', log, '--log-format', 'json', 'state', 'nosuch']);
    assert.is(result.status, 2, result.stderr);
    assert.match(result.stderr, /--log .*symbolic link/);
    assert.is(readFileSync(target, 'utf8'), 'precious\n', 'the victim is untouched');
  }));

/** Binds, as an unprivileged user, every tsrun abstract socket name it sees and the ones given. */
const SQUATTER = `
const net = require('net'), fs = require('fs');
const [root, ...names] = process.argv.slice(1);
const held = new Map();
const bind = (name) => {
  if (held.has(name)) return;
  const server = net.createServer();
  server.on('error', () => {});
  server.listen({ path: '\\0' + name }, () => held.set(name, server));
};
const scan = () => {
  for (const line of fs.readFileSync('/proc/net/unix', 'utf8').split('\\n')) {
    const m = / @(tsrun\\S*)$/.exec(line);
    if (m) bind(m[1]);
  }
  names.forEach(bind);
};
setInterval(scan, 1);
const tryOpen = (path) => { try { fs.closeSync(fs.openSync(path, 'r+')); return 'opened'; } catch (e) { return e.code; } };
process.stdin.on('data', (line) => {
  scan();
  setTimeout(() => process.stdout.write(JSON.stringify({ bound: [...held.keys()], lock: tryOpen(String(line).trim()) }) + '\\n'), 100);
});
process.stdout.write('ready\\n');
`;

test('an unprivileged user cannot squat the lock of root\'s container', async () => {
  if (!canDropPrivileges) {
    console.log('skipped: needs root and setpriv');
    return;
  }
  await inSandbox(async (sb) => {
    chmodSync(sb.dir, 0o755); // only the state root's own 0700 keeps other users out, as in /run/tsrun
    const id = sb.id();
    sb.tsrun(['delete', '--force', id]).ok(); // makes the state root (and, before, its lock key)
    // The abstract socket name of the old scheme, as a user watching /proc/net/unix learns it.
    const keyFile = join(sb.root, '.lock-key');
    const oldName = existsSync(keyFile) ? [`tsrun/${createHash('sha256').update(readFileSync(keyFile, 'utf8')).update('\0').update(id).digest('hex').slice(0, 40)}`] : [];
    const squatter = spawn('setpriv', ['--reuid', String(NOBODY), '--regid', String(NOBODY), '--clear-groups', process.execPath, '-e', SQUATTER, sb.root, ...oldName], { stdio: ['pipe', 'pipe', 'inherit'] });
    try {
      let out = '';
      squatter.stdout.on('data', (d) => (out += d));
      await waitFor(() => out.includes('ready\n'), 10_000, () => 'the squatter to start');
      const output = sb.file('out');
      sb.tsrun(['create', '--bundle', sb.bundle((c) => (c.process.args = ['sleep', '100'])), id], { stdoutFile: output }).ok();
      squatter.stdin.write(`${lockFile(sb.root, id)}\n`);
      await waitFor(() => out.split('\n').length > 2, 10_000, () => 'the squatter to report');
      const report = JSON.parse(out.split('\n')[1]);
      assert.is(report.lock, 'EACCES', 'the lock file cannot even be opened');

      const started = Date.now();
      sb.tsrun(['start', id], { timeoutMs: 10_000 }).ok();
      sb.tsrun(['delete', '--force', id], { timeoutMs: 10_000 }).ok();
      assert.ok(Date.now() - started < 10_000, 'start and delete did not wait for the lock');
      assert.is(lockLeft(sb.root, id), undefined, 'delete removed the lock file');
    } finally {
      squatter.kill('SIGKILL');
    }
  });
});

/** tsrun with two extra descriptors (3 and 4) passed, as `sh -c` so that LISTEN_PID can be its pid. */
function withTwoFds(sb: Sandbox, args: string[], env: Record<string, string> = {}, listen = false) {
  const out = openSync(sb.file('out'), 'a');
  const passed = openSync('/etc/hostname', 'r');
  try {
    const command = `${listen ? 'LISTEN_PID=$$ ' : ''}exec "$0" "$@"`;
    return spawnSync('sh', ['-c', command, TSRUN, '--root', sb.root, ...args], {
      env: tsrunEnv(env),
      stdio: ['ignore', out, 'pipe', passed, passed],
      encoding: 'utf8',
      timeout: 60_000,
    });
  } finally {
    closeSync(out);
    closeSync(passed);
  }
}

test('--preserve-fds and LISTEN_FDS beyond the descriptors passed are usage errors; exactly those passed reach the container', () =>
  inSandbox((sb) => {
    const bundle = sb.bundle((c) => (c.process.args = ['sh', '-c', 'ls /proc/self/fd | sort -n | tr "\\n" " "; echo']));
    const id = sb.id();
    for (const [args, env, listen, flag] of [
      [['--preserve-fds', '20'], {}, false, /--preserve-fds 20: only 2 descriptors/],
      [['--preserve-fds', '3'], {}, false, /--preserve-fds 3: only 2 descriptors/],
      [[], { LISTEN_FDS: '5' }, true, /LISTEN_FDS=5: only 2 descriptors/],
      [['--preserve-fds', '1'], { LISTEN_FDS: '2' }, true, /--preserve-fds 1 \(after LISTEN_FDS=2\)/],
    ] as const) {
      const result = withTwoFds(sb, ['create', ...args, '--bundle', bundle, id], env, listen);
      assert.is(result.status, 2, `${args} ${JSON.stringify(env)}: ${result.stderr}`);
      assert.match(result.stderr, flag);
      assert.not.match(result.stderr, /internal error|at .*\.js/, 'no stack');
      assert.not.ok(existsSync(join(sb.root, id)), 'nothing created');
      assert.is(lockLeft(sb.root, id), undefined, 'no lock file left');
    }
    // LISTEN_FDS meant for another process (LISTEN_PID not tsrun's) is ignored, as runc does.
    assert.is(withTwoFds(sb, ['run', '--bundle', bundle, sb.id()], { LISTEN_FDS: '5', LISTEN_PID: '1' }).status, 0);
    // Exactly the two passed (ls opens the directory it lists as the next one), and the lock still works.
    assert.is(withTwoFds(sb, ['run', '--preserve-fds', '2', '--bundle', bundle, id]).status, 0);
    assert.is(withTwoFds(sb, ['run', '--bundle', bundle, sb.id()], { LISTEN_FDS: '2' }, true).status, 0);
    const lines = readFileSync(sb.file('out'), 'utf8').trim().split('\n');
    assert.equal(lines.map((l) => l.trim()), ['0 1 2 3', '0 1 2 3 4 5', '0 1 2 3 4 5']);
  }));

test.run();
