// A structure-aware mutator for config.json: it takes a real config, picks random nodes of its
// tree and breaks them the ways a careless or hostile client would (wrong types, extreme numbers,
// deep nesting, bad paths, odd unicode, missing, unknown and duplicated fields), then writes the
// result as JSON text, sometimes damaged as text too. Everything comes from a seeded PRNG, so a
// case is reproduced by its seed alone.

/** A JSON value as the mutator holds it: bigints and raw number tokens are written verbatim. */
export type Value = null | boolean | number | bigint | string | RawNumber | Value[] | { [key: string]: Value };
export type Key = string | number;

/** A number token written as given ("1e400", "-0", "1.0"), which no JS number prints as. */
export class RawNumber {
  constructor(readonly text: string) {}
}

// ---- PRNG -----------------------------------------------------------------------------------

export interface Rng {
  /** an integer in [0, n) */
  int(n: number): number;
  chance(p: number): boolean;
  pick<T>(items: readonly T[]): T;
}

/** mulberry32: small, fast and good enough to drive a fuzzer. */
export function rng(seed: number): Rng {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  return { int, chance: (p) => next() < p, pick: (items) => items[int(items.length)] };
}

/** The seed of case `index` of a run: cases are independent, so one can be replayed alone. */
export function caseSeed(runSeed: number, index: number): number {
  return (Math.imul(runSeed ^ 0x9e3779b9, 0x85ebca6b) + Math.imul(index + 1, 0xc2b2ae35)) >>> 0;
}

// ---- palettes -------------------------------------------------------------------------------

const HUGE_NUMBERS: Value[] = [
  2 ** 31, -(2 ** 31) - 1, 2 ** 32, 2 ** 32 - 1, -1, -2, 2 ** 53 - 1, 2n ** 53n + 1n, 2n ** 63n - 1n, 2n ** 63n,
  -(2n ** 63n), -(2n ** 63n) - 1n, 2n ** 64n - 1n, 2n ** 64n, -(2n ** 64n), 10n ** 30n, -(10n ** 30n), 1e308, -1e308,
  0.5, -0.5, 1.5, 1e-7, 3.14159, 1e21, new RawNumber('1e400'), new RawNumber('-1e400'), new RawNumber('1.0'),
  new RawNumber('1E3'), new RawNumber('-0'), new RawNumber('0.0'), new RawNumber('1e-400'),
  new RawNumber('123456789012345678901234567890.5'),
];

const LONG = 'x'.repeat(5000);
const BAD_PATHS: string[] = [
  '', '.', './', '..', '../..', 'relative/path', 'rootfs/../..', '/../../etc', '/a/../../b', '/..', '//', '///x//',
  '/trailing/', ' /leading-space', '/tab\there', '/new\nline', '/nul\0byte', '\0', '/x\0/y', '~/home', '-flag',
  `/${LONG}`, '/' + 'a/'.repeat(3000), '/' + '../'.repeat(100) + 'x', '/proc/self/../..', 'C:\\windows',
  '/dev/../dev/null', '/%s%n%x', '/$(true)', '/`id`', '/*', '/?',
];

const ODD_UNICODE: string[] = [
  '\uD800', '\uDFFF', '\uDBFF\uDBFF', 'a\uDC00b', '\u202E', '\u202Egnp.exe', '\u200F', '\u2066', 'e\u0301',
  '\u0301', 'a\u0300\u0301\u0302\u0303\u0304', '\u200B', '\u200D', '\uFEFF', '\uFFFD', '\uFFFF', '\u{1F600}',
  '\u{10FFFF}', '\u0130', '\uFF0F', '\u2028', '\u2029', '\u0085', '\u001B[31m', '\u0007', '\u007F', '\r', 'Ω≈ç√',
  '\u0000',
];

const ODD_KEYS: string[] = [
  'x-unknown', '__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf', '', ' ', '\u0000',
  '\uD800', '\u202Ekey', 'a.b', 'a/b', '[0]', '0', '-1', 'then', LONG.slice(0, 300), 'ociVersion', 'type', 'path',
];

/** Spec fields, put in at their place with plausible values, to reach the code behind them. */
const TEMPLATES: [Key[], () => Value][] = [
  [['linux', 'sysctl'], () => ({ 'net.ipv4.ip_forward': '1', 'kernel.shmmax': '1024' })],
  [['linux', 'sysctl', 'net/ipv4/conf/all/forwarding'], () => '1'],
  [['linux', 'sysctl', 'kernel.hostname'], () => 'x'],
  [['linux', 'sysctl', 'fs.mqueue.msg_max'], () => '10'],
  [['linux', 'namespaces', '+'], () => ({ type: 'user' })],
  [['linux', 'namespaces', '+'], () => ({ type: 'time' })],
  [['linux', 'namespaces', '+'], () => ({ type: 'network', path: '/var/run/netns/tsrun-fuzz-missing' })],
  [['linux', 'namespaces', '+'], () => ({ type: 'cgroup' })],
  [['linux', 'uidMappings'], () => [{ containerID: 0, hostID: 100000, size: 65536 }]],
  [['linux', 'gidMappings'], () => [{ containerID: 0, hostID: 100000, size: 65536 }]],
  [['linux', 'timeOffsets'], () => ({ monotonic: { secs: 10, nanosecs: 0 }, boottime: { secs: -10, nanosecs: 999999999 } })],
  [['linux', 'devices', '+'], () => ({ path: '/dev/fuse', type: 'c', major: 10, minor: 229, fileMode: 438, uid: 0, gid: 0 })],
  [['linux', 'devices', '+'], () => ({ path: '/dev/fifo0', type: 'p' })],
  [['linux', 'resources', 'devices', '+'], () => ({ allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' })],
  [['linux', 'resources', 'memory'], () => ({ limit: 67108864, reservation: 33554432, swap: 134217728, swappiness: 60 })],
  [['linux', 'resources', 'cpu'], () => ({ shares: 512, quota: 50000, period: 100000, cpus: '0', mems: '0' })],
  [['linux', 'resources', 'pids'], () => ({ limit: 64 })],
  [['linux', 'resources', 'blockIO'], () => ({ weight: 100 })],
  [['linux', 'resources', 'hugepageLimits'], () => [{ pageSize: '2MB', limit: 0 }]],
  [['linux', 'rootfsPropagation'], () => 'rslave'],
  [['linux', 'seccomp'], () => ({ defaultAction: 'SCMP_ACT_ALLOW' })],
  [['linux', 'intelRdt'], () => ({})],
  [['linux', 'personality'], () => ({ domain: 'LINUX32' })],
  [['linux', 'maskedPaths', '+'], () => '/proc/kcore'],
  [['linux', 'readonlyPaths', '+'], () => '/proc/sys'],
  [['process', 'rlimits', '+'], () => ({ type: 'RLIMIT_CORE', soft: 0, hard: 0 })],
  [['process', 'rlimits', '+'], () => ({ type: 'RLIMIT_NOFILE', soft: 2n ** 64n - 1n, hard: 2n ** 64n - 1n })],
  [['process', 'capabilities', 'bounding', '+'], () => 'CAP_SYS_ADMIN'],
  [['process', 'capabilities', 'ambient', '+'], () => 'CAP_NOT_A_CAP'],
  [['process', 'user', 'additionalGids'], () => [1, 2, 3]],
  [['process', 'user', 'umask'], () => 0o77],
  [['process', 'oomScoreAdj'], () => 500],
  [['process', 'consoleSize'], () => ({ height: 24, width: 80 })],
  [['process', 'terminal'], () => true],
  [['process', 'ioPriority'], () => ({ class: 'IOPRIO_CLASS_IDLE', priority: 0 })],
  [['process', 'scheduler'], () => ({ policy: 'SCHED_OTHER' })],
  [['process', 'commandLine'], () => 'sh -c true'],
  [['mounts', '+'], () => ({ destination: '/mnt', type: 'bind', source: '/tmp', options: ['rbind', 'ro', 'rprivate'] })],
  [['mounts', '+'], () => ({ destination: '/data', type: 'tmpfs', source: 'tmpfs', options: ['size=1m', 'mode=700', 'nosymfollow', 'rro'] })],
  [['mounts', '+'], () => ({ destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['ro'] })],
  [['mounts', '+'], () => ({ destination: '/m', type: 'bind', source: 'rootfs', options: ['bind'], uidMappings: [{ containerID: 0, hostID: 1, size: 1 }] })],
  [['hooks', 'createContainer'], () => [{ path: '/tsrun-fuzz-missing/hook', args: ['hook'], env: ['A=b'], timeout: 1 }]],
  [['hooks', 'prestart'], () => [{ path: '/tsrun-fuzz-missing/hook' }]],
  [['hostname'], () => 'fuzz'],
  [['domainname'], () => 'fuzz.example'],
  [['annotations'], () => ({ 'org.example.key': 'value' })],
  [['root', 'readonly'], () => false],
];

// ---- the tree -------------------------------------------------------------------------------

const isObject = (v: unknown): v is { [key: string]: Value } =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof RawNumber);

interface Node {
  value: Value;
  parent?: Node;
  key?: Key;
}

/** The path of a node from the root, made only for the node picked. */
function pathOf(node: Node): Key[] {
  const path: Key[] = [];
  for (let n: Node | undefined = node; n?.parent; n = n.parent) path.push(n.key!);
  return path.reverse();
}

/** Every node of the tree, the root first. */
function nodes(root: Value): Node[] {
  const out: Node[] = [];
  const walk = (node: Node) => {
    out.push(node);
    const v = node.value;
    if (Array.isArray(v)) for (let i = 0; i < v.length; i++) walk({ value: v[i], parent: node, key: i });
    else if (isObject(v)) for (const k of Object.keys(v)) walk({ value: v[k], parent: node, key: k });
  };
  walk({ value: root });
  return out;
}

const pickPath = (r: Rng, candidates: Node[]) => pathOf(r.pick(candidates));

function get(root: Value, path: Key[]): Value | undefined {
  let node: Value | undefined = root;
  for (const k of path) {
    if (Array.isArray(node) && typeof k === 'number') node = node[k];
    else if (isObject(node) && Object.hasOwn(node, k)) node = node[k];
    else return undefined;
  }
  return node;
}

/** Sets a child as data, even when the key is "__proto__". */
function setChild(parent: Value[] | { [key: string]: Value }, key: Key, value: Value): void {
  Object.defineProperty(parent, key, { value, enumerable: true, writable: true, configurable: true });
}

function set(root: Value, path: Key[], value: Value): Value {
  if (path.length === 0) return value;
  const parent = get(root, path.slice(0, -1));
  if (Array.isArray(parent) || isObject(parent)) setChild(parent, path[path.length - 1], value);
  return root;
}

function clone(v: Value): Value {
  if (Array.isArray(v)) return v.map(clone);
  if (isObject(v)) {
    const out: { [key: string]: Value } = {};
    for (const k of Object.keys(v)) setChild(out, k, clone(v[k]));
    return out;
  }
  return v;
}

// ---- mutations ------------------------------------------------------------------------------

type Mutation = (root: Value, r: Rng, log: string[]) => Value;

const show = (path: Key[]) => (path.length ? path.map((k) => (typeof k === 'number' ? `[${k}]` : `.${k}`)).join('').replace(/^\./, '') : '(root)');
const describeValue = (v: Value) => {
  const text = toJson(v);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
};

function anyValue(r: Rng, depth = 0): Value {
  switch (r.int(depth > 2 ? 5 : 7)) {
    case 0: return null;
    case 1: return r.chance(0.5);
    case 2: return r.pick(HUGE_NUMBERS);
    case 3: return r.pick([...BAD_PATHS, ...ODD_UNICODE, 'CAP_SYS_ADMIN', 'RLIMIT_NOFILE', 'mount', 'bind', 'true', '0']);
    case 4: return r.int(100);
    case 5: return Array.from({ length: r.int(4) }, () => anyValue(r, depth + 1));
    default: {
      const o: { [key: string]: Value } = {};
      for (let i = r.int(4); i > 0; i--) setChild(o, r.pick(ODD_KEYS), anyValue(r, depth + 1));
      return o;
    }
  }
}

const typeOf = (v: Value | undefined) =>
  v === null ? 'null' : Array.isArray(v) ? 'array' : v instanceof RawNumber || typeof v === 'bigint' ? 'number' : typeof v;

const replaceWith = (what: string, make: (r: Rng, old: Value | undefined) => Value): Mutation => (root, r, log) => {
  const path = pickPath(r, nodes(root));
  const old = get(root, path);
  const value = make(r, old);
  log.push(`${what} ${show(path)} = ${describeValue(value)}`);
  return set(root, path, value);
};

const wrongType = replaceWith('wrong type at', (r, old) => {
  for (;;) {
    const v = anyValue(r);
    if (typeOf(v) !== typeOf(old)) return v;
  }
});

const hugeNumber = replaceWith('number at', (r) => r.pick(HUGE_NUMBERS));

const badPath = replaceWith('bad path at', (r) => r.pick(BAD_PATHS));

const emptyValue = replaceWith('empty value at', (r) => r.pick<Value>(['', [], {}, 0, null, false, ' ']));

/** Number leaves get extreme numbers, string leaves bad paths or odd unicode: where they hurt most. */
const leafMutation: Mutation = (root, r, log) => {
  const leaves = nodes(root).filter(({ value: v }) => typeof v === 'string' || typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean');
  if (leaves.length === 0) return wrongType(root, r, log);
  const leaf = r.pick(leaves);
  const path = pathOf(leaf);
  const old = leaf.value;
  let value: Value;
  if (typeof old === 'string') {
    const odd = r.pick(ODD_UNICODE);
    value = r.int(3) === 0 ? r.pick(BAD_PATHS) : r.chance(0.5) ? old + odd : odd + old;
  } else value = r.pick(HUGE_NUMBERS);
  log.push(`leaf ${show(path)} = ${describeValue(value)}`);
  return set(root, path, value);
};

/** How deep the tree goes below v: nests stay within what the writer's recursion can take. */
function depthOf(v: Value): number {
  if (Array.isArray(v)) return 1 + v.reduce<number>((d, c) => Math.max(d, depthOf(c)), 0);
  if (isObject(v)) return 1 + Object.values(v).reduce<number>((d, c) => Math.max(d, depthOf(c)), 0);
  return 0;
}
const MAX_DEPTH = 2100;

const deepNest: Mutation = (root, r, log) => {
  const path = pickPath(r, nodes(root));
  const room = MAX_DEPTH - depthOf(root);
  const depth = Math.min(room, r.pick([2, 10, 100, 500, 511, 512, 513, 2000]));
  if (depth <= 0) return root;
  let v: Value = clone(get(root, path) ?? null);
  for (let i = 0; i < depth; i++) v = r.chance(0.5) ? [v] : { a: v };
  log.push(`nest ${show(path)} ${depth} deep`);
  return set(root, path, v);
};

const removeField: Mutation = (root, r, log) => {
  const all = nodes(root);
  if (all.length < 2) return root;
  const path = pickPath(r, all.slice(1));
  const parent = get(root, path.slice(0, -1));
  const key = path[path.length - 1];
  if (Array.isArray(parent)) parent.splice(key as number, 1);
  else if (isObject(parent)) delete parent[key];
  log.push(`remove ${show(path)}`);
  return root;
};

const unknownField: Mutation = (root, r, log) => {
  const objects = nodes(root).filter((n) => isObject(n.value));
  if (objects.length === 0) return root;
  const picked = r.pick(objects);
  const path = pathOf(picked);
  const target = picked.value;
  if (!isObject(target)) return root;
  const key = r.chance(0.7) ? r.pick(ODD_KEYS) : `x${r.int(1000)}`;
  const value = anyValue(r);
  setChild(target, key, value);
  log.push(`unknown field ${show([...path, key])} = ${describeValue(value)}`);
  return root;
};

const duplicateEntry: Mutation = (root, r, log) => {
  const arrays = nodes(root).filter((n) => Array.isArray(n.value) && n.value.length > 0);
  if (arrays.length === 0) return unknownField(root, r, log);
  const picked = r.pick(arrays);
  const path = pathOf(picked);
  const list = picked.value as Value[];
  const i = r.int(list.length);
  list.splice(r.int(list.length + 1), 0, clone(list[i]));
  log.push(`duplicate ${show([...path, i])}`);
  return root;
};

/** A value from elsewhere in the same config: the right kind of data in the wrong field. */
const transplant: Mutation = (root, r, log) => {
  const all = nodes(root);
  const from = pickPath(r, all);
  const to = pickPath(r, all);
  if (to.length === 0 || from.length === 0 || depthOf(root) * 2 > MAX_DEPTH) return root;
  log.push(`transplant ${show(from)} to ${show(to)}`);
  return set(root, to, clone(get(root, from)!));
};

const template: Mutation = (root, r, log) => {
  if (!isObject(root)) return root;
  const [path, make] = r.pick(TEMPLATES);
  let node: Value = root;
  for (let i = 0; i < path.length - 1; i++) {
    const k = path[i];
    const last = i === path.length - 2;
    const wantArray = path[i + 1] === '+';
    if (!isObject(node)) return root;
    if (!Object.hasOwn(node, k) || (wantArray ? !Array.isArray(node[k]) : !isObject(node[k]) && !last)) {
      setChild(node, k, wantArray ? [] : {});
    }
    node = node[k];
    if (wantArray) break;
  }
  const value = make();
  const key = path[path.length - 1];
  if (key === '+' && Array.isArray(node)) node.push(value);
  else if (isObject(node)) setChild(node, key, value);
  log.push(`field ${path.join('.')} = ${describeValue(value)}`);
  return root;
};

const MUTATIONS: [number, Mutation][] = [
  [3, wrongType], [2, hugeNumber], [2, badPath], [1, emptyValue], [5, leafMutation], [1, deepNest],
  [3, removeField], [2, unknownField], [2, duplicateEntry], [1, transplant], [5, template],
];
const TOTAL_WEIGHT = MUTATIONS.reduce((n, [w]) => n + w, 0);

function pickMutation(r: Rng): Mutation {
  let n = r.int(TOTAL_WEIGHT);
  for (const [w, m] of MUTATIONS) {
    if ((n -= w) < 0) return m;
  }
  return MUTATIONS[0][1];
}

export interface MutatedCase {
  /** config.json as written */
  text: string;
  /** what was done, for the failure report */
  log: string[];
}

/** 1 to `most` mutations of a copy of `base`; now and then the text itself is damaged as well. */
export function mutate(base: Value, r: Rng, most = 4): MutatedCase {
  let root = structuredClone(base);
  const log: string[] = [];
  for (let n = 1 + r.int(most); n > 0; n--) root = pickMutation(r)(root, r, log);
  // Indented only when shallow: a 2000-deep nest would make megabytes of spaces.
  let text = toJson(root, r.chance(0.5) && depthOf(root) < 40 ? 2 : 0);
  if (r.chance(0.04)) text = damageText(text, r, log);
  return { text, log };
}

/** Text-level damage: what no tree can express. */
function damageText(text: string, r: Rng, log: string[]): string {
  switch (r.int(7)) {
    case 0: {
      const at = r.int(text.length);
      log.push(`truncate the text at ${at}`);
      return text.slice(0, at);
    }
    case 1:
      log.push('byte order mark');
      return `\uFEFF${text}`;
    case 2: {
      log.push('duplicated key ociVersion');
      return text.replace(/^\{/, '{"ociVersion": 7, ');
    }
    case 3:
      log.push('trailing comma');
      return text.replace(/\}\s*$/, ',}');
    case 4:
      log.push('nested 100000 deep');
      return `${'['.repeat(100000)}${']'.repeat(100000)}`;
    case 5: {
      const at = r.int(text.length);
      const junk = r.pick(['\0', '\x01', "'", 'Infinity', '//', '/*', '\\', '\uD800', 'nul', '-']);
      log.push(`insert ${JSON.stringify(junk)} at ${at}`);
      return text.slice(0, at) + junk + text.slice(at);
    }
    default:
      log.push('garbage after the document');
      return `${text} {}`;
  }
}

// ---- writing --------------------------------------------------------------------------------

const RAW = '\u0000\ufdd0raw:';

/**
 * JSON text with bigints and raw number tokens verbatim; keys in insertion order. JSON.stringify
 * does the work: they pass through it as marked strings, which are then unquoted.
 */
export function toJson(v: Value, indent = 0): string {
  const text = JSON.stringify(v, (_, x: unknown) => (typeof x === 'bigint' ? `${RAW}${x}` : x instanceof RawNumber ? `${RAW}${x.text}` : x), indent || undefined);
  return text.includes('\\u0000\ufdd0raw:') ? text.replace(/"\\u0000\ufdd0raw:([^"]*)"/g, '$1') : text;
}
