// Console sockets and pty masters for the terminal tests: a socket that hands over the pty master
// each connecting container sends, the reading of what a master holds, and a terminal to run
// tsrun on.
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync, readSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { receiveTerminal } from '../../src/shim/index.ts';
import { tsrunEnv, waitFor, type Sandbox } from './helpers.ts';

/** A console socket: `next()` resolves with the pty master of the next container that connects. */
export async function consoleSocket(sb: Sandbox) {
  const path = sb.file(`console-${Math.random().toString(36).slice(2)}.sock`);
  const connections: Socket[] = [];
  const server = createServer({ pauseOnConnect: true }, (c) => connections.push(c));
  await new Promise<void>((resolve) => server.listen(path, resolve));
  let taken = 0;
  return {
    path,
    get connections(): number {
      return connections.length;
    },
    async next(): Promise<number> {
      await waitFor(() => connections.length > taken, 10_000, () => 'a connection to the console socket');
      return receiveTerminal(connections[taken++] as never);
    },
    close(): void {
      for (const c of connections) c.destroy();
      server.close();
    },
  };
}

/** Everything left in a pty master once its slave side is closed (then read() fails with EIO), without \r. */
export function drain(master: number): string {
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
  return Buffer.concat(chunks).toString().replace(/\r/g, '');
}

/**
 * A shell command run on a terminal of its own, as a user at a keyboard would: util-linux's
 * `script` (in bsdutils, essential on Debian) gives it a pty, the test types into that pty and reads
 * what appears on it (without \r). The terminal starts at `rows` x `cols`; its path is written to
 * `ttyFile` for a later resize; its modes before and after `command` go to `ttyFile`.before/.after.
 */
export function onTerminal(command: string, options: { rows: number; cols: number; ttyFile: string }) {
  const { rows, cols, ttyFile } = options;
  const wrapped = `stty rows ${rows} cols ${cols}; tty > ${ttyFile}; stty -g > ${ttyFile}.before; ${command}; echo "status=$?"; stty -g > ${ttyFile}.after`;
  const child = spawn('script', ['-qfec', wrapped, '/dev/null'], { env: tsrunEnv({ SHELL: '/bin/sh' }), stdio: ['pipe', 'pipe', 'inherit'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString().replace(/\r/g, '')));
  const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
  return {
    get output(): string {
      return output;
    },
    /** the processes below the terminal's with `arg` as one of their arguments */
    processes(arg: string): number[] {
      return descendants(child.pid!).filter((pid) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes(arg));
    },
    type(text: string): void {
      child.stdin.write(text);
    },
    async waitFor(pattern: RegExp, what: string): Promise<void> {
      await waitFor(() => pattern.test(output), 20_000, () => `${what} on the terminal; it shows:\n${output.slice(-2000)}`);
    },
    /** the status tsrun exited with, once `command` is done */
    async status(): Promise<number> {
      // not at the start of a line when the command's output was cut short
      await this.waitFor(/status=\d+$/m, 'the command to exit');
      return Number(/status=(\d+)$/m.exec(output)![1]);
    },
    /** the terminal's modes before and after the command (stty -g) */
    async modes(): Promise<{ before: string; after: string }> {
      await exited;
      return { before: readFileSync(`${ttyFile}.before`, 'utf8'), after: readFileSync(`${ttyFile}.after`, 'utf8') };
    },
    /** resizes the terminal: the kernel signals SIGWINCH to its foreground process group (tsrun) */
    resize(newRows: number, newCols: number): void {
      execFileSync('stty', ['-F', readFileSync(ttyFile, 'utf8').trim(), 'rows', String(newRows), 'cols', String(newCols)]);
    },
    async close(): Promise<void> {
      child.stdin.end();
      if (child.exitCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

function descendants(pid: number): number[] {
  let children: number[] = [];
  try {
    children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(' ').filter(Boolean).map(Number);
  } catch {
    // gone meanwhile
  }
  return children.flatMap((child) => [child, ...descendants(child)]);
}
