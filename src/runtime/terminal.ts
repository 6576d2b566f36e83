// The terminal `run` and `exec -t` give a process when process.terminal is true and no
// --console-socket is given, as runc does: tsrun receives the pty master on a console socket of its
// own, puts the caller's terminal in raw mode (restored on every way out), copies the caller's
// stdin to the pty and the pty to its stdout, keeps the pty the caller's size, and once the process
// has exited copies out what the pty still holds.
import { rmSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { ReadStream } from 'node:tty';
import { TsrunError, nativeError } from '../errors.ts';
import { warn } from '../log.ts';
import { shimLibrary } from '../shim/binding.ts';
import { receiveTerminal } from '../shim/index.ts';

/** Raw mode and window sizes need a terminal on stdin: refuse before anything is created. */
export function requireCallerTerminal(verb: string): void {
  if (!process.stdin.isTTY) {
    throw new TsrunError('ERR_USAGE', `${verb}: process.terminal is true but stdin is not a terminal: use --console-socket, or run from a terminal`);
  }
}

/** The caller's window size (stdin's), or undefined when it has none. */
export function callerWindowSize(): { height: number; width: number } | undefined {
  const size = shimLibrary().windowSize(0);
  return typeof size === 'number' || !size.rows || !size.cols ? undefined : { height: size.rows, width: size.cols };
}

export interface TerminalListener {
  readonly path: string;
  /** the pty master the first container process to connect sends */
  readonly master: Promise<number>;
  /** stops listening and removes the socket */
  close(): void;
}

// sun_path holds 108 bytes with the terminating NUL
const MAX_SOCKET_PATH = 107;

/** A console socket at `path` (in a directory of tsrun's own) for the one process that connects. */
export async function listenForTerminal(path: string): Promise<TerminalListener> {
  if (Buffer.byteLength(path) > MAX_SOCKET_PATH) {
    throw new TsrunError('ERR_USAGE', `the terminal's console socket ${path} is longer than ${MAX_SOCKET_PATH} bytes: use a shorter --root or id, or --console-socket`);
  }
  const connections: Socket[] = [];
  // settled once no worker thread is in recvmsg on a connection's fd any more
  let received: Promise<unknown> = Promise.resolve();
  const server = createServer({ pauseOnConnect: true });
  const master = new Promise<number>((resolve, reject) => {
    server.once('connection', (connection) => {
      connections.push(connection);
      const receiving = receiveTerminal(connection as never);
      received = receiving.catch(() => {});
      receiving.then(resolve, reject);
    });
  });
  master.catch(() => {}); // awaited only once the init is ready; a failed create never asks
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(new TsrunError('ERR_SYSTEM', `listen on ${path}: ${err.message}`, { cause: err })));
    server.listen(path, resolve);
  });
  return {
    path,
    master,
    close() {
      // not before the receive is done: its fd number, closed now, could be another file's then
      void received.then(() => {
        for (const connection of connections) connection.destroy();
      });
      server.close();
      rmSync(path, { force: true });
    },
  };
}

// Once the process has exited, the master returns what the pty still holds, then EIO when no
// process holds the other side any more. One the process left in the background may keep it open:
// then the copy stops once the pty has been quiet this long, or at the latest after DRAIN_MAX_MS.
const DRAIN_QUIET_MS = 200;
const DRAIN_MAX_MS = 2000;

/** The caller's terminal connected to a pty master (which it takes over) until `close`. */
export class ForegroundTerminal {
  private readonly pty: ReadStream;
  private closed = false;

  constructor(private readonly master: number) {
    this.resize();
    // Half open: libuv may take a POLLHUP for the end while the pty still holds output; the master
    // then stays open for drain().
    this.pty = new ReadStream(master, { allowHalfOpen: true });
    this.pty.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EIO') warn(`terminal: ${err.message}`); // EIO: the other side is closed and read out
    });
    // synchronous for files, ttys and pipes on Linux: nothing waits in Node
    this.pty.on('data', (chunk: Buffer) => process.stdout.write(chunk));
    process.on('exit', this.restore);
    process.stdin.setRawMode(true);
    process.stdin.on('data', this.toPty).on('error', this.callerHungUp);
  }

  /** Gives the pty the caller's size (the kernel tells its foreground process group with SIGWINCH). */
  readonly resize = (): void => {
    const size = callerWindowSize();
    if (size) shimLibrary().setWindowSize(this.master, size.height, size.width);
  };

  /** After the process has exited: what it wrote last reaches stdout, copied here, synchronously. */
  drain(): void {
    if (this.pty.destroyed) return; // read up to its EIO
    this.pty.pause();
    const result = shimLibrary().drainPty(this.master, 1, DRAIN_QUIET_MS, DRAIN_MAX_MS);
    if (result < 0) warn(nativeError('terminal: copy the last output', result).message);
  }

  /** Stops copying, gives the caller's terminal its modes back and closes the master. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    process.stdin.off('data', this.toPty).off('error', this.callerHungUp);
    process.stdin.pause();
    this.restore();
    process.off('exit', this.restore);
    this.pty.destroy();
  }

  private readonly toPty = (chunk: Buffer): void => {
    if (!this.pty.destroyed) this.pty.write(chunk);
  };

  // EIO when the caller's terminal is gone: the process gets the SIGHUP that comes with it, and
  // tsrun still waits for it and deletes the container, rather than dying of an unhandled error.
  private readonly callerHungUp = (): void => {};

  private readonly restore = (): void => {
    try {
      if (process.stdin.isTTY) process.stdin.setRawMode(false);
    } catch {
      // the caller's terminal is gone (EIO): nothing to restore
    }
  };
}
