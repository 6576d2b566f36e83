/*
 * Filesystem steps of the init: mounts, devices, pivot_root, masked and read-only paths.
 *
 * Paths inside the rootfs belong to the container image and may be hostile (symlinks pointing out,
 * or swapped in while we work). Every destination is therefore resolved with openat2
 * RESOLVE_IN_ROOT relative to the rootfs, and the mount, built detached with its attributes set,
 * is attached onto the resulting descriptor with move_mount: it lands on the object we resolved,
 * and no path is walked again afterwards.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <linux/magic.h>
#include <sys/sendfile.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/time.h>
#include <unistd.h>

#include "fs.h"
#include "plan.h"

static int root_fd = -1; /* the rootfs bind mount before pivot_root, "/" after */

static int openat2_in_root(int dirfd, const char *path, int flags)
{
	struct open_how how = {
		.flags = (uint64_t)(flags | O_CLOEXEC),
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	return (int)syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
}

/* `path` without trailing slashes, split into its parent (maybe "") and last component. */
static int split_path(const char *path, char parent[4096], char name[256])
{
	size_t len = strlen(path);
	while (len > 1 && path[len - 1] == '/')
		len--;
	size_t start = len;
	while (start > 0 && path[start - 1] != '/')
		start--;
	size_t parent_len = start;
	while (parent_len > 1 && path[parent_len - 1] == '/')
		parent_len--;
	if (len - start == 0 || len - start >= 256 || parent_len >= 4096) {
		errno = EINVAL;
		return -1;
	}
	memcpy(parent, path, parent_len);
	parent[parent_len] = '\0';
	memcpy(name, path + start, len - start);
	name[len - start] = '\0';
	return 0;
}

static int open_in_root_depth(const char *path, enum kind kind, int depth);

/*
 * A dangling symlink in the way: create its target instead, resolved inside the rootfs as the
 * kernel would resolve it with RESOLVE_IN_ROOT (an absolute target starts at the rootfs).
 */
static int create_symlink_target(int dir, const char *parent, const char *name, enum kind kind, int depth)
{
	char target[4096], joined[4096];
	ssize_t n = readlinkat(dir, name, target, sizeof(target));
	if (n < 0)
		return -1;
	if ((size_t)n >= sizeof(target)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	target[n] = '\0';
	int len = target[0] == '/' ? snprintf(joined, sizeof(joined), "%s", target) : snprintf(joined, sizeof(joined), "%s/%s", parent, target);
	if (len < 0 || (size_t)len >= sizeof(joined)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return open_in_root_depth(joined, kind, depth + 1);
}

/*
 * An O_PATH descriptor for `path` (absolute inside the container), creating what is missing: the
 * parents as directories, the last component as `kind` (KIND_DIR or KIND_FILE; KIND_NONE creates
 * nothing and returns -1 with errno ENOENT).
 */
static int open_in_root_depth(const char *path, enum kind kind, int depth)
{
	if (depth > 40) {
		errno = ELOOP;
		return -1;
	}
	int fd = openat2_in_root(root_fd, path, O_PATH);
	if (fd >= 0 || errno != ENOENT || kind == KIND_NONE)
		return fd;

	char parent[4096], name[256];
	if (split_path(path, parent, name) < 0 || strcmp(name, "..") == 0 || strcmp(name, ".") == 0) {
		errno = EINVAL;
		return -1;
	}
	int dir = open_in_root_depth(*parent ? parent : "/", KIND_DIR, depth + 1);
	if (dir < 0)
		return -1;
	/* mkdirat and openat on the parent descriptor never follow a symlink at `name`. */
	int made;
	if (kind == KIND_DIR) {
		made = mkdirat(dir, name, 0755);
	} else {
		made = openat(dir, name, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
		if (made >= 0)
			made = close(made);
	}
	int saved = errno;
	if (made < 0 && saved != EEXIST) {
		close(dir);
		errno = saved;
		return -1;
	}
	/* Resolve again from the root: whatever is there now (even a raced symlink) stays inside. */
	fd = openat2_in_root(root_fd, path, O_PATH);
	if (fd < 0 && errno == ENOENT)
		fd = create_symlink_target(dir, *parent ? parent : "", name, kind, depth);
	saved = errno;
	close(dir);
	errno = saved;
	return fd;
}

int open_in_root(const char *path, enum kind kind)
{
	return open_in_root_depth(path, kind, 0);
}

/*
 * The root of the /dev tmpfs that the init mounted itself (a mount step on /dev that is not a bind),
 * or -1. The device, symlink and console steps act through it: a volume mounted later on a path
 * under /dev, or wherever a symlink of the image pointed /dev, cannot redirect them.
 */
static int dev_fd = -1;

/*
 * A mount on /dev, /proc or /sys: the image must have a real directory there (or nothing, which is
 * created). A symlink would move the runtime's own /dev (and its devices) onto whatever the image
 * chose, a volume of the host say; runc refuses a symlinked /proc or /sys too. Resolved once,
 * without following any symlink, so the image cannot swap one in after the check.
 */
static int open_top_level(const char *destination, const char *what)
{
	struct open_how how = {
		.flags = O_PATH | O_CLOEXEC,
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	int fd = (int)syscall(SYS_openat2, root_fd, destination, &how, sizeof(how));
	if (fd < 0 && errno == ENOENT) {
		if (mkdirat(root_fd, destination + 1, 0755) < 0 && errno != EEXIST)
			fail(errno, "%s: create %s in the rootfs", what, destination);
		fd = (int)syscall(SYS_openat2, root_fd, destination, &how, sizeof(how));
	}
	if (fd < 0 && errno == ELOOP)
		fail(ELOOP, "%s: %s is a symlink in the rootfs", what, destination);
	if (fd < 0)
		fail(errno, "%s: resolve %s in the rootfs", what, destination);
	return fd;
}

static int is_top_level(const char *path)
{
	return strcmp(path, "/dev") == 0 || strcmp(path, "/proc") == 0 || strcmp(path, "/sys") == 0;
}

/*
 * The directory that is to hold the entry `path` of a device, symlink or console step, created if
 * missing, and the entry's name. Under /dev, once the init has mounted /dev itself, the walk starts
 * at that mount's root and stays in it: no symlink followed, no mount point crossed (a volume
 * mounted later on /dev/net is refused, never written into). Without a /dev of the init's (the
 * config binds one, or has none) it starts at the rootfs and follows no symlink of the image; /dev
 * itself may be a mount (a bind of the caller's), but no mount point below it is crossed either.
 */
static int open_entry_dir(const char *path, char name[256], const char *what)
{
	char parent[4096];
	if (split_path(path, parent, name) < 0)
		fail(EINVAL, "%s: bad path", what);
	int under_dev = strcmp(parent, "/dev") == 0 || strncmp(parent, "/dev/", 5) == 0;
	int own = dev_fd >= 0 && under_dev;
	struct open_how how = {
		.flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | (own ? RESOLVE_NO_XDEV : 0),
	};
	int dir = openat(own ? dev_fd : root_fd, ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0)
		fail(errno, "%s: open %s", what, own ? "/dev" : "/");
	size_t start = own ? 4 : 0;
	while (parent[start]) {
		while (parent[start] == '/')
			start++;
		size_t end = start;
		while (parent[end] && parent[end] != '/')
			end++;
		if (end == start)
			break;
		char saved = parent[end];
		parent[end] = '\0';
		const char *component = parent + start;
		int next = (int)syscall(SYS_openat2, dir, component, &how, sizeof(how));
		if (next < 0 && errno == ENOENT) {
			if (mkdirat(dir, component, 0755) < 0 && errno != EEXIST)
				fail(errno, "%s: create %s", what, parent);
			next = (int)syscall(SYS_openat2, dir, component, &how, sizeof(how));
		}
		if (next < 0 && errno == ELOOP)
			fail(ELOOP, "%s: %s is a symlink in the rootfs", what, parent);
		if (next < 0 && errno == EXDEV)
			fail(EXDEV, "%s: %s is another mount than the container's /dev", what, parent);
		if (next < 0)
			fail(errno, "%s: open %s", what, parent);
		close(dir);
		dir = next;
		parent[end] = saved;
		start = end;
		if (under_dev) /* "dev" is open: the rest stays in its mount */
			how.resolve |= RESOLVE_NO_XDEV;
	}
	return dir;
}

/*
 * An O_PATH descriptor of the file `path` for a bind mount onto it (a device node, /dev/console),
 * created if missing. What is there already stays: a plain file or node is mounted over, as runc
 * does, never unlinked or changed; a symlink (the image's, or a shared /dev volume's) is refused,
 * never followed: it could point the bind at /proc/sys/kernel/core_pattern (CVE-2025-52565).
 * Returns -1 when `path` is a directory or symlink left alone and `keep_existing` is set.
 */
static int open_bind_target(const char *path, const char *what, int keep_existing)
{
	char name[256];
	int dir = open_entry_dir(path, name, what);
	int made = openat(dir, name, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (made >= 0)
		close(made);
	else if (errno != EEXIST)
		fail(errno, "%s: create %s", what, path);
	int fd = openat(dir, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0)
		fail(errno, "%s: open %s", what, path);
	close(dir);
	if (S_ISLNK(st.st_mode) || S_ISDIR(st.st_mode)) {
		if (keep_existing) {
			close(fd);
			return -1;
		}
		fail(S_ISLNK(st.st_mode) ? ELOOP : EISDIR, "%s: %s is a %s", what, path, S_ISLNK(st.st_mode) ? "symlink" : "directory");
	}
	return fd;
}

/*
 * "/proc/self/fd/N", to name a resolved object in mount(2). After pivot_root /proc is the
 * container's: it must be a real procfs, or the image's own symlinks would choose the target.
 */
static void fd_path(char buf[32], int fd)
{
	struct statfs fs;
	if (statfs("/proc/self/fd", &fs) < 0)
		fail(errno, "/proc/self/fd: cannot mount safely");
	if (fs.f_type != PROC_SUPER_MAGIC)
		fail(EPERM, "/proc in the container is not procfs: cannot mount safely");
	snprintf(buf, 32, "/proc/self/fd/%d", fd);
}

/* Where an open object lies as the host sees it (d_path, through the host's /proc): "" if unknown. */
static void host_path(int fd, char out[4096])
{
	char link[32];
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	ssize_t n = readlink(link, out, 4096);
	out[n > 0 && n < 4096 && out[0] == '/' ? n : 0] = '\0'; /* a longer path is unknown, not cut */
}

/* Where a resolved object lies in the container: "/proc/meminfo" for <rootfs>/proc/meminfo, "" if unknown. */
static void container_path(int fd, char out[4096])
{
	char root[4096], path[4096];
	host_path(root_fd, root);
	host_path(fd, path);
	size_t len = strcmp(root, "/") == 0 ? 0 : strlen(root);
	if (!*root || !*path || strncmp(path, root, len) != 0 || (path[len] != '/' && path[len] != '\0'))
		out[0] = '\0';
	else
		snprintf(out, 4096, "%s", path[len] ? path + len : "/");
}

/*
 * Files of /proc that a mount may cover: runc's list (checkProcMount), the files lxcfs emulates.
 * src/spec/validate.ts holds the config's destinations to the same list.
 */
static const char *const proc_files_to_mount_on[] = {
	"/proc/cpuinfo", "/proc/diskstats", "/proc/meminfo", "/proc/stat", "/proc/swaps", "/proc/uptime",
	"/proc/loadavg", "/proc/slabinfo", "/proc/net/dev", "/proc/sys/kernel/ns_last_pid", "/proc/sys/crypto/fips_enabled",
};

#define PROC_ROOT_INO 1

/*
 * runc's checkProcMount on the destination as resolved in the rootfs, whatever led it there (a
 * symlink of the image: evil -> /proc/sys/kernel): nothing is mounted inside the container's /proc
 * or any procfs, but on runc's list of files. Returns 1 when the destination is /proc itself (or
 * the root of a procfs), where only a procfs may be mounted: the caller checks what it mounts. The
 * runtime's own masks (mask_path, readonly_path) do not come here.
 */
static int proc_destination(int target, const char *destination)
{
	struct statfs fs;
	struct stat st;
	if (fstatfs(target, &fs) < 0 || fstat(target, &st) < 0)
		fail(errno, "stat %s", destination);
	char path[4096];
	container_path(target, path);
	int on_procfs = fs.f_type == PROC_SUPER_MAGIC;
	if (on_procfs ? st.st_ino == PROC_ROOT_INO : strcmp(path, "/proc") == 0)
		return 1;
	if (!on_procfs && strncmp(path, "/proc/", 6) != 0)
		return 0;
	for (size_t i = 0; i < sizeof(proc_files_to_mount_on) / sizeof(proc_files_to_mount_on[0]); i++)
		if (strcmp(path, proc_files_to_mount_on[i]) == 0)
			return 0;
	fail(EPERM, "mount on %s: it lies inside /proc (%s), where nothing may be mounted but on the files lxcfs provides",
		destination, *path ? path : "a procfs");
	return 0;
}

/* A mount on /proc must be a procfs: `is_procfs` says whether it is. */
static void require_procfs(int is_procfs, const char *destination)
{
	if (!is_procfs)
		fail(EPERM, "mount on %s: only a procfs may be mounted on /proc", destination);
}

/*
 * The new mount API: every mount is built detached (open_tree OPEN_TREE_CLONE, or fsopen + fsmount),
 * gets its attributes while nobody else can reach it, and is attached with move_mount onto the
 * descriptor resolved in the rootfs. Nothing is looked up by path after that resolution.
 */
static int clone_tree(int dir, const char *path, int recursive)
{
	unsigned int flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (recursive ? AT_RECURSIVE : 0) | (*path ? 0 : AT_EMPTY_PATH);
	return (int)syscall(SYS_open_tree, dir, path, flags);
}

static int set_attributes(int tree, uint64_t set, uint64_t clear, uint64_t propagation, int recursive)
{
	struct mount_attr attr = {.attr_set = set, .attr_clr = clear, .propagation = propagation};
	return (int)syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0), &attr, sizeof(attr));
}

/* Attach a detached tree onto the resolved target; the tree's fd then names the attached mount. */
static int attach(int tree, int target)
{
	return (int)syscall(SYS_move_mount, tree, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH);
}

/* The per-mount MS_* flags as MOUNT_ATTR_* (the atime rules of mount(2): relatime by default). */
static uint64_t mount_attributes(unsigned long flags)
{
	static const struct { unsigned long ms; uint64_t attr; } map[] = {
		{MS_RDONLY, MOUNT_ATTR_RDONLY}, {MS_NOSUID, MOUNT_ATTR_NOSUID}, {MS_NODEV, MOUNT_ATTR_NODEV},
		{MS_NOEXEC, MOUNT_ATTR_NOEXEC}, {MS_NODIRATIME, MOUNT_ATTR_NODIRATIME}, {MS_NOSYMFOLLOW, MOUNT_ATTR_NOSYMFOLLOW},
	};
	uint64_t attr = flags & MS_STRICTATIME ? MOUNT_ATTR_STRICTATIME : flags & MS_NOATIME ? MOUNT_ATTR_NOATIME : MOUNT_ATTR_RELATIME;
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (flags & map[i].ms)
			attr |= map[i].attr;
	return attr;
}

#define PER_MOUNT_ATTRIBUTES (MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC | MOUNT_ATTR__ATIME | MOUNT_ATTR_NODIRATIME | MOUNT_ATTR_NOSYMFOLLOW)

/*
 * A bind mount's own flags (ro, nosuid, ...), replacing the source's as a bind remount does. In a
 * user namespace the kernel refuses to clear the flags it locked: then only add ours.
 */
static int set_bind_flags(int tree, unsigned long flags)
{
	uint64_t set = mount_attributes(flags);
	if (set_attributes(tree, set, PER_MOUNT_ATTRIBUTES, 0, 0) == 0)
		return 0;
	if (errno != EPERM)
		return -1;
	return set_attributes(tree, set & ~(uint64_t)MOUNT_ATTR__ATIME, 0, 0, 0);
}

/* What the kernel said about a failed fsconfig (the fs context's log), appended to `text`. */
static void fs_log(int fs, char *text, size_t size)
{
	char line[512];
	ssize_t n;
	while ((n = read(fs, line, sizeof(line) - 1)) > 0) {
		line[n] = '\0';
		size_t used = strlen(text);
		snprintf(text + used, size - used, "%s%s", used ? "; " : "", line[0] && line[1] == ' ' ? line + 2 : line);
	}
}

/* A new filesystem instance as a detached mount: fsopen, its source and data, fsmount. */
static int new_filesystem(const char *fstype, const char *source, unsigned long flags, const char *data, const char *destination)
{
	int fs = (int)syscall(SYS_fsopen, fstype, FSOPEN_CLOEXEC);
	if (fs < 0)
		fail(errno, "open filesystem %s for %s", fstype, destination);
	int ok = !*source || syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, "source", source, 0) == 0;
	/* the superblock flags of mount(2) */
	static const struct { unsigned long ms; const char *name; } sb_flags[] = {
		{MS_RDONLY, "ro"}, {MS_SYNCHRONOUS, "sync"}, {MS_DIRSYNC, "dirsync"}, {MS_LAZYTIME, "lazytime"}, {MS_MANDLOCK, "mand"},
	};
	for (size_t i = 0; ok && i < sizeof(sb_flags) / sizeof(sb_flags[0]); i++)
		if (flags & sb_flags[i].ms)
			ok = syscall(SYS_fsconfig, fs, FSCONFIG_SET_FLAG, sb_flags[i].name, NULL, 0) == 0;
	/*
	 * the data string, split as the kernel splits it for mount(2): "key=value" or "flag", by commas;
	 * a copy allocated to fit (validation holds the data to a page, as mount(2) would), never cut
	 */
	char *options = strdup(data);
	if (!options)
		fail(ENOMEM, "allocate");
	for (char *save, *option = strtok_r(options, ",", &save); ok && option; option = strtok_r(NULL, ",", &save)) {
		char *value = strchr(option, '=');
		if (value)
			*value++ = '\0';
		ok = syscall(SYS_fsconfig, fs, value ? FSCONFIG_SET_STRING : FSCONFIG_SET_FLAG, option, value, 0) == 0;
	}
	free(options); /* keeps errno */
	if (ok)
		ok = syscall(SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) == 0;
	int tree = ok ? (int)syscall(SYS_fsmount, fs, FSMOUNT_CLOEXEC, (unsigned int)mount_attributes(flags)) : -1;
	if (tree < 0) {
		int saved = errno;
		char log[1024] = "";
		fs_log(fs, log, sizeof(log));
		fail(saved, "mount %s on %s%s%s", *source ? source : fstype, destination, *log ? ": " : "", log);
	}
	close(fs);
	return tree;
}

/*
 * tmpcopyup: the content of the image's directory `from` (hostile: every name is opened with
 * O_NOFOLLOW relative to its parent's descriptor, and checked to be what fstatat said it was)
 * copied into the directory `to` of the new, still detached tmpfs. Symlinks are copied as links,
 * never followed; files, directories and device nodes keep their mode, owner and times.
 */
static void copy_attributes(int to, const char *name, const struct stat *st)
{
	/* an owner the user namespace cannot map stays the namespace's root */
	if (fchownat(to, name, st->st_uid, st->st_gid, AT_SYMLINK_NOFOLLOW) < 0 && errno != EINVAL)
		fail(errno, "tmpcopyup: set the owner of %s", name);
	if (!S_ISLNK(st->st_mode) && fchmodat(to, name, st->st_mode & 07777, 0) < 0)
		fail(errno, "tmpcopyup: set the mode of %s", name);
	struct timespec times[2] = {st->st_atim, st->st_mtim};
	utimensat(to, name, times, AT_SYMLINK_NOFOLLOW);
}

static void copy_file(int from, int to, const char *name, const struct stat *st)
{
	int in = openat(from, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	struct stat opened;
	if (in < 0 || fstat(in, &opened) < 0)
		fail(errno, "tmpcopyup: open %s", name);
	if (!S_ISREG(opened.st_mode) || opened.st_ino != st->st_ino || opened.st_dev != st->st_dev)
		fail(EBUSY, "tmpcopyup: %s changed while it was copied", name);
	int out = openat(to, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (out < 0)
		fail(errno, "tmpcopyup: create %s", name);
	ssize_t n;
	while ((n = sendfile(out, in, NULL, 1 << 20)) > 0)
		;
	if (n < 0)
		fail(errno, "tmpcopyup: copy %s", name);
	close(in);
	close(out);
}

static void copy_directory(int from, int to, int depth)
{
	if (depth > 64)
		fail(ELOOP, "tmpcopyup: directories nested too deep");
	int listed = openat(from, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *dir = listed < 0 ? NULL : fdopendir(listed);
	if (!dir)
		fail(errno, "tmpcopyup: list a directory");
	struct dirent *entry;
	while ((errno = 0, entry = readdir(dir))) {
		const char *name = entry->d_name;
		if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
			continue;
		struct stat st;
		if (fstatat(from, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			fail(errno, "tmpcopyup: stat %s", name);
		if (S_ISDIR(st.st_mode)) {
			if (mkdirat(to, name, 0700) < 0)
				fail(errno, "tmpcopyup: mkdir %s", name);
			int sub_from = openat(from, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			int sub_to = openat(to, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub_from < 0 || sub_to < 0)
				fail(errno, "tmpcopyup: open %s", name);
			copy_directory(sub_from, sub_to, depth + 1);
			close(sub_from);
			close(sub_to);
		} else if (S_ISLNK(st.st_mode)) {
			char target[4096];
			ssize_t n = readlinkat(from, name, target, sizeof(target) - 1);
			if (n < 0)
				fail(errno, "tmpcopyup: readlink %s", name);
			target[n] = '\0';
			if (symlinkat(target, to, name) < 0)
				fail(errno, "tmpcopyup: symlink %s", name);
		} else if (S_ISREG(st.st_mode)) {
			copy_file(from, to, name, &st);
		} else if (mknodat(to, name, st.st_mode, st.st_rdev) < 0) {
			fail(errno, "tmpcopyup: mknod %s", name);
		}
		copy_attributes(to, name, &st);
	}
	if (errno)
		fail(errno, "tmpcopyup: list a directory");
	closedir(dir);
}

/* The directory itself: its entries, then its own mode and owner on the tmpfs root. */
static void copy_up(int from, int tree, const char *destination)
{
	struct stat st;
	if (fstat(from, &st) < 0)
		fail(errno, "tmpcopyup: stat %s", destination);
	if (!S_ISDIR(st.st_mode))
		return;
	copy_directory(from, tree, 0);
	if (fchownat(tree, "", st.st_uid, st.st_gid, AT_EMPTY_PATH) < 0 && errno != EINVAL)
		fail(errno, "tmpcopyup: set the owner of %s", destination);
	/* through a descriptor of the tmpfs root: no path through a /proc that is not checked */
	int root = openat(tree, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (root < 0 || fchmod(root, st.st_mode & 07777) < 0)
		fail(errno, "tmpcopyup: set the mode of %s", destination);
	close(root);
}

/*
 * Bind sources cloned by stage 0 as the host's root (openMountSource), before a user namespace
 * closes root-only directories to the init; inherited by the init, each taken by the mount step of
 * the same source. A failed open is kept as -errno and reported by that step. Such a tree comes
 * from the host's user namespace: attached in the container's, its flags and submounts are not
 * locked (the container's root could remount it read-write or unmount what covers host files), so
 * it is used only for a source the init cannot reach itself, and only where nothing needs a lock.
 */
static struct mount_source {
	const char *path;
	int recursive;
	int tree;
	int submounts; /* a mount below the source (recursive only) */
} *mount_sources; /* grown to fit: as many as the config has binds */
static int mount_source_count, mount_source_room;

static char *unescape_mount_point(char *text);

/* Whether a mount sits below `path` in stage 0's mount namespace (1 when that cannot be told). */
static int has_submounts(const char *path)
{
	char real[4096];
	if (!realpath(path, real))
		return 1;
	size_t length = strcmp(real, "/") == 0 ? 0 : strlen(real);
	FILE *mountinfo = fopen("/proc/self/mountinfo", "re");
	if (!mountinfo)
		return 1;
	char *line = NULL;
	size_t size = 0;
	int found = 0;
	while (!found && getline(&line, &size, mountinfo) > 0) {
		/* id parent major:minor root mount-point ... */
		char *save = NULL, *point = strtok_r(line, " ", &save);
		for (int field = 1; point && field < 5; field++)
			point = strtok_r(NULL, " ", &save);
		if (!point)
			continue;
		unescape_mount_point(point);
		found = strncmp(point, real, length) == 0 && point[length] == '/' && point[length + 1];
	}
	free(line);
	fclose(mountinfo);
	return found;
}

void open_mount_source(const char *path, int recursive)
{
	if (mount_source_count == mount_source_room) {
		int room = mount_source_room ? mount_source_room * 2 : 16;
		struct mount_source *grown = realloc(mount_sources, (size_t)room * sizeof(*grown));
		if (!grown)
			fail(ENOMEM, "open the sources of %d bind mounts", room);
		mount_sources = grown;
		mount_source_room = room;
	}
	int tree = clone_tree(AT_FDCWD, path, recursive);
	/* a slave of the host's mounts, as everything after the init's rootPropagation step */
	if (tree >= 0 && set_attributes(tree, 0, 0, MS_SLAVE, 1) < 0)
		fail(errno, "make the copy of %s a slave", path);
	mount_sources[mount_source_count].path = path;
	mount_sources[mount_source_count].recursive = recursive;
	mount_sources[mount_source_count].tree = tree >= 0 ? tree : -errno;
	mount_sources[mount_source_count].submounts = tree >= 0 && recursive && has_submounts(path);
	mount_source_count++;
}

#define LOCKABLE_FLAGS (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC)
#define LOCKABLE_ATTRIBUTES (MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC)

/*
 * The source of a bind, cloned in the init's own mount namespace: a copy the kernel locks (in a
 * user namespace). Stage 0's tree only when the init may not reach the source (EACCES, EPERM),
 * refused where a flag of the bind (`flags`, `attributes`) or of the source mount, or a submount,
 * would stay unlocked.
 */
static int bind_source_tree(const char *path, int recursive, unsigned long flags, uint64_t attributes)
{
	int staged = -ENOENT, submounts = 0, found = 0;
	for (int i = 0; i < mount_source_count && !found; i++) {
		if (mount_sources[i].path && strcmp(mount_sources[i].path, path) == 0 && mount_sources[i].recursive == recursive) {
			staged = mount_sources[i].tree;
			submounts = mount_sources[i].submounts;
			mount_sources[i].path = NULL;
			found = 1;
		}
	}
	int tree = clone_tree(AT_FDCWD, path, recursive);
	if (tree >= 0 || !found || (errno != EACCES && errno != EPERM)) {
		int saved = errno;
		if (staged >= 0)
			close(staged);
		errno = saved;
		return tree;
	}
	if (staged < 0) {
		errno = -staged;
		return -1;
	}
	struct statfs fs;
	if (fstatfs(staged, &fs) < 0)
		fail(errno, "bind %s: statfs", path);
	if ((flags & LOCKABLE_FLAGS) || (attributes & LOCKABLE_ATTRIBUTES) || (fs.f_flags & (ST_RDONLY | ST_NOSUID | ST_NODEV | ST_NOEXEC)))
		fail(EPERM, "bind %s: a bind source only the host's root can reach cannot have its flags (ro, nosuid, nodev, noexec) locked in a user namespace", path);
	if (submounts)
		fail(EPERM, "bind %s: a bind source only the host's root can reach cannot have its submounts locked in a user namespace", path);
	return staged;
}

void bind_rootfs(const char *rootfs)
{
	if (mount(rootfs, rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
		fail(errno, "bind %s", rootfs);
	root_fd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root_fd < 0)
		fail(errno, "open %s", rootfs);
}

#ifndef STATX_MNT_ID_UNIQUE
#define STATX_MNT_ID_UNIQUE 0x00004000U /* Linux 6.8 */
#endif

/*
 * The rootfs bind of a container without a mount namespace: it lands in the host mount table,
 * where delete must find it again by its identity, never by a path (the host may have had mounts
 * below the rootfs before, which stay). Everything else the init mounts goes inside it, so that
 * detaching it removes all of them. The tree is built detached and private (a bind of a shared
 * mount would join the host's peer group, and its attach would propagate a copy onto itself); its
 * mount ids are reported, and it is attached only once the runtime has written them to the state
 * (its empty answer): a create killed in between leaves no mount behind.
 */
void bind_rootfs_in_host(const char *rootfs)
{
	int tree = clone_tree(AT_FDCWD, rootfs, 1);
	if (tree < 0)
		fail(errno, "bind %s", rootfs);
	if (set_attributes(tree, 0, 0, MS_PRIVATE, 1) < 0)
		fail(errno, "make the bind of %s private", rootfs);
	struct statx reused, unique;
	if (statx(tree, "", AT_EMPTY_PATH, STATX_MNT_ID, &reused) < 0)
		fail(errno, "the mount id of the bind of %s", rootfs);
	if (!(reused.stx_mask & STATX_MNT_ID))
		fail(ENOSYS, "the mount id of the bind of %s: statx has no STATX_MNT_ID", rootfs);
	/* 0 where the kernel has no id that is never reused */
	unsigned long long never_reused = 0;
	if (statx(tree, "", AT_EMPTY_PATH, STATX_MNT_ID_UNIQUE, &unique) == 0 && (unique.stx_mask & STATX_MNT_ID_UNIQUE))
		never_reused = unique.stx_mnt_id;
	send_line("rootfsMount %llu %llu", (unsigned long long)reused.stx_mnt_id, never_reused);
	uint32_t length;
	free(receive_message(&length));
	int target = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (target < 0 || attach(tree, target) < 0)
		fail(errno, "bind %s", rootfs);
	close(target);
	root_fd = tree; /* it names the attached mount */
}

void mount_step(struct reader *r)
{
	const char *source = read_token(r), *destination = read_token(r), *fstype = read_token(r);
	unsigned long flags = (unsigned long)read_u64(r);
	const char *data = read_token(r);
	unsigned long remount_flags = (unsigned long)read_u64(r);
	char **propagation = read_list(r);
	uint64_t attr_set = read_u64(r), attr_clear = read_u64(r);
	enum kind kind = strcmp(read_token(r), "file") == 0 ? KIND_FILE : KIND_DIR;
	int copy = read_int(r) != 0;

	char what[4200];
	snprintf(what, sizeof(what), "%s %s on %s", flags & MS_REMOUNT ? "remount" : "mount", *source ? source : fstype, destination);
	int target = is_top_level(destination) ? open_top_level(destination, what) : open_in_root(destination, kind);
	if (target < 0)
		fail(errno, "resolve %s in the rootfs", destination);
	int on_proc_root = proc_destination(target, destination);
	if (on_proc_root && !(flags & MS_BIND))
		require_procfs(strcmp(fstype, "proc") == 0, destination);
	if (flags & MS_REMOUNT) {
		/* no new mount: the one at the resolved destination changes its flags */
		char target_path[32];
		fd_path(target_path, target);
		if (mount(NULL, target_path, NULL, flags, *data ? data : NULL) < 0)
			fail(errno, "remount %s", destination);
		close(target);
		free(propagation);
		return;
	}

	int tree;
	if (flags & MS_BIND) {
		tree = bind_source_tree(source, (flags & MS_REC) != 0, remount_flags | flags, attr_set);
		if (tree < 0)
			fail(errno, "mount %s on %s", source, destination);
		struct statfs fs;
		if (on_proc_root)
			require_procfs(fstatfs(tree, &fs) == 0 && fs.f_type == PROC_SUPER_MAGIC, destination);
		if (remount_flags && set_bind_flags(tree, remount_flags) < 0)
			fail(errno, "remount %s", destination);
	} else if (copy) {
		/* written to while detached, then made read-only if asked */
		tree = new_filesystem(fstype, source, flags & ~(unsigned long)MS_RDONLY, data, destination);
		copy_up(target, tree, destination);
		if ((flags & MS_RDONLY) && set_attributes(tree, MOUNT_ATTR_RDONLY, 0, 0, 0) < 0)
			fail(errno, "make %s read-only", destination);
	} else {
		tree = new_filesystem(fstype, source, flags, data, destination);
	}
	if (attr_set || attr_clear) {
		if (attr_set & MOUNT_ATTR__ATIME) /* an atime mode replaces the current one */
			attr_clear |= MOUNT_ATTR__ATIME;
		if (set_attributes(tree, attr_set, attr_clear, 0, 1) < 0)
			fail(errno, "set recursive attributes of %s", destination);
	}
	if (attach(tree, target) < 0)
		fail(errno, "mount %s on %s", *source ? source : fstype, destination);
	close(target);
	/* the tree's fd names the attached mount itself: propagation needs no lookup either */
	for (char **p = propagation; *p; p++) {
		unsigned long change = strtoul(*p, NULL, 10);
		if (set_attributes(tree, 0, 0, change & ~(unsigned long)MS_REC, (change & MS_REC) != 0) < 0)
			fail(errno, "set propagation of %s", destination);
	}
	/* a later mount on /dev covers the init's: a bind brings a /dev that is not the init's own */
	if (strcmp(destination, "/dev") == 0) {
		if (dev_fd >= 0)
			close(dev_fd);
		dev_fd = -1;
	}
	if (strcmp(destination, "/dev") == 0 && !(flags & MS_BIND))
		dev_fd = tree;
	else
		close(tree);
	free(propagation);
}

void mknod_step(struct reader *r)
{
	const char *path = read_token(r), *kind = read_token(r);
	unsigned int major = (unsigned int)read_int(r), minor = (unsigned int)read_int(r);
	mode_t mode = (mode_t)read_int(r);
	uid_t uid = (uid_t)read_int(r);
	gid_t gid = (gid_t)read_int(r);
	mode_t type = *kind == 'b' ? S_IFBLK : *kind == 'p' ? S_IFIFO : S_IFCHR;

	char name[256], what[4200];
	snprintf(what, sizeof(what), "mknod %s", path);
	int dir = open_entry_dir(path, name, what);
	/* an entry there already is left as it is (runc): only what this step made gets its owner */
	if (mknodat(dir, name, (mode & 07777) | type, makedev(major, minor)) < 0) {
		if (errno != EEXIST)
			fail(errno, "mknod %s", path);
		close(dir);
		return;
	}
	if (fchownat(dir, name, uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
		fail(errno, "set the owner of %s", path);
	close(dir);
}

void bind_device_step(struct reader *r)
{
	const char *source = read_token(r), *path = read_token(r);
	char what[4200];
	snprintf(what, sizeof(what), "bind %s on %s", source, path);
	/* a symlink or directory there already is left as it is, as mknod leaves an existing entry */
	int target = open_bind_target(path, what, 1);
	if (target < 0)
		return;
	int tree = clone_tree(AT_FDCWD, source, 0);
	if (tree < 0 || attach(tree, target) < 0)
		fail(errno, "bind %s on %s", source, path);
	close(tree);
	close(target);
}

void symlink_step(struct reader *r)
{
	const char *target = read_token(r), *path = read_token(r);
	char name[256], what[4200];
	snprintf(what, sizeof(what), "symlink %s", path);
	int dir = open_entry_dir(path, name, what);
	/* an entry there already (the image's /dev/ptmx node, say) is left as it is, as runc leaves it */
	if (symlinkat(target, dir, name) < 0 && errno != EEXIST)
		fail(errno, "symlink %s", path);
	close(dir);
}

/* The rootfs is / now: resolve from there from now on. */
static void root_switched(void)
{
	if (chdir("/") < 0)
		fail(errno, "chdir /");
	close(root_fd);
	root_fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root_fd < 0)
		fail(errno, "open /");
}

void pivot_root_step(void)
{
	int old_root = open("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	if (old_root < 0)
		fail(errno, "open /");
	if (fchdir(root_fd) < 0)
		fail(errno, "chdir to the rootfs");
	/* pivot_root(".", ".") stacks the old root on top of the new one; unmount it from there. */
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		fail(errno, "pivot_root");
	if (fchdir(old_root) < 0)
		fail(errno, "chdir to the old root");
	if (mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0)
		fail(errno, "make the old root a slave");
	if (umount2(".", MNT_DETACH) < 0)
		fail(errno, "unmount the old root");
	close(old_root);
	root_switched();
}

/* A mount point of /proc/self/mountinfo with its octal escapes (\040 for a space...) undone, in place. */
static char *unescape_mount_point(char *text)
{
	char *out = text;
	for (const char *in = text; *in; out++) {
		if (in[0] == '\\' && in[1] >= '0' && in[1] <= '3' && in[2] >= '0' && in[2] <= '7' && in[3] >= '0' && in[3] <= '7') {
			*out = (char)((in[1] - '0') * 64 + (in[2] - '0') * 8 + (in[3] - '0'));
			in += 4;
		} else {
			*out = *in++;
		}
	}
	*out = '\0';
	return text;
}

/*
 * The mount points of every whole procfs and sysfs (its root mounted) of the mount namespace that
 * is not below the rootfs, from /proc/self/mountinfo: a NULL-terminated list.
 */
static char **host_pseudo_filesystems(void)
{
	char rootfs[4096];
	host_path(root_fd, rootfs);
	if (!*rootfs)
		fail(EINVAL, "find the rootfs in the mount table");
	size_t rootfs_len = strcmp(rootfs, "/") == 0 ? 0 : strlen(rootfs);
	FILE *mountinfo = fopen("/proc/self/mountinfo", "re");
	if (!mountinfo)
		fail(errno, "open /proc/self/mountinfo");
	char **found = NULL, *line = NULL;
	size_t count = 0, size = 0;
	while (getline(&line, &size, mountinfo) > 0) {
		/* id parent major:minor root mount-point options [optional...] - fstype source super-options */
		char *save = NULL, *field[5];
		int n = 0;
		while (n < 5 && (field[n] = strtok_r(n ? NULL : line, " ", &save)))
			n++;
		char *dash = n == 5 ? strstr(save, " - ") : NULL;
		if (!dash)
			fail(EINVAL, "unexpected line in /proc/self/mountinfo");
		char *fstype = strtok_r(dash + 3, " ", &save);
		if (strcmp(field[3], "/") != 0 || !fstype || (strcmp(fstype, "proc") != 0 && strcmp(fstype, "sysfs") != 0))
			continue;
		char *point = unescape_mount_point(field[4]);
		if (strncmp(point, rootfs, rootfs_len) == 0 && (point[rootfs_len] == '/' || point[rootfs_len] == '\0'))
			continue;
		char **grown = realloc(found, (count + 2) * sizeof(*found));
		if (!grown || !(grown[count] = strdup(point)))
			fail(ENOMEM, "allocate");
		found = grown;
		found[++count] = NULL;
	}
	if (ferror(mountinfo))
		fail(errno, "read /proc/self/mountinfo");
	fclose(mountinfo);
	free(line);
	return found;
}

/*
 * --no-pivot leaves the host's mounts in the container's mount namespace, under the rootfs moved
 * onto /: out of sight, but there. The kernel lets a user namespace mount a new procfs or sysfs as
 * long as one instance is fully visible in its mount namespace (mount_too_revealing), so a process
 * of the container that makes a user and mount namespace of its own could mount a procfs without
 * the masks. As runc does: detach every whole procfs and sysfs outside the rootfs, or, where the
 * kernel refuses (mounts locked by a user namespace), cover it with a read-only tmpfs. / is
 * MS_REC|MS_SLAVE since step 1: the host keeps its mounts.
 */
static void hide_host_pseudo_filesystems(void)
{
	char **points = host_pseudo_filesystems();
	for (char **p = points; p && *p; p++) {
		if (umount2(*p, MNT_DETACH | UMOUNT_NOFOLLOW) == 0 || errno == ENOENT) {
			free(*p);
			continue; /* ENOENT: below one detached already */
		}
		if (errno != EINVAL && errno != EPERM)
			fail(errno, "unmount %s", *p);
		int dir = open(*p, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (dir < 0)
			fail(errno, "open %s", *p);
		int tree = new_filesystem("tmpfs", "tmpfs", MS_RDONLY, "", *p);
		if (attach(tree, dir) < 0)
			fail(errno, "cover %s", *p);
		close(tree);
		close(dir);
		free(*p);
	}
	free(points);
}

/*
 * --no-pivot (move = 1): move the rootfs mount onto / and chroot there. Without a mount namespace
 * (move = 0) the / is the host's: a plain chroot into the rootfs bind mount, nothing moved.
 */
void chroot_step(int move)
{
	if (move)
		hide_host_pseudo_filesystems();
	if (fchdir(root_fd) < 0)
		fail(errno, "chdir to the rootfs");
	if (move && mount(".", "/", NULL, MS_MOVE, NULL) < 0)
		fail(errno, "move the rootfs to /");
	if (chroot(".") < 0)
		fail(errno, "chroot");
	root_switched();
}

void set_root_propagation(unsigned long flags)
{
	if (mount(NULL, "/", NULL, flags, NULL) < 0)
		fail(errno, "set propagation of /");
}

/* The container's /dev/null, checked to be the real null device (a rootfs could plant anything). */
static int open_dev_null(void)
{
	int fd = openat2_in_root(root_fd, "/dev/null", O_PATH);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0)
		fail(errno, "open /dev/null");
	if (!S_ISCHR(st.st_mode) || st.st_rdev != makedev(1, 3))
		fail(EPERM, "/dev/null in the container is not the null device");
	return fd;
}

void mask_path(const char *path)
{
	int target = openat2_in_root(root_fd, path, O_PATH);
	if (target < 0) {
		if (errno == ENOENT)
			return;
		fail(errno, "resolve %s", path);
	}
	struct stat st;
	if (fstat(target, &st) < 0)
		fail(errno, "stat %s", path);
	int tree;
	if (S_ISDIR(st.st_mode)) {
		tree = new_filesystem("tmpfs", "tmpfs", MS_RDONLY, "", path);
	} else {
		int null = open_dev_null();
		tree = clone_tree(null, "", 0);
		if (tree < 0)
			fail(errno, "mask %s", path);
		close(null);
	}
	if (attach(tree, target) < 0)
		fail(errno, "mask %s", path);
	close(tree);
	close(target);
}

void readonly_path(const char *path)
{
	int target = openat2_in_root(root_fd, path, O_PATH);
	if (target < 0) {
		if (errno == ENOENT)
			return;
		fail(errno, "resolve %s", path);
	}
	/* a recursive bind of the path onto itself, read-only (its submounts keep their flags) */
	int tree = clone_tree(target, "", 1);
	if (tree < 0)
		fail(errno, "bind %s", path);
	if (set_attributes(tree, MOUNT_ATTR_RDONLY, 0, 0, 0) < 0 || attach(tree, target) < 0)
		fail(errno, "make %s read-only", path);
	close(tree);
	close(target);
}

void remount_root_readonly(void)
{
	if (set_attributes(root_fd, MOUNT_ATTR_RDONLY, 0, 0, 0) < 0)
		fail(errno, "remount / read-only");
}

/* Bind the object open at `source` (any fd) onto `path` in the rootfs, created as a file if missing. */
void bind_fd(int source, const char *path)
{
	char what[4200];
	snprintf(what, sizeof(what), "bind on %s", path);
	int target = open_bind_target(path, what, 0);
	int tree = clone_tree(source, "", 0);
	if (tree < 0 || attach(tree, target) < 0)
		fail(errno, "bind on %s", path);
	close(tree);
	close(target);
}
