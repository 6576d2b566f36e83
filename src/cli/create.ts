import { openRuntime } from '../runtime/context.ts';
import { create } from '../runtime/create.ts';
import { listenFds } from '../runtime/fds.ts';
import { parseNonNegativeInt, parseVerbArgs, type Verb } from './args.ts';

export const createOptions = {
  bundle: { type: 'string', short: 'b' },
  'pid-file': { type: 'string' },
  'console-socket': { type: 'string' },
  'no-pivot': { type: 'boolean' },
  'no-new-keyring': { type: 'boolean' },
  'preserve-fds': { type: 'string' },
} as const;

export const createUsage = `  -b, --bundle DIR         bundle directory (default: the current directory)
      --pid-file FILE      write the container init's pid to FILE (no trailing newline)
      --console-socket S   unix socket to send the pty master to (process.terminal)
      --no-pivot           chroot instead of pivot_root (for a rootfs on a ramdisk)
      --no-new-keyring     accepted for runc compatibility (tsrun creates no session keyring)
      --preserve-fds N     pass N extra fds (3 .. 3+N-1) to the container`;

export function createArgs(verb: string, values: Record<string, string | boolean | undefined>, id: string) {
  return {
    id,
    bundle: (values.bundle as string | undefined) ?? process.cwd(),
    pidFile: values['pid-file'] as string | undefined,
    consoleSocket: values['console-socket'] as string | undefined,
    noPivot: values['no-pivot'] === true,
    preserveFds: parseNonNegativeInt(verb, 'preserve-fds', values['preserve-fds'] as string | undefined) ?? 0,
    listenFds: listenFds(),
  };
}

export const verb: Verb = {
  summary: 'create a container and leave it waiting for start',
  usage: `tsrun create [options] ID\n${createUsage}`,
  async run(args, global) {
    const { values, positionals } = parseVerbArgs('create', args, createOptions, { min: 1, max: 1, names: 'ID' });
    await create(openRuntime(global.root), createArgs('create', values, positionals[0]));
    return 0;
  },
};
