/*
 * The container init's steps that are not about the filesystem: hooks, terminal, identity and
 * capabilities, limits, and the final exec; plus the dispatch of every container step.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <grp.h>
#include <limits.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "fs.h"
#include "plan.h"

extern int start_fd, console_fd, first_private_fd;

static char *state_json = "";
static uint32_t state_length;
static char *executable; /* allocated: a path of any length the kernel takes */
static unsigned long process_uid;
static int has_terminal; /* the terminal step made a pty of ours the stdio */

/* ---- hooks ---- */

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* Runs one hook with the state on stdin; returns NULL on success or a description of the failure. */
static const char *run_hook(const char *path, char **args, char **env, long long timeout)
{
	static char failure[1400];
	int in[2], out[2];
	if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0)
		fail(errno, "pipe");
	pid_t pid = fork();
	if (pid < 0)
		fail(errno, "fork");
	if (pid == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		dup2(out[1], 2);
		syscall(SYS_close_range, 3, ~0U, 0);
		execve(path, args[0] ? args : (char *[]){(char *)path, NULL}, env);
		dprintf(2, "exec %s: %s", path, strerror(errno));
		_exit(127);
	}
	close(in[0]);
	close(out[1]);

	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pidfd < 0)
		fail(errno, "pidfd_open");
	/*
	 * The state goes to stdin inside the loop, never blocking: a hook that does not read it (a state
	 * larger than the pipe buffer) must still meet its timeout. One that exits without reading is
	 * its own business.
	 */
	signal(SIGPIPE, SIG_IGN);
	int input = in[1];
	size_t written = 0;
	if (fcntl(input, F_SETFL, O_NONBLOCK) < 0)
		fail(errno, "make the hook's stdin non-blocking");
	int output = out[0];
	char tail[1024]; /* the last bytes the hook printed, for the error message */
	size_t tail_len = 0;
	long long deadline = timeout > 0 ? now_ms() + timeout * 1000 : -1;
	int exited = 0, timed_out = 0;
	while (!exited) {
		if (input >= 0 && written == state_length) {
			close(input);
			input = -1;
		}
		struct pollfd fds[3] = {
			{.fd = output, .events = POLLIN}, {.fd = pidfd, .events = POLLIN}, {.fd = input, .events = POLLOUT},
		};
		int wait_ms = deadline < 0 ? -1 : (int)(deadline - now_ms());
		if (deadline >= 0 && wait_ms <= 0) {
			timed_out = 1;
			kill(pid, SIGKILL);
			break;
		}
		if (poll(fds, 3, wait_ms) < 0 && errno != EINTR)
			fail(errno, "poll");
		if (fds[2].revents) {
			ssize_t n = write(input, state_json + written, state_length - written);
			if (n > 0)
				written += (size_t)n;
			else if (errno != EAGAIN && errno != EINTR)
				written = state_length; /* EPIPE: the hook closed its stdin */
		}
		if (fds[0].revents) {
			char buf[512];
			ssize_t got = read(output, buf, sizeof(buf));
			if (got <= 0) {
				close(output);
				output = -1;
			} else {
				size_t keep = sizeof(tail) - (size_t)got;
				if (tail_len > keep) {
					memmove(tail, tail + tail_len - keep, keep);
					tail_len = keep;
				}
				memcpy(tail + tail_len, buf, (size_t)got);
				tail_len += (size_t)got;
			}
		}
		exited = fds[1].revents != 0;
	}
	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	signal(SIGPIPE, SIG_DFL);
	if (input >= 0)
		close(input);
	close(pidfd);
	if (output >= 0)
		close(output);
	while (tail_len > 0 && (tail[tail_len - 1] == '\n' || tail[tail_len - 1] == ' '))
		tail_len--;
	if (timed_out)
		snprintf(failure, sizeof(failure), "timed out after %lld s", timeout);
	else if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return NULL;
	else if (WIFSIGNALED(status))
		snprintf(failure, sizeof(failure), "killed by signal %d", WTERMSIG(status));
	else
		snprintf(failure, sizeof(failure), "exit status %d", WEXITSTATUS(status));
	if (tail_len > 0) {
		size_t used = strlen(failure);
		snprintf(failure + used, sizeof(failure) - used, ": %.*s", (int)tail_len, tail);
	}
	return failure;
}

static void hooks_step(struct reader *r)
{
	const char *stage = read_token(r);
	long long count = read_int(r);
	/* runc runs createContainer hooks (before pivot_root) in the container's root directory */
	if (strcmp(stage, "createContainer") == 0) {
		int root = open_in_root("/", KIND_DIR);
		if (root < 0 || fchdir(root) < 0)
			fail(errno, "chdir to the rootfs");
		close(root);
	}
	for (long long i = 0; i < count; i++) {
		const char *path = read_token(r);
		char **args = read_list(r), **env = read_list(r);
		long long timeout = read_int(r);
		const char *failure = run_hook(path, args, env, timeout);
		if (failure)
			fail(0, "%s hook #%lld %s: %s", stage, i, path, failure);
		free(args);
		free(env);
	}
}

/* ---- terminal ---- */

static void send_fd(int socket, int fd, const char *name)
{
	char control[CMSG_SPACE(sizeof(int))] = {0};
	struct iovec iov = {.iov_base = (void *)name, .iov_len = strlen(name)};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof(control)};
	struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);
	cmsg->cmsg_level = SOL_SOCKET;
	cmsg->cmsg_type = SCM_RIGHTS;
	cmsg->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
	if (sendmsg(socket, &msg, 0) < 0)
		fail(errno, "send the terminal to the console socket");
}

/*
 * The multiplexer of the container's devpts instance. /dev/ptmx belongs to the image (exec runs
 * after the container could replace it): open ptmx in /dev/pts instead, checked to be the root of
 * a devpts, with no symlink followed on the way.
 */
static int open_ptmx(void)
{
	int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	struct open_how how = {.flags = O_PATH | O_DIRECTORY | O_CLOEXEC, .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS};
	int pts = root < 0 ? -1 : (int)syscall(SYS_openat2, root, "/dev/pts", &how, sizeof(how));
	if (pts < 0)
		fail(errno, "open /dev/pts");
	close(root);
	struct statfs fs;
	struct stat st;
	if (fstatfs(pts, &fs) < 0 || fstat(pts, &st) < 0)
		fail(errno, "stat /dev/pts");
	if (fs.f_type != DEVPTS_SUPER_MAGIC || st.st_ino != 1)
		fail(EPERM, "/dev/pts in the container is not a devpts mount");
	int master = openat(pts, "ptmx", O_RDWR | O_NOCTTY | O_NOFOLLOW | O_CLOEXEC);
	if (master < 0)
		fail(errno, "open /dev/pts/ptmx");
	if (fstat(master, &st) < 0 || !S_ISCHR(st.st_mode) || st.st_rdev != makedev(5, 2))
		fail(EPERM, "/dev/pts/ptmx in the container is not the pty multiplexer");
	close(pts);
	return master;
}

static void terminal_step(struct reader *r)
{
	unsigned short rows = (unsigned short)read_int(r), cols = (unsigned short)read_int(r);
	int keep_console = (int)read_int(r);
	int master = open_ptmx();
	int unlock = 0, number;
	if (ioctl(master, TIOCSPTLCK, &unlock) < 0 || ioctl(master, TIOCGPTN, &number) < 0)
		fail(errno, "unlock the pty");
	int slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY);
	if (slave < 0)
		fail(errno, "open the pty slave");
	if (rows && cols) {
		struct winsize size = {.ws_row = rows, .ws_col = cols};
		ioctl(master, TIOCSWINSZ, &size);
	}
	char name[32];
	snprintf(name, sizeof(name), "/dev/pts/%d", number);
	/* /dev/console is the container's terminal too (runc binds the pty there) */
	if (!keep_console)
		bind_fd(slave, "/dev/console");
	send_fd(console_fd, master, name);
	close(master);
	close(console_fd);
	console_fd = -1;
	for (int fd = 0; fd < 3; fd++)
		if (dup2(slave, fd) < 0)
			fail(errno, "make the pty stdio");
	if (slave > 2)
		close(slave);
	if (ioctl(0, TIOCSCTTY, 0) < 0)
		fail(errno, "make the pty the controlling terminal");
	has_terminal = 1;
}

/*
 * The pty was opened as root: give it to the process's user, or it could not change its own
 * terminal's modes (stty). As runc does, only the owner changes: the group is devpts' gid= (tty)
 * with mode 0620. EINVAL or EPERM (an id unmapped in a user namespace) leaves it as it is.
 */
static void give_terminal_to(uid_t uid)
{
	if (has_terminal && fchown(0, uid, (gid_t)-1) < 0 && errno != EINVAL && errno != EPERM)
		fail(errno, "give the terminal to uid %u", uid);
}

/* ---- identity ---- */

static int id_in_range(long long id)
{
	return id >= 0 && id <= INT32_MAX;
}

static void identity_step(struct reader *r)
{
	long long uid_value = read_int(r), gid_value = read_int(r);
	uid_t uid = (uid_t)uid_value;
	gid_t gid = (gid_t)gid_value;
	char **groups = read_list(r);
	long long mask = read_int(r);
	long long no_new_privs = read_int(r);
	uint64_t bounding = read_u64(r), effective = read_u64(r), permitted = read_u64(r);
	uint64_t inheritable = read_u64(r), ambient = read_u64(r);

	/* The last guard behind validation: setresuid(2) reads (uid_t)-1 as "unchanged", which would leave the process root. */
	if (!id_in_range(uid_value) || !id_in_range(gid_value))
		fail(EINVAL, "uid %lld, gid %lld: ids must be 0 to %d", uid_value, gid_value, INT32_MAX);
	process_uid = uid;
	give_terminal_to(uid);

	for (int cap = 0; cap < 64; cap++)
		if (!(bounding & (1ULL << cap)) && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
			fail(errno, "drop capability %d from the bounding set", cap);

	size_t ngroups = 0;
	while (groups[ngroups])
		ngroups++;
	/* validation holds additionalGids to NGROUPS_MAX too; the array is on the heap, never sized by the config on the stack */
	if (ngroups > NGROUPS_MAX)
		fail(E2BIG, "process.user.additionalGids: %zu groups, more than the kernel's %d (NGROUPS_MAX)", ngroups, NGROUPS_MAX);
	gid_t *gids = calloc(ngroups + 1, sizeof(gid_t));
	if (!gids)
		fail(ENOMEM, "allocate");
	for (size_t i = 0; i < ngroups; i++) {
		char *end;
		errno = 0;
		long long value = strtoll(groups[i], &end, 10);
		if (errno || *end || end == groups[i] || !id_in_range(value))
			fail(EINVAL, "additional gid %s: ids must be 0 to %d", groups[i], INT32_MAX);
		gids[i] = (gid_t)value;
	}
	if (setgroups(ngroups, gids) < 0 && !(errno == EPERM && ngroups == 0))
		fail(errno, "setgroups");
	free(gids);
	free(groups);
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
		fail(errno, "keep capabilities");
	if (setresgid(gid, gid, gid) < 0)
		fail(errno, "setgid %u", gid);
	if (setresuid(uid, uid, uid) < 0)
		fail(errno, "setuid %u", uid);
	prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);

	struct __user_cap_header_struct header = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
	struct __user_cap_data_struct data[2] = {
		{(uint32_t)effective, (uint32_t)permitted, (uint32_t)inheritable},
		{(uint32_t)(effective >> 32), (uint32_t)(permitted >> 32), (uint32_t)(inheritable >> 32)},
	};
	if (syscall(SYS_capset, &header, data) < 0)
		fail(errno, "set capabilities");
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		fail(errno, "clear ambient capabilities");
	for (int cap = 0; cap < 64; cap++)
		if ((ambient & (1ULL << cap)) && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0)
			fail(errno, "raise ambient capability %d", cap);
	if (no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		fail(errno, "set no_new_privs");
	umask(mask >= 0 ? (mode_t)mask : 022);
}

/* ---- the program ---- */

static const char *env_value(char **env, const char *name)
{
	size_t len = strlen(name);
	for (; *env; env++)
		if (strncmp(*env, name, len) == 0 && (*env)[len] == '=')
			return *env + len + 1;
	return NULL;
}

static int is_executable(const char *path)
{
	struct stat st;
	if (stat(path, &st) < 0)
		return 0;
	if (!S_ISREG(st.st_mode)) {
		errno = EACCES;
		return 0;
	}
	return access(path, X_OK) == 0;
}

/* Resolve the program now, so that a missing one fails create rather than start (as runc does). */
static void find_executable(struct reader *r)
{
	char **args = read_list(r), **env = read_list(r);
	if (!args[0] || !*args[0])
		fail(EINVAL, "process.args is empty");
	if (strchr(args[0], '/')) {
		if (!(executable = strdup(args[0])))
			fail(ENOMEM, "allocate");
		if (!is_executable(executable))
			fail(errno, "exec: \"%s\"", args[0]);
	} else {
		/* allocated to fit: a long PATH or program name is the kernel's to refuse (ENAMETOOLONG), never cut */
		const char *path = env_value(env, "PATH");
		char *dirs = strdup(path ? path : "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
		if (!dirs)
			fail(ENOMEM, "allocate");
		for (char *save, *dir = strtok_r(dirs, ":", &save); dir && !executable; dir = strtok_r(NULL, ":", &save)) {
			char *candidate;
			if (asprintf(&candidate, "%s/%s", *dir ? dir : ".", args[0]) < 0)
				fail(ENOMEM, "allocate");
			if (is_executable(candidate))
				executable = candidate;
			else
				free(candidate);
		}
		free(dirs);
		if (!executable)
			fail(ENOENT, "exec: \"%s\": executable file not found in $PATH", args[0]);
	}
	free(args);
	free(env);
}

static void wait_start(void)
{
	send_line("ready");
	close(sync_fd);
	sync_fd = -1;
	char go;
	ssize_t n;
	while ((n = read(start_fd, &go, 1)) < 0 && errno == EINTR)
		;
	if (n != 1)
		fail(n < 0 ? errno : EIO, "read the start fifo");
	close(start_fd);
}

/* HOME from the container's /etc/passwd when the config sets none, as runc does (no NSS here). */
static char **with_home(char **env)
{
	if (env_value(env, "HOME"))
		return env;
	char *home = "HOME=/";
	/* only a regular file: a fifo planted at /etc/passwd must not hang the start */
	int fd = open("/etc/passwd", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	struct stat st;
	FILE *passwd = fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) ? fdopen(fd, "r") : NULL;
	if (!passwd && fd >= 0)
		close(fd);
	/* getline: a long line of the image's passwd is one line, not several (its tail read as an entry) */
	char *line = NULL;
	size_t line_size = 0;
	while (passwd && getline(&line, &line_size, passwd) > 0) {
		char *fields[7] = {0};
		/* name:password:uid:gid:gecos:home:shell, the gecos field may be empty */
		int i = 0;
		for (char *p = line, *start = line; i < 7; p++) {
			if (*p == ':' || *p == '\n' || *p == '\0') {
				char end = *p;
				*p = '\0';
				fields[i++] = start;
				start = p + 1;
				if (end != ':')
					break;
			}
		}
		if (i >= 6 && fields[2][0] && strtoul(fields[2], NULL, 10) == process_uid && fields[5][0]) {
			if (asprintf(&home, "HOME=%s", fields[5]) < 0)
				fail(ENOMEM, "allocate");
			break;
		}
	}
	free(line);
	if (passwd)
		fclose(passwd);
	size_t count = 0;
	while (env[count])
		count++;
	char **extended = calloc(count + 2, sizeof(char *));
	if (!extended)
		fail(ENOMEM, "allocate");
	memcpy(extended, env, count * sizeof(char *));
	extended[count] = home;
	return extended;
}

static void exec_step(struct reader *r)
{
	char **args = read_list(r), **env = with_home(read_list(r));
	/* Nothing of the caller's beyond stdio and the preserved fds reaches the program. */
	if (syscall(SYS_close_range, first_private_fd, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
		fail(errno, "close inherited descriptors");
	for (int fd = 0; fd < 3; fd++) {
		int flags = fcntl(fd, F_GETFL);
		if (flags >= 0 && (flags & O_NONBLOCK))
			fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
	}
	if (!executable)
		fail(EINVAL, "malformed plan: exec without findExecutable");
	if (sync_fd >= 0)
		send_line("exec"); /* no waitStart (an exec plan): the socket closes with the execve */
	execve(executable, args, env);
	fail(errno, "exec %s", executable);
}

static void sysctl_step(const char *key, const char *value)
{
	char path[PATH_MAX];
	/* The key is dotted; a dot inside a component (an interface name like eth0.1) is written as '/'. */
	int n = snprintf(path, sizeof(path), "/proc/sys/%s", key);
	/* validation refuses such keys (linux.sysctl); the loop below must never walk past the buffer */
	if (n < 0 || (size_t)n >= sizeof(path))
		fail(ENAMETOOLONG, "sysctl %.64s...: the key is too long for a path under /proc/sys", key);
	for (char *p = path + 10; p < path + n; p++)
		*p = *p == '.' ? '/' : *p == '/' ? '.' : *p;
	if (strstr(path + 9, "/.") || path[n - 1] == '/')
		fail(EINVAL, "sysctl %s", key);
	write_text(AT_FDCWD, path, value);
}

/* A new network namespace starts with lo down: bring it up, as runc does (its "loopback" network). */
static void loopback_up(void)
{
	int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (sock < 0)
		fail(errno, "socket for lo");
	struct ifreq ifr = {0};
	strcpy(ifr.ifr_name, "lo");
	if (ioctl(sock, SIOCGIFFLAGS, &ifr) < 0)
		fail(errno, "get flags of lo");
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(sock, SIOCSIFFLAGS, &ifr) < 0)
		fail(errno, "set lo up");
	close(sock);
}

void run_container_step(const char *op, struct reader *r)
{
	if (strcmp(op, "loopbackUp") == 0) {
		loopback_up();
	} else if (strcmp(op, "rootPropagation") == 0 || strcmp(op, "setRootPropagation") == 0) {
		set_root_propagation((unsigned long)read_u64(r));
	} else if (strcmp(op, "bindRootfs") == 0) {
		bind_rootfs(read_token(r));
	} else if (strcmp(op, "bindRootfsInHost") == 0) {
		bind_rootfs_in_host(read_token(r));
	} else if (strcmp(op, "mount") == 0) {
		mount_step(r);
	} else if (strcmp(op, "mknod") == 0) {
		mknod_step(r);
	} else if (strcmp(op, "bindDevice") == 0) {
		bind_device_step(r);
	} else if (strcmp(op, "symlink") == 0) {
		symlink_step(r);
	} else if (strcmp(op, "oomScoreAdj") == 0) {
		write_text(AT_FDCWD, "/proc/self/oom_score_adj", read_token(r));
	} else if (strcmp(op, "rlimit") == 0) {
		int resource = (int)read_int(r);
		uint64_t soft = read_u64(r); /* two statements: initializers have no evaluation order */
		uint64_t hard = read_u64(r);
		struct rlimit limit = {.rlim_cur = soft, .rlim_max = hard};
		if (setrlimit(resource, &limit) < 0)
			fail(errno, "setrlimit %d", resource);
	} else if (strcmp(op, "syncCreateRuntime") == 0) {
		send_line("createRuntime");
		state_json = receive_message(&state_length);
	} else if (strcmp(op, "hooks") == 0) {
		hooks_step(r);
	} else if (strcmp(op, "pivotRoot") == 0) {
		pivot_root_step();
	} else if (strcmp(op, "chroot") == 0 || strcmp(op, "enterRoot") == 0) {
		chroot_step(strcmp(op, "chroot") == 0);
	} else if (strcmp(op, "maskPath") == 0) {
		mask_path(read_token(r));
	} else if (strcmp(op, "readonlyPath") == 0) {
		readonly_path(read_token(r));
	} else if (strcmp(op, "remountRootReadonly") == 0) {
		remount_root_readonly();
	} else if (strcmp(op, "hostname") == 0) {
		const char *name = read_token(r);
		if (sethostname(name, strlen(name)) < 0)
			fail(errno, "sethostname %s", name);
	} else if (strcmp(op, "domainname") == 0) {
		const char *name = read_token(r);
		if (setdomainname(name, strlen(name)) < 0)
			fail(errno, "setdomainname %s", name);
	} else if (strcmp(op, "sysctl") == 0) {
		const char *key = read_token(r);
		sysctl_step(key, read_token(r));
	} else if (strcmp(op, "terminal") == 0) {
		terminal_step(r);
	} else if (strcmp(op, "identity") == 0) {
		identity_step(r);
	} else if (strcmp(op, "chdir") == 0) {
		const char *path = read_token(r);
		if (chdir(path) < 0 && errno == ENOENT) {
			int dir = open_in_root(path, KIND_DIR); /* runc creates a missing cwd */
			if (dir >= 0)
				close(dir);
		}
		if (chdir(path) < 0)
			fail(errno, "chdir %s", path);
		/*
		 * A cwd the root cannot reach (a descriptor of the host's through /proc/self/fd/N) has no
		 * path from the root: getcwd fails with ENOENT. Never start the program there.
		 */
		char *cwd = getcwd(NULL, 0); /* allocated to fit: a deep cwd is no error */
		if (!cwd)
			fail(errno == ENOENT ? EPERM : errno, "chdir %s: the directory is outside the container", path);
		free(cwd);
	} else if (strcmp(op, "findExecutable") == 0) {
		find_executable(r);
	} else if (strcmp(op, "waitStart") == 0) {
		wait_start();
	} else if (strcmp(op, "exec") == 0) {
		exec_step(r);
	} else {
		fail(EINVAL, "malformed plan: unknown step %s", op);
	}
}
