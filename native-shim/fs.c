/*
 * Filesystem steps of the init: mounts, devices, pivot_root, masked and read-only paths.
 *
 * Paths inside the rootfs belong to the container image and may be hostile (symlinks pointing out,
 * or swapped in while we work). Every destination is therefore resolved with openat2
 * RESOLVE_IN_ROOT relative to the rootfs, and mounted onto the resulting descriptor through
 * /proc/self/fd/N: the mount lands on the object we resolved, never on a path re-walked later.
 */
#define _GNU_SOURCE
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
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
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
 * "/proc/self/fd/N", to name a resolved object in mount(2). After pivot_root /proc is the
 * container's: it must be a real procfs, or the image's own symlinks would choose the target.
 */
void fd_path(char buf[32], int fd)
{
	struct statfs fs;
	if (statfs("/proc/self/fd", &fs) < 0)
		fail(errno, "/proc/self/fd: cannot mount safely");
	if (fs.f_type != PROC_SUPER_MAGIC)
		fail(EPERM, "/proc in the container is not procfs: cannot mount safely");
	snprintf(buf, 32, "/proc/self/fd/%d", fd);
}

/* MS_* flags matching how a mount is mounted now, to keep flags a user namespace may not drop. */
static unsigned long current_mount_flags(const char *path)
{
	struct statvfs st;
	if (statvfs(path, &st) < 0)
		return 0;
	static const struct { unsigned long st, ms; } map[] = {
		{ST_RDONLY, MS_RDONLY}, {ST_NOSUID, MS_NOSUID}, {ST_NODEV, MS_NODEV}, {ST_NOEXEC, MS_NOEXEC},
		{ST_NOATIME, MS_NOATIME}, {ST_NODIRATIME, MS_NODIRATIME}, {ST_RELATIME, MS_RELATIME},
	};
	unsigned long flags = 0;
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (st.f_flag & map[i].st)
			flags |= map[i].ms;
	return flags;
}

/* A bind remount; in a user namespace the kernel refuses to clear locked flags, so keep them. */
static int bind_remount(const char *path, unsigned long flags)
{
	if (mount(NULL, path, NULL, flags | MS_BIND | MS_REMOUNT, NULL) == 0)
		return 0;
	if (errno != EPERM)
		return -1;
	unsigned long locked = current_mount_flags(path) & (MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME | MS_NODIRATIME | MS_RELATIME);
	return mount(NULL, path, NULL, flags | locked | MS_BIND | MS_REMOUNT, NULL);
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

	int target = open_in_root(destination, kind);
	if (target < 0)
		fail(errno, "resolve %s in the rootfs", destination);
	char target_path[32];
	fd_path(target_path, target);
	if (mount(*source ? source : NULL, target_path, *fstype ? fstype : NULL, flags, *data ? data : NULL) < 0)
		fail(errno, "mount %s on %s", *source ? source : fstype, destination);
	close(target);
	if (flags & MS_REMOUNT)
		goto done;

	/* The descriptor shows the directory under the new mount: resolve again to reach the mount. */
	target = open_in_root(destination, KIND_NONE);
	if (target < 0)
		fail(errno, "resolve %s after mounting", destination);
	fd_path(target_path, target);
	if (remount_flags && bind_remount(target_path, remount_flags & ~(unsigned long)(MS_BIND | MS_REMOUNT)) < 0)
		fail(errno, "remount %s", destination);
	for (char **p = propagation; *p; p++)
		if (mount(NULL, target_path, NULL, strtoul(*p, NULL, 10), NULL) < 0)
			fail(errno, "set propagation of %s", destination);
	if (attr_set || attr_clear) {
		struct mount_attr attr = {.attr_set = attr_set, .attr_clr = attr_clear};
		if (attr_set & MOUNT_ATTR__ATIME) /* an atime mode replaces the current one */
			attr.attr_clr |= MOUNT_ATTR__ATIME;
		if (syscall(SYS_mount_setattr, target, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof(attr)) < 0)
			fail(errno, "set recursive attributes of %s", destination);
	}
	close(target);
done:
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
	int target = open_in_root(path, KIND_FILE);
	if (target < 0)
		fail(errno, "resolve %s in the rootfs", path);
	char target_path[32];
	fd_path(target_path, target);
	if (mount(source, target_path, NULL, MS_BIND, NULL) < 0)
		fail(errno, "bind %s on %s", source, path);
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
	char target_path[32];
	fd_path(target_path, target);
	if (S_ISDIR(st.st_mode)) {
		if (mount("tmpfs", target_path, "tmpfs", MS_RDONLY, NULL) < 0)
			fail(errno, "mask %s", path);
	} else {
		int null = open_dev_null();
		char null_path[32];
		fd_path(null_path, null);
		if (mount(null_path, target_path, NULL, MS_BIND, NULL) < 0)
			fail(errno, "mask %s", path);
		close(null);
	}
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
	char target_path[32];
	fd_path(target_path, target);
	if (mount(target_path, target_path, NULL, MS_BIND | MS_REC, NULL) < 0)
		fail(errno, "bind %s", path);
	close(target);
	target = openat2_in_root(root_fd, path, O_PATH);
	if (target < 0)
		fail(errno, "resolve %s", path);
	fd_path(target_path, target);
	if (bind_remount(target_path, MS_RDONLY | current_mount_flags(target_path)) < 0)
		fail(errno, "remount %s read-only", path);
	close(target);
}

void remount_root_readonly(void)
{
	if (bind_remount("/", MS_RDONLY | current_mount_flags("/")) < 0)
		fail(errno, "remount / read-only");
}
