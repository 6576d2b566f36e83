import { openRuntime } from '../runtime/context.ts';
import { kill } from '../runtime/kill.ts';
import { parseSignal } from '../runtime/signals.ts';
import { parseVerbArgs, type Verb } from './args.ts';

export const verb: Verb = {
  summary: 'send a signal to the container init (default TERM)',
  usage: 'tsrun kill [--all] ID [SIGNAL]\n  SIGNAL is a name (KILL, SIGKILL) or a number (9)\n  -a, --all   signal every process of the container, not only its init',
  async run(args, global) {
    const { values, positionals } = parseVerbArgs('kill', args, { all: { type: 'boolean', short: 'a' } }, { min: 1, max: 2, names: 'ID [SIGNAL]' });
    await kill(openRuntime(global.root), positionals[0], parseSignal(positionals[1]), values.all === true);
    return 0;
  },
};
