/*
 * libtsrun-shim.so: the few syscalls the runtime needs in its own process, called through koffi.
 * Everything that changes namespaces or credentials happens in tsrun-init, never in node.
 */
#define _GNU_SOURCE
#include <errno.h>
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
