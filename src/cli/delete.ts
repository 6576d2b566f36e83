import { openRuntime } from '../runtime/context.ts';
import { deleteContainer } from '../runtime/delete.ts';
import { parseVerbArgs, type Verb } from './args.ts';

export const verb: Verb = {
  summary: 'delete a stopped container (--force: kill it first)',
  usage: 'tsrun delete [--force] ID\n  -f, --force   kill the container if it is not stopped; an unknown id is not an error',
  async run(args, global) {
    const { values, positionals } = parseVerbArgs('delete', args, { force: { type: 'boolean', short: 'f' } }, { min: 1, max: 1, names: 'ID' });
    await deleteContainer(openRuntime(global.root), positionals[0], values.force === true);
    return 0;
  },
};
