// createContainer and startContainer hooks, run by the container init: argv and env resolved.
import type { Hook as SpecHook } from '../spec/types.ts';
import type { Hook } from './types.ts';

/**
 * args has execv's argv semantics; without it argv is just the path (as runc, through Go's
 * exec.Cmd). Without env a hook gets `defaultEnv`: empty for createContainer (runc's init has
 * cleared its environment), the process's env for startContainer (runc's de facto behaviour).
 */
export function planHooks(hooks: SpecHook[] | undefined, defaultEnv: string[]): Hook[] {
  return (hooks ?? []).map((h) => ({
    path: h.path,
    args: h.args ?? [h.path],
    env: h.env ?? defaultEnv,
    ...(h.timeout !== undefined && { timeout: h.timeout }),
  }));
}
