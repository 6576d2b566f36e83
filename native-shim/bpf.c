/*
 * Loads a BPF_PROG_TYPE_CGROUP_DEVICE program (built by src/cgroups/devices.ts) and attaches it to
 * a cgroup v2 directory, replacing the programs attached there before: the cgroup v2 form of the
 * devices controller. The attachment holds the program; no descriptor needs to stay open.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MAX_OLD_PROGRAMS 64

static int bpf(int cmd, union bpf_attr *attr)
{
	return (int)syscall(SYS_bpf, cmd, attr, sizeof(*attr));
}

static int load_program(const void *insns, int count, char *log, uint32_t log_size)
{
	union bpf_attr attr;
	memset(&attr, 0, sizeof(attr));
	attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
	attr.insns = (uint64_t)(uintptr_t)insns;
	attr.insn_cnt = (uint32_t)count;
	attr.license = (uint64_t)(uintptr_t) "Apache";
	attr.expected_attach_type = BPF_CGROUP_DEVICE;
	if (log && log_size) {
		attr.log_buf = (uint64_t)(uintptr_t)log;
		attr.log_size = log_size;
		attr.log_level = 1;
	}
	return bpf(BPF_PROG_LOAD, &attr);
}

/* The ids of the device programs attached to the cgroup now; returns their count or -1. */
static int query_programs(int cgroup, uint32_t *ids, uint32_t max)
{
	union bpf_attr attr;
	memset(&attr, 0, sizeof(attr));
	attr.query.target_fd = (uint32_t)cgroup;
	attr.query.attach_type = BPF_CGROUP_DEVICE;
	attr.query.prog_ids = (uint64_t)(uintptr_t)ids;
	attr.query.prog_cnt = max;
	if (bpf(BPF_PROG_QUERY, &attr) < 0)
		return -1;
	return (int)attr.query.prog_cnt;
}

static int attach_or_detach(int cmd, int cgroup, int program, uint32_t flags)
{
	union bpf_attr attr;
	memset(&attr, 0, sizeof(attr));
	attr.target_fd = (uint32_t)cgroup;
	attr.attach_bpf_fd = (uint32_t)program;
	attr.attach_type = BPF_CGROUP_DEVICE;
	attr.attach_flags = flags;
	return bpf(cmd, &attr);
}

/*
 * Attach `count` instructions at `insns` to the cgroup directory `path`, then detach what was
 * there before (attaching first leaves no moment without a filter). Returns 0 or -errno; when the
 * verifier refuses the program its log goes to `log` (NUL-terminated, may be NULL).
 */
int tsrun_attach_device_program(const char *path, const void *insns, int count, char *log, int log_size)
{
	int err = 0;
	uint32_t old[MAX_OLD_PROGRAMS];
	int cgroup = open(path, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	if (cgroup < 0)
		return -errno;
	int n_old = query_programs(cgroup, old, MAX_OLD_PROGRAMS);
	if (n_old < 0)
		n_old = 0; /* nothing attached, or a kernel without query: nothing to replace */
	if (log && log_size > 0)
		log[0] = '\0';
	int program = load_program(insns, count, log, log && log_size > 0 ? (uint32_t)log_size : 0);
	if (program < 0) {
		err = -errno;
		goto out;
	}
	if (attach_or_detach(BPF_PROG_ATTACH, cgroup, program, BPF_F_ALLOW_MULTI) < 0) {
		err = -errno;
		close(program);
		goto out;
	}
	close(program);
	for (int i = 0; i < n_old; i++) {
		union bpf_attr attr;
		memset(&attr, 0, sizeof(attr));
		attr.prog_id = old[i];
		int fd = bpf(BPF_PROG_GET_FD_BY_ID, &attr);
		if (fd < 0)
			continue; /* detached meanwhile */
		if (attach_or_detach(BPF_PROG_DETACH, cgroup, fd, 0) < 0 && errno != ENOENT && !err)
			err = -errno;
		close(fd);
	}
out:
	close(cgroup);
	return err;
}
