# SPDX-License-Identifier: MIT
# lib.sh: shared setup of the runtime shell tests (sourced after ktap.sh): private
# state and data roots in a temporary directory, the busybox image, and the checks
# that nothing is left behind (state, overlay dirs, mounts, cgroups, processes).

M=$MC_BIN/mycontainer
[ -x "$M" ] || ktap_skip_all "mycontainer is not built ($M)"
require_root
RT_TMP=$(mktemp -d /tmp/mc-rt-test.XXXXXX)
# A user-namespaced container root must be able to reach its layers.
chmod 0755 "$RT_TMP"
export MC_ROOT=$RT_TMP/state MC_DATA_ROOT=$RT_TMP/data
ktap_cleanup 'rt_cleanup'

# rt_cleanup: removes every container of this test run, then the directory.
rt_cleanup() {
	local id
	for id in $("$M" ps -aq 2>/dev/null); do "$M" rm -f "$id" >/dev/null 2>&1; done
	rm -rf "$RT_TMP"
}

"$M" image build busybox >/dev/null || ktap_skip_all "cannot build the busybox image (busybox-static missing?)"

# cgroup_dirs: every container cgroup that exists now, one per line.
cgroup_dirs() {
	ls -d /sys/fs/cgroup/*/mycontainer/*/ /sys/fs/cgroup/mycontainer/*/ 2>/dev/null | sort || true
}

# ours_cgroup DIR: true when the container cgroup DIR is one of this test run's. The
# host may run other containers meanwhile (another collection, another engineer's
# suite), whose cgroups sit beside ours under mycontainer/. An empty cgroup is
# counted as ours (a leaked one is empty once its processes are gone); one with
# processes is ours when one of them sees a mount of our data root (the overlay's
# upperdir names it), i.e. a container of ours still running.
ours_cgroup() {
	local pids p
	pids=$(cat "$1/cgroup.procs" 2>/dev/null) || return 1
	[ -n "$pids" ] || return 0
	for p in $pids; do
		grep -qF "$MC_DATA_ROOT/" "/proc/$p/mountinfo" 2>/dev/null && return 0
	done
	return 1
}

# our_processes: mycontainer processes of this test run (monitors, cleaners: they
# carry our MC_ROOT) and any process naming our temporary directory.
our_processes() {
	local p
	for p in $(pgrep -x mycontainer || true); do
		tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -qxF "MC_ROOT=$MC_ROOT" && echo "$p"
	done
	pgrep -f "$RT_TMP" || true
}

# leftovers BEFORE_CGROUPS: prints what of our containers remains (nothing: clean).
leftovers() {
	local left
	left=$(ls -A "$MC_ROOT" 2>/dev/null | grep -Ev '^\.lock$' || true)
	[ -z "$left" ] || { echo "state left behind: $left"; return; }
	left=$(ls -A "$MC_DATA_ROOT/containers" 2>/dev/null || true)
	[ -z "$left" ] || { echo "container directories left behind: $left"; return; }
	if grep -q "$RT_TMP" /proc/self/mountinfo; then
		echo "mounts left behind: $(grep "$RT_TMP" /proc/self/mountinfo)"
		return
	fi
	left=$(comm -13 <(printf '%s\n' "$1") <(cgroup_dirs) | while read -r d; do
		ours_cgroup "$d" && echo "$d"
	done)
	[ -z "$left" ] || { echo "cgroups left behind: $left"; return; }
	left=$(our_processes)
	[ -z "$left" ] || echo "processes left behind: $(echo $left)"
}

# assert_no_leftovers BEFORE_CGROUPS: nothing of any container of ours remains. A
# foreground run reports its exit status before its cleaner (a background child)
# has removed everything, so this waits for that, at most 5 s.
assert_no_leftovers() {
	local left i
	for i in $(seq 50); do
		left=$(leftovers "$1")
		[ -n "$left" ] || return 0
		sleep 0.1
	done
	fail "$left"
}

# state_field ID KEY: a value from the container's state.json.
state_field() {
	jq -r ".$2" "$MC_ROOT/$1/state.json"
}
