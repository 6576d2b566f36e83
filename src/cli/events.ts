import { TsrunError } from '../errors.ts';
import { openRuntime } from '../runtime/context.ts';
import { eventJson, events, statsEvent } from '../runtime/events.ts';
import { parseVerbArgs, type Verb } from './args.ts';

export const verb: Verb = {
  summary: "print the container's resource usage and OOM events as JSON lines",
  usage: 'tsrun events [--stats] [--interval DURATION] ID\n  --stats      print the usage once and exit\n  --interval   time between two stats events (default 5s; 500ms, 2s, 1m)',
  async run(args, global) {
    const { values, positionals } = parseVerbArgs('events', args, { stats: { type: 'boolean' }, interval: { type: 'string', default: '5s' } }, { min: 1, max: 1, names: 'ID' });
    const rt = openRuntime(global.root);
    const id = positionals[0];
    if (values.stats) {
      process.stdout.write(eventJson(statsEvent(rt, id)) + '\n');
      return 0;
    }
    const interval = parseDuration(values.interval as string);
    for await (const event of events(rt, id, interval)) process.stdout.write(eventJson(event) + '\n');
    return 0;
  },
};

/** A Go-style duration as runc takes it: "5s", "500ms", "1m30s". */
export function parseDuration(text: string): number {
  const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  let total = 0;
  const rest = text.replace(/(\d+(?:\.\d+)?)(ms|s|m|h)/g, (_, n: string, unit: string) => {
    total += Number(n) * units[unit];
    return '';
  });
  if (rest !== '' || text === '' || total <= 0) throw new TsrunError('ERR_USAGE', `events: --interval must be a positive duration such as 5s or 500ms, got ${JSON.stringify(text)}`);
  return total;
}
