import { openRuntime } from '../runtime/context.ts';
import { resume } from '../runtime/pause.ts';
import { parseVerbArgs, type Verb } from './args.ts';

export const verb: Verb = {
  summary: 'thaw a paused container',
  usage: 'tsrun resume ID',
  async run(args, global) {
    const { positionals } = parseVerbArgs('resume', args, {}, { min: 1, max: 1, names: 'ID' });
    await resume(openRuntime(global.root), positionals[0]);
    return 0;
  },
};
