import { openRuntime } from '../runtime/context.ts';
import { list } from '../runtime/list.ts';
import { TsrunError } from '../errors.ts';
import { parseVerbArgs, type Verb } from './args.ts';

export const verb: Verb = {
  summary: 'list containers',
  usage: 'tsrun list [--format table|json] [--quiet]',
  run(args, global) {
    const { values } = parseVerbArgs('list', args, { format: { type: 'string', short: 'f' }, quiet: { type: 'boolean', short: 'q' } }, { min: 0, max: 0, names: '' });
    const format = values.format ?? 'table';
    if (format !== 'table' && format !== 'json') throw new TsrunError('ERR_USAGE', `list: --format must be table or json, got ${JSON.stringify(format)}`);
    const states = list(openRuntime(global.root));
    if (values.quiet) {
      for (const s of states) process.stdout.write(`${s.id}\n`);
    } else if (format === 'json') {
      process.stdout.write(JSON.stringify(states) + '\n');
    } else {
      const rows = [['ID', 'PID', 'STATUS', 'BUNDLE', 'CREATED'], ...states.map((s) => [s.id, String(s.pid), s.status, s.bundle, s.created])];
      const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
      for (const row of rows) process.stdout.write(row.map((cell, i) => cell.padEnd(widths[i])).join('   ').trimEnd() + '\n');
    }
    return 0;
  },
};
