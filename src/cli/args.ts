// Command-line parsing shared by the verbs: node:util parseArgs, with its errors turned into usage
// errors (exit 2) that name the verb, and runc's single-dash long flags (-bundle) accepted.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { TsrunError } from '../errors.ts';

export interface Verb {
  summary: string;
  usage: string;
  /** the exit status of a failure that is not a usage or config error (default: the error's, 1) */
  failureStatus?: number;
  /** the arguments that are tsrun's own, where a command's follow them (exec's, ps's): only these may ask for help */
  ownArgs?(args: string[]): string[];
  run(args: string[], global: GlobalOptions): Promise<number> | number;
}

export interface GlobalOptions {
  root: string;
  log?: string;
  logFormat: 'text' | 'json';
  debug: boolean;
}

type Options = NonNullable<ParseArgsConfig['options']>;

export function parseVerbArgs<O extends Options>(verb: string, args: string[], options: O, positionals: { min: number; max: number; names: string }) {
  let parsed;
  try {
    parsed = parseArgs({ args: args.map(normalizeDash), options: { help: { type: 'boolean', short: 'h' }, ...options }, allowPositionals: true, strict: true });
  } catch (err) {
    throw new TsrunError('ERR_USAGE', `${verb}: ${(err as Error).message.replace(/\. To specify a positional.*$/s, '')}`);
  }
  const count = parsed.positionals.length;
  if (!(parsed.values as { help?: boolean }).help && (count < positionals.min || count > positionals.max)) {
    const what = count < positionals.min ? 'missing' : 'too many';
    throw new TsrunError('ERR_USAGE', `${verb}: ${what} arguments: expected ${positionals.names || 'none'}`, { hint: `see tsrun ${verb} --help` });
  }
  return parsed;
}

/**
 * Where the first positional argument (the container id) is, for a verb whose own flags end at it
 * (exec, ps: what follows belongs to a command): after the flags and their values, or after `--`.
 */
export function firstPositional(args: string[], options: Options): number {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === '--') return i + 1;
    if (!arg.startsWith('-') || arg === '-') return i;
    const name = arg.replace(/^--?/, '').split('=')[0];
    const option = Object.entries(options).find(([long, o]) => long === name || o.short === name);
    if (option && option[1].type === 'string' && !arg.includes('=')) i++; // its value
  }
  return args.length;
}

/** "-bundle=x" → "--bundle=x": runc's flag library accepts long flags with one dash. */
function normalizeDash(arg: string): string {
  return /^-[a-z][a-z-]+(=.*)?$/s.test(arg) ? `-${arg}` : arg;
}

export function parseNonNegativeInt(verb: string, flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(Number(value))) {
    throw new TsrunError('ERR_USAGE', `${verb}: --${flag} must be a non-negative integer, got ${JSON.stringify(value)}`);
  }
  return Number(value);
}
