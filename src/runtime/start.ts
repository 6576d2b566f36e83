// `start`: release the waiting init and wait until it has exec'd the user's program.
//
// Two fifos in the state dir, both held open by the init (O_RDWR, close-on-exec) since create:
//   start.fifo    we write one byte; the init, blocked reading it, goes on.
//   started.fifo  we read it to EOF. The init writes an error line to it if a startContainer hook or
//                 the exec fails; when the exec succeeds its descriptor just closes. EOF with no
//                 text therefore means the user's program is running.
// started.fifo is opened first: a reader that opens while the init (a writer) still lives gets EOF
// when it goes away; if the init is already gone, opening start.fifo fails with ENXIO (no reader).
import { closeSync, constants, openSync, writeSync } from 'node:fs';
import { Socket } from 'node:net';
import { TsrunError, systemError } from '../errors.ts';
import { debug, warn } from '../log.ts';
import { withLock } from '../state/lock.ts';
import { START_FIFO, STARTED_FIFO, observeStatus } from '../state/status.ts';
import type { ContainerRecord } from '../state/store.ts';
import type { Runtime } from './context.ts';
import { hookState } from './state.ts';

export async function start(rt: Runtime, id: string): Promise<void> {
  await withLock(rt.root, id, async () => {
    const record = rt.store.read(id);
    const status = observeStatus(rt.store, record);
    if (status !== 'created') throw new TsrunError('ERR_STATE', `cannot start container ${id}: it is ${status}, not created`);
    // runtime-spec: process is REQUIRED when start is called, and start MUST fail without it. The
    // container stays created (runtime-tools' start test wants success here: conformance/expected.json).
    if (!record.hasProcess) throw new TsrunError('ERR_CONFIG_INVALID', `cannot start container ${id}: process: its config.json has none, and start needs one`);

    debug(`start container ${id}: releasing init ${record.pid}`);
    const failure = await releaseInit(rt, record);
    if (failure !== '') {
      // Lifecycle step 7 failed: the init has exited; undo the container and run poststop hooks.
      // (Imported here and below only when needed: start is a hot verb, DESIGN.md.)
      const { destroy } = await import('./delete.ts');
      await destroy(rt, record);
      throw new TsrunError('ERR_SPAWN', `start container ${id}: ${failure}`);
    }
    record.status = 'running';
    rt.store.write(record);
    debug(`container ${id} running`);
    // Lifecycle step 9: a failing poststart hook is a warning; the rest run and the container goes on.
    if (!record.hooks.poststart?.length) return;
    const { runHooksCollectingFailures } = await import('../hooks/run.ts');
    for (const failure of await runHooksCollectingFailures('poststart', record.hooks.poststart, hookState(record, 'running'))) warn(failure);
  });
}

async function releaseInit(rt: Runtime, record: ContainerRecord): Promise<string> {
  let started: number;
  try {
    started = openSync(rt.store.path(record.id, STARTED_FIFO), constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    throw systemError(`start container ${record.id}: open ${STARTED_FIFO}`, err);
  }
  const outcome = readToEnd(started);
  try {
    const go = openSync(rt.store.path(record.id, START_FIFO), constants.O_WRONLY | constants.O_NONBLOCK);
    try {
      writeSync(go, '1');
    } finally {
      closeSync(go);
    }
  } catch (err) {
    outcome.cancel();
    if ((err as NodeJS.ErrnoException).code === 'ENXIO') throw new TsrunError('ERR_STATE', `cannot start container ${record.id}: container not running`);
    throw systemError(`start container ${record.id}`, err);
  }
  return (await outcome.text).trim();
}

/** Reads a non-blocking fifo fd until EOF through libuv, which waits on it without a thread. */
function readToEnd(fd: number): { text: Promise<string>; cancel(): void } {
  const socket = new Socket({ fd, readable: true, writable: false });
  const chunks: Buffer[] = [];
  const text = new Promise<string>((resolve, reject) => {
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('end', () => resolve(Buffer.concat(chunks).toString()));
    socket.on('error', reject);
  });
  return { text, cancel: () => socket.destroy() };
}

