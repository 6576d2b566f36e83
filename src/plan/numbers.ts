// Integers from config.json arrive as number, or as bigint when they did not fit a double exactly.
import type { Int64 } from '../spec/types.ts';
import { invalid } from './invalid.ts';

export function toBigInt(value: Int64, path: string): bigint {
  if (typeof value === 'bigint') return value;
  // src/spec/load.ts hands a number only when it is exact.
  if (!Number.isInteger(value)) throw invalid(path, `${value} is not an integer`);
  return BigInt(value);
}

const U64_MAX = (1n << 64n) - 1n;

/** A uint64 kept exact: 2^64-1 (RLIM_INFINITY) stays 18446744073709551615n. */
export function toU64(value: Int64, path: string): bigint {
  const v = toBigInt(value, path);
  if (v < 0n || v > U64_MAX) throw invalid(path, `${v} is not a uint64`);
  return v;
}
