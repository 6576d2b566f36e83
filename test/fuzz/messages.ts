// What a rejection of a fuzzed config must look like, shared by the in-process and the real-binary
// fuzz tests: each problem on a line of its own that starts with the JSON path at fault (or says
// where the JSON text is broken), a path that leads to the field in the config the user wrote, and
// nothing a person cannot read (stack frames, "undefined", "[object Object]", raw control or
// direction-changing characters, a field's 5000-character value echoed whole).

/** Codes a bad config.json may be refused with. */
export const CONFIG_CODES = new Set(['ERR_CONFIG_INVALID', 'ERR_NOT_SUPPORTED', 'ERR_USAGE', 'ERR_BUNDLE']);

/** Longest acceptable line of an error message. */
export const MAX_LINE = 400;

export type Segment = string | number;

/**
 * Splits a message into the paths it names, or says why it names none. `message` is the text of a
 * TsrunError (in-process), or the error line(s) of `tsrun create` with their "tsrun: " prefix and
 * the id taken off.
 */
export function namedPaths(message: string): { paths: { path: string; line: string }[] } | { bad: string } {
  let lines = message.split('\n');
  const header = /^invalid config \((\d+) problems?\):$/.exec(lines[0]);
  if (header) {
    lines = lines.slice(1);
    if (lines.length !== Number(header[1])) return { bad: `the header counts ${header[1]} problems, ${lines.length} lines follow` };
    if (!lines.every((l) => l.startsWith('  '))) return { bad: 'a problem line is not indented' };
    lines = lines.map((l) => l.slice(2));
  } else if (lines.length !== 1) return { bad: 'several lines without an "invalid config (N problems):" header' };

  const paths: { path: string; line: string }[] = [];
  for (const line of lines) {
    if (/^\S*config\.json: (invalid JSON at line \d+, column \d+: .+|the top level must be a JSON object)$/.test(line)) continue;
    // `root.path /x is not a directory`: the runtime's own check of the rootfs
    const rootfs = /^root\.path ([\s\S]+?)(?: is not a directory|: .+)$/.exec(line);
    if (rootfs) {
      paths.push({ path: 'root.path', line });
      continue;
    }
    const unsupported = /^not supported: (.+)$/.exec(line);
    if (unsupported) {
      const list = unsupported[1];
      const one = splitPath(list);
      if (one && list.slice(one.length).startsWith(': ')) paths.push({ path: one, line });
      else for (const p of list.split(', ')) paths.push({ path: p, line });
      continue;
    }
    const path = splitPath(line);
    if (!path || !/^(: |, | is )/.test(line.slice(path.length))) return { bad: `the line does not start with a field path: ${JSON.stringify(line.slice(0, 120))}` };
    paths.push({ path: path === '(config)' ? '' : path, line });
  }
  return { paths };
}

/** The path at the start of `line` ("linux.sysctl[\"a.b\"]", "mounts[2].options", "(config)"), or undefined. */
function splitPath(line: string): string | undefined {
  if (line.startsWith('(config)')) return '(config)';
  const m = /^(?:[A-Za-z_$][\w$]*|\["(?:[^"\\]|\\.)*"\])(?:\.[A-Za-z_$][\w$]*|\[\d+\]|\["(?:[^"\\]|\\.)*"\])*/.exec(line);
  return m?.[0];
}

export function parsePath(path: string): Segment[] {
  const out: Segment[] = [];
  const re = /\.?([A-Za-z_$][\w$]*)|\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]/y;
  while (re.lastIndex < path.length) {
    const m = re.exec(path);
    if (!m) throw new Error(`unparsable path ${path}`);
    out.push(m[1] ?? (m[2] !== undefined ? Number(m[2]) : (JSON.parse(m[3]) as string)));
  }
  return out;
}

type Node = unknown;

function child(node: Node, key: Segment): { found: boolean; value?: Node } {
  if (Array.isArray(node)) return typeof key === 'number' && key < node.length ? { found: true, value: node[key] } : { found: false };
  if (typeof node === 'object' && node !== null && typeof key === 'string' && Object.hasOwn(node, key)) {
    return { found: true, value: (node as Record<string, unknown>)[key] };
  }
  return { found: false };
}

/**
 * Whether the path leads to a field of the config, or to a missing field whose parent is there
 * (for "is required" and "needs ..." problems).
 */
export function pathFits(config: Node, path: string): boolean {
  let node = config;
  const segments = parsePath(path);
  for (let i = 0; i < segments.length; i++) {
    const next = child(node, segments[i]);
    if (!next.found) {
      // missing: fine as the last segment under an object (or a missing object's own parent chain
      // for "linux.uidMappings" when linux itself is absent but the rule is about the whole config)
      return i === segments.length - 1 && (typeof node === 'object' && node !== null && !Array.isArray(node));
    }
    node = next.value;
  }
  return true;
}

/** Characters no error line should carry: controls, lone surrogates, bidirectional overrides. */
// eslint-disable-next-line no-control-regex
const UNREADABLE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Problems with the text of a message, whatever it refuses. */
export function hygieneProblems(message: string): string[] {
  const problems: string[] = [];
  if (/\n\s+at .+:\d+:\d+\)?$/m.test(message)) problems.push('a stack trace');
  for (const word of ['undefined', '[object Object]', 'NaN', 'null (got', 'TypeError', 'RangeError']) {
    if (message.includes(word)) problems.push(`"${word}" in the message`);
  }
  const line = message.split('\n').find((l) => l.length > MAX_LINE);
  if (line) problems.push(`a line of ${line.length} characters`);
  const odd = UNREADABLE.exec(message);
  if (odd) problems.push(`an unreadable character U+${odd[0].charCodeAt(0).toString(16).padStart(4, '0')}`);
  if (message.trim() === '') problems.push('an empty message');
  return problems;
}

/** Everything wrong with a rejection of `config` (undefined when the JSON did not parse). */
export function rejectionProblems(message: string, config: Node | undefined): string[] {
  const problems = hygieneProblems(message);
  const named = namedPaths(message);
  if ('bad' in named) return [...problems, named.bad];
  for (const { path, line } of named.paths) {
    if (config === undefined) {
      problems.push(`names ${path} but the JSON did not parse: ${line.slice(0, 120)}`);
      continue;
    }
    let fits: boolean;
    try {
      fits = pathFits(config, path);
    } catch (err) {
      problems.push((err as Error).message);
      continue;
    }
    if (!fits) problems.push(`names ${path || '(config)'}, which is not in the config: ${line.slice(0, 160)}`);
  }
  return problems;
}
