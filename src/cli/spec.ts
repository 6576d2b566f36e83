import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { systemError, TsrunError } from '../errors.ts';
import { defaultConfig } from '../spec/default-config.ts';
import { parseVerbArgs, type Verb } from './args.ts';

export const verb: Verb = {
  summary: 'write a default config.json into a bundle',
  usage: 'tsrun spec [--bundle DIR] [--rootless]',
  run(args) {
    const { values } = parseVerbArgs('spec', args, { bundle: { type: 'string', short: 'b' }, rootless: { type: 'boolean' } }, { min: 0, max: 0, names: '' });
    const file = join(values.bundle ?? process.cwd(), 'config.json');
    try {
      writeFileSync(file, JSON.stringify(defaultConfig({ rootless: values.rootless === true }), null, '\t') + '\n', { flag: 'wx' });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new TsrunError('ERR_USAGE', `spec: ${file} exists: remove it first`);
      throw systemError(`spec: write ${file}`, err);
    }
    return 0;
  },
};
