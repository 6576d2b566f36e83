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
	char target[4096], joined[8192];
	ssize_t n = readlinkat(dir, name, target, sizeof(target) - 1);
	if (n < 0)
		return -1;
	target[n] = '\0';
	if (target[0] == '/')
		snprintf(joined, sizeof(joined), "%s", target);
	else
		snprintf(joined, sizeof(joined), "%s/%s", parent, target);
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

/* The directory that holds `path`, created if missing; *at calls on it never follow the last component. */
static int open_parent(const char *path, char name[256])
{
	char parent[4096];
	if (split_path(path, parent, name) < 0)
		fail(EINVAL, "bad path %s", path);
	int dir = open_in_root(*parent ? parent : "/", KIND_DIR);
	if (dir < 0)
		fail(errno, "resolve the directory of %s", path);
	return dir;
}

/*
 * An O_PATH descriptor of the file `path` for a bind mount onto it (a device node, /dev/console),
 * created if missing. A symlink there (the image's, or a shared /dev volume's) is replaced, never
 * followed: it could point the bind at /proc/sys/kernel/core_pattern (CVE-2025-52565).
 */
static int open_file_nofollow(const char *path)
{
	char name[256];
	int dir = open_parent(path, name);
	struct stat st;
	if (fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode) && unlinkat(dir, name, 0) < 0)
		fail(errno, "remove the symlink at %s", path);
	int made = openat(dir, name, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (made >= 0)
		close(made);
	else if (errno != EEXIST)
		fail(errno, "create %s", path);
	int fd = openat(dir, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0)
		fail(errno, "open %s", path);
	if (S_ISLNK(st.st_mode))
		fail(ELOOP, "%s is a symlink", path);
	close(dir);
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
	/* the data string, split as the kernel splits it for mount(2): "key=value" or "flag", by commas */
	char options[4096];
	snprintf(options, sizeof(options), "%s", data);
	for (char *save, *option = strtok_r(options, ",", &save); ok && option; option = strtok_r(NULL, ",", &save)) {
		char *value = strchr(option, '=');
		if (value)
			*value++ = '\0';
		ok = syscall(SYS_fsconfig, fs, value ? FSCONFIG_SET_STRING : FSCONFIG_SET_FLAG, option, value, 0) == 0;
	}
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
	char self[32];
	snprintf(self, sizeof(self), "/proc/self/fd/%d", tree);
	if (chmod(self, st.st_mode & 07777) < 0)
		fail(errno, "tmpcopyup: set the mode of %s", destination);
}

/*
 * Bind sources cloned by stage 0 as the host's root (openMountSource), before a user namespace
 * closes root-only directories to the init; inherited by the init, each taken by the mount step of
 * the same source. A failed open is kept as -errno and reported by that step.
 */
#define MAX_MOUNT_SOURCES 256
static struct {
	const char *path;
	int recursive;
	int tree;
} mount_sources[MAX_MOUNT_SOURCES];
static int mount_source_count;

void open_mount_source(const char *path, int recursive)
{
	if (mount_source_count == MAX_MOUNT_SOURCES)
		fail(E2BIG, "more than %d bind mounts", MAX_MOUNT_SOURCES);
	int tree = clone_tree(AT_FDCWD, path, recursive);
	/* a slave of the host's mounts, as everything after the init's rootPropagation step */
	if (tree >= 0 && set_attributes(tree, 0, 0, MS_SLAVE, 1) < 0)
		fail(errno, "make the copy of %s a slave", path);
	mount_sources[mount_source_count].path = path;
	mount_sources[mount_source_count].recursive = recursive;
	mount_sources[mount_source_count].tree = tree >= 0 ? tree : -errno;
	mount_source_count++;
}

/* The tree stage 0 opened for `path`, or clone it now (no user namespace, or not opened). */
static int bind_source_tree(const char *path, int recursive)
{
	for (int i = 0; i < mount_source_count; i++) {
		if (mount_sources[i].path && strcmp(mount_sources[i].path, path) == 0 && mount_sources[i].recursive == recursive) {
			int tree = mount_sources[i].tree;
			mount_sources[i].path = NULL;
			if (tree < 0)
				errno = -tree;
			return tree < 0 ? -1 : tree;
		}
	}
	return clone_tree(AT_FDCWD, path, recursive);
}

void bind_rootfs(const char *rootfs)
{
	if (mount(rootfs, rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
		fail(errno, "bind %s", rootfs);
	root_fd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root_fd < 0)
		fail(errno, "open %s", rootfs);
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

	int target = open_in_root(destination, kind);
	if (target < 0)
		fail(errno, "resolve %s in the rootfs", destination);
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
		tree = bind_source_tree(source, (flags & MS_REC) != 0);
		if (tree < 0)
			fail(errno, "mount %s on %s", source, destination);
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

	char name[256];
	int dir = open_parent(path, name);
	if (mknodat(dir, name, (mode & 07777) | type, makedev(major, minor)) < 0) {
		if (errno != EEXIST || unlinkat(dir, name, 0) < 0 || mknodat(dir, name, (mode & 07777) | type, makedev(major, minor)) < 0)
			fail(errno, "mknod %s", path);
	}
	if (fchownat(dir, name, uid, gid, AT_SYMLINK_NOFOLLOW) < 0)
		fail(errno, "set the owner of %s", path);
	close(dir);
}

void bind_device_step(struct reader *r)
{
	const char *source = read_token(r), *path = read_token(r);
	int target = open_file_nofollow(path);
	int tree = clone_tree(AT_FDCWD, source, 0);
	if (tree < 0 || attach(tree, target) < 0)
		fail(errno, "bind %s on %s", source, path);
	close(tree);
	close(target);
}

void symlink_step(struct reader *r)
{
	const char *target = read_token(r), *path = read_token(r);
	char name[256];
	int dir = open_parent(path, name);
	/* what the image has there (a /dev/ptmx node, say) gives way; a directory does not */
	if (symlinkat(target, dir, name) < 0 && (errno != EEXIST || unlinkat(dir, name, 0) < 0 || symlinkat(target, dir, name) < 0))
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

/*
 * --no-pivot (move = 1): move the rootfs mount onto / and chroot there. Without a mount namespace
 * (move = 0) the / is the host's: a plain chroot into the rootfs bind mount, nothing moved.
 */
void chroot_step(int move)
{
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
	int target = open_file_nofollow(path);
	int tree = clone_tree(source, "", 0);
	if (tree < 0 || attach(tree, target) < 0)
		fail(errno, "bind on %s", path);
	close(tree);
	close(target);
}
