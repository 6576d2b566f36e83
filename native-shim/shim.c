/*
 * libtsrun-shim.so: the few syscalls the runtime needs in its own process, called through koffi.
 * Everything that changes namespaces or credentials happens in tsrun-init, never in node.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/wait.h>

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

/* Detach the mount at `path` (no symlink followed). Returns 0 or -errno. */
int tsrun_unmount(const char *path)
{
	return umount2(path, MNT_DETACH | UMOUNT_NOFOLLOW) < 0 ? -errno : 0;
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
