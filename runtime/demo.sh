#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# demo.sh: `sudo make demo`: builds the busybox image and runs a container that shows
# its isolation (PID 1, its own hostname, its own root, only lo, the default
# capabilities) and its memory limit enforced by an OOM kill, then cleans up. State
# and data go to a temporary root so the machine's /run and /var/lib stay untouched.
set -euo pipefail
: "${MC_BUILD:?run through make demo}"
M=$MC_BUILD/bin/mycontainer
[ "$(id -u)" = 0 ] || { echo "demo: needs root (sudo make demo)" >&2; exit 1; }
tmp=$(mktemp -d /tmp/mycontainer-demo.XXXXXX)
chmod 0755 "$tmp"
export MC_ROOT=$tmp/run MC_DATA_ROOT=$tmp/lib
cleanup() {
	for id in $("$M" ps -aq 2>/dev/null); do "$M" rm -f "$id" >/dev/null 2>&1 || true; done
	rm -rf "$tmp"
}
trap cleanup EXIT

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

step "mycontainer image build busybox"
"$M" image build busybox
step "mycontainer run --rm --hostname box --memory 50M busybox /bin/sh -c '...'"
"$M" run --rm --hostname box --memory 50M busybox /bin/sh -c '
	echo "--- ps aux (PID 1 is the shell, no host process is visible):"; ps aux
	echo "--- hostname:"; hostname
	echo "--- ls / (the image'"'"'s own tree):"; ls /
	echo "--- ip addr (only lo):"; ip addr
	echo "--- capabilities:"; grep -E "^Cap(Eff|Bnd)" /proc/self/status
	echo "--- mount -t tmpfs x /mnt (denied by caps and seccomp):"; mount -t tmpfs x /mnt || true'
step "head -c 200M /dev/zero | tail inside a 50M container (expect an OOM kill, exit 137)"
rc=0
"$M" run --rm --memory 50M busybox sh -c 'head -c 209715200 /dev/zero | tail' || rc=$?
echo "exit status: $rc"
[ "$rc" = 137 ] || { echo "demo: expected exit 137 from the OOM kill" >&2; exit 1; }
step "a detached container: run -d, ps, logs, exec, stop, rm"
id=$("$M" run -d --name demo busybox sh -c 'echo hello from $(hostname); while :; do sleep 1; done')
"$M" ps
sleep 0.3
"$M" logs demo
"$M" exec demo ps
"$M" stop -t 1 demo
"$M" rm demo
left=$(ls -A "$MC_ROOT" | grep -Ev '^\.(lock|warm)$' || true)
[ -z "$left" ] || { echo "demo: state left behind: $left" >&2; exit 1; }
step "done: everything removed"
