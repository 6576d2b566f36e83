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
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
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
