// The descriptors a caller hands to the container: socket activation (LISTEN_FDS) and
// --preserve-fds, both from 3 up, and never more than the caller really passed.
import { readlinkSync } from 'node:fs';
import { TsrunError } from '../errors.ts';

/**
 * Socket activation as runc does it (go-systemd's activation.Files): descriptors 3.. handed to
 * tsrun by its caller go on to the container, LISTEN_FDS of them, counted only when LISTEN_PID
 * names this process (otherwise they were meant for another one).
 */
export function listenFds(env: NodeJS.ProcessEnv = process.env): number {
  if (env.LISTEN_PID !== String(process.pid) || !/^\d+$/.test(env.LISTEN_FDS ?? '')) return 0;
  return Number(env.LISTEN_FDS);
}

/** What Node opens for itself before any JavaScript runs: its event loops' epoll, eventfds, io_uring. */
const NODE_OWN = /^anon_inode:\[(eventpoll|eventfd|io_uring)\]$/;

/**
 * How many descriptors from 3 up the caller passed to this process. Node opens its own at the
 * lowest free numbers before any JavaScript runs, the main loop's epoll first: the caller's are
 * the open ones below it. (A caller passing an epoll or eventfd of its own is told it passed fewer.)
 */
export function passedFds(): number {
  for (let fd = 3; ; fd++) {
    let target: string;
    try {
      target = readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      return fd - 3; // not open
    }
    if (NODE_OWN.test(target)) return fd - 3;
  }
}

/**
 * Refuses LISTEN_FDS or --preserve-fds counts beyond the descriptors the caller passed: the
 * numbers above them are Node's and tsrun's own (its event loop, its lock), never the container's.
 */
export function checkPassedFds(listen: number, preserve: number): void {
  if (listen + preserve === 0) return;
  const passed = passedFds();
  const have = `only ${passed} descriptor${passed === 1 ? ' was' : 's were'} passed to tsrun${passed ? ` (3..${2 + passed})` : ''}`;
  if (listen > passed) throw new TsrunError('ERR_USAGE', `LISTEN_FDS=${listen}: ${have}`);
  if (listen + preserve > passed) {
    throw new TsrunError('ERR_USAGE', `--preserve-fds ${preserve}${listen ? ` (after LISTEN_FDS=${listen})` : ''}: ${have}`);
  }
}
