/*
 * libtsrun-shim.so: the few syscalls the runtime needs in its own process, called through koffi.
 * Everything that changes namespaces or credentials happens in tsrun-init, never in node.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <poll.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/syscall.h>
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
 * Detach the mount at `relative` below the directory `root` (a host path of the runtime's own, such
 * as a rootfs), resolved without following any symlink and without leaving `root`: a container may
 * have put symlinks in the way since the mount table was read. "" is `root` itself. 0 or -errno.
 */
int tsrun_unmount_beneath(const char *root, const char *relative)
{
	int dir = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dir < 0)
		return -errno;
	struct open_how how = {
		.flags = O_PATH | O_NOFOLLOW | O_CLOEXEC,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	int target = *relative ? (int)syscall(SYS_openat2, dir, relative, &how, sizeof(how)) : dir;
	int result = 0;
	if (target < 0) {
		result = -errno;
	} else {
		/* the runtime's own /proc: the magic link names exactly the mount that was resolved */
		char path[64];
		snprintf(path, sizeof(path), "/proc/self/fd/%d", target);
		if (umount2(path, MNT_DETACH) < 0)
			result = -errno;
		if (target != dir)
			close(target);
	}
	close(dir);
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
 * The size of the terminal on `fd` (the caller's, for a pty of tsrun's own) as rows << 16 | cols,
 * or -errno.
 */
int tsrun_window_size(int fd)
{
	struct winsize size;
	if (ioctl(fd, TIOCGWINSZ, &size) < 0)
		return -errno;
	return size.ws_row << 16 | size.ws_col;
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
