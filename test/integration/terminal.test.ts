// process.terminal with --console-socket: the container's pty master arrives over the socket in one
// SCM_RIGHTS message, and the container's stdio is a working controlling terminal of that size.
// Without one, `run` and `exec -t` make the caller's terminal the container's, as runc does: these
// tests run tsrun on a terminal of their own (pty.ts onTerminal) and type into it.
import { closeSync, existsSync, mkdtempSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DEFAULT_ROOTFS, TSRUN, inSandbox, type Sandbox } from './helpers.ts';
import { consoleSocket, drain, onTerminal } from './pty.ts';

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

test('terminal without --console-socket in create, or a socket without terminal, is a usage error', () =>
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

/** The state directories in the sandbox's root. */
const containers = (sb: Sandbox) => (existsSync(sb.root) ? readdirSync(sb.root).filter((f) => !f.startsWith('.')) : []);

/** `tsrun ARGS` on a terminal of its own, `rows` x `cols`. */
function tsrunOnTerminal(sb: Sandbox, args: string[], rows = 33, cols = 101, ttyFile = sb.file(`tty-${Math.random().toString(36).slice(2)}`)) {
  return onTerminal(`${TSRUN} --root ${sb.root} ${args.join(' ')}`, { rows, cols, ttyFile });
}

// Checked: with create and exec refusing process.terminal without --console-socket as before, each
// of the tests below fails (tsrun exits 2 at once).
test('run: tsrun spec\'s config is a shell on the caller\'s terminal, whose modes come back, with the shell\'s exit status', () =>
  inSandbox(async (sb) => {
    const bundle = mkdtempSync(join(sb.dir, 'spec-'));
    sb.tsrun(['spec', '--bundle', bundle]).ok();
    symlinkSync(DEFAULT_ROOTFS, join(bundle, 'rootfs'));
    const term = tsrunOnTerminal(sb, ['run', '--bundle', bundle, sb.id()]);
    try {
      await term.waitFor(/^\/ # /m, 'the shell prompt');
      term.type('echo hello-$((6*7)) $(id -u)\n');
      await term.waitFor(/^hello-42 0$/m, 'the shell\'s answer');
      term.type('exit 7\n');
      assert.is(await term.status(), 7, 'the shell\'s exit status is tsrun\'s');
      // (Node also resets a raw stdin when it exits: the size test checks the restore before that.)
      const { before, after } = await term.modes();
      assert.is(after, before, 'the caller\'s terminal modes are restored');
    } finally {
      await term.close();
    }
    assert.equal(containers(sb), [], 'the container is deleted');
  }));

// Checked: without the resize in ForegroundTerminal the first size is 0 0 and the second never
// comes; without the restore in ForegroundTerminal.close the terminal is still raw when the
// poststop hook looks (Node resets it only when it exits).
test('run: the pty has the caller\'s size and follows its resizes (SIGWINCH); the caller\'s modes are back before the container is deleted', () =>
  inSandbox(async (sb) => {
    const ttyFile = sb.file('tty');
    const bundle = sb.bundle((c) => {
      c.hooks = { poststop: [{ path: '/bin/sh', args: ['sh', '-c', `stty -g -F "$(cat ${ttyFile})" > ${ttyFile}.during`] }] };
      c.process.terminal = true;
      c.process.args = ['sh', '-c', 'trap "echo got-winch" WINCH; echo "first $(stty size)"; while [ "$(stty size)" = "33 101" ]; do sleep 0.05; done; echo "then $(stty size)"'];
    });
    const term = tsrunOnTerminal(sb, ['run', '--bundle', bundle, sb.id()], 33, 101, ttyFile);
    try {
      await term.waitFor(/^first \d+ \d+$/m, 'the first size');
      assert.match(term.output, /^first 33 101$/m);
      term.resize(40, 120);
      assert.is(await term.status(), 0);
      assert.match(term.output, /^then 40 120$/m);
      assert.match(term.output, /^got-winch$/m, 'the process got SIGWINCH');
      const { before } = await term.modes();
      assert.is(readFileSync(`${ttyFile}.during`, 'utf8'), before, 'the caller\'s modes while the container is deleted');
    } finally {
      await term.close();
    }
  }));

// tsrun is stopped while the container writes and exits: what it wrote is still in the pty when
// tsrun learns that the process is gone.
// Checked: without ForegroundTerminal.drain (libuv takes the POLLHUP after its first short read
// for the end, so the master is closed with most of the output unread), lines 842 to 2000 are
// missing.
// the end of the burst is missing.
test('run: a burst of output right before the exit arrives whole', () =>
  inSandbox(async (sb) => {
    const signals = mkdtempSync(join(sb.dir, 'signals-'));
    const bundle = sb.bundle((c) => {
      c.process.terminal = true;
      c.mounts.push({ destination: '/signals', type: 'bind', source: signals, options: ['rbind'] });
      // a pty holds about 19 KiB (as here): this fits, so the process can exit before it is read
      c.process.args = ['sh', '-c', 'while [ ! -e /signals/go ]; do sleep 0.02; done; seq 1 2000; exit 3'];
    });
    const id = sb.id();
    const term = tsrunOnTerminal(sb, ['run', '--bundle', bundle, id]);
    try {
      await sb.waitForStatus(id, 'running');
      const found = term.processes(id);
      assert.is(found.length, 1, 'tsrun, by its id argument');
      const [tsrun] = found;
      process.kill(tsrun, 'SIGSTOP');
      try {
        writeFileSync(join(signals, 'go'), '');
        await sb.waitForStatus(id, 'stopped');
      } finally {
        process.kill(tsrun, 'SIGCONT');
      }
      assert.is(await term.status(), 3);
      const expected = Array.from({ length: 2000 }, (_, i) => i + 1).join('\n');
      assert.ok(term.output.includes(`${expected}\nstatus=3`), `every line up to 2000, then the exit: ...${term.output.slice(-200)}`);
    } finally {
      await term.close();
    }
  }));

// Checked: without give_terminal_to in the init the pty is root's (0) in both.
test('run and exec -t: the pty belongs to the process\'s user (its group stays devpts\' tty, as runc does)', () =>
  inSandbox(async (sb) => {
    const bundle = sb.bundle((c) => {
      c.process.terminal = true;
      c.process.user = { uid: 1000, gid: 1000 };
      c.process.args = ['sh', '-c', 'echo "owner $(stat -L -c "%u %g" /proc/self/fd/0)"'];
    });
    const run = tsrunOnTerminal(sb, ['run', '--bundle', bundle, sb.id()]);
    try {
      assert.is(await run.status(), 0);
      assert.match(run.output, /^owner 1000 5$/m);
    } finally {
      await run.close();
    }

    const id = sb.id();
    sb.createAndStart(id, sb.bundle((c) => (c.process.args = ['sleep', '1000'])));
    const exec = tsrunOnTerminal(sb, ['exec', '-t', '--user', '1001:1001', id, 'sh', '-c', '\'echo "owner $(stat -L -c "%u %g" /proc/self/fd/0)"\'']);
    try {
      assert.is(await exec.status(), 0);
      assert.match(exec.output, /^owner 1001 5$/m);
    } finally {
      await exec.close();
    }
    sb.tsrun(['delete', '--force', id]).ok();
  }));

test('exec -t: a shell in a running container on the caller\'s terminal, of its size, with its exit status', () =>
  inSandbox(async (sb) => {
    const id = sb.id();
    sb.createAndStart(id, sb.bundle((c) => (c.process.args = ['sleep', '1000'])));
    const term = tsrunOnTerminal(sb, ['exec', '-t', id, 'sh'], 25, 90);
    try {
      await term.waitFor(/^\/ # /m, 'the shell prompt');
      term.type('echo size $(stty size) $(tty)\n');
      await term.waitFor(/^size 25 90 \/dev\/pts\/\d+$/m, 'the shell\'s answer');
      term.resize(30, 100);
      term.type('while [ "$(stty size)" = "25 90" ]; do sleep 0.05; done; echo now $(stty size)\n');
      await term.waitFor(/^now 30 100$/m, 'the new size');
      term.type('exit 5\n');
      assert.is(await term.status(), 5);
      const { before, after } = await term.modes();
      assert.is(after, before);
    } finally {
      await term.close();
    }
    sb.tsrun(['delete', '--force', id]).ok();
  }));

// Checked: without requireCallerTerminal, run fails later (stdin has no raw mode), not with 2.
test('a terminal without a console socket needs one on the caller\'s stdin, and --detach needs a console socket', () =>
  inSandbox((sb) => {
    const withTerminal = sb.bundle((c) => (c.process.terminal = true));
    const id = sb.id();
    for (const args of [['run', '--bundle', withTerminal, id], ['run', '-d', '--bundle', withTerminal, id]]) {
      const refused = sb.tsrun(args); // stdin is /dev/null
      assert.is(refused.status, 2, args.join(' '));
      assert.match(refused.stderr, args[1] === '-d' ? /--console-socket/ : /stdin is not a terminal/);
    }
    assert.equal(containers(sb), [], 'nothing created');

    const running = sb.id();
    sb.createAndStart(running, sb.bundle((c) => (c.process.args = ['sleep', '1000'])));
    for (const args of [['exec', '-t', running, 'true'], ['exec', '-t', '-d', running, 'true']]) {
      const refused = sb.tsrun(args);
      assert.is(refused.status, 2, args.join(' '));
      assert.match(refused.stderr, args[2] === '-d' ? /--console-socket/ : /stdin is not a terminal/);
    }
    assert.not.ok(readdirSync(join(sb.root, running)).some((f) => f.includes('console')), 'no console socket left');
    sb.tsrun(['delete', '--force', running]).ok();
  }));

test.run();
