// Signalling every process of a container, including those that left the init's process group or
// session. SIGKILL goes through cgroup.kill where the kernel has it (one write, no race with
// fork); anything else is sent with the cgroup frozen, so that no process forks a child that
// escapes the signal between reading the list and sending it (runc does the same).
import { constants } from 'node:os';
import { hasFile, writeFile } from './files.ts';
import { hasFreezer, setFrozen } from './freezer.ts';
import { containerPids } from './manager.ts';
import type { Placement } from './hierarchies.ts';

export async function signalAll(placements: Placement[], dirs: string[], signal: number, alreadyFrozen = false): Promise<void> {
  const v2 = placements.find((p) => p.version === 2);
  if (signal === constants.signals.SIGKILL && v2 && hasFile(v2.dir, 'cgroup.kill')) {
    writeFile(v2.dir, 'cgroup.kill', 1, 'kill --all');
    return;
  }
  const freeze = !alreadyFrozen && hasFreezer(placements);
  if (freeze) await setFrozen(placements, true);
  try {
    for (const pid of containerPids(dirs)) {
      try {
        process.kill(pid, signal);
      } catch {
        // exited meanwhile
      }
    }
  } finally {
    if (freeze) await setFrozen(placements, false);
  }
}

