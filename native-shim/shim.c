/*
 * libtsrun-shim.so: the few syscalls the runtime needs in its own process, called through koffi.
 * Everything that changes namespaces or credentials happens in tsrun-init, never in node.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <poll.h>
#include <stdint.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/*
 * Wait for a child that libuv did not spawn (the container init, cloned with CLONE_PARENT).
 * Returns the raw wait status (decoded by src/shim/index.ts) or -errno.
 */
int tsrun_wait_exit(int pid)
{
	int status;
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			return -errno;
	}
	return status;
}

/*
 * flock(2) on a descriptor the runtime opened (the per-container lock file in the state root).
 * Returns 0 or -errno (-EWOULDBLOCK with LOCK_NB while another open file holds the lock).
 */
int tsrun_flock(int fd, int operation)
{
	while (flock(fd, operation) < 0) {
		if (errno != EINTR)
			return -errno;
	}
	return 0;
}

#ifndef STATX_MNT_ID_UNIQUE
#define STATX_MNT_ID_UNIQUE 0x00004000U /* Linux 6.8 */
#endif

/* ids[0]: the mount id of `fd` (as /proc/self/mountinfo shows it), ids[1]: its never reused id, or 0. */
static int mount_ids(int fd, uint64_t ids[2])
{
	struct statx reused, unique;
	if (statx(fd, "", AT_EMPTY_PATH, STATX_MNT_ID, &reused) < 0)
		return -errno;
	if (!(reused.stx_mask & STATX_MNT_ID))
		return -ENOSYS;
	ids[0] = reused.stx_mnt_id;
	ids[1] = statx(fd, "", AT_EMPTY_PATH, STATX_MNT_ID_UNIQUE, &unique) == 0 && (unique.stx_mask & STATX_MNT_ID_UNIQUE) ? unique.stx_mnt_id : 0;
	return 0;
}

/*
 * The ids (see mount_ids) of the topmost mount at the directory `path` (a host path of the
 * runtime's own, such as a rootfs). 0 or -errno.
 */
int tsrun_mount_ids(const char *path, uint64_t ids[2])
{
	int fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int result = mount_ids(fd, ids);
	close(fd);
	return result;
}

/*
 * Detach the topmost mount at the directory `path` only if it is the one `expected` names (its
 * mount id, and its never reused id unless that is 0): the descriptor compared is the one
 * unmounted, so nothing swapped in meanwhile is touched. 0, -ESTALE for another mount, or -errno.
 */
int tsrun_unmount_mount(const char *path, const uint64_t expected[2])
{
	int fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	uint64_t ids[2];
	int result = mount_ids(fd, ids);
	if (result == 0 && (ids[0] != expected[0] || (expected[1] && ids[1] != expected[1])))
		result = -ESTALE;
	if (result == 0) {
		char fd_path[64];
		snprintf(fd_path, sizeof(fd_path), "/proc/self/fd/%d", fd);
		if (umount2(fd_path, MNT_DETACH) < 0)
			result = -errno;
	}
	close(fd);
	return result;
}

/*
 * Receive one descriptor sent with SCM_RIGHTS (the pty master a container sends to its console
 * socket). Blocks; returns the descriptor, or -errno (-EBADMSG when the message carried none).
 */
int tsrun_recv_fd(int socket)
{
	char name[256];
	char control[CMSG_SPACE(sizeof(int))];
	struct iovec iov = {.iov_base = name, .iov_len = sizeof(name)};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof(control)};
	ssize_t n;
	/* node's sockets are non-blocking: wait for the message here, on the worker thread */
	while ((n = recvmsg(socket, &msg, MSG_CMSG_CLOEXEC)) < 0) {
		struct pollfd ready = {.fd = socket, .events = POLLIN};
		if (errno == EAGAIN)
			poll(&ready, 1, -1);
		else if (errno != EINTR)
			return -errno;
	}
	struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);
	if (!cmsg || cmsg->cmsg_level != SOL_SOCKET || cmsg->cmsg_type != SCM_RIGHTS)
		return -EBADMSG;
	int fd;
	memcpy(&fd, CMSG_DATA(cmsg), sizeof(int));
	return fd;
}

/*
 * The size of the terminal on `fd` (the caller's, for a pty of tsrun's own) as rows << 16 | cols
 * (rows at most 32767), or -errno.
 */
int tsrun_window_size(int fd)
{
	struct winsize size;
	if (ioctl(fd, TIOCGWINSZ, &size) < 0)
		return -errno;
	/* rows clamped to 15 bits: the result stays a non-negative int (no terminal has more) */
	unsigned rows = size.ws_row > 0x7fff ? 0x7fff : size.ws_row;
	return (int)(rows << 16 | size.ws_col);
}

/* Resize the pty whose master is `fd`; the kernel signals SIGWINCH to its foreground group. 0 or -errno. */
int tsrun_set_window_size(int fd, int rows, int cols)
{
	struct winsize size = {.ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols};
	return ioctl(fd, TIOCSWINSZ, &size) < 0 ? -errno : 0;
}

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);
		if (n < 0) {
			struct pollfd ready = {.fd = fd, .events = POLLOUT};
			if (errno == EAGAIN)
				poll(&ready, 1, -1);
			else if (errno != EINTR)
				return -errno;
			continue;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * Copy to `out` what a pty master still holds once its process has exited. Read until EIO: no
 * process holds the other side any more and everything is read (libuv takes the first POLLHUP after
 * a short read for the end, while the pty still moves data into its read buffer). One the process
 * left in the background may hold it open: stop once nothing came for `quiet_ms`, or after `max_ms`.
 * 0 or -errno.
 */
int tsrun_drain_pty(int master, int out, int quiet_ms, int max_ms)
{
	char buf[16384];
	long long deadline = now_ms() + max_ms;
	for (;;) {
		long long left = deadline - now_ms();
		if (left <= 0)
			return 0;
		struct pollfd ready = {.fd = master, .events = POLLIN};
		int n = poll(&ready, 1, left < quiet_ms ? (int)left : quiet_ms);
		if (n == 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return -errno;
		if (n < 0)
			continue;
		ssize_t got = read(master, buf, sizeof(buf));
		if (got == 0 || (got < 0 && errno == EIO))
			return 0;
		if (got < 0 && errno != EAGAIN && errno != EINTR)
			return -errno;
		if (got > 0 && write_all(out, buf, (size_t)got) < 0)
			return -errno;
	}
}
