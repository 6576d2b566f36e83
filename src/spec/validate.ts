// Checks a loaded config.json: the schema (spec-schemas/, compiled at build time), then the rules
// a schema cannot express (runc's validator: namespaces that fields depend on, duplicates, real
// capability and rlimit names). Every problem is collected and reported at once, one per line,
// each with its JSON path.
import { posix } from 'node:path';
import { TsrunError } from '../errors.ts';
import { parseMountOptions } from '../plan/mount-options.ts';
import { containerPath, isBind } from '../plan/mounts.ts';
import { idMap } from '../plan/namespaces.ts';
import { canonicalSysctl, requiredNamespace } from '../plan/sysctl.ts';
import { validate as validateSchema, type ValidationError } from './generated/config.js';
import { joinPath as join, quote } from './quote.ts';
import type { Mount, Spec } from './types.ts';
import { unsupportedPaths } from './unsupported.ts';

/**
 * What some rules need to know of the host, found by the runtime (src/runtime/host.ts) before
 * validation: the rules themselves stay pure.
 */
export interface HostFacts {
  /** by type, each namespace that linux.namespaces joins by path */
  joinedNamespaces: ReadonlyMap<string, JoinedNamespace>;
}

/** The runtime's own namespace, another one, or why that cannot be told. */
export type JoinedNamespace = 'runtime' | 'other' | { unknown: string };

export interface Problem {
  /** JSON path such as "process.capabilities.bounding[2]" ("" for the document itself) */
  path: string;
  message: string;
}

/** Throws one ERR_CONFIG_INVALID listing every problem of the config. */
export function validateConfig(config: Spec, host?: HostFacts): void {
  const problems = configProblems(config, host);
  if (problems.length === 0) return;
  const lines = problems.map((p) => `  ${p.path || '(config)'}: ${p.message}`);
  const count = problems.length === 1 ? '1 problem' : `${problems.length} problems`;
  throw new TsrunError('ERR_CONFIG_INVALID', `invalid config (${count}):\n${lines.join('\n')}`);
}

/** Throws ERR_NOT_SUPPORTED naming every valid field the config sets that tsrun does not implement. */
export function checkSupported(config: Spec, options: { ignore?: readonly string[] } = {}): void {
  const paths = unsupportedPaths(config).filter((path) => !options.ignore?.includes(path));
  if (paths.length) {
    throw new TsrunError('ERR_NOT_SUPPORTED', `not supported: ${paths.join(', ')}`, {
      hint: 'tsrun does not implement these fields: remove them from config.json',
    });
  }
}

/** The schema's problems, then those of the rules beyond it. */
export function configProblems(config: Spec, host?: HostFacts): Problem[] {
  const schema = configSchemaProblems(config);
  // One report per broken field: the rules beyond the schema say nothing more inside it.
  const broken = schema.map((p) => p.path).filter((p) => p !== '');
  const inBroken = (path: string) => broken.some((b) => path.startsWith(b) && (path.length === b.length || path[b.length] === '.' || path[b.length] === '['));
  return [...schema, ...semanticProblems(config, host).filter((p) => !inBroken(p.path))];
}

/** What spec-schemas/config-schema.json finds wrong, bigints included. */
export function configSchemaProblems(config: Spec): Problem[] {
  return validateSchema(withoutBigInts(config)) ? [] : schemaProblems(config, validateSchema.errors ?? []);
}

// ---- bigints --------------------------------------------------------------------------------

/**
 * The config with every bigint replaced by the greatest double not above it (shared subtrees are
 * kept when they hold none). Rounding down keeps range checks exact: the schemas write the int64
 * and uint64 maxima as exclusive powers of two, and 2^63-1 floors to below 2^63 while 2^63 stays.
 */
function withoutBigInts(value: unknown): unknown {
  if (typeof value === 'bigint') return floorToDouble(value);
  if (typeof value !== 'object' || value === null) return value;
  let copy: Record<string, unknown> | unknown[] | undefined;
  for (const [key, child] of Object.entries(value)) {
    const replaced = withoutBigInts(child);
    if (replaced !== child) {
      copy ??= Array.isArray(value) ? [...value] : { ...value };
      // defineProperty: a "__proto__" key stays data
      Object.defineProperty(copy, key, { value: replaced, enumerable: true, writable: true, configurable: true });
    }
  }
  return copy ?? value;
}

const BEYOND_ANY_BOUND = 2 ** 65;

function floorToDouble(n: bigint): number {
  if (n >= BigInt(BEYOND_ANY_BOUND)) return BEYOND_ANY_BOUND;
  if (n <= -BigInt(BEYOND_ANY_BOUND)) return -BEYOND_ANY_BOUND;
  const nearest = Number(n);
  if (BigInt(nearest) <= n) return nearest;
  // One step down: |nearest| > 2^53 here, never 0, so stepping the bit pattern is exact.
  const f = new Float64Array([nearest]);
  const bits = new BigInt64Array(f.buffer);
  bits[0] += nearest > 0 ? -1n : 1n;
  return f[0];
}

// ---- schema errors in words -----------------------------------------------------------------

function schemaProblems(config: Spec, errors: ValidationError[]): Problem[] {
  // anyOf: one message for the whole choice instead of one per failed alternative.
  const choices = errors.filter((e) => e.keyword === 'anyOf');
  const inChoice = (e: ValidationError) => choices.some((c) => c !== e && c.instancePath === e.instancePath && e.schemaPath.startsWith(`${c.schemaPath}/`));
  const wrongType = new Set(errors.filter((e) => e.keyword === 'type').map((e) => e.instancePath));
  const problems: Problem[] = [];
  for (const e of errors) {
    if (e.keyword === 'if' || e.keyword === 'propertyNames' || inChoice(e)) continue;
    // "must be a string" says it all: not also "must be one of ..." for the same value
    if ((e.keyword === 'enum' || e.keyword === 'const') && wrongType.has(e.instancePath)) continue;
    const path = jsonPath(config, e.instancePath);
    if (e.keyword === 'anyOf') {
      const alternatives = errors.filter((x) => x.instancePath === e.instancePath && x.schemaPath.startsWith(`${e.schemaPath}/`));
      const names = alternatives.map((x) => x.params.missingProperty).filter((n) => n !== undefined);
      const message = names.length === alternatives.length ? `must have at least one of ${names.join(', ')}` : 'matches none of the allowed forms';
      problems.push({ path, message });
    } else if (e.keyword === 'required') {
      problems.push({ path: join(path, e.params.missingProperty), message: 'is required' });
    } else if (e.keyword === 'dependencies') {
      problems.push({ path: join(path, e.params.missingProperty), message: `is required when ${e.params.property} is set` });
    } else if (e.propertyName !== undefined) {
      problems.push({ path, message: `key ${quote(e.propertyName)}: ${describe(e)}` });
    } else {
      const got = valueAt(config, e.instancePath);
      const shown = got === undefined || typeof got === 'object' ? '' : ` (got ${typeof got === 'string' ? quote(got) : String(got)})`;
      problems.push({ path, message: describe(e) + shown });
    }
  }
  return dedupe(problems);
}

const PATTERN_TEXT: Record<string, string> = {
  '^/': 'must be an absolute path',
  '^RLIMIT_[A-Z]+$': 'must be an RLIMIT_* name such as RLIMIT_NOFILE',
  '^[1-9][0-9]*[KMG]B$': 'must be a page size such as 64KB, 2MB or 1GB',
  '^[0-9, -]*$': 'must be a list of CPUs such as 0-3,7',
  '^[rwm]+$': 'must be made of the letters r, w and m (runc refuses an empty one; absent means rwm)',
  '^MB:[^\\n]*$': 'must start with "MB:" and be a single line',
  '^[^\\n]*$': 'must be a single line',
  '^[\\s\\S]': 'must not be empty',
};

const A_TYPE: Record<string, string> = {
  integer: 'an integer', number: 'a number', string: 'a string', boolean: 'a boolean (true or false)',
  object: 'an object', array: 'an array', null: 'null',
};

/** An integer bound as written in the schema: exact even where the double is not (2^63, 2^64). */
const bound = (limit: number) => (Number.isInteger(limit) && !Number.isSafeInteger(limit) ? BigInt(limit) : limit);

function describe(e: ValidationError): string {
  const p = e.params;
  switch (e.keyword) {
    case 'type': {
      const types: string[] = Array.isArray(p.type) ? p.type : String(p.type).split(',');
      return `must be ${types.map((t) => A_TYPE[t] ?? t).join(' or ')}`;
    }
    case 'enum': {
      const allowed = (p.allowedValues as unknown[]).map(String);
      // A long list (seccomp's architectures) would bury the line: the first few say what is meant.
      if (allowed.length <= 8) return `must be one of ${allowed.join(', ')}`;
      return `must be one of ${allowed.slice(0, 6).join(', ')} or ${allowed.length - 6} more of the same kind`;
    }
    case 'pattern':
      if (PATTERN_TEXT[p.pattern]) return PATTERN_TEXT[p.pattern];
      if (String(p.pattern).startsWith('^(0|[1-9][0-9]*)\\.')) return 'must be a SemVer 2.0.0 version such as 1.3.0';
      return `must match the pattern ${p.pattern}`;
    case 'minimum':
      return `must be >= ${bound(p.limit)}`;
    case 'maximum':
      return `must be <= ${bound(p.limit)}`;
    case 'exclusiveMaximum':
      // on integers: 2^64 exclusive is 2^64-1 inclusive
      return Number.isInteger(p.limit) ? `must be <= ${BigInt(p.limit) - 1n}` : `must be < ${p.limit}`;
    case 'exclusiveMinimum':
      return Number.isInteger(p.limit) ? `must be >= ${BigInt(p.limit) + 1n}` : `must be > ${p.limit}`;
    case 'minItems':
      return `must have at least ${p.limit} ${p.limit === 1 ? 'entry' : 'entries'}`;
    default:
      return e.message ?? `fails ${e.keyword}`;
  }
}

/** "/process/capabilities/bounding/2" → "process.capabilities.bounding[2]", looking at the data to tell arrays from objects. */
function jsonPath(config: unknown, pointer: string): string {
  let path = '';
  let node = config;
  for (const segment of pointerSegments(pointer)) {
    path = Array.isArray(node) ? `${path}[${segment}]` : join(path, segment);
    node = (node as Record<string, unknown> | undefined)?.[segment];
  }
  return path;
}

function valueAt(config: unknown, pointer: string): unknown {
  let node = config;
  for (const segment of pointerSegments(pointer)) node = (node as Record<string, unknown> | undefined)?.[segment];
  return node;
}

function pointerSegments(pointer: string): string[] {
  return pointer === '' ? [] : pointer.slice(1).split('/').map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function dedupe(problems: Problem[]): Problem[] {
  const seen = new Set<string>();
  return problems.filter((p) => {
    const key = `${p.path}\n${p.message}`;
    return seen.has(key) ? false : (seen.add(key), true);
  });
}

// ---- rules beyond the schema ----------------------------------------------------------------

/** <linux/capability.h> up to CAP_CHECKPOINT_RESTORE (Linux 5.9). */
const CAPABILITIES: ReadonlySet<string> = new Set([
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_DAC_READ_SEARCH', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL', 'CAP_SETGID',
  'CAP_SETUID', 'CAP_SETPCAP', 'CAP_LINUX_IMMUTABLE', 'CAP_NET_BIND_SERVICE', 'CAP_NET_BROADCAST', 'CAP_NET_ADMIN',
  'CAP_NET_RAW', 'CAP_IPC_LOCK', 'CAP_IPC_OWNER', 'CAP_SYS_MODULE', 'CAP_SYS_RAWIO', 'CAP_SYS_CHROOT',
  'CAP_SYS_PTRACE', 'CAP_SYS_PACCT', 'CAP_SYS_ADMIN', 'CAP_SYS_BOOT', 'CAP_SYS_NICE', 'CAP_SYS_RESOURCE',
  'CAP_SYS_TIME', 'CAP_SYS_TTY_CONFIG', 'CAP_MKNOD', 'CAP_LEASE', 'CAP_AUDIT_WRITE', 'CAP_AUDIT_CONTROL',
  'CAP_SETFCAP', 'CAP_MAC_OVERRIDE', 'CAP_MAC_ADMIN', 'CAP_SYSLOG', 'CAP_WAKE_ALARM', 'CAP_BLOCK_SUSPEND',
  'CAP_AUDIT_READ', 'CAP_PERFMON', 'CAP_BPF', 'CAP_CHECKPOINT_RESTORE',
]);

/** getrlimit(2) */
const RLIMITS: ReadonlySet<string> = new Set([
  'RLIMIT_CPU', 'RLIMIT_FSIZE', 'RLIMIT_DATA', 'RLIMIT_STACK', 'RLIMIT_CORE', 'RLIMIT_RSS', 'RLIMIT_NPROC',
  'RLIMIT_NOFILE', 'RLIMIT_MEMLOCK', 'RLIMIT_AS', 'RLIMIT_LOCKS', 'RLIMIT_SIGPENDING', 'RLIMIT_MSGQUEUE',
  'RLIMIT_NICE', 'RLIMIT_RTPRIO', 'RLIMIT_RTTIME',
]);

/**
 * The greatest uid or gid a process may take. uid_t is 32 bits, but setresuid(2), setresgid(2) and
 * chown(2) read (uid_t)-1 as "leave unchanged": a process "running as" 4294967295 would stay root.
 * runc refuses every id above 2^31-1, and so does tsrun.
 */
export const MAX_ID = 2 ** 31 - 1;

/**
 * Rules the schema cannot express. They look only at well-formed parts, so that they can run beside
 * the schema on any input. Without `host`, a namespace joined by path counts as the container's own.
 */
export function semanticProblems(config: Spec, host?: HostFacts): Problem[] {
  const problems: Problem[] = [];
  const problem = (path: string, message: string) => problems.push({ path, message });

  const version = typeof config.ociVersion === 'string' ? /^(\d+)\.(\d+)\.\d/.exec(config.ociVersion) : null;
  if (version && (version[1] !== '1' || Number(version[2]) > 3)) {
    problem('ociVersion', `${config.ociVersion} is not supported: tsrun implements runtime-spec 1.0.0 to 1.3.x`);
  }

  const proc = obj(config.process);
  const caps = obj(proc.capabilities);
  for (const set of ['bounding', 'effective', 'inheritable', 'permitted', 'ambient']) {
    arr(caps[set]).forEach((name, i) => {
      if (typeof name === 'string' && !CAPABILITIES.has(name)) problem(`process.capabilities.${set}[${i}]`, `unknown capability ${quote(name)}`);
    });
  }
  const user = obj(proc.user);
  const checkId = (value: unknown, path: string) => {
    if (isInteger(value) && value > MAX_ID) problem(path, `must be <= ${MAX_ID} (got ${value}), as in runc: to setuid(2), 4294967295 means "unchanged"`);
  };
  checkId(user.uid, 'process.user.uid');
  checkId(user.gid, 'process.user.gid');
  arr(user.additionalGids).forEach((gid, i) => checkId(gid, `process.user.additionalGids[${i}]`));
  const rlimitAt = new Map<string, number>();
  arr(proc.rlimits).forEach((entry, i) => {
    const { type, soft, hard } = obj(entry);
    const where = `process.rlimits[${i}]`;
    if (typeof type === 'string') {
      if (!RLIMITS.has(type)) problem(`${where}.type`, `unknown rlimit ${quote(type)}`);
      const first = rlimitAt.get(type);
      if (first !== undefined) problem(`${where}.type`, `${type} is already set by process.rlimits[${first}]`);
      else rlimitAt.set(type, i);
    }
    if (isInteger(soft) && isInteger(hard) && BigInt(soft) > BigInt(hard)) problem(where, `the soft limit ${soft} is above the hard limit ${hard}`);
  });

  const linux = obj(config.linux);
  const nsAt = new Map<string, number>();
  arr(linux.namespaces).forEach((ns, i) => {
    const { type } = obj(ns);
    if (typeof type !== 'string') return;
    const first = nsAt.get(type);
    if (first !== undefined) problem(`linux.namespaces[${i}].type`, `${type} is already given by linux.namespaces[${first}]`);
    else nsAt.set(type, i);
  });
  const has = (type: string) => nsAt.has(type);
  const joins = (type: string) => obj(arr(linux.namespaces)[nsAt.get(type) ?? -1]).path !== undefined;
  // runc's isHostNetNS, for every type: a namespace joined by path is the host's when it is the runtime's own.
  const ownNamespaceProblem = (type: string, missing: string): string | undefined => {
    if (!has(type)) return missing;
    const joined = host?.joinedNamespaces.get(type);
    const path = `linux.namespaces[${nsAt.get(type)}].path`;
    if (joined === 'runtime') return `${path} is the runtime's own ${type} namespace: setting it would change the host`;
    if (typeof joined === 'object') return `${path} cannot be compared with the runtime's own ${type} namespace (${joined.unknown}): setting it could change the host`;
    return undefined;
  };

  for (const field of ['hostname', 'domainname'] as const) {
    const wrong = typeof config[field] === 'string' && config[field] ? ownNamespaceProblem('uts', 'needs a uts namespace in linux.namespaces: setting it would change the host') : undefined;
    if (wrong) problem(field, wrong);
  }

  // Empty lists count as none, as in runc.
  const uidMappings = arr(linux.uidMappings).length > 0;
  const gidMappings = arr(linux.gidMappings).length > 0;
  if (!has('user')) {
    if (uidMappings) problem('linux.uidMappings', 'needs a user namespace in linux.namespaces');
    if (gidMappings) problem('linux.gidMappings', 'needs a user namespace in linux.namespaces');
  } else if (!joins('user')) {
    if (!uidMappings) problem('linux.uidMappings', 'a new user namespace needs uid mappings');
    if (!gidMappings) problem('linux.gidMappings', 'a new user namespace needs gid mappings');
  }

  if (Object.keys(obj(linux.timeOffsets)).length && !has('time')) problem('linux.timeOffsets', 'needs a time namespace in linux.namespaces');

  for (const key of Object.keys(obj(linux.sysctl))) {
    const where = join('linux.sysctl', key);
    const name = canonicalSysctl(key);
    const needs = requiredNamespace(name);
    const wrong = name === 'kernel.hostname' ? 'set the hostname with the hostname field instead'
      : !needs ? 'is not isolated by any namespace: setting it would change the host'
      : ownNamespaceProblem(needs, `needs ${needs === 'ipc' ? 'an' : 'a'} ${needs} namespace in linux.namespaces`);
    if (wrong) problem(where, wrong);
  }
  arr(config.mounts).forEach((entry, i) => {
    const mount = obj(entry);
    const message = procMountProblem(mount);
    if (message) problem(`mounts[${i}].destination`, message);
    // runc and crun copy up into a tmpfs only; elsewhere the option would be silently lost
    if (arr(mount.options).includes('tmpcopyup') && (mount.type !== 'tmpfs' || isBindLike(mount))) {
      problem(`mounts[${i}].options`, 'tmpcopyup applies to a tmpfs mount only');
    }
  });
  problems.push(...nulProblems(config), ...pathLengthProblems(config), ...kernelLimitProblems(config));
  return problems;
}

/**
 * Files of /proc that a mount may cover: runc's list (checkProcMount), the files lxcfs emulates.
 * native-shim/fs.c holds the destination, as resolved in the rootfs, to the same list.
 */
export const PROC_FILES_TO_MOUNT_ON: ReadonlySet<string> = new Set([
  '/proc/cpuinfo', '/proc/diskstats', '/proc/meminfo', '/proc/stat', '/proc/swaps', '/proc/uptime',
  '/proc/loadavg', '/proc/slabinfo', '/proc/net/dev', '/proc/sys/kernel/ns_last_pid', '/proc/sys/crypto/fips_enabled',
]);

/** isBind's rule, on a config the schema may not have accepted. */
function isBindLike({ type, options }: Record<string, unknown>): boolean {
  return type === 'bind' || arr(options).some((o) => o === 'bind' || o === 'rbind');
}

/**
 * runc's checkProcMount on the cleaned destination: nothing is mounted inside /proc (over
 * /proc/sys/kernel/core_pattern, say) but on runc's list, and only a procfs on /proc itself (a
 * new one, or a bind mount, whose source the init checks to be a procfs).
 */
function procMountProblem({ destination, type, options }: Record<string, unknown>): string | undefined {
  if (typeof destination !== 'string') return undefined;
  const path = containerPath(destination);
  if (path === '/proc') return type === 'proc' || isBindLike({ type, options }) ? undefined : 'only a procfs may be mounted on /proc (type "proc", or a bind mount of a procfs)';
  if (!path.startsWith('/proc/') || PROC_FILES_TO_MOUNT_ON.has(path)) return undefined;
  return `${quote(path)} is inside /proc, where nothing may be mounted but on the files lxcfs provides (${[...PROC_FILES_TO_MOUNT_ON].join(', ')})`;
}

/** The path fields of the config; `[]` is every element, `*` every key. */
const PATH_FIELDS = [
  'root.path', 'process.cwd', 'mounts[].destination', 'mounts[].source', 'linux.maskedPaths[]', 'linux.readonlyPaths[]',
  'linux.devices[].path', 'linux.namespaces[].path', 'linux.cgroupsPath', 'hooks.*[].path',
];

/** PATH_MAX of Linux, with the terminating NUL. */
const PATH_MAX = 4096;

/** A longer path can never be opened (ENAMETOOLONG), and echoing it back would fill the screen. */
function pathLengthProblems(config: Spec): Problem[] {
  const problems: Problem[] = [];
  for (const field of PATH_FIELDS) {
    for (const { path, value } of fieldValues(config, field)) {
      if (typeof value === 'string' && Buffer.byteLength(value) >= PATH_MAX) {
        problems.push({ path, message: `is ${Buffer.byteLength(value)} bytes long: a path must be shorter than ${PATH_MAX} bytes (PATH_MAX)` });
      }
    }
  }
  return problems;
}

/** The bytes of one page: what mount(2) copies of its data, and what a uid_map or gid_map write may hold, NUL included. */
const PAGE_SIZE = 4096;
/** NAME_MAX: the longest file name. */
const NAME_MAX = 255;
/** HOST_NAME_MAX, also the longest NIS domain name (__NEW_UTS_LEN). */
const HOST_NAME_MAX = 64;
/** NGROUPS_MAX: the most supplementary groups setgroups(2) takes. */
const NGROUPS_MAX = 65536;
/** The most lines a uid_map or gid_map takes (UID_GID_MAP_MAX_EXTENTS, Linux 4.15 on). */
const MAX_ID_MAP_LINES = 340;
const PROC_SYS = '/proc/sys/';

/**
 * Values the kernel (or the init's copy of them) has a limit for: refused here, naming the field,
 * rather than cut or failing half-way through create.
 */
function kernelLimitProblems(config: Spec): Problem[] {
  const problems: Problem[] = [];
  const problem = (path: string, message: string) => problems.push({ path, message });
  const bytes = (value: string) => Buffer.byteLength(value);

  for (const field of ['hostname', 'domainname'] as const) {
    const value = config[field];
    if (typeof value === 'string' && bytes(value) > HOST_NAME_MAX) problem(field, `is ${bytes(value)} bytes long: the kernel takes at most ${HOST_NAME_MAX} (HOST_NAME_MAX)`);
  }
  const gids = obj(obj(config.process).user).additionalGids;
  if (Array.isArray(gids) && gids.length > NGROUPS_MAX) problem('process.user.additionalGids', `has ${gids.length} groups: the kernel takes at most ${NGROUPS_MAX} (NGROUPS_MAX)`);

  const linux = obj(config.linux);
  for (const field of ['uidMappings', 'gidMappings'] as const) {
    const mappings = arr(linux[field]);
    const wellFormed = mappings.every((m) => ['containerID', 'hostID', 'size'].every((k) => isInteger(obj(m)[k])));
    const text = wellFormed ? idMap(mappings as never) : '';
    if (mappings.length > MAX_ID_MAP_LINES) problem(`linux.${field}`, `has ${mappings.length} mappings: the kernel takes at most ${MAX_ID_MAP_LINES}`);
    else if (bytes(text) >= PAGE_SIZE) problem(`linux.${field}`, `takes ${bytes(text)} bytes as ${field === 'uidMappings' ? 'uid_map' : 'gid_map'}: the kernel takes less than one page (${PAGE_SIZE} bytes)`);
  }

  for (const key of Object.keys(obj(linux.sysctl))) {
    const message = key.includes('\0') ? undefined : sysctlKeyProblem(canonicalSysctl(key));
    if (message) problem(join('linux.sysctl', key), message);
  }

  arr(config.mounts).forEach((entry, i) => {
    const mount = obj(entry);
    const options = mount.options;
    if (!Array.isArray(options) || !options.every((o) => typeof o === 'string') || isBind(mount as unknown as Mount)) return;
    let data: string;
    try {
      data = parseMountOptions(options, `mounts[${i}].options`).data.join(',');
    } catch {
      return; // an option tsrun does not implement: checkSupported names it
    }
    if (bytes(data) >= PAGE_SIZE) problem(`mounts[${i}].options`, `the filesystem options (${bytes(data)} bytes joined with ",") must be shorter than one page (${PAGE_SIZE} bytes), as for mount(2)`);
  });
  return problems;
}

/**
 * A sysctl key names a file under /proc/sys, one dot-separated component per directory: the init
 * writes /proc/sys/<key with dots as slashes> (and a '/' of the key as a '.' inside a component).
 */
function sysctlKeyProblem(key: string): string | undefined {
  const most = PATH_MAX - 1 - PROC_SYS.length;
  if (Buffer.byteLength(key) > most) return `is ${Buffer.byteLength(key)} bytes long: a sysctl key must be at most ${most} bytes, for ${PROC_SYS}<key> to be shorter than ${PATH_MAX} bytes (PATH_MAX)`;
  for (const component of key.split('.')) {
    if (component === '') return 'has an empty component: each part between dots names a directory or file under /proc/sys';
    if (component.startsWith('/')) return `has a component starting with "." (${quote(component.replace(/\//g, '.'))}): it names no file under /proc/sys`;
    if (Buffer.byteLength(component) > NAME_MAX) return `has a component of ${Buffer.byteLength(component)} bytes: a file name is at most ${NAME_MAX} bytes (NAME_MAX)`;
  }
  return undefined;
}

/** The values of a field pattern ("mounts[].source", "hooks.*[].path") with their paths and last keys. */
function fieldValues(config: Spec, field: string): { path: string; value: unknown; key: string }[] {
  let nodes: { path: string; value: unknown; key: string }[] = [{ path: '', value: config, key: '' }];
  for (const part of field.split('.')) {
    const each = part.endsWith('[]');
    const key = each ? part.slice(0, -2) : part;
    nodes = nodes.flatMap(({ path, value }) => {
      const children = key === '*' ? Object.entries(obj(value)) : Object.hasOwn(obj(value), key) ? [[key, obj(value)[key]] as const] : [];
      return children.flatMap(([k, child]) => {
        const at = join(path, k);
        return each ? arr(child).map((v, i) => ({ path: `${at}[${i}]`, value: v, key: k })) : [{ path: at, value: child, key: k }];
      });
    });
  }
  return nodes;
}

/**
 * The strings that reach the kernel or the init's plan as C strings, where a NUL byte would
 * silently cut them. Fields held to an enum or a pattern cannot hold one anyway; planTokens in
 * src/shim/encode.ts stays the last guard for anything missing here.
 */
const C_STRING_FIELDS = [
  'root.path', 'hostname', 'domainname', 'process.args[]', 'process.env[]', 'process.cwd', 'process.user.username',
  'mounts[].destination', 'mounts[].source', 'mounts[].type', 'mounts[].options[]',
  'hooks.*[].path', 'hooks.*[].args[]', 'hooks.*[].env[]',
  'linux.namespaces[].path', 'linux.devices[].path', 'linux.cgroupsPath', 'linux.maskedPaths[]', 'linux.readonlyPaths[]',
  'linux.sysctl.*', 'linux.resources.cpu.cpus', 'linux.resources.cpu.mems',
];

function nulProblems(config: Spec): Problem[] {
  const problems: Problem[] = [];
  for (const field of C_STRING_FIELDS) {
    for (const { path, value, key } of fieldValues(config, field)) {
      if (field.endsWith('.*') && key.includes('\0')) problems.push({ path, message: 'the key must not contain a NUL byte' });
      if (typeof value === 'string' && value.includes('\0')) problems.push({ path, message: 'must not contain a NUL byte' });
    }
  }
  return problems;
}

function obj(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

function arr(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

function isInteger(value: unknown): value is number | bigint {
  return typeof value === 'bigint' || Number.isInteger(value);
}

