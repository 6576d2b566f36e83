import { constants } from 'node:os';
import { TsrunError } from '../errors.ts';

const SIGNALS = constants.signals as Record<string, number>;

/** Accepts what runc accepts: "KILL", "SIGKILL", "kill" and "9"; 0 probes the container without signalling it. */
export function parseSignal(text: string | undefined): number {
  if (text === undefined || text === '') return SIGNALS.SIGTERM;
  if (/^\d+$/.test(text)) {
    const n = Number(text);
    if (n >= 0 && n <= 64) return n;
  } else {
    const name = text.toUpperCase();
    const n = SIGNALS[name.startsWith('SIG') ? name : `SIG${name}`];
    if (n !== undefined) return n;
  }
  throw new TsrunError('ERR_SIGNAL', `invalid signal ${JSON.stringify(text)}`);
}
