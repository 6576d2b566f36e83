import { posix } from 'node:path';
import { TsrunError } from '../errors.ts';
import { openRuntime } from '../runtime/context.ts';
import { exec, loadProcessFile } from '../runtime/exec.ts';
import { listenFds } from '../runtime/fds.ts';
import type { Process } from '../spec/types.ts';
import { MAX_ID } from '../spec/validate.ts';
import { firstPositional, parseNonNegativeInt, parseVerbArgs, type Verb } from './args.ts';

const options = {
  process: { type: 'string', short: 'p' },
  detach: { type: 'boolean', short: 'd' },
  'pid-file': { type: 'string' },
  'console-socket': { type: 'string' },
  tty: { type: 'boolean', short: 't' },
  cwd: { type: 'string' },
  env: { type: 'string', short: 'e', multiple: true },
  user: { type: 'string', short: 'u' },
  'additional-gids': { type: 'string', short: 'g', multiple: true },
  cap: { type: 'string', short: 'c', multiple: true },
  'no-new-privs': { type: 'boolean' },
  'preserve-fds': { type: 'string' },
  cgroup: { type: 'string', multiple: true },
  'ignore-paused': { type: 'boolean' },
} as const;

export const verb: Verb = {
  summary: 'run a new process in a running container',
  usage: `tsrun exec [options] ID [COMMAND [ARG...]]
  -p, --process FILE       the process as a JSON file (config.json's process); the other flags then only add to it
  -d, --detach             return once the process runs
      --pid-file FILE      write the process's pid to FILE
      --console-socket S   unix socket to send the pty master to (with --tty)
  -t, --tty                allocate a pseudo-terminal
      --cwd DIR            working directory
  -e, --env K=V            set an environment variable (repeatable)
  -u, --user UID[:GID]     user and group ids
  -g, --additional-gids G  additional group id (repeatable)
  -c, --cap CAP            add a capability (repeatable)
      --no-new-privs       set no_new_privs
      --preserve-fds N     pass N extra fds (3 .. 3+N-1) to the process
      --cgroup [C,...:]PATH  run in PATH, a sub-cgroup of the container's (of controllers C only; repeatable)
      --ignore-paused      exec into a paused container too (the process starts when it is resumed)
  exits 255 when the exec itself fails, as runc does; 2 for usage errors`,
  // runc's exit status for an exec that failed before its process ran (no such container, a
  // paused one, a missing program, a bad pid file); usage and config errors stay 2.
  failureStatus: 255,
  ownArgs: (args) => args.slice(0, firstPositional(args, options)),
  async run(args, global) {
    // Flags end at the container id: what follows is the command with its own flags (sh -c ...).
    const idAt = firstPositional(args, options);
    const { values, positionals } = parseVerbArgs('exec', args.slice(0, idAt + 1), options, { min: 1, max: 1, names: 'ID [COMMAND [ARG...]]' });
    const [id] = positionals;
    const command = args.slice(idAt + 1);
    const rt = openRuntime(global.root);
    let process: Process;
    if (values.process) {
      process = loadProcessFile(values.process);
      if (command.length) process.args = command;
    } else {
      // Like runc: the container's own process settings, with the command line's changes.
      const base = rt.store.read(id).process;
      if (!base) throw new TsrunError('ERR_USAGE', `exec: container ${id} has no process in its config: use --process`);
      if (!command.length) throw new TsrunError('ERR_USAGE', 'exec: missing arguments: expected ID COMMAND [ARG...] or --process');
      process = { ...structuredClone(base), args: command, terminal: false };
    }
    if (values.tty) process.terminal = true;
    if (values.cwd) process.cwd = values.cwd;
    if (values.env) process.env = mergeEnv(process.env ?? [], values.env);
    if (values.user) process.user = { ...process.user, ...parseUser(values.user) };
    if (values['additional-gids']) {
      process.user = { ...process.user, additionalGids: values['additional-gids'].map((g) => parseId('--additional-gids', g)) };
    }
    if (values.cap) {
      const caps = { ...process.capabilities };
      for (const set of ['bounding', 'effective', 'permitted', 'ambient'] as const) caps[set] = [...new Set([...(caps[set] ?? []), ...values.cap])];
      process.capabilities = caps;
    }
    if (values['no-new-privs']) process.noNewPrivileges = true;
    return exec(rt, {
      id,
      process,
      detach: values.detach === true,
      pidFile: values['pid-file'],
      consoleSocket: values['console-socket'],
      preserveFds: parseNonNegativeInt('exec', 'preserve-fds', values['preserve-fds']) ?? 0,
      subCgroups: parseSubCgroups(values.cgroup ?? []),
      ignorePaused: values['ignore-paused'] === true,
      listenFds: listenFds(),
    });
  },
};

/**
 * runc's --cgroup: `PATH` for every controller (then the only one), or `C1,C2:PATH` per controller;
 * PATH is relative to the container's cgroup and may not leave it. Returns controller → path, ''
 * for all.
 */
export function parseSubCgroups(args: string[]): Map<string, string> {
  const paths = new Map<string, string>();
  for (const arg of args) {
    const parts = arg.split(':');
    if (parts.length > 2) throw new TsrunError('ERR_USAGE', `exec: invalid --cgroup ${JSON.stringify(arg)}: expected [CONTROLLER[,CONTROLLER...]:]PATH`);
    const path = subPath(arg, parts.at(-1)!);
    if (parts.length === 1) {
      if (args.length !== 1) throw new TsrunError('ERR_USAGE', `exec: invalid --cgroup ${JSON.stringify(arg)}: with several --cgroup each needs a CONTROLLER: prefix`);
      paths.set('', path);
      continue;
    }
    for (const controller of parts[0].split(',')) {
      if (!controller) throw new TsrunError('ERR_USAGE', `exec: invalid --cgroup ${JSON.stringify(arg)}: empty controller`);
      if (paths.has(controller)) throw new TsrunError('ERR_USAGE', `exec: --cgroup names controller ${controller} more than once`);
      paths.set(controller, path);
    }
  }
  return paths;
}

function subPath(arg: string, path: string): string {
  const relative = posix.normalize(`./${path}`).replace(/\/+$/, '');
  if (relative === '..' || relative.startsWith('../')) throw new TsrunError('ERR_USAGE', `exec: --cgroup ${JSON.stringify(arg)}: ${path} is not a sub cgroup path`);
  return relative === '.' ? '' : relative;
}

function mergeEnv(env: string[], extra: string[]): string[] {
  const merged = new Map(env.map((e) => [e.split('=')[0], e]));
  for (const e of extra) {
    if (!e.includes('=')) throw new TsrunError('ERR_USAGE', `exec: --env ${JSON.stringify(e)} is not KEY=VALUE`);
    merged.set(e.split('=')[0], e);
  }
  return [...merged.values()];
}

function parseId(flag: string, text: string): number {
  if (!/^\d+$/.test(text)) throw new TsrunError('ERR_USAGE', `exec: ${flag} ${JSON.stringify(text)} is not a numeric id`);
  if (Number(text) > MAX_ID) throw new TsrunError('ERR_USAGE', `exec: ${flag} ${JSON.stringify(text)}: an id must be <= ${MAX_ID}`);
  return Number(text);
}

/** --user UID[:GID] */
export function parseUser(text: string): { uid: number; gid?: number } {
  const [uid, gid, ...rest] = text.split(':');
  if (rest.length) throw new TsrunError('ERR_USAGE', `exec: --user ${JSON.stringify(text)} is not UID[:GID]`);
  return gid === undefined ? { uid: parseId('--user', uid) } : { uid: parseId('--user', uid), gid: parseId('--user', gid) };
}
