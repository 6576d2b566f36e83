import { openRuntime } from '../runtime/context.ts';
import { pause } from '../runtime/pause.ts';
import { parseVerbArgs, type Verb } from './args.ts';

export const verb: Verb = {
  summary: 'freeze every process of a running container',
  usage: 'tsrun pause ID',
  async run(args, global) {
    const { positionals } = parseVerbArgs('pause', args, {}, { min: 1, max: 1, names: 'ID' });
    await pause(openRuntime(global.root), positionals[0]);
    return 0;
  },
};
