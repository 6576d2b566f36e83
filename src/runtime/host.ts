// Facts about the host and the caller that create and exec both hand to the plan.
import { readFileSync } from 'node:fs';

/** The highest capability number this kernel knows. */
export function capLastCap(): number {
  return Number(readFileSync('/proc/sys/kernel/cap_last_cap', 'utf8'));
}
