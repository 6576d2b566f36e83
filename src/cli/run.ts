import { openRuntime } from '../runtime/context.ts';
import { run } from '../runtime/run.ts';
import { parseVerbArgs, type Verb } from './args.ts';
import { createArgs, createOptions, createUsage } from './create.ts';

export const verb: Verb = {
  summary: 'create and start a container, wait for it, delete it',
  usage: `tsrun run [options] ID\n${createUsage}\n  -d, --detach             return once the container has started\n      --keep               do not delete the container after it exits (state shows it stopped)`,
  async run(args, global) {
    const { values, positionals } = parseVerbArgs('run', args, { ...createOptions, detach: { type: 'boolean', short: 'd' }, keep: { type: 'boolean' } }, { min: 1, max: 1, names: 'ID' });
    return run(openRuntime(global.root), { ...createArgs('run', values, positionals[0]), detach: values.detach === true, keep: values.keep === true });
  },
};
