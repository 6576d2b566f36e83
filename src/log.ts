// --log FILE with --log-format text|json. containerd shows users the msg of the last
// {"level":"error"} line; podman reads its log file as ONE JSON object. So every error is written
// exactly once, as one line, with the real cause in msg, and in a JSON log a failed command leaves
// that line alone: its warnings are held until exit and dropped if an error comes. With a log
// file nothing but errors goes to stderr, which may be the container's own stderr (create).
import { appendNoFollow, refuseSymlink } from './files.ts';

export type LogFormat = 'text' | 'json';
export type Level = 'debug' | 'info' | 'warning' | 'error';

export interface LogOptions {
  file?: string;
  format: LogFormat;
  debug: boolean;
}

let options: LogOptions = { format: 'text', debug: false };
let heldWarnings: string[] = [];

/** A symlink at the log's path is refused; the file is only created once there is something to log. */
export function configureLog(next: LogOptions): void {
  if (next.file) refuseSymlink(next.file, '--log');
  options = next;
  if (next.file && next.format === 'json') process.once('exit', () => heldWarnings.forEach(append));
}

export function log(level: Level, msg: string): void {
  if (level === 'debug' && !options.debug) return;
  const time = new Date().toISOString();
  const line =
    options.format === 'json'
      ? JSON.stringify({ level, msg, time })
      : `time="${time}" level=${level} msg=${JSON.stringify(msg)}`;
  if (!options.file) {
    process.stderr.write(level === 'error' ? `tsrun: ${msg}\n` : options.format === 'json' ? line + '\n' : `tsrun: ${level}: ${msg}\n`);
    return;
  }
  if (level === 'warning' && options.format === 'json') heldWarnings.push(line);
  else {
    if (level === 'error') heldWarnings = [];
    // An unwritable log must not hide an error: it still reaches stderr below.
    append(line);
  }
  if (level === 'error') process.stderr.write(`tsrun: ${msg}\n`);
}

function append(line: string): void {
  try {
    appendNoFollow(options.file!, line + '\n');
  } catch {
    // Logging must never turn a result into a failure.
  }
}

export const warn = (msg: string): void => log('warning', msg);
export const debug = (msg: string): void => log('debug', msg);
