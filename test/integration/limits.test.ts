// Values beyond what the kernel or the init takes: refused by validation at their field, with exit 2
// and nothing created; what validation lets through reaches the init whole, never cut or overflowing.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { inSandbox } from './helpers.ts';
import { leftovers } from './leftovers.ts';

// The finding: the init built /proc/sys/<key> in 512 bytes and rewrote the dots of the whole key, past
// the buffer. Checked by removing the sysctl rule of src/spec/validate.ts: create then got to the init.
test('a long sysctl key ("net." and 400 "a." segments) is refused at validation, naming linux.sysctl, with nothing created', () =>
  inSandbox(async (sb) => {
    for (const key of [`net.${'a.'.repeat(400)}`, `net.${'a.'.repeat(2100)}a`, `net.${'a'.repeat(256)}`]) {
      const bundle = sb.bundle((c) => (c.linux.sysctl = { [key]: '1' }));
      const id = sb.id();
      const result = sb.tsrun(['create', '--bundle', bundle, id]);
      assert.is(result.status, 2, result.stderr);
      assert.match(result.stderr, 'linux.sysctl["net.');
      assert.equal(await leftovers(sb, id), [], 'no state directory, no cgroup, no process');
    }
  }));

// A key validation accepts, 805 bytes: the init builds the whole path, finds no such sysctl and fails
// create cleanly. The old init cut the path at 511 bytes (and rewrote the stack past its buffer):
// checked with the init of before the fix, whose error named a path of 511 bytes.
test('a long sysctl key that names no sysctl fails create in the init, with nothing left', () =>
  inSandbox(async (sb) => {
    const key = `net.${'a.'.repeat(400)}b`;
    const bundle = sb.bundle((c) => (c.linux.sysctl = { [key]: '1' }));
    const id = sb.id();
    const result = sb.tsrun(['create', '--bundle', bundle, id]);
    assert.is(result.status, 1, result.stderr);
    assert.match(result.stderr, /No such file or directory|ENOENT/);
    // the error names "/proc/sys/" and the whole key as a path, cut short in the message with its length
    const named = /open \/proc\/sys\/net\/a\/.*\((\d+) characters\)/.exec(result.stderr);
    assert.ok(named && Number(named[1]) === 'open /proc/sys/'.length + key.length, result.stderr.slice(-200));
    assert.equal(await leftovers(sb, id), []);
  }));

test('mount data, id maps, hostname and additionalGids beyond the kernel\'s limits are refused at their field', () =>
  inSandbox(async (sb) => {
    const cases: [string, (c: any) => void][] = [
      ['mounts[', (c) => c.mounts.push({ destination: '/big', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', `size=${'1'.repeat(4100)}`] })],
      ['hostname:', (c) => (c.hostname = 'h'.repeat(65))],
      ['process.user.additionalGids:', (c) => (c.process.user.additionalGids = Array.from({ length: 65537 }, (_, i) => i))],
      ['linux.uidMappings:', (c) => {
        c.linux.namespaces.push({ type: 'user' });
        c.linux.uidMappings = Array.from({ length: 341 }, (_, i) => ({ containerID: i, hostID: i, size: 1 }));
        c.linux.gidMappings = [{ containerID: 0, hostID: 0, size: 1 }];
      }],
    ];
    for (const [field, edit] of cases) {
      const id = sb.id();
      const result = sb.tsrun(['create', '--bundle', sb.bundle(edit), id]);
      assert.is(result.status, 2, result.stderr);
      assert.match(result.stderr, field);
      assert.equal(await leftovers(sb, id), [], field);
    }
  }));

test.run();
