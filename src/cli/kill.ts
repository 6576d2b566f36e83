import { openRuntime } from '../runtime/context.ts';
import { kill } from '../runtime/kill.ts';
import { parseSignal } from '../runtime/signals.ts';
import { parseVerbArgs, type Verb } from './args.ts';

export const verb: Verb = {
  summary: 'send a signal to the container init (default TERM)',
  usage: 'tsrun kill ID [SIGNAL]\n  SIGNAL is a name (KILL, SIGKILL) or a number (9)',
  run(args, global) {
    const { positionals } = parseVerbArgs('kill', args, {}, { min: 1, max: 2, names: 'ID [SIGNAL]' });
    kill(openRuntime(global.root), positionals[0], parseSignal(positionals[1]));
    return 0;
  },
};
