import { readFileSync } from 'node:fs';
import { parseMemorySize } from '../cgroups/convert.ts';
import { TsrunError, systemError } from '../errors.ts';
import { openRuntime } from '../runtime/context.ts';
import { update } from '../runtime/update.ts';
import type { LinuxResources } from '../spec/types.ts';
import { parseJson } from '../spec/load.ts';
import { configSchemaProblems } from '../spec/validate.ts';
import { parseVerbArgs, type Verb } from './args.ts';

/** runc's flags: [flag, path in linux.resources, kind]. */
const FLAGS = [
  ['blkio-weight', 'blockIO.weight', 'int'],
  ['cpu-period', 'cpu.period', 'int'],
  ['cpu-quota', 'cpu.quota', 'int'],
  ['cpu-share', 'cpu.shares', 'int'],
  ['cpu-burst', 'cpu.burst', 'int'],
  ['cpu-idle', 'cpu.idle', 'int'],
  ['cpu-rt-period', 'cpu.realtimePeriod', 'int'],
  ['cpu-rt-runtime', 'cpu.realtimeRuntime', 'int'],
  ['cpuset-cpus', 'cpu.cpus', 'string'],
  ['cpuset-mems', 'cpu.mems', 'string'],
  ['memory', 'memory.limit', 'size'],
  ['memory-reservation', 'memory.reservation', 'size'],
  ['memory-swap', 'memory.swap', 'size'],
  ['kernel-memory', 'memory.kernel', 'size'],
  ['kernel-memory-tcp', 'memory.kernelTCP', 'size'],
  ['pids-limit', 'pids.limit', 'int'],
] as const;

export const verb: Verb = {
  summary: 'change the resource limits of a container',
  usage: [
    'tsrun update [--resources FILE|-] [FLAGS] ID',
    '  -r, --resources FILE   linux.resources JSON (- reads standard input); flags override it',
    ...FLAGS.map(([flag, path]) => `  --${flag.padEnd(20)} linux.resources.${path}`),
    '  sizes take k, m, g suffixes; -1 means unlimited',
  ].join('\n'),
  async run(args, global) {
    const options = Object.fromEntries(FLAGS.map(([flag]) => [flag, { type: 'string' as const }]));
    const { values, positionals } = parseVerbArgs('update', joinNegativeValues(args), { resources: { type: 'string', short: 'r' }, ...options }, { min: 1, max: 1, names: 'ID' });
    const resources = values.resources === undefined ? {} : readResources(values.resources as string);
    for (const [flag, path, kind] of FLAGS) {
      const text = (values as Record<string, string | undefined>)[flag];
      if (text === undefined) continue;
      setPath(resources, path, kind === 'string' ? text : kind === 'size' ? parseMemorySize(flag, text) : parseInteger(flag, text));
    }
    if (Object.keys(resources).length === 0) throw new TsrunError('ERR_USAGE', 'update: nothing to change: give --resources or a limit flag', { hint: 'see tsrun update --help' });
    checkResources(resources);
    await update(openRuntime(global.root), positionals[0], resources);
    return 0;
  },
};

/** "--memory -1" → "--memory=-1": runc takes -1 (unlimited) as a flag's value, parseArgs would see a flag. */
function joinNegativeValues(args: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const flag = args[i].replace(/^--?/, '');
    if (args[i].startsWith('-') && FLAGS.some(([f]) => f === flag) && /^-\d+$/.test(args[i + 1] ?? '')) out.push(`--${flag}=${args[++i]}`);
    else out.push(args[i]);
  }
  return out;
}

function readResources(file: string): LinuxResources {
  let text: string;
  try {
    text = readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (err) {
    throw systemError(`update: read ${file === '-' ? 'standard input' : file}`, err, 'ERR_USAGE');
  }
  const parsed = parseJson(text, file === '-' ? 'standard input' : file);
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new TsrunError('ERR_CONFIG_INVALID', `update: ${file} does not hold a JSON object`);
  return parsed as LinuxResources;
}

function parseInteger(flag: string, text: string): number | bigint {
  if (!/^-?\d+$/.test(text)) throw new TsrunError('ERR_USAGE', `update: --${flag} must be an integer, got ${JSON.stringify(text)}`);
  const n = BigInt(text);
  return Number.isSafeInteger(Number(n)) ? Number(n) : n;
}

function setPath(target: Record<string, any>, path: string, value: unknown): void {
  const [group, key] = path.split('.');
  target[group] ??= {};
  target[group][key] = value;
}

/** The resources against the config schema, as linux.resources of a minimal config. */
function checkResources(resources: LinuxResources): void {
  const problems = configSchemaProblems({ ociVersion: '1.3.0', linux: { resources } });
  if (problems.length) throw new TsrunError('ERR_CONFIG_INVALID', `update: invalid resources:\n${problems.map((p) => `  ${p.path}: ${p.message}`).join('\n')}`);
}
