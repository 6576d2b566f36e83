import { execFileSync } from 'node:child_process';
import { containerPids } from '../cgroups/manager.ts';
import { TsrunError, systemError } from '../errors.ts';
import { openRuntime } from '../runtime/context.ts';
import { validateId } from '../state/id.ts';
import { parseVerbArgs, type Verb } from './args.ts';

export const verb: Verb = {
  summary: 'list the processes of a container',
  usage: 'tsrun ps [--format table|json] ID [PS_ARGS...]\n  json: an array of host pids; table: the lines of ps (default ps -ef) for those pids',
  run(args, global) {
    const { values, positionals } = parseVerbArgs('ps', args, { format: { type: 'string', short: 'f', default: 'table' } }, { min: 1, max: Infinity, names: 'ID [PS_ARGS...]' });
    const [id, ...psArgs] = positionals;
    const record = openRuntime(global.root).store.read(validateId(id));
    if (!record.cgroups.dirs.length) {
      throw new TsrunError('ERR_STATE', `container ${id} has no cgroup (an unprivileged user without a delegated cgroup created it): ps finds a container's processes through its cgroup`);
    }
    const pids = containerPids(record.cgroups.dirs);
    if (values.format === 'json') {
      process.stdout.write(JSON.stringify(pids) + '\n');
      return 0;
    }
    if (values.format !== 'table') throw new TsrunError('ERR_USAGE', `ps: --format must be table or json, got ${JSON.stringify(values.format)}`);
    let table: string;
    try {
      table = execFileSync('ps', psArgs.length ? psArgs : ['-ef'], { encoding: 'utf8' });
    } catch (err) {
      throw systemError('ps: run ps', err);
    }
    // Like runc: keep the header and the lines whose PID column is one of the container's.
    const [header, ...lines] = table.split('\n');
    const pidColumn = header.trim().split(/\s+/).indexOf('PID');
    if (pidColumn < 0) throw new TsrunError('ERR_USAGE', 'ps: the ps output has no PID column');
    const wanted = new Set(pids);
    const kept = lines.filter((line) => wanted.has(Number(line.trim().split(/\s+/)[pidColumn])));
    process.stdout.write([header, ...kept].join('\n') + '\n');
    return 0;
  },
};
