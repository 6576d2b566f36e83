// An unprivileged user can create cgroups only where one has been delegated to them. Without
// that, a container that asks for no resource limits runs in the caller's cgroup (as runc's
// rootless mode does); one that asks for limits is refused, naming the field and the reason.
import { TsrunError, isTsrunError } from '../errors.ts';
import { debug } from '../log.ts';
import type { LinuxResources } from '../spec/types.ts';
import { createCgroups, type CreatedCgroups } from './manager.ts';

const PERMISSION_ERRORS = new Set(['EACCES', 'EPERM', 'EROFS']);

export function createCgroupsUnprivileged(cgroupsPath: string | undefined, id: string, resources: LinuxResources | undefined): CreatedCgroups {
  try {
    return createCgroups(cgroupsPath, id);
  } catch (err) {
    if (!isTsrunError(err) || !PERMISSION_ERRORS.has(err.errno ?? '')) throw err;
    // Device rules need no cgroup here: in a user namespace the container reaches only the
    // device nodes bind-mounted from the host, with the host's permissions.
    const limits = Object.keys(resources ?? {}).filter((key) => key !== 'devices');
    if (limits.length) {
      throw new TsrunError('ERR_CGROUP', `linux.resources.${limits[0]}: limits need a cgroup, and this user may not create one (${err.message})`, {
        hint: 'delegate a cgroup to the user, or run as root',
      });
    }
    debug(`no cgroup for ${id}: ${err.message}`);
    return { dirs: [], leaves: [], parents: [], placements: [] };
  }
}
