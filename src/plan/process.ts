// config.process → the steps of the init between the rootfs and the exec: oom_score_adj, rlimits,
// cwd, identity and capabilities, the early PATH lookup; and the exec itself.
import { posix } from 'node:path';
import type { Process } from '../spec/types.ts';
import { planCapabilities } from './capabilities.ts';
import { invalid } from './invalid.ts';
import { quote } from '../spec/quote.ts';
import { planRlimits } from './rlimits.ts';
import type { ContainerStep } from './types.ts';

export interface ProcessContext {
  capLastCap: number;
  /** LISTEN_FDS of the caller: that many descriptors from fd 3 go on to the container (socket activation) */
  listenFds: number;
}

/** runc's umask when the config has none (finalizeRootfs); the caller's umask must not leak in. */
const DEFAULT_UMASK = 0o022;

export interface ProcessPlan {
  env: string[];
  /** oomScoreAdj, rlimits, chdir, identity, findExecutable */
  setup: ContainerStep[];
  exec: ContainerStep;
}

/** process.env, plus LISTEN_FDS and LISTEN_PID=1 (the init is pid 1 to itself) as runc adds them. */
export function processEnv(process: Process, listenFds: number): string[] {
  const env = process.env ?? [];
  if (listenFds <= 0) return [...env];
  // getenv returns the first match: an inherited value must not shadow ours
  return [...env.filter((e) => !e.startsWith('LISTEN_FDS=') && !e.startsWith('LISTEN_PID=')), `LISTEN_FDS=${listenFds}`, 'LISTEN_PID=1'];
}

export function terminalStep(process: Process, keepConsole = false): ContainerStep {
  const size = process.consoleSize;
  return { op: 'terminal', ...(size && { rows: size.height, cols: size.width }), ...(keepConsole && { keepConsole }) };
}

export function planProcess(process: Process, ctx: ProcessContext): ProcessPlan {
  const args = process.args ?? [];
  if (args.length === 0) throw invalid('process.args', 'at least one entry (the program) is required');
  if (!posix.isAbsolute(process.cwd)) throw invalid('process.cwd', `${quote(process.cwd)} is not an absolute path`);
  const env = processEnv(process, ctx.listenFds);
  const user = process.user;
  const setup: ContainerStep[] = [];
  if (process.oomScoreAdj !== undefined) setup.push({ op: 'oomScoreAdj', value: process.oomScoreAdj });
  setup.push(...planRlimits(process));
  // Before the identity step, as runc's first attempt: root may enter a directory the user cannot.
  setup.push({ op: 'chdir', path: process.cwd });
  setup.push({
    op: 'identity',
    uid: user.uid,
    gid: user.gid,
    additionalGids: [...(user.additionalGids ?? [])],
    umask: user.umask ?? DEFAULT_UMASK,
    noNewPrivileges: process.noNewPrivileges ?? false,
    capabilities: planCapabilities(process, ctx.capLastCap),
  });
  setup.push({ op: 'findExecutable', args: [...args], env });
  return { env, setup, exec: { op: 'exec', args: [...args], env } };
}
