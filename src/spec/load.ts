// Reads <bundle>/config.json. JSON.parse would round integers above 2^53 (an rlimit of 2^64-1, a
// memory limit in bytes), so the file goes through a small exact parser instead: integers outside
// the safe range come back as bigint, everything else exactly as JSON.parse gives it.
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { TsrunError, systemError } from '../errors.ts';
import type { Spec } from './types.ts';

export function loadConfig(bundle: string): { config: Spec; path: string } {
  const path = join(bundle, 'config.json');
  const kind = kindOf(bundle);
  if (kind !== 'dir') {
    const what = kind === 'missing' ? 'does not exist' : 'is not a directory';
    throw new TsrunError('ERR_BUNDLE', `bundle ${bundle} ${what}: cannot read ${path}`, { errno: kind === 'missing' ? 'ENOENT' : 'ENOTDIR' });
  }
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw systemError(`read ${path}`, err, 'ERR_BUNDLE');
  }
  const config = parseJson(text, path);
  if (config === null || typeof config !== 'object' || Array.isArray(config)) {
    throw new TsrunError('ERR_CONFIG_INVALID', `${path}: the top level must be a JSON object`);
  }
  return { config: config as Spec, path };
}

function kindOf(bundle: string): 'dir' | 'other' | 'missing' {
  try {
    return statSync(bundle).isDirectory() ? 'dir' : 'other';
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return 'missing';
    throw systemError(`bundle ${bundle}`, err, 'ERR_BUNDLE');
  }
}

const NUMBER = /-?(?:0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/y;
const LITERALS: [string, unknown][] = [['true', true], ['false', false], ['null', null]];

const BIGINT_MARK = '\u0000bigint:';

/** JSON text for a value that may hold parseJson's bigints, written as the exact integers they are. */
export function stringifyJson(value: unknown): string {
  const text = JSON.stringify(value, (_key, v) => (typeof v === 'bigint' ? `${BIGINT_MARK}${v}` : v));
  return text.replace(/"\\u0000bigint:(-?\d+)"/g, '$1');
}

/**
 * JSON (RFC 8259) to values, with integers beyond ±(2^53-1) as bigint. `source` names the text in
 * errors, which give the line and column of the first problem.
 */
export function parseJson(text: string, source = 'JSON'): unknown {
  let i = 0;
  const fail = (what: string, at = i): never => {
    const before = text.slice(0, at);
    const line = before.split('\n').length;
    const column = at - before.lastIndexOf('\n');
    throw new TsrunError('ERR_CONFIG_INVALID', `${source}: invalid JSON at line ${line}, column ${column}: ${what}`);
  };
  const unexpected = (): never =>
    i >= text.length ? fail('unexpected end of input') : fail(`unexpected character ${JSON.stringify(text[i])}`);
  const space = () => {
    while (i < text.length && (text[i] === ' ' || text[i] === '\t' || text[i] === '\n' || text[i] === '\r')) i++;
  };
  const expect = (ch: string) => {
    space();
    if (text[i] !== ch) unexpected();
    i++;
  };
  const string = (): string => {
    const start = i++;
    let escaped = false;
    for (;;) {
      const c = text.charCodeAt(i);
      if (Number.isNaN(c)) return fail('unterminated string', start);
      if (c === 0x22) break;
      if (c < 0x20) return fail('control character in string');
      if (c === 0x5c) {
        escaped = true;
        i++;
      }
      i++;
    }
    i++;
    if (!escaped) return text.slice(start + 1, i - 1);
    try {
      return JSON.parse(text.slice(start, i)) as string;
    } catch {
      return fail('invalid escape in string', start);
    }
  };
  const value = (depth: number): unknown => {
    if (depth > 512) fail('nested too deeply');
    space();
    const c = text[i];
    if (c === '"') return string();
    if (c === '{') {
      i++;
      const obj: Record<string, unknown> = {};
      space();
      if (text[i] === '}') return i++, obj;
      for (;;) {
        space();
        if (text[i] !== '"') unexpected();
        const key = string();
        expect(':');
        // defineProperty: a "__proto__" key is data, as JSON.parse makes it, not the prototype.
        Object.defineProperty(obj, key, { value: value(depth + 1), enumerable: true, writable: true, configurable: true });
        space();
        if (text[i] === ',') i++;
        else if (text[i] === '}') return i++, obj;
        else unexpected();
      }
    }
    if (c === '[') {
      i++;
      const arr: unknown[] = [];
      space();
      if (text[i] === ']') return i++, arr;
      for (;;) {
        arr.push(value(depth + 1));
        space();
        if (text[i] === ',') i++;
        else if (text[i] === ']') return i++, arr;
        else unexpected();
      }
    }
    if (c === '-' || (c >= '0' && c <= '9')) {
      NUMBER.lastIndex = i;
      const m = NUMBER.exec(text);
      if (!m) return unexpected();
      i = NUMBER.lastIndex;
      const token = m[0];
      if (m[1] === undefined && m[2] === undefined) {
        const n = Number(token);
        return Number.isSafeInteger(n) ? n : BigInt(token);
      }
      return Number(token);
    }
    for (const [word, v] of LITERALS) {
      if (text.startsWith(word, i)) {
        i += word.length;
        return v;
      }
    }
    return unexpected();
  };
  const result = value(0);
  space();
  if (i < text.length) unexpected();
  return result;
}
