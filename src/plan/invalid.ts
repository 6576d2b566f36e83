// The plan builders' one way to refuse a config: an error that names the JSON path at fault.
import { TsrunError } from '../errors.ts';

/** A config that cannot be turned into a plan: `path` is the JSON path, e.g. "mounts[2].options". */
export function invalid(path: string, message: string): TsrunError {
  return new TsrunError('ERR_CONFIG_INVALID', `${path}: ${message}`);
}

/** A valid config asking for something tsrun does not implement. */
export function unsupported(path: string, message: string): TsrunError {
  return new TsrunError('ERR_NOT_SUPPORTED', `not supported: ${path}: ${message}`);
}
