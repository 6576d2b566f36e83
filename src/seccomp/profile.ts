// An OCI `linux.seccomp` profile checked and normalised: every problem is reported with its JSON
// path (in validate.ts's style, so that validation can call it), and what comes out is plain data
// the compiler trusts. Unknown system call names are not problems: runc skips them, and so do we
// (per architecture, in rules.ts).
import { TsrunError } from '../errors.ts';
import { joinPath, quote } from '../spec/quote.ts';
import { type ArchName, SCMP_ARCHES } from './arch.ts';

export interface Problem {
  path: string;
  message: string;
}

export const ACTIONS = [
  'SCMP_ACT_KILL',
  'SCMP_ACT_KILL_PROCESS',
  'SCMP_ACT_KILL_THREAD',
  'SCMP_ACT_TRAP',
  'SCMP_ACT_ERRNO',
  'SCMP_ACT_TRACE',
  'SCMP_ACT_ALLOW',
  'SCMP_ACT_LOG',
  'SCMP_ACT_NOTIFY',
] as const;
export type ActionName = (typeof ACTIONS)[number];

export const OPS = ['SCMP_CMP_NE', 'SCMP_CMP_LT', 'SCMP_CMP_LE', 'SCMP_CMP_EQ', 'SCMP_CMP_GE', 'SCMP_CMP_GT', 'SCMP_CMP_MASKED_EQ'] as const;
export type OpName = (typeof OPS)[number];

/** seccomp(2) flags by their runtime-spec names. */
export const FLAGS: Readonly<Record<string, number>> = {
  SECCOMP_FILTER_FLAG_TSYNC: 1,
  SECCOMP_FILTER_FLAG_LOG: 2,
  SECCOMP_FILTER_FLAG_SPEC_ALLOW: 4,
  SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV: 32,
};
export const SECCOMP_FILTER_FLAG_NEW_LISTENER = 8;

export interface SeccompArg {
  index: number;
  /** for SCMP_CMP_MASKED_EQ, the mask */
  value: bigint;
  /** for SCMP_CMP_MASKED_EQ, the value compared with the masked argument; 0 when absent */
  valueTwo: bigint;
  op: OpName;
}

export interface SeccompSyscall {
  names: string[];
  action: ActionName;
  errnoRet?: number;
  args: SeccompArg[];
}

export interface SeccompProfile {
  defaultAction: ActionName;
  defaultErrnoRet?: number;
  /** in the profile's order, without repeats */
  architectures: ArchName[];
  flags: string[];
  listenerPath?: string;
  listenerMetadata?: string;
  syscalls: SeccompSyscall[];
}

const U64_MAX = (1n << 64n) - 1n;
const U32_MAX = 0xffffffff;
const ERRNO_ACTIONS: ReadonlySet<string> = new Set(['SCMP_ACT_ERRNO', 'SCMP_ACT_TRACE']);

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isUint = (v: unknown, max: bigint): v is number | bigint =>
  (typeof v === 'number' && Number.isInteger(v) && v >= 0 && BigInt(v) <= max) || (typeof v === 'bigint' && v >= 0n && v <= max);
const shown = (v: unknown) => (typeof v === 'string' ? quote(v) : typeof v === 'bigint' ? String(v) : quote(JSON.stringify(v) ?? String(v)));

/** Every problem of a `linux.seccomp` value, each with its JSON path under `path`. */
export function seccompProblems(raw: unknown, path = 'linux.seccomp'): Problem[] {
  return check(raw, path).problems;
}

/** The profile, or one ERR_CONFIG_INVALID listing every problem. */
export function parseSeccomp(raw: unknown, path = 'linux.seccomp'): SeccompProfile {
  const { problems, profile } = check(raw, path);
  if (problems.length === 0 && profile) return profile;
  const lines = problems.map((p) => `  ${p.path}: ${p.message}`);
  throw new TsrunError('ERR_CONFIG_INVALID', `invalid ${path}:\n${lines.join('\n')}`);
}

function check(raw: unknown, path: string): { problems: Problem[]; profile?: SeccompProfile } {
  const problems: Problem[] = [];
  const problem = (where: string, message: string) => problems.push({ path: where, message });
  if (!isObject(raw)) {
    problem(path, 'must be an object');
    return { problems };
  }
  const at = (key: string) => joinPath(path, key);

  const action = (v: unknown, where: string): ActionName | undefined => {
    if (typeof v === 'string' && (ACTIONS as readonly string[]).includes(v)) return v as ActionName;
    problem(where, v === undefined ? 'is required' : `unknown action ${shown(v)} (one of ${ACTIONS.join(', ')})`);
    return undefined;
  };
  const errnoRet = (v: unknown, act: ActionName | undefined, where: string): number | undefined => {
    if (v === undefined) return undefined;
    if (!isUint(v, BigInt(U32_MAX))) problem(where, `must be an integer from 0 to ${U32_MAX} (got ${shown(v)})`);
    else if (act && !ERRNO_ACTIONS.has(act)) problem(where, `is only allowed with SCMP_ACT_ERRNO or SCMP_ACT_TRACE, not ${act}`);
    else return Number(v);
    return undefined;
  };

  const defaultAction = action(raw.defaultAction, at('defaultAction'));
  if (defaultAction === 'SCMP_ACT_NOTIFY') problem(at('defaultAction'), 'SCMP_ACT_NOTIFY cannot be the default action (as in runc and libseccomp)');
  const defaultErrnoRet = errnoRet(raw.defaultErrnoRet, defaultAction, at('defaultErrnoRet'));

  const architectures: ArchName[] = [];
  for (const [i, v] of list(raw.architectures, at('architectures'), problem)) {
    const where = `${at('architectures')}[${i}]`;
    if (typeof v !== 'string' || !Object.hasOwn(SCMP_ARCHES, v)) problem(where, `unknown architecture ${shown(v)}`);
    else if (SCMP_ARCHES[v] === null) problem(where, `not supported: ${v} (tsrun has system call tables for ${supportedArches().join(', ')})`);
    else if (!architectures.includes(SCMP_ARCHES[v]!)) architectures.push(SCMP_ARCHES[v]!);
  }

  const flags: string[] = [];
  for (const [i, v] of list(raw.flags, at('flags'), problem)) {
    if (typeof v !== 'string' || !Object.hasOwn(FLAGS, v)) problem(`${at('flags')}[${i}]`, `unknown flag ${shown(v)} (one of ${Object.keys(FLAGS).join(', ')})`);
    else if (!flags.includes(v)) flags.push(v);
  }

  let listenerPath: string | undefined;
  if (raw.listenerPath !== undefined) {
    if (typeof raw.listenerPath !== 'string' || raw.listenerPath === '') problem(at('listenerPath'), 'must be a non-empty string');
    else listenerPath = raw.listenerPath;
  }
  let listenerMetadata: string | undefined;
  if (raw.listenerMetadata !== undefined) {
    if (typeof raw.listenerMetadata !== 'string') problem(at('listenerMetadata'), 'must be a string');
    else if (raw.listenerPath === undefined) problem(at('listenerMetadata'), 'must not be set without listenerPath');
    else listenerMetadata = raw.listenerMetadata;
  }

  const syscalls: SeccompSyscall[] = [];
  let notify = false;
  for (const [i, entry] of list(raw.syscalls, at('syscalls'), problem)) {
    const where = `${at('syscalls')}[${i}]`;
    if (!isObject(entry)) {
      problem(where, 'must be an object');
      continue;
    }
    const names: string[] = [];
    if (!Array.isArray(entry.names) || entry.names.length === 0) problem(`${where}.names`, entry.names === undefined ? 'is required' : 'must be a non-empty array of names');
    else
      entry.names.forEach((n, j) => {
        if (typeof n !== 'string' || n === '') problem(`${where}.names[${j}]`, 'must be a non-empty string');
        else names.push(n);
      });
    const act = action(entry.action, `${where}.action`);
    if (act === 'SCMP_ACT_NOTIFY') {
      notify = true;
      if (names.includes('write')) problem(`${where}.names`, 'SCMP_ACT_NOTIFY cannot be used for write (as in runc: the agent could not be told)');
    }
    const ret = errnoRet(entry.errnoRet, act, `${where}.errnoRet`);
    const args: SeccompArg[] = [];
    for (const [k, arg] of list(entry.args, `${where}.args`, problem)) {
      const argAt = `${where}.args[${k}]`;
      if (!isObject(arg)) {
        problem(argAt, 'must be an object');
        continue;
      }
      const ok = [
        isUint(arg.index, 5n) || (problem(`${argAt}.index`, arg.index === undefined ? 'is required' : `must be an argument index from 0 to 5 (got ${shown(arg.index)})`), false),
        isUint(arg.value, U64_MAX) || (problem(`${argAt}.value`, arg.value === undefined ? 'is required' : `must be an integer from 0 to ${U64_MAX} (got ${shown(arg.value)})`), false),
        arg.valueTwo === undefined || isUint(arg.valueTwo, U64_MAX) || (problem(`${argAt}.valueTwo`, `must be an integer from 0 to ${U64_MAX} (got ${shown(arg.valueTwo)})`), false),
        (typeof arg.op === 'string' && (OPS as readonly string[]).includes(arg.op)) ||
          (problem(`${argAt}.op`, arg.op === undefined ? 'is required' : `unknown operator ${shown(arg.op)} (one of ${OPS.join(', ')})`), false),
      ].every(Boolean);
      if (ok) args.push({ index: Number(arg.index), value: BigInt(arg.value as number | bigint), valueTwo: BigInt((arg.valueTwo as number | bigint | undefined) ?? 0), op: arg.op as OpName });
    }
    if (act) syscalls.push({ names, action: act, ...(ret === undefined ? {} : { errnoRet: ret }), args });
  }
  if (notify && listenerPath === undefined) problem(at('listenerPath'), 'is required when a rule uses SCMP_ACT_NOTIFY');

  if (problems.length || !defaultAction) return { problems };
  return {
    problems,
    profile: {
      defaultAction,
      ...(defaultErrnoRet === undefined ? {} : { defaultErrnoRet }),
      architectures,
      flags,
      ...(listenerPath === undefined ? {} : { listenerPath }),
      ...(listenerMetadata === undefined ? {} : { listenerMetadata }),
      syscalls,
    },
  };
}

/** The entries of an optional array, or none with a problem when it is something else. */
function list(v: unknown, where: string, problem: (path: string, message: string) => void): [number, unknown][] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) {
    problem(where, 'must be an array');
    return [];
  }
  return v.map((x, i) => [i, x]);
}

function supportedArches(): string[] {
  return Object.entries(SCMP_ARCHES)
    .filter(([, a]) => a !== null)
    .map(([n]) => n);
}
