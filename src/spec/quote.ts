// Values and keys from config.json as they appear in error messages. A message goes to a terminal
// or a log line: a config value must not be able to recolour it (ESC), reorder it (bidirectional
// overrides such as U+202E), break it into lines (U+2028, U+0085) or fill the screen, so it is
// quoted, everything not plainly visible is escaped, and a long value is cut short.

/** C0 and C1 controls, DEL, the line and paragraph separators, bidirectional marks, lone surrogates. */
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

const escape = (ch: string) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`;

/** Text that may carry config values (the init's error lines): every unsafe character escaped. */
export function escapeUnsafe(text: string): string {
  return text.replace(UNSAFE, escape);
}

/** Characters of a quoted value beyond which the rest is left out. */
export const QUOTE_MAX = 100;

/** `"value"` for a message: escaped as above, and cut to its first QUOTE_MAX characters. */
export function quote(value: string): string {
  const cut = value.length > QUOTE_MAX;
  // Cut on a code point boundary: half a surrogate pair would show as an escape of its own.
  let shown = cut ? value.slice(0, QUOTE_MAX) : value;
  if (cut && /[\ud800-\udbff]$/.test(shown)) shown = shown.slice(0, -1);
  const text = `"${shown.replace(/["\\]/g, (c) => `\\${c}`).replace(UNSAFE, escape)}"`;
  return cut ? `${text}... (${value.length} characters)` : text;
}

/** "linux.sysctl" + "net.ipv4.ip_forward" → `linux.sysctl["net.ipv4.ip_forward"]`; plain names take a dot. */
export function joinPath(path: string, key: string): string {
  if (/^[A-Za-z_$][\w$]*$/.test(key)) return path ? `${path}.${key}` : key;
  return keyPath(path, key);
}

/** `path["key"]` for any key: named in full, escaped but never cut, since the path must lead to it. */
export function keyPath(path: string, key: string): string {
  return `${path}[${JSON.stringify(key).replace(UNSAFE, escape)}]`;
}
