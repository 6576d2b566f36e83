// Freezing a container's processes: the v1 freezer controller where the host has one, otherwise
// cgroup v2's cgroup.freeze. Both are asynchronous in the kernel, so we wait for the final state.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TsrunError, systemError } from '../errors.ts';
import { debug } from '../log.ts';
import { readFile } from './files.ts';
import type { Placement } from './hierarchies.ts';

interface FreezerFile {
  file: string;
  frozen: string;
  thawed: string;
  /** the file to poll and the value that means the change is done */
  settled(frozen: boolean): { file: string; value: string };
}

function freezerOf(placements: Placement[]): FreezerFile {
  const v1 = placements.find((p) => p.version === 1 && p.controllers.includes('freezer'));
  if (v1) {
    const file = join(v1.dir, 'freezer.state');
    return { file, frozen: 'FROZEN', thawed: 'THAWED', settled: (f) => ({ file, value: f ? 'FROZEN' : 'THAWED' }) };
  }
  const v2 = placements.find((p) => p.version === 2 && existsSync(join(p.dir, 'cgroup.freeze')));
  if (v2) {
    const events = join(v2.dir, 'cgroup.events');
    return { file: join(v2.dir, 'cgroup.freeze'), frozen: '1', thawed: '0', settled: (f) => ({ file: events, value: `frozen ${f ? 1 : 0}` }) };
  }
  throw new TsrunError('ERR_CGROUP', 'the container has no freezer: neither a v1 freezer hierarchy nor cgroup.freeze');
}

/** One attempt: writes the wanted state and tells whether the kernel has reached it. */
function trySetFrozen(freezer: FreezerFile, frozen: boolean): boolean {
  const { file, value } = freezer.settled(frozen);
  try {
    // v1 FREEZING can stall while a task is in an uninterruptible sleep: writing again retries it.
    debug(`cgroup: ${frozen ? 'freeze' : 'thaw'} ${freezer.file}`);
    writeFileSync(freezer.file, frozen ? freezer.frozen : freezer.thawed);
    return readFileSync(file, 'utf8').split('\n').some((line) => line.trim() === value);
  } catch (err) {
    throw systemError(`${frozen ? 'freeze' : 'thaw'} ${freezer.file}`, err, 'ERR_CGROUP');
  }
}

export async function setFrozen(placements: Placement[], frozen: boolean, timeoutMs = 10_000): Promise<void> {
  const freezer = freezerOf(placements);
  const deadline = Date.now() + timeoutMs;
  for (let delay = 1; !trySetFrozen(freezer, frozen); delay = Math.min(delay * 2, 50)) {
    if (Date.now() > deadline) throw new TsrunError('ERR_CGROUP', `${frozen ? 'freeze' : 'thaw'}: ${freezer.file} did not settle in ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, delay));
  }
}

export function hasFreezer(placements: Placement[]): boolean {
  try {
    freezerOf(placements);
    return true;
  } catch {
    return false;
  }
}

/**
 * The first of the container's cgroups that is frozen, by itself or through an ancestor (a new
 * cgroup under a frozen parent is born frozen): an init cloned there would never run, and create
 * would wait for it forever.
 */
export function frozenCgroup(placements: Placement[]): string | undefined {
  for (const p of placements) {
    const frozen =
      p.version === 1
        // a missing file: this kernel cannot freeze it
        ? p.controllers.includes('freezer') && (readFile(p.dir, 'freezer.state')?.trim() ?? 'THAWED') !== 'THAWED'
        : (readFile(p.dir, 'cgroup.events') ?? '').split('\n').includes('frozen 1');
    if (frozen) return p.dir;
  }
  return undefined;
}
