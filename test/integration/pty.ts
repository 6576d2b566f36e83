// Console sockets and pty masters for the terminal tests: a socket that hands over the pty master
// each connecting container sends, and the reading of what a master holds.
import { readSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { receiveTerminal } from '../../src/shim/index.ts';
import { waitFor, type Sandbox } from './helpers.ts';

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
