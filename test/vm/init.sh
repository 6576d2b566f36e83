#!/bin/busybox sh
# The guest's init. The kernel runs it from the initramfs, where pivot_root cannot work (the
# initramfs is the namespace's root mount, with no parent): so it first enters a mount of it that
# has one, then sets up a pure cgroup v2 host, runs the test files listed in
# /tsrun/.vm-tests and prints what they say between markers on the console. It always powers off.
# Lines starting with @@tsrun-vm are read by the host (test/vm/guest.ts).

if [ "$1" != --stage2 ]; then
  /bin/busybox mkdir -p /sbin /usr/bin /usr/sbin /proc /sys /dev /newroot
  /bin/busybox --install -s
  # A bind mount of the initramfs moved onto / and entered: the same files, but on a mount that
  # has a parent, which is all pivot_root asks.
  mount --bind / /newroot && cd /newroot && mount --move . / && exec chroot . /init --stage2
  echo "@@tsrun-vm fatal: cannot leave the initramfs root"
  poweroff -f
fi

fatal() {
  echo "@@tsrun-vm fatal: $*"
  poweroff -f
}

mount -t proc proc /proc || fatal "mount proc"
mount -t sysfs sysfs /sys || fatal "mount sysfs"
mount -t cgroup2 -o nsdelegate cgroup2 /sys/fs/cgroup || fatal "mount cgroup2"
mount -t devtmpfs devtmpfs /dev || fatal "mount devtmpfs"
mkdir -p /dev/pts /dev/shm /dev/mqueue
mount -t devpts -o gid=5,mode=0620,ptmxmode=0666 devpts /dev/pts || fatal "mount devpts"
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
mount -t mqueue mqueue /dev/mqueue
mount -t tmpfs -o mode=1777 tmpfs /tmp || fatal "mount /tmp"
mount -t tmpfs -o mode=0755 tmpfs /run || fatal "mount /run"
ln -sf /proc/self/fd /dev/fd
for module in /lib/modules/*.ko; do
  [ -e "$module" ] && { insmod "$module" || fatal "insmod $module"; }
done
# A block device, as any host has, for the io controller's per-device limits: a loop device on a
# sparse file.
dd if=/dev/zero of=/run/disk.img bs=1M count=0 seek=64 2>/dev/null && losetup /dev/loop0 /run/disk.img || fatal "set up /dev/loop0"
ip link set lo up
hostname tsrun-vm

# As a systemd host does: every controller the kernel offers is enabled for the root's children.
for controller in $(cat /sys/fs/cgroup/cgroup.controllers); do
  echo "+$controller" > /sys/fs/cgroup/cgroup.subtree_control || fatal "enable the $controller controller"
done

export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root TMPDIR=/tmp
cd /tsrun || fatal "no /tsrun"
echo "@@tsrun-vm kernel $(uname -r), $(nproc) cpus, controllers: $(cat /sys/fs/cgroup/cgroup.controllers)"
echo "@@tsrun-vm begin"
# shellcheck disable=SC2046 # one file name per word
node test/run.mjs $(cat .vm-tests) 2>&1
echo "@@tsrun-vm end $?"
poweroff -f
