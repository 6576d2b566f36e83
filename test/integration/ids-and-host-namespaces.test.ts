// Hostile settings that would reach past the container: process ids that setresuid reads as
// "unchanged" (the process would stay root), sysctls and hostnames written into a namespace joined
// by path that is the runtime's own (the host's), and the oom_score_adj of an exec'd process.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { TSRUN, inSandbox, tsrunEnv, type Config, type Sandbox } from './helpers.ts';

/** The namespaces of the default config, with `type` joined by `path` instead of made new. */
function joining(c: Config, type: string, path: string): void {
  c.linux.namespaces = c.linux.namespaces.filter((ns: { type: string }) => ns.type !== type);
  c.linux.namespaces.push({ type, path });
}

/** Runs `create` on a bundle that must be refused as invalid: exit 2, and nothing left of the id. */
function refused(sb: Sandbox, bundle: string): string {
  const id = sb.id();
  const result = sb.tsrun(['create', '--bundle', bundle, id], { stdoutFile: sb.file(`${id}.out`) });
  assert.is(result.status, 2, result.stderr);
  assert.match(result.stderr, /invalid config/);
  assert.not.ok(existsSync(join(sb.root, id)), 'no state directory');
  return result.stderr;
}

const execPids = (sb: Sandbox, id: string): number[] => JSON.parse(sb.tsrun(['ps', '--format', 'json', id]).ok().stdout);

// Checked to fail without the fix: with the id rule of semanticProblems removed, create failed with
// exit 1 at the init's identity step (its last guard); with that guard removed too, create
// succeeded, the container's process left as root.
test('process.user ids of 2^32-1 (-1, "unchanged" to setresuid) are refused before anything exists', () =>
  inSandbox((sb) => {
    for (const user of [{ uid: 4294967295, gid: 0 }, { uid: 1000, gid: 4294967295 }, { uid: 1000, gid: 1000, additionalGids: [4294967295] }, { uid: 2147483648, gid: 0 }]) {
      const stderr = refused(sb, sb.bundle((c) => {
        c.process.user = user;
        c.process.args = ['id'];
      }));
      assert.match(stderr, /process\.user\.(uid|gid|additionalGids\[0\]): must be <= 2147483647/);
    }
  }));

// Checked to fail without the fix: with parseUser's limit, exec's validation and the init's guard
// removed, exec --user 4294967295 ran `id -u`, which printed 0.
test('exec --user 4294967295 and a --process file with such ids are refused with exit 2, nothing started', () =>
  inSandbox(async (sb) => {
    const { id } = sb.startSleeper();
    const before = execPids(sb, id);
    for (const user of ['4294967295', '0:4294967295', '2147483648']) {
      const result = sb.tsrun(['exec', '--user', user, id, 'id', '-u']);
      assert.is(result.status, 2, `--user ${user}: ${result.stderr}${result.stdout}`);
      assert.is(result.stdout, '');
    }
    const file = sb.file('process.json');
    for (const user of [{ uid: 4294967295, gid: 0 }, { uid: 0, gid: 0, additionalGids: [4294967295] }]) {
      writeFileSync(file, JSON.stringify({ cwd: '/', args: ['id', '-u'], env: ['PATH=/usr/bin:/bin'], user }));
      const result = sb.tsrun(['exec', '--process', file, id]);
      assert.is(result.status, 2, `--process ${JSON.stringify(user)}: ${result.stderr}`);
      assert.match(result.stderr, /process\.user\./);
    }
    assert.equal(execPids(sb, id), before, 'no process was started in the container');
    // the greatest id that is one
    assert.is(sb.tsrun(['exec', '--user', '2147483647:2147483647', id, 'id', '-u']).ok().stdout.trim(), '2147483647');
    await sb.stop(id);
  }));

// Checked to fail without the fix: with ownNamespaceProblem ignoring the host facts, the first
// config was created (exit 0), writing its somaxconn into the host's network namespace.
test("sysctls and the hostname are refused in a namespace joined by a path that is the runtime's own", () =>
  inSandbox((sb) => {
    const somaxconn = readFileSync('/proc/sys/net/core/somaxconn', 'utf8');
    const msgmax = readFileSync('/proc/sys/kernel/msgmax', 'utf8');
    const host = hostname();
    const netStderr = refused(sb, sb.bundle((c) => {
      joining(c, 'network', `/proc/${process.pid}/ns/net`);
      c.linux.sysctl = { 'net.core.somaxconn': String(Number(somaxconn) + 7) };
    }));
    assert.match(netStderr, /linux\.sysctl\["net\.core\.somaxconn"\]: linux\.namespaces\[\d\]\.path is the runtime's own network namespace/);
    refused(sb, sb.bundle((c) => {
      joining(c, 'network', '/proc/self/ns/net'); // the runtime's self: the same namespace
      c.linux.sysctl = { 'net/core/somaxconn': String(Number(somaxconn) + 7) };
    }));
    const ipcStderr = refused(sb, sb.bundle((c) => {
      joining(c, 'ipc', `/proc/${process.pid}/ns/ipc`);
      c.linux.sysctl = { 'kernel.msgmax': String(Number(msgmax) + 7) };
    }));
    assert.match(ipcStderr, /linux\.sysctl\["kernel\.msgmax"\]: linux\.namespaces\[\d\]\.path is the runtime's own ipc namespace/);
    const utsStderr = refused(sb, sb.bundle((c) => {
      joining(c, 'uts', `/proc/${process.pid}/ns/uts`);
      c.hostname = `${host}-x`;
      c.linux.sysctl = { 'kernel.domainname': 'evil' };
    }));
    assert.match(utsStderr, /hostname: linux\.namespaces\[\d\]\.path is the runtime's own uts namespace/);
    assert.match(utsStderr, /linux\.sysctl\["kernel\.domainname"\]: linux\.namespaces\[\d\]\.path is the runtime's own uts namespace/);
    // kernel.hostname without a uts namespace at all
    refused(sb, sb.bundle((c) => {
      c.linux.namespaces = c.linux.namespaces.filter((ns: { type: string }) => ns.type !== 'uts');
      c.hostname = '';
      c.linux.sysctl = { 'kernel.hostname': 'evil' };
    }));
    assert.is(readFileSync('/proc/sys/net/core/somaxconn', 'utf8'), somaxconn, "the host's somaxconn");
    assert.is(readFileSync('/proc/sys/kernel/msgmax', 'utf8'), msgmax, "the host's msgmax");
    assert.is(hostname(), host, "the host's hostname");
  }));

// Checked to pass only with the comparison by device and inode: with every joined path counted as the
// runtime's (hostFacts answering 'runtime'), this container was refused.
test("a namespace joined by path that is not the runtime's takes the container's sysctls", () =>
  inSandbox(async (sb) => {
    const somaxconn = readFileSync('/proc/sys/net/core/somaxconn', 'utf8').trim();
    const msgmax = readFileSync('/proc/sys/kernel/msgmax', 'utf8').trim();
    const wanted = { somaxconn: String(Number(somaxconn) + 11), msgmax: String(Number(msgmax) + 11) };
    // another container's namespaces: not the host's
    const owner = sb.startSleeper();
    const id = sb.id();
    const bundle = sb.bundle((c) => {
      joining(c, 'network', `/proc/${owner.pid}/ns/net`);
      joining(c, 'ipc', `/proc/${owner.pid}/ns/ipc`);
      c.linux.sysctl = { 'net.core.somaxconn': wanted.somaxconn, 'kernel.msgmax': wanted.msgmax };
      c.process.args = ['sh', '-c', 'cat /proc/sys/net/core/somaxconn /proc/sys/kernel/msgmax'];
    });
    const output = await sb.runToEnd(bundle, id);
    assert.equal(output.trim().split('\n'), [wanted.somaxconn, wanted.msgmax], 'set in the joined namespaces');
    const seenByOwner = sb.tsrun(['exec', owner.id, 'cat', '/proc/sys/net/core/somaxconn', '/proc/sys/kernel/msgmax']).ok().stdout;
    assert.equal(seenByOwner.trim().split('\n'), [wanted.somaxconn, wanted.msgmax], 'the namespaces are the other container\'s');
    assert.is(readFileSync('/proc/sys/net/core/somaxconn', 'utf8').trim(), somaxconn, "the host's somaxconn");
    assert.is(readFileSync('/proc/sys/kernel/msgmax', 'utf8').trim(), msgmax, "the host's msgmax");
    await sb.stop(owner.id);
  }));

/** An oom_score_adj this runtime may give its caller: a negative one needs CAP_SYS_RESOURCE. */
function callerScore(): number {
  return spawnSync('sh', ['-c', 'echo -500 > /proc/self/oom_score_adj']).status === 0 ? -500 : 500;
}

/** `tsrun exec` run by a shell whose oom_score_adj is `score`, as a containerd shim at -998 would. */
function execWithCallerScore(sb: Sandbox, score: number, args: string[]): string {
  const result = spawnSync('sh', ['-c', `echo ${score} > /proc/self/oom_score_adj && exec "$@"`, 'sh', TSRUN, '--root', sb.root, 'exec', ...args], {
    encoding: 'utf8',
    env: tsrunEnv(),
    timeout: 60_000,
  });
  if (result.status !== 0) throw new Error(`exec ${args.join(' ')} exited ${result.status}: ${result.stderr}`);
  return result.stdout.trim();
}

// Checked to fail without the fix: with the oom_score_adj write of runtime/exec.ts removed, the
// exec'd process read the caller's value (-500, or 500 where the runtime lacks CAP_SYS_RESOURCE).
test("exec gives the process the container's oomScoreAdj, or its --process file's, not the caller's", () =>
  inSandbox(async (sb) => {
    const score = callerScore();
    const withAdj = sb.startSleeper((c) => (c.process.oomScoreAdj = 100));
    assert.is(execWithCallerScore(sb, score, [withAdj.id, 'cat', '/proc/self/oom_score_adj']), '100');
    const file = sb.file('process.json');
    writeFileSync(file, JSON.stringify({ cwd: '/', args: ['cat', '/proc/self/oom_score_adj'], env: ['PATH=/bin'], user: { uid: 0, gid: 0 }, oomScoreAdj: 300 }));
    assert.is(execWithCallerScore(sb, score, ['--process', file, withAdj.id]), '300', 'the --process file sets its own');
    writeFileSync(file, JSON.stringify({ cwd: '/', args: ['cat', '/proc/self/oom_score_adj'], env: ['PATH=/bin'], user: { uid: 0, gid: 0 } }));
    assert.is(execWithCallerScore(sb, score, ['--process', file, withAdj.id]), '100', "a --process file without one gets the container's");
    // Without oomScoreAdj in the config the value is not changed (the spec's MUST NOT): the exec'd
    // process keeps its caller's, as with runc.
    const without = sb.startSleeper();
    assert.is(execWithCallerScore(sb, score, [without.id, 'cat', '/proc/self/oom_score_adj']), String(score));
    await sb.stop(withAdj.id);
    await sb.stop(without.id);
  }));

test.run();
