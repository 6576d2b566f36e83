// The container's /proc against hostile configs and rootfs: no mount inside it (runc's
// checkProcMount), whether the config names /proc or a symlink of the rootfs leads there, and no
// bare procfs for a nested user namespace under --no-pivot (runc's no_pivot.bats).
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { inSandbox, mountsBelow, type Config, type Sandbox } from './helpers.ts';

const corePattern = () => readFileSync('/proc/sys/kernel/core_pattern', 'utf8');

/** A host file to bind, with a line that tells it apart from what it covers. */
function marker(sb: Sandbox, name: string): string {
  const path = sb.file(name);
  writeFileSync(path, `tsrun-marker ${name}\n`);
  return path;
}

const bind = (destination: string, source: string) => ({ destination, type: 'bind', source, options: ['bind', 'ro'] });

/** Every line of /proc/self/mountinfo whose mount point is below `dir`. */
// Fails without the rule in src/spec/validate.ts (procMountProblem removed once): both creates
// succeed, their binds land on the container's /proc, and the exit status is 0.
test('a mount onto /proc/sys/kernel/core_pattern or /proc/sysrq-trigger is refused before anything is made, naming the field', () =>
  inSandbox((sb) => {
    const source = marker(sb, 'pattern');
    for (const destination of ['/proc/sys/kernel/core_pattern', '/proc/sysrq-trigger']) {
      const bundle = sb.bundle((c) => c.mounts.push(bind(destination, source)), { copyRootfs: true });
      const index = JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8')).mounts.length - 1;
      const id = sb.id();
      const r = sb.tsrun(['create', '--bundle', bundle, id]);
      assert.is(r.status, 2, `${destination}: ${r.stderr}`);
      assert.match(r.stderr, `mounts[${index}].destination`);
      assert.not.ok(existsSync(join(sb.root, id)), `${destination}: no state left`);
      assert.equal(mountsBelow(bundle), [], `${destination}: nothing mounted`);
    }
  }));

// Fails without proc_destination in native-shim/fs.c (removed once): the binds follow the symlinks
// onto the container's core_pattern, both creates succeed (status 0), and the state is left.
test('a symlink of the rootfs that leads a destination into /proc is refused at create; nothing is left', () =>
  inSandbox((sb) => {
    const source = marker(sb, 'pattern');
    const before = corePattern();
    // a directory symlink in the middle of the path, and a file symlink at its end (absolute: inside the rootfs)
    for (const [link, target, destination] of [['evil', 'proc/sys/kernel', '/evil/core_pattern'], ['pattern', '/proc/sys/kernel/core_pattern', '/pattern']]) {
      const bundle = sb.bundle((c) => c.mounts.push(bind(destination, source)), { copyRootfs: true });
      symlinkSync(target, join(bundle, 'rootfs', link));
      const id = sb.id();
      const r = sb.tsrun(['create', '--bundle', bundle, id]);
      assert.is(r.status, 1, `${destination}: ${r.stderr}`);
      assert.match(r.stderr, destination, `${destination}: the refusal names the destination`);
      assert.match(r.stderr, /EPERM/);
      assert.not.ok(existsSync(join(sb.root, id)), `${destination}: no state left`);
      assert.equal(mountsBelow(bundle), [], `${destination}: nothing mounted`);
    }
    assert.is(corePattern(), before, "the host's core_pattern is unchanged");
  }));

// Fails without require_procfs in native-shim/fs.c (removed once): the tmpfs covers the container's
// /proc and the plain directory is bound over it, both creates succeed.
test('on /proc itself only a procfs is mounted, also through a symlink and for a bind that names /proc', () =>
  inSandbox((sb) => {
    const plain = sb.file('plain');
    mkdirSync(plain);
    const cases: [string, (c: Config) => void, string?][] = [
      ['tmpfs through evil -> proc', (c) => c.mounts.push({ destination: '/evil', type: 'tmpfs', source: 'tmpfs' }), 'proc'],
      ['a bind of a plain directory on /proc', (c) => c.mounts.push({ destination: '/proc', type: 'bind', source: plain, options: ['rbind'] })],
    ];
    for (const [what, edit, link] of cases) {
      const bundle = sb.bundle(edit, { copyRootfs: true });
      if (link) symlinkSync(link, join(bundle, 'rootfs', 'evil'));
      const id = sb.id();
      const r = sb.tsrun(['create', '--bundle', bundle, id]);
      assert.is(r.status, 1, `${what}: ${r.stderr}`);
      assert.match(r.stderr, /only a procfs may be mounted on \/proc/, what);
      assert.not.ok(existsSync(join(sb.root, id)), `${what}: no state left`);
    }
  }));

test("a bind onto /proc/meminfo (runc's list) and onto /proc (a procfs) are allowed; the masks still hold", () =>
  inSandbox(async (sb) => {
    const meminfo = marker(sb, 'meminfo');
    const out = await sb.runToEnd(sb.bundle((c) => {
      c.mounts.push(bind('/proc/meminfo', meminfo));
      c.process.args = ['sh', '-c', 'cat /proc/meminfo; echo "keys=$(wc -c < /proc/keys)"; grep -E " /proc/(sys|meminfo) " /proc/self/mountinfo'];
    }));
    assert.match(out, /^tsrun-marker meminfo$/m, out);
    assert.match(out, /^keys=0$/m, '/proc/keys is masked');
    assert.match(out, /^\S+ \S+ \S+ \S+ \/proc\/sys ro,/m, '/proc/sys is read-only');

    // rootless podman's form without a pid namespace: the host's /proc bound on /proc
    const proc = await sb.runToEnd(sb.bundle((c) => {
      c.mounts.push({ destination: '/proc', type: 'bind', source: '/proc', options: ['rbind'] });
      c.process.args = ['sh', '-c', 'echo "keys=$(wc -c < /proc/keys)"'];
    }));
    assert.match(proc, /^keys=0$/m, proc);
  }));

// runc's tests/integration/no_pivot.bats: CAP_SETFCAP lets the container's root map itself into a
// new user namespace. Without a mount namespace of its own a procfs mount needs a fully visible
// procfs in the mount namespace (mount_too_revealing): the container's is masked, and under
// --no-pivot the host's must be gone. Fails without hide_host_pseudo_filesystems in
// native-shim/fs.c (removed once): "bare-proc-mounted" is printed and the run exits 0, for the
// container as root (the host's /proc is detached) and in a user namespace (where the host's
// mounts are locked, and covered instead).
const userNamespaces = Number(readFileSync('/proc/sys/user/max_user_namespaces', 'utf8')) > 0;
if (!userNamespaces) console.log('procfs: user.max_user_namespaces is 0, the nested procfs test is skipped');
(userNamespaces ? test : test.skip)('--no-pivot: a nested user and mount namespace cannot mount a bare procfs', () =>
  inSandbox((sb) => {
    const nested = (command: string, userns: boolean) =>
      sb.bundle((c) => {
        c.process.args = ['unshare', '-mrpf', 'sh', '-euxc', command];
        c.process.capabilities.bounding.push('CAP_SETFCAP');
        c.process.capabilities.permitted.push('CAP_SETFCAP');
        if (!userns) return;
        c.linux.namespaces.push({ type: 'user' });
        c.linux.uidMappings = [{ containerID: 0, hostID: 200000, size: 65536 }];
        c.linux.gidMappings = [{ containerID: 0, hostID: 200000, size: 65536 }];
        c.mounts = c.mounts.filter((m: { type: string }) => m.type !== 'cgroup');
      });
    const run = (bundle: string, extra: string[]) => {
      const id = sb.id();
      const output = sb.file(`${id}.out`);
      const r = sb.tsrun(['run', ...extra, '--bundle', bundle, id], { stdoutFile: output });
      return { status: r.status, out: readFileSync(output, 'utf8') + r.stderr };
    };
    for (const userns of [false, true]) {
      const what = userns ? 'in a user namespace' : 'as root';
      // control: the nested namespaces work here, and a filesystem without the check mounts
      const tmpfs = run(nested('mount -t tmpfs none /tmp && echo tmpfs-mounted', userns), ['--no-pivot']);
      assert.is(tmpfs.status, 0, `${what}: ${tmpfs.out}`);
      assert.match(tmpfs.out, /^tmpfs-mounted$/m, what);
      for (const extra of [['--no-pivot'], []]) {
        const r = run(nested('mount -t proc none /proc && echo bare-proc-mounted', userns), extra);
        const label = `${what} ${extra.join(' ')}`;
        assert.not.match(r.out, /^bare-proc-mounted$/m, `${label}: a procfs without the masks was mounted`);
        assert.is(r.status, 1, `${label}: ${r.out}`);
        assert.match(r.out, /mount: permission denied/, `${label}: ${r.out}`);
      }
    }
    // the host's procfs and sysfs are untouched by what the container hid in its own namespace
    const host = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' ')[4]);
    assert.ok(host.includes('/proc') && host.includes('/sys'), 'the host keeps /proc and /sys');
  }));

test('--no-pivot: the container works as before, with its own /proc and /sys', () =>
  inSandbox((sb) => {
    const output = sb.file('np.out');
    const id = sb.id();
    const bundle = sb.bundle((c) => (c.process.args = ['sh', '-c', 'cat /proc/self/mountinfo; echo "pid=$$"; ls /sys/kernel >/dev/null && echo sys-ok']));
    sb.tsrun(['run', '--no-pivot', '--bundle', bundle, id], { stdoutFile: output }).ok();
    const out = readFileSync(output, 'utf8');
    assert.match(out, /^pid=1$/m, out);
    assert.match(out, /^sys-ok$/m, out);
    assert.match(out, / \/proc rw,\S* - proc /, out);
  }));

test.run();
