// Plan → bytes, in the wire format documented in native-shim/plan.h (keep the two in step): a u32
// length, then NUL-terminated tokens; numbers as decimal text; lists as a count then the items.
import { TsrunError } from '../errors.ts';
import type { ContainerStep, Hook, HostStep, Plan } from '../plan/types.ts';

export const PLAN_MAGIC = 'tsrun-plan-1';

type Token = string | number | bigint | boolean;

function list(items: readonly Token[]): Token[] {
  return [items.length, ...items];
}

function hostTokens(step: HostStep): Token[] {
  switch (step.op) {
    case 'startFifos':
      return [step.op, step.startFifo, step.startedFifo];
    case 'connectConsole':
      return [step.op, step.socketPath];
    case 'openCgroup':
      return [step.op, step.path];
    case 'setns':
      return [step.op, step.type, step.path];
    case 'unshareTime':
      return [step.op, step.offsets.length, ...step.offsets.flatMap((o) => [o.clock, o.secs, o.nanosecs])];
    case 'openMountSource':
      return [step.op, step.path, step.recursive];
  }
}

function hookTokens(hook: Hook): Token[] {
  return [hook.path, ...list(hook.args), ...list(hook.env), hook.timeout ?? 0];
}

function containerTokens(step: ContainerStep): Token[] {
  switch (step.op) {
    case 'rootPropagation':
    case 'setRootPropagation':
      return [step.op, step.flags];
    case 'bindRootfs':
    case 'bindRootfsInHost':
      return [step.op, step.path];
    case 'mount':
      return [
        step.op, step.source, step.destination, step.fstype, step.flags, step.data, step.remountFlags,
        ...list(step.propagation), step.recursiveAttrSet, step.recursiveAttrClear, step.createAs, step.copyUp ?? false,
      ];
    case 'mknod':
      return [step.op, step.path, step.kind, step.major, step.minor, step.mode, step.uid, step.gid];
    case 'bindDevice':
      return [step.op, step.source, step.path];
    case 'symlink':
      return [step.op, step.target, step.path];
    case 'oomScoreAdj':
      return [step.op, step.value];
    case 'rlimit':
      return [step.op, step.resource, step.soft, step.hard];
    case 'hooks':
      return [step.op, step.stage, step.hooks.length, ...step.hooks.flatMap(hookTokens)];
    case 'maskPath':
    case 'readonlyPath':
      return [step.op, step.path];
    case 'hostname':
    case 'domainname':
      return [step.op, step.name];
    case 'sysctl':
      return [step.op, step.key, step.value];
    case 'terminal':
      return [step.op, step.rows ?? 0, step.cols ?? 0, step.keepConsole ?? false];
    case 'identity': {
      const c = step.capabilities;
      return [
        step.op, step.uid, step.gid, ...list(step.additionalGids), step.umask ?? -1, step.noNewPrivileges ? 1 : 0,
        c.bounding, c.effective, c.permitted, c.inheritable, c.ambient,
      ];
    }
    case 'chdir':
      return [step.op, step.path];
    case 'findExecutable':
    case 'exec':
      return [step.op, ...list(step.args), ...list(step.env)];
    case 'loopbackUp':
    case 'syncCreateRuntime':
    case 'pivotRoot':
    case 'chroot':
    case 'enterRoot':
    case 'remountRootReadonly':
    case 'waitStart':
      return [step.op];
  }
}

export function planTokens(plan: Plan): string[] {
  const tokens: Token[] = [
    PLAN_MAGIC,
    plan.host.length,
    ...plan.host.flatMap(hostTokens),
    plan.clone.flags,
    plan.clone.uidMap ?? '',
    plan.clone.gidMap ?? '',
    plan.clone.idMapper ?? '',
    plan.container.length,
    ...plan.container.flatMap(containerTokens),
  ];
  return tokens.map((token) => {
    const text = typeof token === 'boolean' ? (token ? '1' : '0') : String(token);
    // A NUL would split a token: paths, args and env from config.json are checked before this.
    if (text.includes('\0')) throw new TsrunError('ERR_CONFIG_INVALID', `a NUL byte in ${JSON.stringify(text)}`);
    return text;
  });
}

/** The framed message: u32 little-endian length, then the tokens each followed by a NUL. */
export function encodePlan(plan: Plan): Buffer {
  return frame(Buffer.from(planTokens(plan).map((t) => t + '\0').join(''), 'utf8'));
}

export function frame(payload: Buffer): Buffer {
  const header = Buffer.alloc(4);
  header.writeUInt32LE(payload.length);
  return Buffer.concat([header, payload]);
}
