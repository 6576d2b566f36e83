// tsrun's entry point: global flags, then one verb, each in its own module and loaded on demand.
import { TsrunError, isTsrunError } from '../errors.ts';
import { configureLog, debug, log } from '../log.ts';
import { DEFAULT_ROOT, defaultRoot } from '../runtime/context.ts';
import type { GlobalOptions, Verb } from './args.ts';

const VERSION = '0.1.0';
const SPEC_VERSION = '1.3.0';

const VERBS: Record<string, () => Promise<{ verb: Verb }>> = {
  create: () => import('./create.ts'),
  start: () => import('./start.ts'),
  state: () => import('./state.ts'),
  kill: () => import('./kill.ts'),
  delete: () => import('./delete.ts'),
  run: () => import('./run.ts'),
  list: () => import('./list.ts'),
  spec: () => import('./spec.ts'),
  pause: () => import('./pause.ts'),
  resume: () => import('./resume.ts'),
  ps: () => import('./ps.ts'),
  exec: () => import('./exec.ts'),
  features: () => import('./features.ts'),
  update: () => import('./update.ts'),
  events: () => import('./events.ts'),
};

const GLOBAL_HELP = `tsrun: an OCI container runtime

usage: tsrun [global options] COMMAND [options] [arguments]

commands:
  create    create a container and leave it waiting for start
  start     run the user program of a created container
  state     print the state of a container as JSON
  kill      send a signal to the container init
  delete    delete a stopped container
  run       create and start a container, wait for it, delete it
  list      list containers
  spec      write a default config.json
  pause     freeze every process of a container
  resume    thaw a paused container
  ps        list the processes of a container
  exec      run a new process in a running container
  features  print what this runtime implements, as JSON
  update    change the resource limits of a container
  events    print the container's resource usage and OOM events as JSON

global options:
  --root DIR              state directory (default ${DEFAULT_ROOT}; $XDG_RUNTIME_DIR/tsrun when not root)
  --log FILE              write log lines to FILE
  --log-format text|json  log line format (default text)
  --debug                 log debug messages
  --rootless true|false|auto  accepted for runc compatibility; tsrun decides by its own uid
  --criu PATH             accepted for runc compatibility and ignored (no checkpoint/restore)
  --systemd-cgroup        not supported: tsrun manages cgroups itself
  -v, --version           print the version
  -h, --help              print this help
`;

interface ParsedGlobal extends GlobalOptions {
  verb?: string;
  rest: string[];
  version: boolean;
  help: boolean;
}

function parseGlobal(argv: string[]): ParsedGlobal {
  const parsed: ParsedGlobal = { root: defaultRoot(), logFormat: 'text', debug: false, rest: [], version: false, help: false };
  let i = 0;
  const valueOf = (flag: string, inline: string | undefined): string => {
    if (inline !== undefined) return inline;
    const value = argv[++i];
    if (value === undefined) throw new TsrunError('ERR_USAGE', `flag ${flag} needs a value`);
    return value;
  };
  for (; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('-')) break;
    const [flag, inline] = splitFlag(arg);
    switch (flag) {
      case '--root':
        parsed.root = valueOf(flag, inline);
        break;
      case '--log':
        parsed.log = valueOf(flag, inline);
        break;
      case '--log-format': {
        const format = valueOf(flag, inline);
        if (format !== 'text' && format !== 'json') throw new TsrunError('ERR_USAGE', `--log-format must be text or json, got ${JSON.stringify(format)}`);
        parsed.logFormat = format;
        break;
      }
      case '--debug':
        parsed.debug = true;
        break;
      case '--rootless': {
        // runc's switch for ignoring cgroup permission errors; tsrun decides by its own uid.
        const value = valueOf(flag, inline);
        if (!['true', 'false', 'auto'].includes(value)) throw new TsrunError('ERR_USAGE', `--rootless must be true, false or auto, got ${JSON.stringify(value)}`);
        break;
      }
      case '--criu':
        valueOf(flag, inline); // checkpoint/restore is not implemented: the path is never used
        break;
      case '--systemd-cgroup':
        throw new TsrunError('ERR_NOT_SUPPORTED', 'not supported: --systemd-cgroup (tsrun has no systemd cgroup driver; it manages cgroupfs itself)');
      case '-v':
      case '--version':
        parsed.version = true;
        break;
      case '-h':
      case '--help':
        parsed.help = true;
        break;
      default:
        throw new TsrunError('ERR_USAGE', `unknown global flag ${flag}`, { hint: 'see tsrun --help' });
    }
  }
  parsed.verb = argv[i];
  parsed.rest = argv.slice(i + 1);
  return parsed;
}

function splitFlag(arg: string): [string, string | undefined] {
  const normalized = /^-[a-z][a-z-]+/.test(arg) ? `-${arg}` : arg; // runc accepts -root as --root
  const eq = normalized.indexOf('=');
  return eq < 0 ? [normalized, undefined] : [normalized.slice(0, eq), normalized.slice(eq + 1)];
}

export async function main(argv: string[]): Promise<number> {
  let failureStatus: number | undefined;
  try {
    const global = parseGlobal(argv);
    configureLog({ file: global.log, format: global.logFormat, debug: global.debug });
    if (global.version) {
      process.stdout.write(`tsrun version ${VERSION}\nspec: ${SPEC_VERSION}\nnode: ${process.version}\n`);
      return 0;
    }
    if (global.help || global.verb === undefined) {
      process.stdout.write(GLOBAL_HELP);
      return global.help ? 0 : 2;
    }
    const load = VERBS[global.verb];
    if (!load) throw new TsrunError('ERR_USAGE', `unknown command ${JSON.stringify(global.verb)}`, { hint: 'see tsrun --help' });
    const { verb } = await load();
    failureStatus = verb.failureStatus;
    const own = verb.ownArgs?.(global.rest) ?? global.rest;
    if (own.includes('--help') || own.includes('-h')) {
      process.stdout.write(`${verb.summary}\n\nusage: ${verb.usage}\n`);
      return 0;
    }
    debug(`${global.verb} ${global.rest.join(' ')}`.trimEnd());
    const status = await verb.run(global.rest, global);
    debug(`${global.verb}: exit status ${status}`);
    return status;
  } catch (err) {
    if (isTsrunError(err)) {
      log('error', err.hint ? `${err.message} (${err.hint})` : err.message);
      return err.exitCode === 2 ? 2 : (failureStatus ?? err.exitCode);
    }
    // Anything else is a bug in tsrun: show where it happened.
    log('error', `internal error: ${(err as Error)?.stack ?? String(err)}`);
    return failureStatus ?? 1;
  }
}
