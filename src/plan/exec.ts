// The plan of `exec`: stage 0 joins every namespace of the running container through
// /proc/<init>/ns (the pid namespace too, so the clone lands inside it) and the process is set up
// as the container's own was: terminal, rlimits, cwd, identity, then exec. Nothing is mounted.
import type { Process } from '../spec/types.ts';
import { JOIN_ORDER, PROC_NAME } from './namespaces.ts';
import { planProcess, terminalStep } from './process.ts';
import type { ContainerStep, HostStep, NamespaceType, Plan } from './types.ts';

export interface ExecContext {
  initPid: number;
  namespaces: NamespaceType[];
  consoleSocket?: string;
  capLastCap: number;
  listenFds: number;
}

export function buildExecPlan(process: Process, ctx: ExecContext): Plan {
  const host: HostStep[] = [];
  if (ctx.consoleSocket) host.push({ op: 'connectConsole', socketPath: ctx.consoleSocket });
  for (const type of JOIN_ORDER) {
    if (ctx.namespaces.includes(type)) host.push({ op: 'setns', type, path: `/proc/${ctx.initPid}/ns/${PROC_NAME[type]}` });
  }
  const { setup, exec } = planProcess(process, { capLastCap: ctx.capLastCap, listenFds: ctx.listenFds });
  const container: ContainerStep[] = [];
  if (process.terminal) container.push(terminalStep(process, true));
  // oom_score_adj: runtime/exec.ts sets it on stage 0, before any namespace is joined.
  container.push(...setup.filter((step) => step.op !== 'oomScoreAdj'), exec);
  return { host, clone: { op: 'clone', flags: 0 }, container };
}
