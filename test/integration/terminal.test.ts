// process.terminal with --console-socket: the container's pty master arrives over the socket in one
// SCM_RIGHTS message, and the container's stdio is a working controlling terminal of that size.
import { closeSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { inSandbox } from './helpers.ts';
import { consoleSocket, drain } from './pty.ts';

test('the pty master is sent over the console socket and is the container\'s controlling tty', () =>
  inSandbox(async (sb) => {
    const socket = await consoleSocket(sb);
    try {
      const id = sb.id();
      const bundle = sb.bundle((c) => {
        c.process.terminal = true;
        c.process.consoleSize = { height: 33, width: 101 };
        c.process.args = ['sh', '-c', 'tty; stty size; [ -t 0 ] && [ -t 1 ] && [ -t 2 ] && echo all-stdio-is-tty; echo tty_nr=$(cut -d" " -f7 /proc/1/stat)'];
      });
      sb.tsrun(['create', '--bundle', bundle, '--console-socket', socket.path, id]).ok();
      // create has returned: the connection waits in the backlog with the message queued on it.
      const master = await socket.next();
      assert.is(socket.connections, 1, 'one connection to the console socket');
      try {
        sb.tsrun(['start', id]).ok();
        await sb.waitForStatus(id, 'stopped');
        const out = drain(master);
        assert.match(out, /^\/dev\/pts\/\d+$/m, 'stdin is a pty');
        assert.match(out, /^33 101$/m, 'consoleSize applied');
        assert.match(out, /^all-stdio-is-tty$/m);
        assert.match(out, /^tty_nr=[1-9]\d*$/m, 'the pty is pid 1\'s controlling terminal');
      } finally {
        closeSync(master);
      }
      sb.tsrun(['delete', id]).ok();
    } finally {
      socket.close();
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
