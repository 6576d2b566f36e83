// Mount options as runc and crun apply them: a read-only /dev, tmpcopyup, and bind sources that
// only the host's root can reach in a container with a user namespace.
import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { inSandbox } from './helpers.ts';

function mountOptions(mountinfo: string, mountPoint: string): string[] {
  const line = mountinfo.split('\n').find((l) => l.split(' ')[4] === mountPoint);
  if (!line) throw new Error(`${mountPoint} is not a mount point in:\n${mountinfo}`);
  return line.split(' ')[5].split(',');
}

// runc mounts a "ro" /dev writable, makes its devices, and remounts it read-only at the end.
// (Checked: without the deferred remount, create failed making /dev/null on the read-only tmpfs.)
test('a read-only /dev gets its devices and ends read-only', () =>
  inSandbox(async (sb) => {
    const bundle = sb.bundle((c) => {
      const dev = c.mounts.find((m: { destination: string }) => m.destination === '/dev');
      dev.options = [...dev.options, 'ro'];
      c.process.args = ['sh', '-c', 'cat /proc/self/mountinfo; echo x > /dev/null && echo null-ok; touch /dev/new 2>/dev/null || echo touch-refused; ls /dev/pts/ptmx'];
    });
    const out = await sb.runToEnd(bundle);
    assert.ok(mountOptions(out, '/dev').includes('ro'), out);
    assert.match(out, /null-ok/);
    assert.match(out, /touch-refused/);
    assert.match(out, /\/dev\/pts\/ptmx/, 'the mounts under /dev are there');
  }));

test.run();
