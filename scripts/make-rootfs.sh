#!/bin/sh
# make-rootfs.sh DIR [UID]: a minimal busybox root filesystem (static busybox, its applets as
# symlinks, /etc/passwd and /etc/group), owned by UID (default 0) so a user namespace that maps
# container root to UID can write to it.
set -eu
dir=$1
owner=${2:-0}
bb=$(command -v busybox || true)
[ -n "$bb" ] || { echo "make-rootfs: busybox is not installed (apt-get install busybox-static)" >&2; exit 1; }
tmp="$dir.tmp.$$"
rm -rf "$tmp"
mkdir -p "$tmp/bin" "$tmp/sbin" "$tmp/usr/bin" "$tmp/usr/sbin" "$tmp/etc" "$tmp/proc" "$tmp/sys" "$tmp/dev" "$tmp/tmp" "$tmp/root" "$tmp/home" "$tmp/var" "$tmp/run" "$tmp/mnt"
cp "$bb" "$tmp/bin/busybox"
for app in $("$bb" --list); do
  [ "$app" = busybox ] || ln -sf busybox "$tmp/bin/$app"
done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\nuser:x:1000:1000:user:/home:/bin/sh\n' > "$tmp/etc/passwd"
printf 'root:x:0:\ntty:x:5:\nnogroup:x:65534:\nuser:x:1000:\n' > "$tmp/etc/group"
chmod 1777 "$tmp/tmp"
chown -hR "$owner:$owner" "$tmp"
rm -rf "$dir"
mv "$tmp" "$dir"
