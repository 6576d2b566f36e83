// Escape regressions: each test replays a published container escape against tsrun and checks,
// from inside the container and from the host, that it fails. Each says how it was checked to
// fail once the protection is taken out.
import { spawn, spawnSync, type StdioOptions } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, cpSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { REPO, TSRUN, hostMountPoints, inSandbox, tsrunEnv, waitFor, type Config, type Sandbox } from './helpers.ts';

const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

/** tsrun with the given stdio (leaked fds, a blocking stdin) and environment. */
function tsrunWith(sb: Sandbox, args: string[], stdio: StdioOptions, env: Record<string, string> = {}) {
  const result = spawnSync(TSRUN, ['--root', sb.root, ...args], { env: tsrunEnv(env), stdio, encoding: 'utf8', timeout: 60_000 });
  if (result.error) throw result.error;
  return result;
}

function addCapability(c: Config, cap: string): void {
  for (const set of ['bounding', 'effective', 'permitted'] as const) c.process.capabilities[set].push(cap);
}

/**
 * The image of the attacker ships the C library, as real images do: the payload (tsrun's init,
 * a dynamically linked program) needs its loader and libc inside the container.
 */
function addSharedLibraries(rootfs: string, program: string): void {
  const ldd = spawnSync('ldd', [program], { encoding: 'utf8' }).stdout;
  for (const lib of ldd.match(/\/\S+/g) ?? []) {
    mkdirSync(join(rootfs, lib, '..'), { recursive: true });
    cpSync(lib, join(rootfs, lib), { dereference: true });
  }
}

/** The mount points of the host (the test's mount namespace). */
/** A host directory holding one marker file; `intact` says nothing was mounted on it or written into it. */
function canary(sb: Sandbox, name = 'canary') {
  const dir = sb.file(name);
  mkdirSync(dir);
  writeFileSync(join(dir, 'marker'), 'host\n');
  return {
    dir,
    intact(): void {
      assert.equal(readdirSync(dir), ['marker'], `${dir} is untouched`);
      assert.not.ok(hostMountPoints().some((m) => m === dir || m.startsWith(`${dir}/`)), `nothing is mounted on ${dir}`);
    },
  };
}

// The attacker of CVE-2019-5736: find the processes running tsrun's init binary (here: exec'd as
// "/proc/self/exe stage0 0", which makes it wait on its stdin), hold their /proc/PID/exe, kill them
// and write through the held descriptors once nothing executes the file any more (ETXTBSY gone).
// The pattern is assembled so that the script's own command line does not match it.
const EXE_ATTACKER = `
pat=stage; pat="\${pat}0"; found=""
for i in $(seq 1 400); do
  found=$(for p in /proc/[0-9]*; do case "$(tr "\\0" " " < $p/cmdline 2>/dev/null)" in *"$pat"*) echo \${p#/proc/};; esac; done)
  [ $(echo $found | wc -w) -ge 2 ] && break
  sleep 0.05
done
echo payloads=$(echo $found | wc -w)
n=3
for p in $found; do
  echo "exe $(readlink /proc/$p/exe)"
  eval "exec $n</proc/$p/exe" && echo held
  (echo pwned > /proc/$p/exe) 2>/dev/null && echo "wrote /proc/$p/exe"
  n=$((n+1))
done
kill -9 $found
for p in $found; do while [ -e /proc/$p ]; do sleep 0.01; done; done
for fd in 3 4; do (echo pwned > /proc/self/fd/$fd) 2>/dev/null && echo "wrote fd $fd"; done
echo attack-done
`;

// Checked without the protection: with ensure_sealed() in native-shim/init.c returning at once,
// the exe links name the init binary on the host (here the test's copy of it), "wrote fd 3" is
// printed and the copy's hash changes. (PR_SET_DUMPABLE alone does not stop an attacker that has
// CAP_SYS_PTRACE, which the attacker here is given.)
test('CVE-2019-5736: a program that is /proc/self/exe (or a symlink to it) runs a sealed copy; the host binaries cannot be written', () =>
  inSandbox(async (sb) => {
    // tsrun runs its init from a copy: if the protection ever fails, only the copy is damaged.
    const native = sb.file('native');
    cpSync(join(REPO, 'build', 'native'), native, { recursive: true });
    const env = { TSRUN_NATIVE_DIR: native };
    const binaries = [join(native, 'tsrun-init'), process.execPath, join(REPO, 'dist', 'tsrun.js')];
    const before = binaries.map(sha256);

    // 1. The container's own program is a symlink to /proc/self/exe: pid 1 is the payload.
    const fifo = sb.file('stdin.fifo');
    spawnSync('mkfifo', [fifo]);
    const blockingStdin = openSync(fifo, 'r+'); // never any data, never EOF
    const output = sb.file('out');
    const outFd = openSync(output, 'a');
    const direct = sb.id();
    const directBundle = sb.bundle((c) => (c.process.args = ['/evil', 'stage0', '0']), { copyRootfs: true });
    symlinkSync('/proc/self/exe', join(directBundle, 'rootfs', 'evil'));
    addSharedLibraries(join(directBundle, 'rootfs'), binaries[0]);
    let r = tsrunWith(sb, ['create', '--bundle', directBundle, direct], [blockingStdin, outFd, outFd], env);
    assert.is(r.status, 0, readFileSync(output, 'utf8'));
    assert.is(tsrunWith(sb, ['start', direct], 'pipe', env).status, 0);
    const attack = ['sh', '-c', 'echo "exe $(readlink /proc/1/exe)"; (echo pwned > /proc/1/exe) 2>/dev/null && echo wrote; (echo pwned >> /proc/1/exe) 2>/dev/null && echo appended; echo attack-done'];
    r = tsrunWith(sb, ['exec', '--cap', 'CAP_SYS_PTRACE', direct, ...attack], 'pipe', env);
    assert.is(r.status, 0, r.stderr);
    assert.match(r.stdout, /^exe \/memfd:tsrun-init \(deleted\)$/m, 'pid 1 runs the sealed in-memory copy');
    assert.not.match(r.stdout, /wrote|appended/);
    assert.match(r.stdout, /attack-done/);
    tsrunWith(sb, ['delete', '--force', direct], 'pipe', env);
    closeSync(blockingStdin);

    // 2. exec runs /proc/self/exe directly and through the symlink; the container's pid 1 attacks.
    const id = sb.id();
    const bundle = sb.bundle((c) => {
      c.process.args = ['sh', '-c', EXE_ATTACKER];
      addCapability(c, 'CAP_SYS_PTRACE');
    }, { copyRootfs: true });
    symlinkSync('/proc/self/exe', join(bundle, 'rootfs', 'evil'));
    addSharedLibraries(join(bundle, 'rootfs'), binaries[0]);
    assert.is(tsrunWith(sb, ['create', '--bundle', bundle, id], ['ignore', outFd, outFd], env).status, 0);
    assert.is(tsrunWith(sb, ['start', id], 'pipe', env).status, 0);
    const payloads = ['/proc/self/exe', '/evil'].map((program) =>
      spawn(TSRUN, ['--root', sb.root, 'exec', id, program, 'stage0', '0'], { env: tsrunEnv(env), stdio: ['pipe', 'ignore', 'ignore'] }),
    );
    const exited = payloads.map((p) => new Promise((resolve) => p.on('exit', resolve)));
    await sb.waitForStatus(id, 'stopped', 30_000);
    await Promise.all(exited);
    tsrunWith(sb, ['delete', id], 'pipe', env);
    closeSync(outFd);
    const out = readFileSync(output, 'utf8');
    assert.match(out, /^payloads=2$/m, out);
    assert.is(out.match(/^exe \/memfd:tsrun-init \(deleted\)$/gm)?.length, 2, `both exec'd payloads run the sealed copy:\n${out}`);
    assert.is(out.match(/^held$/gm)?.length, 2, 'the attacker held both executables');
    assert.not.match(out, /^wrote/m);
    assert.match(out, /^attack-done$/m);
    assert.equal(binaries.map(sha256), before, 'tsrun-init, node and tsrun.js are unchanged');
  }));

// Checked without the protection: with the close_range at the start of stage 0 and the close of
// host_proc in the init taken out, cwd /proc/self/fd/4 is the host's /proc (the listing shows the
// test's own pid) and /proc/self/fd/5.. are the leaked canary directory.
test('CVE-2024-21626: fds the caller leaks never reach the container; a cwd of /proc/self/fd/N cannot reach the host', () =>
  inSandbox(async (sb) => {
    const leakedDir = sb.file('leaked');
    mkdirSync(leakedDir);
    writeFileSync(join(leakedDir, `leaked-${process.pid}`), '');
    const leak = openSync(leakedDir, 'r'); // a directory, as runc leaked /sys/fs/cgroup
    const output = sb.file('out');
    const outFd = openSync(output, 'a');
    // fds 3..9 leaked, as containerd's shim leaks fds into the runtime it starts
    const stdio: StdioOptions = ['ignore', outFd, 'pipe', leak, leak, leak, leak, leak, leak, leak];
    const script = 'echo "cwd=$(pwd)"; ls; echo "fds=$(ls /proc/self/fd | tr "\\n" " ")"';
    const seen: string[] = [];
    const check = (what: string, r: ReturnType<typeof tsrunWith>) => {
      const out = readFileSync(output, 'utf8');
      writeFileSync(output, '');
      seen.push(`${what}: ${out}`);
      if (r.status !== 0) return assert.match(r.stderr, /chdir/, `${what} fails at chdir: ${r.stderr}`);
      assert.match(out, /^cwd=\//m, `${what}: the cwd has a path inside the container:\n${out}`);
      assert.match(out, /^fds=0 1 2 3 $/m, `${what}: stdio only (3 is ls's own):\n${out}`);
    };
    for (let n = 3; n <= 9; n++) {
      const bundle = sb.bundle((c) => {
        c.process.args = ['sh', '-c', script];
        c.process.cwd = `/proc/self/fd/${n}`;
      });
      check(`run, cwd fd ${n}`, tsrunWith(sb, ['run', '--bundle', bundle, sb.id()], stdio));
    }
    const id = sb.id();
    sb.createAndStart(id, sb.bundle((c) => (c.process.args = ['sleep', '60'])));
    for (let n = 3; n <= 9; n++) check(`exec, cwd fd ${n}`, tsrunWith(sb, ['exec', '--cwd', `/proc/self/fd/${n}`, id, 'sh', '-c', script], stdio));
    check('exec, no cwd', tsrunWith(sb, ['exec', id, 'sh', '-c', script], stdio));
    sb.tsrun(['delete', '--force', id]).ok();
    closeSync(leak);
    closeSync(outFd);
    const all = seen.join('\n');
    assert.not.ok(all.includes(`leaked-${process.pid}`), `the leaked host directory was reached:\n${all}`);
    assert.not.match(all, new RegExp(`^${process.pid}$`, 'm'), `the host's /proc was reached:\n${all}`);
  }));

// The protection is the destination resolved once with RESOLVE_IN_ROOT and the mount attached to
// that descriptor (reasoned, not run: mount(2) on the path string under the rootfs lands on the
// canary whenever the swapper's symlink is in place). The ro bind's source catches a read-only
// remount that a second lookup of the path sent elsewhere.
test('CVE-2021-30465: a mount destination raced between a directory and a symlink out of the rootfs never mounts outside', () =>
  inSandbox(async (sb) => {
    const host = canary(sb);
    const source = sb.file('source');
    mkdirSync(source);
    const bundle = sb.bundle((c) => {
      c.root.readonly = false;
      c.mounts.push(
        { destination: '/race', type: 'tmpfs', source: 'tmpfs', options: ['size=1m'] },
        { destination: '/race2', type: 'bind', source, options: ['rbind', 'ro'] },
      );
      // the rootfs is the host's directory: /race2 may be the swapper's symlink again by now, so
      // whether the ro bind stayed read-only is seen in its source on the host
      c.process.args = ['sh', '-c', 'touch /race2/pwned'];
    }, { copyRootfs: true });
    const rootfs = join(bundle, 'rootfs');
    // The swapper: each destination flips between a directory and a symlink to the host canary.
    const swapper = spawn('sh', ['-c', `cd ${rootfs} && while :; do for d in race race2; do mkdir $d; rmdir $d; ln -s ${host.dir} $d; rm $d; done; done 2>/dev/null`], { stdio: 'ignore' });
    try {
      let created = 0;
      for (let i = 0; i < 20; i++) {
        const output = sb.file(`race-${i}.out`);
        const id = sb.id();
        // the race may also make create fail (a destination that is gone): only the host matters
        if (sb.tsrun(['create', '--bundle', bundle, id], { stdoutFile: output }).status === 0) {
          created++;
          sb.tsrun(['start', id]).ok();
          await sb.waitForStatus(id, 'stopped');
        }
        sb.tsrun(['delete', '--force', id]);
        host.intact();
        assert.equal(readdirSync(source), [], 'nothing was written to the bind source: it stayed read-only');
      }
      assert.ok(created > 0, 'some creates went through');
    } finally {
      swapper.kill('SIGKILL');
    }
  }));

// Checked without the protection: with open_dev_null()'s device check removed, the maskedPaths
// are bind-mounted from /proc/sys/kernel/core_pattern (the volume's "null"): /proc/keys then
// shows the core pattern, and create succeeds.
test('CVE-2025-31133 family: a /dev/null that is a symlink to a /proc file is never used to mask', () =>
  inSandbox(async (sb) => {
    const corePattern = readFileSync('/proc/sys/kernel/core_pattern', 'utf8');
    // a /dev volume shared with someone hostile: its null points at a sysctl
    const dev = sb.file('dev-volume');
    mkdirSync(dev);
    symlinkSync('/proc/sys/kernel/core_pattern', join(dev, 'null'));
    const bundle = sb.bundle((c) => {
      c.mounts = c.mounts.filter((m: { destination: string }) => !m.destination.startsWith('/dev'));
      c.mounts.push({ destination: '/dev', type: 'bind', source: dev, options: ['rbind'] });
      c.process.args = ['sh', '-c', 'echo keys=$(cat /proc/keys | head -c 40)'];
    });
    const id = sb.id();
    const output = sb.file('out');
    const r = sb.tsrun(['create', '--bundle', bundle, id], { stdoutFile: output });
    if (r.status === 0) {
      sb.tsrun(['start', id]).ok();
      await sb.waitForStatus(id, 'stopped');
      sb.tsrun(['delete', id]).ok();
      assert.unreachable(`create must refuse a /dev/null that is not the null device; the container saw ${readFileSync(output, 'utf8')}`);
    }
    assert.match(r.stderr, /not the null device/);
    assert.is(readFileSync('/proc/sys/kernel/core_pattern', 'utf8'), corePattern);
    assert.not.ok(existsSync(join(sb.root, id)), 'nothing left behind');
  }));

// The protection is open_top_level() in fs.c, which refuses a symlinked /proc (as runc does):
// checked without it, create succeeds; RESOLVE_IN_ROOT behind it still keeps the mount in the
// rootfs (reasoned: resolving from the host's root would put procfs on the canary).
test('CVE-2019-16884 family: a rootfs whose /proc is a symlink out, or a file, cannot redirect the proc mount or unmask it', () =>
  inSandbox(async (sb) => {
    const host = canary(sb);
    const linked = sb.bundle(() => {}, { copyRootfs: true });
    const rootfs = join(linked, 'rootfs');
    spawnSync('rm', ['-rf', join(rootfs, 'proc')]);
    symlinkSync(host.dir, join(rootfs, 'proc'));
    const refused = sb.id();
    const result = sb.tsrun(['create', '--bundle', linked, refused]);
    assert.is(result.status, 1, result.stderr);
    assert.match(result.stderr, /mount proc on \/proc: \/proc is a symlink in the rootfs/);
    assert.not.ok(existsSync(join(sb.root, refused)), 'nothing left behind');
    host.intact();

    const asFile = sb.bundle(() => {}, { copyRootfs: true });
    spawnSync('rm', ['-rf', join(asFile, 'rootfs', 'proc')]);
    writeFileSync(join(asFile, 'rootfs', 'proc'), 'not a directory\n');
    const id = sb.id();
    const r = sb.tsrun(['create', '--bundle', asFile, id]);
    assert.is(r.status, 1);
    assert.match(r.stderr, /mount proc on \/proc: E/);
  }));

// The protection is the capability itself (reasoned): with CAP_SYS_ADMIN added, both mounts succeed.
test('privileges: without CAP_SYS_ADMIN the container cannot mount, even as root', () =>
  inSandbox(async (sb) => {
    const out = await sb.runToEnd(sb.bundle((c) => {
      c.root.readonly = false;
      c.process.args = ['sh', '-c', 'mkdir -p /mnt/x; mount -t tmpfs none /mnt/x 2>&1; echo mount=$?; mount --bind /bin /mnt/x 2>&1; echo bind=$?; grep -c " /mnt/x " /proc/self/mountinfo'];
    }, { copyRootfs: true }));
    assert.match(out, /^mount=[1-9]/m);
    assert.match(out, /^bind=[1-9]/m);
    assert.match(out, /^0$/m, 'nothing mounted');
  }));

// Checked without the protection: without prctl(PR_SET_NO_NEW_PRIVS) in the identity step the
// setuid program prints euid=0.
test('privileges: with noNewPrivileges a setuid-root program does not gain root', () =>
  inSandbox(async (sb) => {
    const bundle = sb.bundle((c) => {
      c.process.user = { uid: 1000, gid: 1000 };
      c.process.args = ['/suid-euid'];
    }, { copyRootfs: true });
    const program = join(bundle, 'rootfs', 'suid-euid');
    writeFileSync(`${program}.c`, '#include <stdio.h>\n#include <unistd.h>\nint main(void){printf("euid=%d\\n",(int)geteuid());return 0;}\n');
    const cc = spawnSync('gcc', ['-static', '-O', '-o', program, `${program}.c`], { encoding: 'utf8' });
    assert.is(cc.status, 0, cc.stderr);
    spawnSync('chmod', ['4755', program]);
    const config = JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8'));
    for (const noNewPrivileges of [false, true]) {
      config.process.noNewPrivileges = noNewPrivileges;
      writeFileSync(join(bundle, 'config.json'), JSON.stringify(config));
      const out = await sb.runToEnd(bundle);
      assert.match(out, noNewPrivileges ? /^euid=1000$/m : /^euid=0$/m, `noNewPrivileges ${noNewPrivileges}: ${out}`);
    }
  }));

// Checked without the protection (reasoned, not run): without the PR_CAPBSET_DROP loop of the
// identity step CapBnd keeps every capability, and without the capset CapPrm and CapEff do.
test('privileges: capabilities that are not configured are gone from all five sets, in the container and in exec', () =>
  inSandbox(async (sb) => {
    const kept = ['CAP_KILL', 'CAP_CHOWN'];
    const id = sb.id();
    const output = sb.createAndStart(id, sb.bundle((c) => {
      c.process.capabilities = { bounding: kept, effective: kept, permitted: kept, inheritable: ['CAP_KILL'], ambient: ['CAP_KILL'] };
      c.process.args = ['sh', '-c', 'grep ^Cap /proc/self/status; sleep 60'];
    }));
    const bit = (n: number) => 1n << BigInt(n);
    const allowed = bit(0) | bit(5); // CHOWN, KILL
    const check = (out: string, who: string) => {
      for (const set of ['CapInh', 'CapPrm', 'CapEff', 'CapBnd', 'CapAmb']) {
        const m = new RegExp(`^${set}:\\s*([0-9a-f]+)$`, 'm').exec(out);
        assert.ok(m, `${who}: ${set} in ${out}`);
        assert.is(BigInt(`0x${m![1]}`) & ~allowed, 0n, `${who}: ${set} holds only configured capabilities`);
      }
    };
    await waitFor(() => readFileSync(output, 'utf8').includes('CapAmb'), 10_000, () => 'the container to print its capabilities');
    check(readFileSync(output, 'utf8'), 'container');
    const exec = sb.tsrun(['exec', '--user', '1000:1000', id, 'grep', '^Cap', '/proc/self/status']).ok();
    check(exec.stdout, 'exec as 1000');
    sb.tsrun(['delete', '--force', id]).ok();
  }));

test.run();
