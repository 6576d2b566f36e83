import { execFileSync } from 'node:child_process';
import { containerPids } from '../cgroups/manager.ts';
import { TsrunError, systemError } from '../errors.ts';
import { openRuntime } from '../runtime/context.ts';
import { validateId } from '../state/id.ts';
import { firstPositional, parseVerbArgs, type Verb } from './args.ts';

const options = { format: { type: 'string', short: 'f', default: 'table' } } as const;

export const verb: Verb = {
  summary: 'list the processes of a container',
  usage: 'tsrun ps [--format table|json] ID [PS_OPTIONS...]\n  json: an array of host pids; table: the lines of ps (default ps -ef) for those pids\n  everything after ID goes to ps(1), as in runc: tsrun ps ID -o pid,comm',
  ownArgs: (args) => args.slice(0, firstPositional(args, options)),
  run(args, global) {
    const { id, psArgs, format } = parsePsArgs(args);
    const record = openRuntime(global.root).store.read(validateId(id));
    if (!record.cgroups.dirs.length) {
      throw new TsrunError('ERR_STATE', `container ${id} has no cgroup (an unprivileged user without a delegated cgroup created it): ps finds a container's processes through its cgroup`);
    }
    const pids = containerPids(record.cgroups.dirs);
    if (format === 'json') {
      process.stdout.write(JSON.stringify(pids) + '\n');
      return 0;
    }
    if (format !== 'table') throw new TsrunError('ERR_USAGE', `ps: --format must be table or json, got ${JSON.stringify(format)}`);
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

/** ps's own flags end at the container id: what follows it are options of ps(1) (-ef, -o pid,comm). */
export function parsePsArgs(args: string[]): { id: string; psArgs: string[]; format: string } {
  const idAt = firstPositional(args, options);
  const { values, positionals } = parseVerbArgs('ps', args.slice(0, idAt + 1), options, { min: 1, max: 1, names: 'ID [PS_OPTIONS...]' });
  return { id: positionals[0], psArgs: args.slice(idAt + 1), format: values.format as string };
}
