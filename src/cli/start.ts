import { openRuntime } from '../runtime/context.ts';
import { start } from '../runtime/start.ts';
import { validateId } from '../state/id.ts';
import { parseVerbArgs, type Verb } from './args.ts';

export const verb: Verb = {
  summary: 'run the user program of a created container',
  usage: 'tsrun start ID',
  async run(args, global) {
    const { positionals } = parseVerbArgs('start', args, {}, { min: 1, max: 1, names: 'ID' });
    await start(openRuntime(global.root), validateId(positionals[0]));
    return 0;
  },
};
