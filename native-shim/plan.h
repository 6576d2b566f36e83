/*
 * The wire format of a Plan (src/plan/types.ts), mirrored by src/shim/encode.ts.
 *
 * The runtime writes one message on the sync socket: a little-endian u32 byte length, then that
 * many bytes holding a sequence of NUL-terminated tokens. Numbers are decimal text; a list is its
 * length followed by its items.
 *
 *   plan      := "tsrun-plan-1" count host-step* clone-flags uid-map gid-map id-mapper count container-step*
 *
 *   host steps
 *     startFifos      start-fifo started-fifo
 *     connectConsole  socket-path
 *     openCgroup      cgroup2-dir
 *     setns           type path
 *     unshareTime     count (clock secs nanosecs)*
 *     openMountSource path recursive
 *
 *   container steps
 *     loopbackUp
 *     rootPropagation flags           bindRootfs path      bindRootfsInHost path
 *     mount           source destination fstype flags data remount-flags count flag* attr-set attr-clear dir|file copy-up
 *     mknod           path kind major minor mode uid gid
 *     bindDevice      source path     symlink target path
 *     oomScoreAdj     value           rlimit resource soft hard
 *     syncCreateRuntime               hooks stage count (path count arg* count env* timeout)*
 *     pivotRoot                       chroot               enterRoot
 *     setRootPropagation flags        maskPath path        readonlyPath path
 *     remountRootReadonly             hostname name        domainname name
 *     sysctl          key value       terminal rows cols keep-console
 *     identity        uid gid count gid* umask(-1: keep) no-new-privs bounding effective permitted inheritable ambient
 *     chdir path      findExecutable count arg* count env*
 *     waitStart       exec count arg* count env*
 *
 * Messages from stage 0 and the init to the runtime are lines of text:
 *   "init <pid>"                     stage 0 cloned the init (id maps written)
 *   "rootfsMount <id> <unique-id>"   (bindRootfsInHost) the ids of the detached rootfs bind, whose
 *                                    attach waits for the runtime's answer: an empty message
 *   "createRuntime"                  the init waits for the prestart/createRuntime hooks; the runtime
 *                                    answers with a u32 length + the state JSON
 *   "ready"                          the init waits on the start fifo
 *   "exec"                           (exec plans, without waitStart) about to execve: the socket
 *                                    closes on success, an error line follows on failure
 *   "error <phase> <index> <errno> <text>"   phase is host, clone or container; index is the step's
 */
#ifndef TSRUN_PLAN_H
#define TSRUN_PLAN_H

#include <stdint.h>

#define PLAN_MAGIC "tsrun-plan-1"

struct reader {
	char *next;
	char *end;
};

/* Each of these ends the process with an error report when the plan is malformed. */
const char *read_token(struct reader *r);
long long read_int(struct reader *r);
uint64_t read_u64(struct reader *r);
/* A counted list of tokens as a NULL-terminated array (allocated; pointers into the plan). */
char **read_list(struct reader *r);

/* Where errors go: the sync socket while it is open, else the started fifo, else stderr. */
extern int sync_fd;
extern int started_fd;
extern const char *current_phase;
extern int current_step;

/* Report "error" for the current step and exit(1). errnum 0 means no errno. */
_Noreturn void fail(int errnum, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void send_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void write_text(int dir, const char *path, const char *text);
/* Read a u32-length-prefixed message from the sync socket (allocated, NUL-terminated). */
char *receive_message(uint32_t *length);

/* container steps (process.c, which runs the filesystem ones of fs.c) */
void run_container_step(const char *op, struct reader *r);

#endif
