#!/bin/sh
# In the VM booted with systemd as init (scripts/vm/run.ts --systemd): starts the system bus, has
# systemd join it (SIGUSR1, as when dbus.service comes up on a real host), waits until systemd
# answers on it, then runs the command given.
mkdir -p /run/dbus
dbus-daemon --system --fork --nopidfile || exit 125
kill -USR1 1
i=0
until busctl --system call org.freedesktop.systemd1 /org/freedesktop/systemd1 org.freedesktop.systemd1.Manager GetUnit s leopard-vm.service >/dev/null 2>&1; do
  i=$((i + 1))
  if [ "$i" -gt 300 ]; then
    echo "with-bus: systemd never answered on the system bus" >&2
    exit 125
  fi
  sleep 0.1
done
exec "$@"
