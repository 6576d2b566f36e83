// What the container sees: its namespaces, mounts and their flags, devices, masked and read-only
// paths, user and groups, capabilities, rlimits, sysctls. Each test runs a shell script inside the
// container and asserts on what it printed, then on the host afterwards.
import { readFileSync, readlinkSync, writeFileSync, mkdirSync, symlinkSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { inSandbox, type Config, type Sandbox } from './helpers.ts';

/** Runs `script` with sh in a container whose config `edit` adjusts; returns its output. */
function runScript(sb: Sandbox, script: string, edit: (c: Config) => void = () => {}, options?: { copyRootfs?: boolean }): Promise<string> {
  return sb.runToEnd(
    sb.bundle((c) => {
      c.process.args = ['sh', '-c', script];
      edit(c);
    }, options),
  );
}

/** "Name:\tvalue" lines of /proc/self/status as printed by the container. */
function statusField(output: string, name: string): string {
  const m = new RegExp(`^${name}:\\s*(.*)$`, 'm').exec(output);
  if (!m) throw new Error(`no ${name} in:\n${output}`);
  return m[1].trim();
}

function mountOf(mountinfo: string, mountPoint: string): { options: string; fstype: string; superOptions: string; propagation: string } {
  for (const line of mountinfo.split('\n')) {
    const [left, right] = line.split(' - ');
    if (!right) continue;
    const fields = left.split(' ');
    if (fields[4] === mountPoint) {
      const [fstype, , superOptions] = right.split(' ');
      return { options: fields[5], fstype, superOptions, propagation: fields.slice(6).join(' ') };
    }
  }
  throw new Error(`${mountPoint} is not a mount point in:\n${mountinfo}`);
}

const hasFlag = (options: string, flag: string) => options.split(',').includes(flag);

test('pid 1, its own namespaces, hostname and domainname', () =>
  inSandbox(async (sb) => {
    const out = await runScript(
      sb,
      'echo pid=$$; hostname; cat /proc/sys/kernel/domainname; for n in pid net ipc uts mnt cgroup user; do echo $n=$(readlink /proc/self/ns/$n); done',
      (c) => (c.domainname = 'example.test'),
    );
    assert.match(out, /^pid=1$/m);
    assert.match(out, /^tsrun-demo$/m);
    assert.match(out, /^example\.test$/m);
    for (const ns of ['pid', 'net', 'ipc', 'uts', 'mnt', 'cgroup']) {
      const inside = new RegExp(`^${ns}=(.*)$`, 'm').exec(out)![1];
      assert.is.not(inside, readlinkSync(`/proc/self/ns/${ns}`), `${ns} namespace is new`);
    }
    assert.is(new RegExp('^user=(.*)$', 'm').exec(out)![1], readlinkSync('/proc/self/ns/user'), 'no user namespace was asked for');
  }));

test('a namespace given by path is joined, not created', () =>
  inSandbox(async (sb) => {
    const hostNet = readlinkSync('/proc/self/ns/net');
    const out = await runScript(sb, 'readlink /proc/self/ns/net', (c) => {
      c.linux.namespaces = c.linux.namespaces.map((ns: { type: string }) => (ns.type === 'network' ? { type: 'network', path: '/proc/self/ns/net' } : ns));
    });
    assert.is(out.trim(), hostNet);
  }));

test('mounts: proc, sysfs, /dev tmpfs, devpts, mqueue with their flags; root read-only', () =>
  inSandbox(async (sb) => {
    const out = await runScript(sb, 'cat /proc/self/mountinfo; touch /rootfs-write 2>&1; echo touched=$?');
    const proc = mountOf(out, '/proc');
    assert.is(proc.fstype, 'proc');
    const dev = mountOf(out, '/dev');
    assert.is(dev.fstype, 'tmpfs');
    assert.ok(hasFlag(dev.options, 'nosuid'));
    assert.match(dev.superOptions, /mode=755/);
    const pts = mountOf(out, '/dev/pts');
    assert.is(pts.fstype, 'devpts');
    assert.ok(hasFlag(pts.options, 'noexec') && hasFlag(pts.options, 'nosuid'));
    const sys = mountOf(out, '/sys');
    assert.is(sys.fstype, 'sysfs');
    assert.ok(hasFlag(sys.options, 'ro'), 'the default config mounts /sys read-only');
    assert.is(mountOf(out, '/dev/mqueue').fstype, 'mqueue');
    assert.ok(hasFlag(mountOf(out, '/').options, 'ro'), 'root.readonly');
    assert.match(out, /touched=1/);
  }));

test('bind mounts with ro, nosuid, nodev, noexec and a tmpfs with options', () =>
  inSandbox(async (sb) => {
    const shared = sb.file('shared');
    mkdirSync(shared);
    writeFileSync(join(shared, 'hello'), 'from the host\n');
    const out = await runScript(
      sb,
      'cat /data/hello; echo x > /data/new 2>&1; echo wrote=$?; cat /proc/self/mountinfo',
      (c) =>
        c.mounts.push(
          { destination: '/data', type: 'bind', source: shared, options: ['rbind', 'ro', 'nosuid', 'nodev', 'noexec'] },
          { destination: '/scratch/deep', type: 'tmpfs', source: 'tmpfs', options: ['size=1m', 'mode=700', 'noatime'] },
        ),
    );
    assert.match(out, /from the host/);
    assert.match(out, /wrote=1/, 'ro bind mount refuses writes');
    const data = mountOf(out, '/data');
    for (const flag of ['ro', 'nosuid', 'nodev', 'noexec']) assert.ok(hasFlag(data.options, flag), `/data has ${flag}`);
    const scratch = mountOf(out, '/scratch/deep');
    assert.is(scratch.fstype, 'tmpfs');
    assert.ok(hasFlag(scratch.options, 'noatime'));
    assert.match(scratch.superOptions, /size=1024k/);
    assert.match(scratch.superOptions, /mode=700/);
    assert.not.ok(existsSync(join(shared, 'new')));
  }));

test('a mount destination that is a symlink out of the rootfs stays inside the rootfs', () =>
  inSandbox(async (sb) => {
    const outside = sb.file('outside');
    mkdirSync(outside);
    const bundle = sb.bundle(
      (c) => {
        c.process.args = ['sh', '-c', 'cat /proc/self/mountinfo'];
        c.root.readonly = false;
        c.mounts.push({ destination: '/escape', type: 'tmpfs', source: 'tmpfs', options: ['size=1m'] });
      },
      { copyRootfs: true },
    );
    symlinkSync(outside, join(bundle, 'rootfs', 'escape'));
    const out = await sb.runToEnd(bundle);
    assert.ok(out.includes(' /escape ') || out.includes(outside), 'the tmpfs was mounted somewhere inside');
    assert.not.ok(readFileSync('/proc/self/mountinfo', 'utf8').includes(outside), 'nothing was mounted on the host path');
  }));

test('default devices, /dev symlinks, /dev/ptmx and linux.devices', () =>
  inSandbox(async (sb) => {
    const out = await runScript(
      sb,
      'for d in null zero full random urandom tty mydev; do stat -c "%n %F %t:%T %a %u:%g" /dev/$d; done; for l in fd stdin stdout stderr ptmx; do echo "$l -> $(readlink /dev/$l)"; done; head -c 4 /dev/zero | od -An -tx1',
      (c) => (c.linux.devices = [{ path: '/dev/mydev', type: 'c', major: 1, minor: 7, fileMode: 0o640, uid: 12, gid: 34 }]),
    );
    assert.match(out, /\/dev\/null character special file 1:3 666 0:0/);
    assert.match(out, /\/dev\/zero character special file 1:5 666/);
    assert.match(out, /\/dev\/full character special file 1:7 666/);
    assert.match(out, /\/dev\/random character special file 1:8 666/);
    assert.match(out, /\/dev\/urandom character special file 1:9 666/);
    assert.match(out, /\/dev\/tty character special file 5:0 666/);
    assert.match(out, /\/dev\/mydev character special file 1:7 640 12:34/);
    assert.match(out, /fd -> \/proc\/self\/fd/);
    assert.match(out, /stdin -> \/proc\/self\/fd\/0/);
    assert.match(out, /stdout -> \/proc\/self\/fd\/1/);
    assert.match(out, /stderr -> \/proc\/self\/fd\/2/);
    assert.match(out, /ptmx -> pts\/ptmx/);
    assert.match(out, /00 00 00 00/);
  }));

test('masked paths are empty, read-only paths refuse writes', () =>
  inSandbox(async (sb) => {
    const out = await runScript(
      sb,
      'echo keys=$(wc -c < /proc/keys); echo timer_list=$(wc -c < /proc/timer_list); echo firmware=$(ls /sys/firmware | wc -l); echo 1 > /proc/sys/kernel/domainname 2>&1; echo sysw=$?; echo 1 > /proc/sysrq-trigger 2>&1; echo sysrq=$?; cat /proc/self/mountinfo',
    );
    // (this kernel has no /proc/kcore; /proc/keys and /proc/timer_list are never empty on the host)
    assert.match(out, /^keys=0$/m);
    assert.match(out, /^timer_list=0$/m);
    assert.match(out, /firmware=0/);
    assert.match(out, /sysw=1/);
    assert.match(out, /sysrq=1/);
    assert.ok(hasFlag(mountOf(out, '/proc/sys').options, 'ro'));
  }));

test('user, groups, umask, cwd and env', () =>
  inSandbox(async (sb) => {
    const out = await runScript(
      sb,
      'id -u; id -g; id -G; umask; pwd; echo "$GREETING"',
      (c) => {
        c.process.user = { uid: 1000, gid: 1001, additionalGids: [5, 6], umask: 0o027 };
        c.process.cwd = '/tmp';
        c.process.env.push('GREETING=hello there');
      },
    );
    assert.equal(out.trim().split('\n'), ['1000', '1001', '1001 5 6', '0027', '/tmp', 'hello there']);
  }));

test('capabilities: exactly the five configured sets; noNewPrivileges', () =>
  inSandbox(async (sb) => {
    const out = await runScript(sb, 'cat /proc/self/status', (c) => {
      c.process.capabilities = {
        bounding: ['CAP_KILL', 'CAP_NET_BIND_SERVICE', 'CAP_CHOWN'],
        effective: ['CAP_KILL', 'CAP_NET_BIND_SERVICE'],
        permitted: ['CAP_KILL', 'CAP_NET_BIND_SERVICE', 'CAP_CHOWN'],
        inheritable: ['CAP_KILL'],
        ambient: ['CAP_KILL'],
      };
    });
    // sh exec'd as root: permitted and effective are recomputed by execve from these sets.
    const bit = (n: number) => 1n << BigInt(n);
    const hex = (v: bigint) => v.toString(16).padStart(16, '0');
    assert.is(statusField(out, 'CapBnd'), hex(bit(5) | bit(10) | bit(0)));
    assert.is(statusField(out, 'CapInh'), hex(bit(5)));
    assert.is(statusField(out, 'CapAmb'), hex(bit(5)));
    assert.is(statusField(out, 'CapPrm'), hex(bit(5) | bit(10) | bit(0)));
    assert.is(statusField(out, 'NoNewPrivs'), '1');
  }));

test('an unknown capability is rejected before anything is created', () =>
  inSandbox((sb) => {
    const bundle = sb.bundle((c) => c.process.capabilities.bounding.push('CAP_NO_SUCH_THING'));
    const result = sb.tsrun(['create', '--bundle', bundle, sb.id()]);
    assert.is(result.status, 2);
    assert.match(result.stderr, /CAP_NO_SUCH_THING/);
  }));

test('rlimits, oom_score_adj and sysctls', () =>
  inSandbox(async (sb) => {
    const hardNofile = Number(/Max open files\s+\d+\s+(\d+)/.exec(readFileSync('/proc/self/limits', 'utf8'))![1]);
    const out = await runScript(
      sb,
      'ulimit -Sn; ulimit -Hn; cat /proc/self/oom_score_adj; cat /proc/sys/net/ipv4/ip_forward; cat /proc/sys/kernel/msgmax',
      (c) => {
        c.process.rlimits = [{ type: 'RLIMIT_NOFILE', soft: 123, hard: Math.min(456, hardNofile) }];
        c.process.oomScoreAdj = 321;
        c.linux.sysctl = { 'net.ipv4.ip_forward': '1', 'kernel.msgmax': '4321' };
      },
    );
    assert.equal(out.trim().split('\n'), ['123', String(Math.min(456, hardNofile)), '321', '1', '4321']);
  }));

test('a user namespace maps container root to a host uid', () =>
  inSandbox(async (sb) => {
    const id = sb.id();
    const bundle = sb.bundle((c) => {
      c.process.args = ['sh', '-c', 'cat /proc/self/uid_map /proc/self/gid_map; id -u; sleep 30'];
      c.linux.namespaces.push({ type: 'user' });
      c.linux.uidMappings = [{ containerID: 0, hostID: 200000, size: 65536 }];
      c.linux.gidMappings = [{ containerID: 0, hostID: 200000, size: 65536 }];
      c.mounts = c.mounts.filter((m: { type: string }) => m.type !== 'cgroup');
    });
    const output = sb.createAndStart(id, bundle);
    const { pid } = sb.state(id);
    const hostView = readFileSync(`/proc/${pid}/status`, 'utf8');
    assert.match(statusField(hostView, 'Uid'), /^200000\s/);
    sb.tsrun(['kill', id, 'KILL']).ok();
    await sb.waitForStatus(id, 'stopped');
    sb.tsrun(['delete', id]).ok();
    const out = readFileSync(output, 'utf8');
    assert.match(out, /^\s+0\s+200000\s+65536$/m);
    assert.match(out, /^0$/m);
  }));

test('the stdio tsrun is given is never chowned to the container user (it may be the host /dev/null)', () =>
  inSandbox(async (sb) => {
    const { spawnSync } = await import('node:child_process');
    const { openSync, closeSync, statSync } = await import('node:fs');
    const { TSRUN, tsrunEnv } = await import('./helpers.ts');
    const probe = sb.file('stdio-probe');
    writeFileSync(probe, '');
    const fd = openSync(probe, 'r+');
    const bundle = sb.bundle((c) => {
      c.process.user = { uid: 1000, gid: 1000 };
      c.process.args = ['sh', '-c', 'echo ran as $(id -u)'];
    });
    const result = spawnSync(TSRUN, ['--root', sb.root, 'run', '--bundle', bundle, sb.id()], { env: tsrunEnv(), stdio: [fd, fd, 'pipe'] });
    closeSync(fd);
    assert.is(result.status, 0, result.stderr?.toString());
    assert.match(readFileSync(probe, 'utf8'), /ran as 1000/, 'the container wrote to it as uid 1000');
    const { uid, gid } = statSync(probe);
    assert.equal([uid, gid], [0, 0], 'still owned by root');
  }));

test('no fd of the caller reaches the container, except those preserved', () =>
  inSandbox(async (sb) => {
    const id = sb.id();
    const bundle = sb.bundle((c) => (c.process.args = ['sh', '-c', 'ls /proc/self/fd | sort -n | tr "\\n" " "; echo; echo LISTEN_FDS=$LISTEN_FDS']));
    const out = sb.file('out');
    // The caller leaks fds 3 and 4; only one is preserved.
    const { spawnSync } = await import('node:child_process');
    const { openSync } = await import('node:fs');
    const leak = openSync('/etc/hostname', 'r');
    const outFd = openSync(out, 'a');
    const { TSRUN, tsrunEnv } = await import('./helpers.ts');
    const run = (extra: string[], name: string) =>
      spawnSync(TSRUN, ['--root', sb.root, 'run', ...extra, '--bundle', bundle, name], { env: tsrunEnv(), stdio: ['ignore', outFd, 'pipe', leak, leak] });
    assert.is(run([], id).status, 0);
    assert.is(run(['--preserve-fds', '1'], sb.id()).status, 0);
    const [plain, , preserved] = readFileSync(out, 'utf8').split('\n');
    // ls opens the directory it lists as fd 3 itself
    assert.is(plain.trim(), '0 1 2 3', 'only stdio (and ls\'s own fd) without --preserve-fds');
    assert.is(preserved.trim(), '0 1 2 3 4', 'fd 3 preserved');
    // Socket activation: the caller's LISTEN_FDS descriptors go on, and the container is told.
    // LISTEN_PID names tsrun itself (runc ignores LISTEN_FDS meant for another process): sh execs it.
    const activated = spawnSync('sh', ['-c', 'LISTEN_PID=$$ exec "$0" "$@"', TSRUN, '--root', sb.root, 'run', '--bundle', bundle, sb.id()], {
      env: tsrunEnv({ LISTEN_FDS: '2' }),
      stdio: ['ignore', outFd, 'pipe', leak, leak],
    });
    assert.is(activated.status, 0, activated.stderr?.toString());
    const lines = readFileSync(out, 'utf8').split('\n');
    assert.is(lines[4].trim(), '0 1 2 3 4 5', 'both LISTEN_FDS descriptors');
    assert.is(lines[5], 'LISTEN_FDS=2');
  }));

test.run();
