// The Linux mount option table of runtime-spec config.md, as runc and crun read it: each option
// sets or clears an MS_* flag, changes propagation, or sets or clears a MOUNT_ATTR_* attribute
// recursively (mount_setattr with AT_RECURSIVE); anything else is filesystem data.
import * as c from './constants.ts';
import { unsupported } from './invalid.ts';

interface FlagOption {
  clear: boolean;
  flag: number;
}

/** Options applied with mount(2): later options override earlier ones ("ro,rw" is rw). */
const FLAG_OPTIONS = new Map<string, FlagOption>([
  ['async', { clear: true, flag: c.MS_SYNCHRONOUS }],
  ['atime', { clear: true, flag: c.MS_NOATIME }],
  ['bind', { clear: false, flag: c.MS_BIND }],
  // mount(8) and crun read "defaults" as a placeholder (runc passes it on as fs data, where it fails)
  ['defaults', { clear: false, flag: 0 }],
  ['dev', { clear: true, flag: c.MS_NODEV }],
  ['diratime', { clear: true, flag: c.MS_NODIRATIME }],
  ['dirsync', { clear: false, flag: c.MS_DIRSYNC }],
  ['exec', { clear: true, flag: c.MS_NOEXEC }],
  ['iversion', { clear: false, flag: c.MS_I_VERSION }],
  ['lazytime', { clear: false, flag: c.MS_LAZYTIME }],
  ['loud', { clear: true, flag: c.MS_SILENT }],
  ['mand', { clear: false, flag: c.MS_MANDLOCK }],
  ['noatime', { clear: false, flag: c.MS_NOATIME }],
  ['nodev', { clear: false, flag: c.MS_NODEV }],
  ['nodiratime', { clear: false, flag: c.MS_NODIRATIME }],
  ['noexec', { clear: false, flag: c.MS_NOEXEC }],
  ['noiversion', { clear: true, flag: c.MS_I_VERSION }],
  ['nolazytime', { clear: true, flag: c.MS_LAZYTIME }],
  ['nomand', { clear: true, flag: c.MS_MANDLOCK }],
  ['norelatime', { clear: true, flag: c.MS_RELATIME }],
  ['nostrictatime', { clear: true, flag: c.MS_STRICTATIME }],
  ['nosuid', { clear: false, flag: c.MS_NOSUID }],
  ['nosymfollow', { clear: false, flag: c.MS_NOSYMFOLLOW }],
  ['rbind', { clear: false, flag: c.MS_BIND | c.MS_REC }],
  ['relatime', { clear: false, flag: c.MS_RELATIME }],
  ['remount', { clear: false, flag: c.MS_REMOUNT }],
  ['ro', { clear: false, flag: c.MS_RDONLY }],
  ['rw', { clear: true, flag: c.MS_RDONLY }],
  ['silent', { clear: false, flag: c.MS_SILENT }],
  ['strictatime', { clear: false, flag: c.MS_STRICTATIME }],
  ['suid', { clear: true, flag: c.MS_NOSUID }],
  ['symfollow', { clear: true, flag: c.MS_NOSYMFOLLOW }],
  ['sync', { clear: false, flag: c.MS_SYNCHRONOUS }],
]);

/** Propagation options, each one mount(NULL, dst, NULL, flags) after the mount (runc's table). */
export const PROPAGATION_OPTIONS = new Map<string, number>([
  ['shared', c.MS_SHARED],
  ['rshared', c.MS_SHARED | c.MS_REC],
  ['slave', c.MS_SLAVE],
  ['rslave', c.MS_SLAVE | c.MS_REC],
  ['private', c.MS_PRIVATE],
  ['rprivate', c.MS_PRIVATE | c.MS_REC],
  ['unbindable', c.MS_UNBINDABLE],
  ['runbindable', c.MS_UNBINDABLE | c.MS_REC],
]);

interface AttrOption {
  clear: boolean;
  attr: number;
  /** one value of the access-time enum (MOUNT_ATTR__ATIME) rather than a bit of its own */
  atime?: boolean;
}

const RECURSIVE_OPTIONS = new Map<string, AttrOption>([
  ['rro', { clear: false, attr: c.MOUNT_ATTR_RDONLY }],
  ['rrw', { clear: true, attr: c.MOUNT_ATTR_RDONLY }],
  ['rnosuid', { clear: false, attr: c.MOUNT_ATTR_NOSUID }],
  ['rsuid', { clear: true, attr: c.MOUNT_ATTR_NOSUID }],
  ['rnodev', { clear: false, attr: c.MOUNT_ATTR_NODEV }],
  ['rdev', { clear: true, attr: c.MOUNT_ATTR_NODEV }],
  ['rnoexec', { clear: false, attr: c.MOUNT_ATTR_NOEXEC }],
  ['rexec', { clear: true, attr: c.MOUNT_ATTR_NOEXEC }],
  ['rnodiratime', { clear: false, attr: c.MOUNT_ATTR_NODIRATIME }],
  ['rdiratime', { clear: true, attr: c.MOUNT_ATTR_NODIRATIME }],
  ['rnosymfollow', { clear: false, attr: c.MOUNT_ATTR_NOSYMFOLLOW }],
  ['rsymfollow', { clear: true, attr: c.MOUNT_ATTR_NOSYMFOLLOW }],
  ['rrelatime', { clear: false, attr: c.MOUNT_ATTR_RELATIME, atime: true }],
  ['rnorelatime', { clear: true, attr: c.MOUNT_ATTR_RELATIME, atime: true }],
  ['rnoatime', { clear: false, attr: c.MOUNT_ATTR_NOATIME, atime: true }],
  ['ratime', { clear: true, attr: c.MOUNT_ATTR_NOATIME, atime: true }],
  ['rstrictatime', { clear: false, attr: c.MOUNT_ATTR_STRICTATIME, atime: true }],
  ['rnostrictatime', { clear: true, attr: c.MOUNT_ATTR_STRICTATIME, atime: true }],
]);

/** Options of the table that tsrun does not implement: refused rather than silently ignored. */
const UNSUPPORTED_OPTIONS = new Map<string, string>([
  ['idmap', 'idmap (id-mapped mounts)'],
  ['ridmap', 'ridmap (id-mapped mounts)'],
]);

/** runc's extension: a new tmpfs starts with a copy of what the image has at its destination. */
const COPY_UP = 'tmpcopyup';

/** Every mount option tsrun applies (for `tsrun features`). */
export function supportedMountOptions(): string[] {
  return [...FLAG_OPTIONS.keys(), ...PROPAGATION_OPTIONS.keys(), ...RECURSIVE_OPTIONS.keys(), COPY_UP].sort();
}

export interface MountOptions {
  /** MS_* flags the options set */
  flags: number;
  /** MS_* flags the options explicitly clear (rw, suid, dev, ...) */
  cleared: number;
  propagation: number[];
  recursiveAttrSet: number;
  recursiveAttrClear: number;
  /** the options no table knows, in order: the fs data string */
  data: string[];
  /** tmpcopyup */
  copyUp: boolean;
}

export function parseMountOptions(options: readonly string[], path: string): MountOptions {
  const o: MountOptions = { flags: 0, cleared: 0, propagation: [], recursiveAttrSet: 0, recursiveAttrClear: 0, data: [], copyUp: false };
  options.forEach((option, i) => {
    const flag = FLAG_OPTIONS.get(option);
    const propagation = PROPAGATION_OPTIONS.get(option);
    const attr = RECURSIVE_OPTIONS.get(option);
    const missing = UNSUPPORTED_OPTIONS.get(option);
    if (flag) {
      if (flag.clear) {
        o.flags &= ~flag.flag;
        o.cleared |= flag.flag;
      } else {
        o.flags |= flag.flag;
        o.cleared &= ~flag.flag;
      }
    } else if (propagation !== undefined) o.propagation.push(propagation);
    else if (attr) applyRecursive(o, attr);
    else if (option === COPY_UP) o.copyUp = true;
    else if (missing) throw unsupported(`${path}[${i}]`, missing);
    else if (option !== '') o.data.push(option); // "" means nothing, as between two commas for mount(8)
  });
  return o;
}

/**
 * mount_setattr takes the access time as an enum: setting a value means clearing the whole
 * MOUNT_ATTR__ATIME field too, and the kernel refuses a clear of one value alone (EINVAL). So
 * "ratime" and "rnostrictatime" (not noatime, not strictatime) become the kernel's default,
 * relatime, unless another access time is set already; "rnorelatime" changes nothing, as in runc
 * and mount(2), since relatime has no bit to clear.
 */
function applyRecursive(o: MountOptions, { clear, attr, atime }: AttrOption): void {
  if (!atime) {
    if (clear) {
      o.recursiveAttrSet &= ~attr;
      o.recursiveAttrClear |= attr;
    } else {
      o.recursiveAttrSet |= attr;
      o.recursiveAttrClear &= ~attr;
    }
    return;
  }
  const atimeSet = (o.recursiveAttrClear & c.MOUNT_ATTR__ATIME) !== 0;
  if (!clear) {
    o.recursiveAttrSet = (o.recursiveAttrSet & ~c.MOUNT_ATTR__ATIME) | attr;
    o.recursiveAttrClear |= c.MOUNT_ATTR__ATIME;
  } else if (attr !== c.MOUNT_ATTR_RELATIME && (!atimeSet || (o.recursiveAttrSet & c.MOUNT_ATTR__ATIME) === attr)) {
    o.recursiveAttrSet &= ~c.MOUNT_ATTR__ATIME;
    o.recursiveAttrClear |= c.MOUNT_ATTR__ATIME;
  }
}
