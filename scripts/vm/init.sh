#!/bin/busybox sh
# /init of the cgroup-v2 test VM (scripts/vm/run.ts builds the initramfs around it). Loads the
# virtio and 9p modules, mounts the host's / read-only over 9p at /host, gives it fresh /proc,
# /sys, a cgroup2-only /sys/fs/cgroup, /dev, tmpfs for /tmp, /run, /root and /home and a writable
# copy of /etc, then runs /cmd in it (as init after switch_root, in the directory /cwd names) and
# reports the exit status on the serial console as "LEOPARD-VM-RESULT rc=N" before powering off.
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
for m in $(cat /modules/order); do
  insmod "/modules/$m.ko" || echo "leopard-vm: insmod $m failed"
done
mkdir -p /host
if ! mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=524288,cache=loose hostroot /host; then
  echo "LEOPARD-VM-RESULT rc=125 (mounting the host over 9p failed)"
  poweroff -f
fi
# /etc is a writable copy in tmpfs (the host's stays untouched): the tests make users there
# (useradd writes /etc/passwd, /etc/shadow, /etc/subuid...). A copy rather than an overlay: the
# host's /etc is a few MB, and overlayfs would be one more module to load.
mkdir -p /etc-rw
mount -t tmpfs -o mode=0755 tmpfs /etc-rw
if ! cp -a /host/etc/. /etc-rw/; then
  echo "LEOPARD-VM-RESULT rc=125 (copying the host's /etc failed)"
  poweroff -f
fi
mount --move /etc-rw /host/etc
mount -t proc proc /host/proc
mount -t sysfs sysfs /host/sys
mode=$(cat /mode)
# systemd mounts the cgroup hierarchies its own way (v2, or hybrid/v1 as the kernel command line
# asks); for the plain command, cgroup2 only.
[ "$mode" = systemd ] || mount -t cgroup2 -o nsdelegate cgroup2 /host/sys/fs/cgroup
mount -t devtmpfs devtmpfs /host/dev
cwd=$(cat /cwd)
# tmpfs goes over /tmp, /var/tmp, /run, /root and /home (test users' homes); a checkout that lives
# under one of them (CI may clone into /tmp) is kept visible by binding it aside first and moving
# it back on top.
mkdir -p /keep
mount --bind "/host$cwd" /keep
for d in tmp var/tmp run root home; do mount -t tmpfs -o mode=1777 tmpfs "/host/$d"; done
if [ ! -d "/host$cwd/.git" ] && [ ! -f "/host$cwd/Makefile" ]; then
  mkdir -p "/host$cwd"
  mount --move /keep "/host$cwd"
fi
[ "$mode" = systemd ] || echo "leopard-vm: kernel $(uname -r), cgroup controllers: $(cat /host/sys/fs/cgroup/cgroup.controllers)"
cp /cmd /host/run/leopard-vm-cmd
# The command runs as the new root's init after switch_root, not under chroot: the kernel
# refuses CLONE_NEWUSER to a chrooted process, and the container tests need user namespaces.
cat > /host/run/leopard-vm-init <<INIT
cd '$cwd' && /usr/bin/env -i HOME=/root TERM=dumb NO_COLOR=1 PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin /bin/sh /run/leopard-vm-cmd
echo "LEOPARD-VM-RESULT rc=\$?"
sync
/bin/busybox poweroff -f
INIT
if [ "$mode" = systemd ]; then
  # systemd as the new root's init, running the command as its one unit (no default target, no
  # sysinit: nothing else starts), for what needs systemd's D-Bus API (--systemd-cgroup).
  mkdir -p /host/run/systemd/system
  cat > /host/run/systemd/system/leopard-vm.service <<UNIT
[Unit]
Description=leopard VM command
DefaultDependencies=no
[Service]
Type=oneshot
ExecStart=/bin/sh /run/leopard-vm-init
StandardOutput=tty
StandardError=tty
TTYPath=/dev/console
UNIT
  # The kernel's systemd.* options (the cgroup layout) go along as arguments too.
  exec switch_root /host /lib/systemd/systemd --unit=leopard-vm.service --log-level=warning --show-status=no \
    $(tr ' ' '\n' < /proc/cmdline | grep '^systemd\.')
fi
exec switch_root /host /bin/sh /run/leopard-vm-init
