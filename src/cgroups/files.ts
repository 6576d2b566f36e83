// Reading and writing cgroup files, with errors that name the file and the config field behind it.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TsrunError, systemError } from '../errors.ts';
import { debug } from '../log.ts';

export function hasFile(dir: string, file: string): boolean {
  return existsSync(join(dir, file));
}

/** Writes one value; `field` is the config field it comes from, for the error message. */
export function writeFile(dir: string, file: string, value: string | number | bigint, field: string): void {
  const path = join(dir, file);
  debug(`cgroup: write ${value} to ${path} (${field})`);
  try {
    // r+: a cgroup file that does not exist is a feature the kernel lacks, never a file to create
    writeFileSync(path, String(value), { flag: 'r+' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' && existsSync(dir)) {
      throw new TsrunError('ERR_CGROUP', `${field}: this kernel has no ${file} in ${dir}`);
    }
    throw systemError(`${field}: write ${JSON.stringify(String(value))} to ${path}`, err, 'ERR_CGROUP');
  }
}

export function readFile(dir: string, file: string): string | undefined {
  try {
    return readFileSync(join(dir, file), 'utf8');
  } catch {
    return undefined;
  }
}

/** A file holding one number ("max" and missing files are undefined). */
export function readNumber(dir: string, file: string): bigint | undefined {
  const text = readFile(dir, file)?.trim();
  return text && /^-?\d+$/.test(text) ? BigInt(text) : undefined;
}

/** "key value" lines (memory.stat, cpu.stat, memory.events) as a map. */
export function readKeyValues(dir: string, file: string): Map<string, bigint> {
  const values = new Map<string, bigint>();
  for (const line of (readFile(dir, file) ?? '').split('\n')) {
    const [key, value] = line.trim().split(/\s+/);
    if (key && value && /^-?\d+$/.test(value)) values.set(key, BigInt(value));
  }
  return values;
}
