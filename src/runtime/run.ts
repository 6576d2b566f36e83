// `run`: create, start, wait for the container to exit, delete it; exit with its status.
// The init is this process's child (stage 0 clones it with CLONE_PARENT), so it can be waited for
// directly; signals sent to tsrun are forwarded to it meanwhile, as runc does. With
// process.terminal and no --console-socket, the container's pty is this terminal (terminal.ts).
import type { Runtime } from './context.ts';
import { create, type CreateOptions } from './create.ts';
import { deleteContainer } from './delete.ts';
import { start } from './start.ts';
import type { ForegroundTerminal } from './terminal.ts';

const FORWARDED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2', 'SIGWINCH'];

/** `keep`: like runc's --keep, the container is not deleted when it exits (or fails to start). */
export async function run(rt: Runtime, options: CreateOptions & { detach?: boolean; keep?: boolean }): Promise<number> {
  const { ForegroundTerminal } = options.detach ? { ForegroundTerminal: undefined } : await import('./terminal.ts');
  let terminal: ForegroundTerminal | undefined;
  const onTerminal = ForegroundTerminal && ((master: number) => (terminal = new ForegroundTerminal(master)));
  const record = await create(rt, { ...options, onTerminal });
  try {
    await start(rt, record.id);
  } catch (err) {
    terminal?.close();
    if (!options.keep) await deleteContainer(rt, record.id, true);
    throw err;
  }
  if (options.detach) return 0;

  const { waitForExit } = await import('../shim/index.ts');
  const stopForwarding = forwardSignalsTo(record.pid, terminal?.resize);
  try {
    const { exitCode, signal } = await waitForExit(record.pid);
    terminal?.drain();
    return signal ? 128 + signal : (exitCode ?? 0);
  } finally {
    stopForwarding();
    terminal?.close();
    if (!options.keep) await deleteContainer(rt, record.id, true);
  }
}

/**
 * Passes the signals a user sends to tsrun on to the container's process; returns the undo. With a
 * terminal of tsrun's own, SIGWINCH resizes it instead (the kernel then signals the process).
 */
export function forwardSignalsTo(pid: number, onWindowChange?: () => void): () => void {
  const forward = (signal: NodeJS.Signals) => {
    if (signal === 'SIGWINCH' && onWindowChange) return onWindowChange();
    try {
      process.kill(pid, signal);
    } catch {
      // exited meanwhile
    }
  };
  for (const signal of FORWARDED) process.on(signal, forward);
  return () => {
    for (const signal of FORWARDED) process.off(signal, forward);
  };
}
