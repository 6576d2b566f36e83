// `events`: the container's resource usage every interval (or once, with --stats), and an `oom`
// event each time the OOM killer kills in its memory cgroup; the stream ends when the container
// stops. Each event is runc's {"type", "id", "data"} object.
import { oomKills, readStats, type Stats } from '../cgroups/stats.ts';
import { TsrunError } from '../errors.ts';
import { validateId } from '../state/id.ts';
import { observeStatus } from '../state/status.ts';
import type { ContainerRecord } from '../state/store.ts';
import type { Runtime } from './context.ts';

export type ContainerEvent = { type: 'stats'; id: string; data: Stats } | { type: 'oom'; id: string };

/** How often the OOM counter is read between two stats events. */
const OOM_POLL_MS = 100;

function running(rt: Runtime, id: string): ContainerRecord {
  const record = rt.store.read(id);
  const status = observeStatus(rt.store, record);
  if (status === 'stopped') throw new TsrunError('ERR_STATE', `container ${id} is not running`);
  return record;
}

export function statsEvent(rt: Runtime, id: string): ContainerEvent {
  const record = running(rt, validateId(id));
  return { type: 'stats', id, data: readStats(record.cgroups.placements) };
}

export async function* events(rt: Runtime, id: string, intervalMs: number): AsyncGenerator<ContainerEvent> {
  const record = running(rt, validateId(id));
  const placements = record.cgroups.placements;
  let kills = oomKills(placements);
  let nextStats = Date.now();
  for (;;) {
    // the counter is read once more after the container stopped: its last act may have been an OOM kill
    const stopped = !rt.store.tryRead(id) || observeStatus(rt.store, record) === 'stopped';
    const now = oomKills(placements);
    for (; kills < now; kills++) yield { type: 'oom', id };
    if (stopped) return;
    if (Date.now() >= nextStats) {
      yield { type: 'stats', id, data: readStats(placements) };
      nextStats = Date.now() + intervalMs;
    }
    await new Promise((r) => setTimeout(r, Math.min(OOM_POLL_MS, Math.max(1, nextStats - Date.now()))));
  }
}

/** JSON with bigints written as exact numbers. */
export function eventJson(event: ContainerEvent): string {
  return JSON.stringify(event, (_, v) => (typeof v === 'bigint' ? `\u0000big:${v}` : v)).replace(/"\\u0000big:(-?\d+)"/g, '$1');
}
