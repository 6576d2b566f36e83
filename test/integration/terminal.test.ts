// process.terminal with --console-socket: the container's pty master arrives over the socket in one
// SCM_RIGHTS message, and the container's stdio is a working controlling terminal of that size.
import { closeSync, readSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { receiveTerminal } from '../../src/shim/index.ts';
import { inSandbox } from './helpers.ts';

/** Everything left in a pty master once its slave side is closed (then read() fails with EIO). */
function drain(master: number): string {
  const chunks: Buffer[] = [];
  const buf = Buffer.alloc(4096);
  for (;;) {
    try {
      const n = readSync(master, buf);
      if (n === 0) break;
      chunks.push(Buffer.from(buf.subarray(0, n)));
    } catch {
      break;
    }
  }
  return Buffer.concat(chunks).toString();
}

test('the pty master is sent over the console socket and is the container\'s controlling tty', () =>
  inSandbox(async (sb) => {
    const socketPath = sb.file('console.sock');
    const connections: Socket[] = [];
    const server = createServer({ pauseOnConnect: true }, (c) => connections.push(c));
    await new Promise<void>((resolve) => server.listen(socketPath, resolve));
    try {
      const id = sb.id();
      const bundle = sb.bundle((c) => {
        c.process.terminal = true;
        c.process.consoleSize = { height: 33, width: 101 };
        c.process.args = ['sh', '-c', 'tty; stty size; [ -t 0 ] && [ -t 1 ] && [ -t 2 ] && echo all-stdio-is-tty; echo tty_nr=$(cut -d" " -f7 /proc/1/stat)'];
      });
      sb.tsrun(['create', '--bundle', bundle, '--console-socket', socketPath, id]).ok();
      // create has returned: the connection waits in the backlog with the message queued on it.
      await new Promise((r) => setImmediate(r));
      const deadline = Date.now() + 10_000;
      while (connections.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
      assert.is(connections.length, 1, 'one connection to the console socket');
      const master = await receiveTerminal(connections[0] as never);
      try {
        sb.tsrun(['start', id]).ok();
        await sb.waitForStatus(id, 'stopped');
        const out = drain(master).replace(/\r/g, '');
        assert.match(out, /^\/dev\/pts\/\d+$/m, 'stdin is a pty');
        assert.match(out, /^33 101$/m, 'consoleSize applied');
        assert.match(out, /^all-stdio-is-tty$/m);
        assert.match(out, /^tty_nr=[1-9]\d*$/m, 'the pty is pid 1\'s controlling terminal');
      } finally {
        closeSync(master);
      }
      sb.tsrun(['delete', id]).ok();
    } finally {
      for (const c of connections) c.destroy();
      server.close();
    }
  }));

test('terminal without --console-socket, or a socket without terminal, is a usage error', () =>
  inSandbox((sb) => {
    const withTerminal = sb.bundle((c) => (c.process.terminal = true));
    const id = sb.id();
    const missing = sb.tsrun(['create', '--bundle', withTerminal, id]);
    assert.is(missing.status, 2);
    assert.match(missing.stderr, /--console-socket/);
    const extra = sb.tsrun(['create', '--bundle', sb.bundle(), '--console-socket', sb.file('nowhere.sock'), id]);
    assert.is(extra.status, 2);
    assert.match(extra.stderr, /process\.terminal/);
  }));

test.run();
