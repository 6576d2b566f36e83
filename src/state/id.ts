import { TsrunError } from '../errors.ts';

// runc's rule: letters, digits and _ + - . ; "." and ".." are path tricks, not names.
const VALID_ID = /^[\w+.-]+$/;

export function validateId(id: string | undefined): string {
  if (id === undefined || id === '') throw new TsrunError('ERR_USAGE', 'container id cannot be empty');
  if (!VALID_ID.test(id) || id === '.' || id === '..' || id.length > 1024) {
    throw new TsrunError('ERR_INVALID_ID', `invalid container id ${JSON.stringify(id)}: use only letters, digits and _ + - . (not "." or "..")`);
  }
  return id;
}
