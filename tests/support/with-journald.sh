#!/usr/bin/env bash
# Runs a command beside a systemd-journald of its own, so that tests can write to a real
# journal and read it back without touching the machine's: in a private mount namespace,
# /run/systemd and /run/log (and /var/log/journal, if the machine has one) are empty tmpfs,
# journald is started there and stopped afterwards. The command sees
# FACEGATE_PRIVATE_JOURNALD=1.
#
# Needs root (a mount namespace) and systemd-journald (Debian's systemd package). Without
# them the command runs anyway with FACEGATE_PRIVATE_JOURNALD_UNAVAILABLE=<why>, so that its
# tests skip saying why. CI runs as root.
set -euo pipefail
journald=/lib/systemd/systemd-journald
if [ "${FACEGATE_PRIVATE_JOURNALD:-}" != 1 ]; then
  why=""
  [ "$(id -u)" = 0 ] || why="not root (a private journald needs a mount namespace)"
  [ -n "$why" ] || command -v unshare >/dev/null || why="no unshare (util-linux)"
  [ -n "$why" ] || [ -x "$journald" ] || why="no $journald (Debian package systemd)"
  if [ -n "$why" ]; then
    FACEGATE_PRIVATE_JOURNALD_UNAVAILABLE="$why" exec "$@"
  fi
  exec unshare --mount --propagation private env FACEGATE_PRIVATE_JOURNALD=1 "$0" "$@"
fi

# Inside the namespace: nothing mounted here is seen by the rest of the machine.
mkdir -p /run/systemd /run/log
for d in /run/systemd /run/log /var/log/journal; do
  if [ -d "$d" ]; then
    mount -t tmpfs -o mode=0755 tmpfs "$d"
  fi
done
SYSTEMD_LOG_LEVEL=warning "$journald" &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true' EXIT
for _ in $(seq 200); do
  [ -S /run/systemd/journal/socket ] && break
  sleep 0.05
done
[ -S /run/systemd/journal/socket ] || { echo "with-journald: journald did not start" >&2; exit 1; }
"$@"
