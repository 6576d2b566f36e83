#ifndef TSRUN_FS_H
#define TSRUN_FS_H

#include "plan.h"

enum kind { KIND_NONE, KIND_DIR, KIND_FILE };

int open_in_root(const char *path, enum kind kind);
void open_mount_source(const char *path, int recursive);
void bind_rootfs(const char *rootfs);
void bind_rootfs_in_host(const char *rootfs);
void mount_step(struct reader *r);
void mknod_step(struct reader *r);
void bind_device_step(struct reader *r);
void symlink_step(struct reader *r);
void pivot_root_step(void);
void chroot_step(int move);
void set_root_propagation(unsigned long flags);
void mask_path(const char *path);
void readonly_path(const char *path);
void remount_root_readonly(void);
void bind_fd(int source, const char *path);

#endif
