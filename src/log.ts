// --log FILE with --log-format text|json. containerd shows users the msg of the last
// {"level":"error"} line, podman reads its log file as one JSON object: so every error is written
// exactly once, as one line, with the real cause in msg.
import { appendFileSync } from 'node:fs';

export type LogFormat = 'text' | 'json';
export type Level = 'debug' | 'info' | 'warning' | 'error';

export interface LogOptions {
  file?: string;
  format: LogFormat;
  debug: boolean;
}

let options: LogOptions = { format: 'text', debug: false };

export function configureLog(next: LogOptions): void {
  options = next;
}

export function log(level: Level, msg: string): void {
  if (level === 'debug' && !options.debug) return;
  const time = new Date().toISOString();
  const line =
    options.format === 'json'
      ? JSON.stringify({ level, msg, time })
      : `time="${time}" level=${level} msg=${JSON.stringify(msg)}`;
  if (options.file) {
    try {
      appendFileSync(options.file, line + '\n');
      // Errors and warnings reach the terminal too; the log file alone is easy to miss.
      if (level === 'debug' || level === 'info') return;
    } catch {
      // An unwritable log must not hide the message: fall through to stderr.
    }
  }
  if (level === 'error') process.stderr.write(`tsrun: ${msg}\n`);
  else process.stderr.write(options.format === 'json' ? line + '\n' : `tsrun: ${level}: ${msg}\n`);
}

export const warn = (msg: string): void => log('warning', msg);
export const debug = (msg: string): void => log('debug', msg);
