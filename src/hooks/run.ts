// Hooks run in the runtime's namespaces (prestart, createRuntime, poststart, poststop): each gets
// the container state JSON on stdin, exactly its own env and args, and is killed at its timeout.
// createContainer and startContainer hooks run inside the container, by the init (see the Plan).
import { spawn } from 'node:child_process';
import { TsrunError } from '../errors.ts';
import { debug } from '../log.ts';
import type { Hook } from '../spec/types.ts';

export type RuntimeHookStage = 'prestart' | 'createRuntime' | 'poststart' | 'poststop';

const OUTPUT_LIMIT = 4096;

/**
 * Runs one hook; resolves when it exits 0, otherwise rejects with ERR_HOOK naming stage and path.
 * The timeout runs from the spawn and covers everything: writing the state to a hook that does not
 * read it, and the hook's own children, which are killed with it (it leads a process group) and
 * are not waited for.
 */
export function runHook(stage: RuntimeHookStage, hook: Hook, stateJson: string): Promise<void> {
  const what = `${stage} hook ${hook.path}`;
  debug(`run ${what}`);
  return new Promise((resolve, reject) => {
    const child = spawn(hook.path, (hook.args ?? [hook.path]).slice(1), {
      argv0: hook.args?.[0] ?? hook.path,
      env: Object.fromEntries((hook.env ?? []).map(splitEnv)),
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: true,
    });
    let output = '';
    const collect = (chunk: Buffer) => {
      if (output.length < OUTPUT_LIMIT) output += chunk.toString();
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    // A hook may exit without reading its stdin: that is not a failure.
    child.stdin.on('error', () => {});
    child.stdin.end(stateJson);
    let timedOut = false;
    const timer = hook.timeout
      ? setTimeout(() => {
          timedOut = true;
          killGroup(child.pid);
        }, hook.timeout * 1000)
      : undefined;
    const fail = (how: string) => {
      const tail = output.trim() ? `: ${output.trim()}` : '';
      reject(new TsrunError('ERR_HOOK', `${what} ${how}${tail}`));
    };
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(new TsrunError('ERR_HOOK', `${what}: ${err.message}`, { cause: err }));
    });
    child.on('exit', () => {
      clearTimeout(timer);
      if (!timedOut) return; // 'close' reports, once all the output is in
      for (const stream of [child.stdin, child.stdout, child.stderr]) stream.destroy();
      fail(`timed out after ${hook.timeout}s`);
    });
    child.on('close', (code, signal) => {
      if (timedOut) return;
      if (code === 0) return resolve();
      fail(signal ? `killed by ${signal}` : `exited with status ${code}`);
    });
  });
}

function killGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/** Runs hooks in order, stopping at the first failure. */
export async function runHooks(stage: RuntimeHookStage, hooks: Hook[] | undefined, stateJson: string): Promise<void> {
  for (const hook of hooks ?? []) await runHook(stage, hook, stateJson);
}

/**
 * For stages whose failures are warnings (poststop): every hook runs; failures come back as
 * messages for the caller to log.
 */
export async function runHooksCollectingFailures(stage: RuntimeHookStage, hooks: Hook[] | undefined, stateJson: string): Promise<string[]> {
  const failures: string[] = [];
  for (const hook of hooks ?? []) {
    await runHook(stage, hook, stateJson).catch((err: Error) => failures.push(err.message));
  }
  return failures;
}

function splitEnv(entry: string): [string, string] {
  const eq = entry.indexOf('=');
  return eq < 0 ? [entry, ''] : [entry.slice(0, eq), entry.slice(eq + 1)];
}
