/*
 * tsrun-init: stage 0 and the container init. It decides nothing: it walks the Plan it is sent.
 *
 *   runtime (node)            stage 0 (this binary)                 init (clone of stage 0)
 *   spawn "stage0 <fd>" ───►  re-exec from a sealed memfd
 *   join cgroups, send plan ─► host steps (fifos, console, setns)
 *                             clone(CLONE_PARENT|CLONE_NEW*) ──────► wait for id maps
 *                             write uid_map/gid_map, release init ─► container steps ...
 *   ◄─────────────────────── "init <pid>", exit                      "createRuntime" ──► hooks
 *   state JSON ────────────────────────────────────────────────────► ... pivot_root ... "ready"
 *   (create exits)                                                   read start fifo, exec
 *
 * Stage 0 is a fresh single-threaded process (setns into user and mount namespaces is refused to
 * a multithreaded one such as node). CLONE_PARENT makes the init a child of the runtime, so it is
 * reparented to the caller's subreaper once `tsrun create` exits, with no tsrun process between.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/sched.h> /* struct clone_args, CLONE_INTO_CGROUP */
#include <stdint.h>

#include "fs.h"
#include "plan.h"

int sync_fd = -1;
int started_fd = -1;
const char *current_phase = "plan";
int current_step = 0;

int start_fd = -1;
int first_private_fd = 3; /* fds below are stdio and --preserve-fds; the sync socket comes next */
int console_fd = -1;
static int cgroup_fd = -1; /* the container's cgroup2 directory, for the clone */

/* ---- reporting ---- */

static void write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		buf += n;
		len -= (size_t)n;
	}
}

void send_line(const char *fmt, ...)
{
	char line[4096];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(line) - 2)
		n = sizeof(line) - 2;
	for (int i = 0; i < n; i++)
		if (line[i] == '\n')
			line[i] = ' ';
	line[n++] = '\n';
	write_all(sync_fd, line, (size_t)n);
}

void fail(int errnum, const char *fmt, ...)
{
	char text[3072];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (sync_fd >= 0) {
		send_line("error %s %d %d %s", current_phase, current_step, errnum, text);
	} else {
		char line[3200];
		int n = snprintf(line, sizeof(line), "%s%s%s\n", text, errnum ? ": " : "", errnum ? strerror(errnum) : "");
		write_all(started_fd >= 0 ? started_fd : 2, line, n > 0 ? (size_t)n : 0);
	}
	_exit(1);
}

/* ---- the plan reader ---- */

const char *read_token(struct reader *r)
{
	char *token = r->next;
	char *nul = token < r->end ? memchr(token, '\0', (size_t)(r->end - token)) : NULL;
	if (!nul)
		fail(EINVAL, "malformed plan: truncated");
	r->next = nul + 1;
	return token;
}

long long read_int(struct reader *r)
{
	const char *token = read_token(r);
	char *end;
	errno = 0;
	long long value = strtoll(token, &end, 10);
	if (errno || *token == '\0' || *end != '\0')
		fail(EINVAL, "malformed plan: %s is not a number", token);
	return value;
}

uint64_t read_u64(struct reader *r)
{
	const char *token = read_token(r);
	char *end;
	errno = 0;
	unsigned long long value = strtoull(token, &end, 10);
	if (errno || *token == '\0' || *token == '-' || *end != '\0')
		fail(EINVAL, "malformed plan: %s is not an unsigned number", token);
	return value;
}

char **read_list(struct reader *r)
{
	long long count = read_int(r);
	if (count < 0 || count > 1 << 20)
		fail(EINVAL, "malformed plan: bad list length");
	char **list = calloc((size_t)count + 1, sizeof(char *));
	if (!list)
		fail(ENOMEM, "allocate");
	for (long long i = 0; i < count; i++)
		list[i] = (char *)read_token(r);
	return list;
}

static void read_exactly(int fd, void *buf, size_t len)
{
	char *p = buf;
	while (len > 0) {
		ssize_t n = read(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			fail(errno, "read from runtime");
		if (n == 0)
			_exit(1); /* the runtime went away: nothing to report to */
		p += n;
		len -= (size_t)n;
	}
}

char *receive_message(uint32_t *length)
{
	uint32_t len;
	read_exactly(sync_fd, &len, sizeof(len));
	if (len > 64u << 20)
		fail(EINVAL, "message too large");
	char *buf = malloc(len + 1);
	if (!buf)
		fail(ENOMEM, "allocate");
	read_exactly(sync_fd, buf, len);
	buf[len] = '\0';
	*length = len;
	return buf;
}

/* ---- stage 0 ---- */

/*
 * Run from a sealed memfd copy of this binary, so that no process of the container can ever open
 * the host's tsrun-init for writing through /proc/<pid>/exe (CVE-2019-5736).
 */
static void ensure_sealed(char **argv)
{
	int self = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	if (self < 0)
		fail(errno, "open /proc/self/exe");
	/* a plain tmpfs file answers F_GET_SEALS too (with F_SEAL_SEAL): require our four seals */
	const int sealed = F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE;
	int seals = fcntl(self, F_GET_SEALS);
	if (seals >= 0 && (seals & sealed) == sealed) {
		close(self);
		return;
	}
	int copy = memfd_create("tsrun-init", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	struct stat st;
	if (copy < 0 || fstat(self, &st) < 0)
		fail(errno, "copy the init binary");
	for (off_t done = 0; done < st.st_size;) {
		ssize_t n = sendfile(copy, self, NULL, (size_t)(st.st_size - done));
		if (n <= 0)
			fail(n < 0 ? errno : EIO, "copy the init binary");
		done += n;
	}
	if (fcntl(copy, F_ADD_SEALS, sealed) < 0)
		fail(errno, "seal the init binary");
	close(self);
	fexecve(copy, argv, environ);
	fail(errno, "exec the sealed init binary");
}

static int open_fifo(const char *path)
{
	if (mkfifo(path, 0600) < 0)
		fail(errno, "mkfifo %s", path);
	int fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		fail(errno, "open %s", path);
	return fd;
}

static int connect_console(const char *path)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(addr.sun_path))
		fail(ENAMETOOLONG, "console socket %s", path);
	strcpy(addr.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0)
		fail(errno, "connect to console socket %s", path);
	return fd;
}

static int namespace_flag(const char *type)
{
	static const struct { const char *name; int flag; } table[] = {
		{"pid", CLONE_NEWPID}, {"network", CLONE_NEWNET}, {"mount", CLONE_NEWNS}, {"ipc", CLONE_NEWIPC},
		{"uts", CLONE_NEWUTS}, {"user", CLONE_NEWUSER}, {"cgroup", CLONE_NEWCGROUP}, {"time", CLONE_NEWTIME},
	};
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (strcmp(type, table[i].name) == 0)
			return table[i].flag;
	fail(EINVAL, "unknown namespace type %s", type);
}

static void join_namespace(const char *type, const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		fail(errno, "open %s", path);
	if (setns(fd, namespace_flag(type)) < 0)
		fail(errno, "setns %s", path);
	close(fd);
}

/*
 * The host's /proc, opened before any host step: once stage 0 has joined a mount namespace, the
 * path /proc would lead into the container's (another pid namespace, or the image's own files).
 */
static int host_proc = -1;

/* Write `text` to `path` (relative to `dir`, which may be AT_FDCWD), failing the step otherwise. */
void write_text(int dir, const char *path, const char *text)
{
	int fd = openat(dir, path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		fail(errno, "open %s", path);
	size_t len = strlen(text);
	if (write(fd, text, len) != (ssize_t)len)
		fail(errno, "write %s to %s", text, path);
	close(fd);
}

static void unshare_time(struct reader *r)
{
	long long count = read_int(r);
	if (unshare(CLONE_NEWTIME) < 0)
		fail(errno, "unshare time namespace");
	for (long long i = 0; i < count; i++) {
		const char *clock = read_token(r);
		long long secs = read_int(r), nanosecs = read_int(r);
		char line[96];
		int n = snprintf(line, sizeof(line), "%s %lld %lld", clock, secs, nanosecs);
		if (n < 0 || (size_t)n >= sizeof(line))
			fail(E2BIG, "linux.timeOffsets: offset of %.32s too long", clock);
		write_text(host_proc, "self/timens_offsets", line);
	}
}

static void run_host_step(const char *op, struct reader *r)
{
	if (strcmp(op, "startFifos") == 0) {
		const char *start = read_token(r), *started = read_token(r);
		start_fd = open_fifo(start);
		started_fd = open_fifo(started);
	} else if (strcmp(op, "connectConsole") == 0) {
		console_fd = connect_console(read_token(r));
	} else if (strcmp(op, "openCgroup") == 0) {
		const char *path = read_token(r);
		cgroup_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (cgroup_fd < 0)
			fail(errno, "open cgroup %s", path);
	} else if (strcmp(op, "setns") == 0) {
		const char *type = read_token(r);
		join_namespace(type, read_token(r));
	} else if (strcmp(op, "unshareTime") == 0) {
		unshare_time(r);
	} else if (strcmp(op, "openMountSource") == 0) {
		const char *path = read_token(r);
		open_mount_source(path, read_int(r) != 0);
	} else {
		fail(EINVAL, "malformed plan: unknown host step %s", op);
	}
}

static void write_id_map(pid_t pid, const char *file, const char *map)
{
	char path[64];
	snprintf(path, sizeof(path), "%d/%s", pid, file);
	write_text(host_proc, path, map);
}

/* Run newuidmap or newgidmap <pid> <inside outside count>...; they check /etc/subuid and subgid. */
static void run_id_helper(const char *helper, pid_t pid, const char *map)
{
	/* allocated to fit: every word of the map is an argument (validation bounds the map to a page) */
	char pid_text[16], *copy = strdup(map);
	size_t words = 0;
	for (const char *p = map; *p; p++)
		words += (p == map || p[-1] == ' ' || p[-1] == '\n') && *p != ' ' && *p != '\n';
	char **argv = calloc(words + 3, sizeof(char *));
	if (!copy || !argv)
		fail(ENOMEM, "allocate");
	size_t argc = 0;
	snprintf(pid_text, sizeof(pid_text), "%d", pid);
	argv[argc++] = (char *)helper;
	argv[argc++] = pid_text;
	for (char *save = NULL, *word = strtok_r(copy, " \n", &save); word && argc < words + 2; word = strtok_r(NULL, " \n", &save))
		argv[argc++] = word;
	argv[argc] = NULL;
	pid_t child = fork();
	if (child < 0)
		fail(errno, "fork %s", helper);
	if (child == 0) {
		execvp(helper, argv);
		_exit(127);
	}
	int status;
	while (waitpid(child, &status, 0) < 0)
		if (errno != EINTR)
			fail(errno, "wait for %s", helper);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail(EPERM, "%s %s failed (exit %d): is it installed (uidmap package), and does /etc/sub%cid grant these ids?",
		     helper, map, WIFEXITED(status) ? WEXITSTATUS(status) : -1, helper[3] == 'u' ? 'u' : 'g');
	free(argv);
	free(copy);
}

static void write_id_maps(pid_t pid, const char *uid_map, const char *gid_map, const char *mapper)
{
	if (strcmp(mapper, "helpers") == 0) {
		if (*uid_map)
			run_id_helper("newuidmap", pid, uid_map);
		if (*gid_map)
			run_id_helper("newgidmap", pid, gid_map);
		return;
	}
	/* An unprivileged process may map its own gid only once setgroups is denied for good. */
	if (strcmp(mapper, "self") == 0 && *gid_map) {
		char path[64];
		snprintf(path, sizeof(path), "%d/setgroups", pid);
		write_text(host_proc, path, "deny");
	}
	if (*uid_map)
		write_id_map(pid, "uid_map", uid_map);
	if (*gid_map)
		write_id_map(pid, "gid_map", gid_map);
}

static void reset_signals(void)
{
	struct sigaction dfl = {.sa_handler = SIG_DFL};
	for (int sig = 1; sig < NSIG; sig++)
		sigaction(sig, &dfl, NULL);
	sigset_t all;
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
}

/*
 * clone(2) with `flags`, the child landing in the cgroup2 directory opened by the openCgroup step
 * (if any) from its first instruction: clone3 with CLONE_INTO_CGROUP, or, on a kernel without it,
 * stage 0 moves itself there first and the child inherits its cgroup.
 */
static pid_t clone_into_cgroup(long long flags)
{
	if (cgroup_fd < 0)
		return (pid_t)syscall(SYS_clone, (unsigned long)flags | SIGCHLD, 0, 0, 0, 0);
	/* clone3 refuses an exit signal with CLONE_PARENT: the child then signals the parent's parent as we would. */
	uint64_t exit_signal = (flags & CLONE_PARENT) ? 0 : SIGCHLD;
	struct clone_args args = {.flags = (uint64_t)flags | CLONE_INTO_CGROUP, .exit_signal = exit_signal, .cgroup = (uint64_t)cgroup_fd};
	pid_t pid = (pid_t)syscall(SYS_clone3, &args, sizeof(args));
	if (pid < 0 && (errno == ENOSYS || errno == E2BIG)) {
		write_text(cgroup_fd, "cgroup.procs", "0");
		pid = (pid_t)syscall(SYS_clone, (unsigned long)flags | SIGCHLD, 0, 0, 0, 0);
	}
	int saved = errno;
	close(cgroup_fd); /* in the child too: no host fd may reach the container */
	cgroup_fd = -1;
	errno = saved;
	return pid;
}

/* Clone the init. Returns 0 in the init (after its id maps are written); stage 0 exits. */
static void clone_init(struct reader *r)
{
	current_phase = "clone";
	current_step = 0;
	long long flags = read_int(r);
	const char *uid_map = read_token(r), *gid_map = read_token(r), *mapper = read_token(r);
	int maps_written[2];
	if (pipe2(maps_written, O_CLOEXEC) < 0)
		fail(errno, "pipe");
	pid_t pid = clone_into_cgroup(flags | CLONE_PARENT);
	if (pid < 0)
		fail(errno, "clone");
	if (pid == 0) {
		char go;
		close(maps_written[1]);
		if (read(maps_written[0], &go, 1) != 1)
			_exit(1); /* stage 0 failed and reported it */
		close(maps_written[0]);
		/* Stage 0 of an unprivileged runtime stayed dumpable for the maps (see main). */
		if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
			fail(errno, "prctl PR_SET_DUMPABLE");
		/* the host's /proc is stage 0's alone: through /proc/self/fd the container would reach it */
		close(host_proc);
		host_proc = -1;
		if (flags & CLONE_NEWUSER) {
			if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)
				fail(errno, "become root in the user namespace");
		}
		return;
	}
	close(maps_written[0]);
	write_id_maps(pid, uid_map, gid_map, mapper);
	send_line("init %d", pid);
	if (write(maps_written[1], "1", 1) != 1)
		fail(errno, "release the init");
	_exit(0);
}

int main(int argc, char **argv)
{
	if (argc != 3 || strcmp(argv[1], "stage0") != 0) {
		fprintf(stderr, "tsrun-init is started by tsrun, not by hand\n");
		return 2;
	}
	sync_fd = atoi(argv[2]);
	first_private_fd = sync_fd;
	/*
	 * Whatever the caller leaked above the sync socket (containerd's shim leaks fds) goes now, not
	 * only at the final exec: a process.cwd of /proc/self/fd/N must find nothing of the host (CVE-2024-21626).
	 */
	if (syscall(SYS_close_range, sync_fd + 1, ~0U, 0) < 0)
		fail(errno, "close inherited descriptors");
	reset_signals();
	ensure_sealed(argv);
	/*
	 * Container processes, even with our uid, must not reach our fds through /proc/<pid>/fd.
	 * An unprivileged runtime must stay dumpable until the init's id maps are written: /proc of a
	 * non-dumpable process belongs to root, where neither it nor newuidmap may write. The init
	 * turns it off itself before it goes on; stage 0 runs nothing of the container's.
	 */
	if (geteuid() == 0 && prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		fail(errno, "prctl PR_SET_DUMPABLE");

	uint32_t length;
	char *plan = receive_message(&length);
	struct reader r = {.next = plan, .end = plan + length};
	if (strcmp(read_token(&r), PLAN_MAGIC) != 0)
		fail(EINVAL, "malformed plan: wrong version");

	host_proc = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (host_proc < 0)
		fail(errno, "open /proc");
	current_phase = "host";
	long long host_steps = read_int(&r);
	for (current_step = 0; current_step < host_steps; current_step++)
		run_host_step(read_token(&r), &r);

	clone_init(&r);

	/* the init: modes given in the plan are exact; the identity step sets the process's umask */
	umask(0);
	if (setsid() < 0)
		fail(errno, "setsid");
	current_phase = "container";
	long long steps = read_int(&r);
	for (current_step = 0; current_step < steps; current_step++)
		run_container_step(read_token(&r), &r);
	/* A plan without a process ends here once started; start refuses such a container anyway. */
	return 0;
}
