import { openRuntime } from '../runtime/context.ts';
import { state } from '../runtime/state.ts';
import { validateId } from '../state/id.ts';
import { parseVerbArgs, type Verb } from './args.ts';

export const verb: Verb = {
  summary: 'print the state of a container as JSON',
  usage: 'tsrun state ID',
  run(args, global) {
    const { positionals } = parseVerbArgs('state', args, {}, { min: 1, max: 1, names: 'ID' });
    process.stdout.write(JSON.stringify(state(openRuntime(global.root), validateId(positionals[0])), null, 2) + '\n');
    return 0;
  },
};
