#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# lifecycle.sh: exit codes, detached containers and logs, exec, --init, stop, start,
# rm, wait, inspect, bundles, concurrent CLI calls, a killed monitor, and the
# no-leftovers rule on every failure path.
. "$MC_SRC/tests/lib/ktap.sh"
. "$MC_SRC/tests/runtime/lib.sh"
require_tool jq
KTAP_TIMEOUT=60

t_exit_codes() {
	assert_status 3 "$M" run --rm busybox sh -c 'exit 3'
	assert_status 0 "$M" run --rm busybox true
	assert_status 127 "$M" run --rm busybox nosuchcommand
	assert_status 127 "$M" run --rm busybox /no/such/file
	assert_status 126 "$M" run --rm busybox /etc/passwd
	out=$("$M" run --rm busybox nosuchcommand 2>&1) || true
	assert_eq "mycontainer: exec \`nosuchcommand\`: executable file not found in \$PATH" "$out"
	# Killed from outside: 128 + SIGKILL.
	"$M" run --name sig busybox sleep 30 &
	local pid=$! rc=0
	for _ in $(seq 50); do "$M" ps | grep -q sig && break; sleep 0.1; done
	"$M" kill sig >/dev/null
	wait $pid || rc=$?
	assert_eq 137 "$rc"
	"$M" rm sig >/dev/null
}

t_failures_leave_nothing() {
	local before out rc
	before=$(cgroup_dirs)
	check() { # check WANT_STATUS WANT_TEXT ARGS... (ARGS of mycontainer, or a command)
		local want=$1 text=$2 rc=0
		shift 2
		case $1 in setpriv) ;; *) set -- "$M" "$@" ;; esac
		out=$("$@" 2>&1) || rc=$?
		assert_eq "$want" "$rc" "status of $*: $out"
		assert_contains "$out" "$text"
		[ "$(echo "$out" | grep -c .)" -le 2 ] || fail "more than one error line: $out"
		assert_no_leftovers "$before"
	}
	check 125 "unknown image \`nope\`" run --rm nope true
	check 125 "invalid --memory \`12Q\`" run --rm --memory 12Q busybox true
	check 125 "invalid --cpus" run --rm --cpus abc busybox true
	check 125 "invalid --pids-limit" run --rm --pids-limit 0 busybox true
	check 125 "unknown flag" run --rm --bogus busybox true
	check 125 "requires at least 1 argument" run --rm
	check 125 "unknown capability" run --rm --cap-add NOPE busybox true
	check 125 "invalid volume" run --rm -v relative:/x busybox true
	check 125 "volume source" run --rm -v /no/such/dir:/x busybox true
	check 127 "not found" run --rm busybox nosuchcommand
	check 127 "not found" run busybox nosuchcommand
	check 126 "Permission denied" run -d busybox /etc/passwd
	# A failure inside the container's setup comes back as one line.
	check 125 "setup rootfs: " run --rm -v /etc/hostname:/proc/nosuch busybox true
	# Not root.
	check 125 "needs root" setpriv --reuid 65534 --regid 65534 --clear-groups "$M" run --rm busybox true
	# Not a command at all.
	out=$("$M" frobnicate 2>&1) && fail "unknown verb accepted"
	assert_contains "$out" "is not a mycontainer command"
}

t_detached_and_logs() {
	local id out
	id=$("$M" run -d --name logger busybox sh -c 'echo out-line; echo err-line >&2; sleep 0.5; echo late')
	assert_eq 64 "${#id}" "prints the id"
	out=$("$M" logs -f logger)
	assert_contains "$out" "out-line"
	assert_contains "$out" "err-line"
	assert_contains "$out" "late"
	assert_eq 0 "$("$M" wait logger)"
	out=$("$M" ps -a)
	assert_contains "$out" "Exited (0)"
	assert_not_contains "$("$M" ps)" "logger"
	"$M" rm logger >/dev/null
}

t_detached_with_a_terminal() {
	local id out i before
	before=$(cgroup_dirs)
	# -d -it: the container runs on a pty; the monitor copies its output to the log.
	id=$("$M" run -d -it busybox sh -c 'tty; [ -t 0 ] && echo stdin-is-a-tty; echo tty-line; sleep 30')
	assert_eq 64 "${#id}" "prints the id"
	for i in $(seq 50); do
		out=$("$M" logs "$id")
		case $out in *tty-line*) break ;; esac
		sleep 0.1
	done
	assert_contains "$out" "/dev/pts/0"
	assert_contains "$out" "stdin-is-a-tty"
	assert_contains "$out" "tty-line"
	assert_eq "/dev/pts/0" "$("$M" exec "$id" readlink /proc/1/fd/1)"
	# exec (and exec -t) still work beside it.
	assert_eq "ok" "$("$M" exec "$id" echo ok)"
	assert_contains "$("$M" exec -t "$id" tty)" "/dev/pts/"
	assert_eq 137 "$("$M" kill "$id" >/dev/null; "$M" wait "$id")"
	# Output written before the exit is in the log; the terminal is gone with it.
	"$M" rm "$id" >/dev/null
	assert_no_leftovers "$before"
}

t_exec_joins_namespaces() {
	local id out
	id=$("$M" run -d --memory 64M busybox sleep 30)
	out=$("$M" exec "$id" sh -c 'for n in pid net ipc uts mnt cgroup; do
		[ "$(readlink /proc/1/ns/$n)" = "$(readlink /proc/self/ns/$n)" ] && echo "$n=same" || echo "$n=diff"; done
		grep CapEff /proc/self/status; grep Seccomp: /proc/self/status; grep NoNewPrivs /proc/self/status
		cat /proc/self/cgroup | grep memory')
	echo "$out"
	for n in pid net ipc uts mnt cgroup; do assert_contains "$out" "$n=same"; done
	assert_contains "$out" "CapEff:	00000000a80425fb"
	assert_contains "$out" "Seccomp:	2"
	assert_contains "$out" "NoNewPrivs:	1"
	assert_contains "$out" "memory:/"
	# In the container's cgroup in every hierarchy it uses (v1: the exec'd process
	# moved itself in), which its cgroup namespace shows as its root.
	if [ -d /sys/fs/cgroup/memory ]; then
		assert_eq 4 "$("$M" exec "$id" grep -cE ':(memory|pids|freezer|devices):/$' /proc/self/cgroup)" "hierarchies"
	fi
	assert_status 5 "$M" exec "$id" sh -c 'exit 5'
	assert_status 127 "$M" exec "$id" nosuchcommand
	assert_eq "bar" "$("$M" exec -e FOO=bar "$id" sh -c 'echo $FOO')"
	assert_eq "/tmp" "$("$M" exec -w /tmp "$id" pwd)"
	"$M" rm -f "$id" >/dev/null
}

t_users_from_the_container() {
	local id out rc=0
	# run -u: names and groups from the image's own files.
	assert_eq "65534 65534" "$("$M" run --rm -u nobody busybox sh -c 'echo $(id -u) $(id -g)')"
	assert_eq "65534 0" "$("$M" run --rm -u nobody:root busybox sh -c 'echo $(id -u) $(id -g)')"
	id=$("$M" run -d busybox sleep 30)
	# A user and a group that exist only inside this container (its upper layer).
	"$M" exec "$id" sh -c 'echo "svc:x:4321:4322::/:/bin/sh" >>/etc/passwd
		echo "svcgrp:x:4400:root,svc" >>/etc/group'
	out=$("$M" exec -u svc "$id" sh -c 'echo $(id -u) $(id -g) $(id -G)')
	assert_eq "4321 4322 4322 4400" "$out"
	assert_eq "4321 4400" "$("$M" exec -u svc:svcgrp "$id" sh -c 'echo $(id -u) $(id -g)')"
	# A non-root exec user has no capabilities.
	assert_contains "$("$M" exec -u svc "$id" grep CapEff /proc/self/status)" "0000000000000000"
	# The container's absolute symlink resolves in the container, not on the host.
	"$M" exec "$id" sh -c 'mkdir -p /mc-rt-pw && cp /etc/passwd /mc-rt-pw/pw &&
		echo "inner:x:4500:4500::/:/bin/sh" >>/mc-rt-pw/pw && ln -sf /mc-rt-pw/pw /etc/passwd'
	assert_eq "4500" "$("$M" exec -u inner "$id" id -u)"
	out=$("$M" exec -u nosuch "$id" true 2>&1) || rc=$?
	assert_eq 125 "$rc"
	assert_eq "mycontainer: unable to find user \`nosuch\`: no matching entries in passwd file" "$out"
	"$M" rm -f "$id" >/dev/null
}

t_init_reaps_and_forwards() {
	local id out start
	out=$("$M" run --rm --init busybox sh -c '(sleep 0.2 &); sleep 0.6; ps -o stat,comm | grep -c "^ *Z" || true')
	assert_eq 0 "$out" "zombies"
	id=$("$M" run -d --init busybox sleep 30)
	start=$(date +%s%N)
	"$M" stop -t 10 "$id" >/dev/null
	[ $(( ($(date +%s%N) - start) / 1000000 )) -lt 5000 ] || fail "SIGTERM was not forwarded"
	assert_eq 143 "$("$M" wait "$id")"
	"$M" rm "$id" >/dev/null
}

t_stop_escalates_to_kill() {
	local id start ms
	# sh as PID 1 has no TERM handler: only the SIGKILL after the grace period works.
	id=$("$M" run -d busybox sh -c 'while :; do sleep 1; done')
	start=$(date +%s%N)
	"$M" stop -t 1 "$id" >/dev/null
	ms=$(( ($(date +%s%N) - start) / 1000000 ))
	[ "$ms" -ge 900 ] && [ "$ms" -lt 5000 ] || fail "stop took ${ms}ms"
	assert_eq 137 "$("$M" wait "$id")"
	"$M" rm "$id" >/dev/null
}

t_start_again_keeps_layer() {
	local id
	id=$("$M" run -d busybox sh -c 'echo run >> /count; cat /count | wc -l')
	"$M" wait "$id" >/dev/null
	"$M" start "$id" >/dev/null
	"$M" wait "$id" >/dev/null
	assert_eq "$(printf '1\n2')" "$("$M" logs "$id")"
	"$M" rm "$id" >/dev/null
}

t_rm_and_no_leftovers() {
	local before id
	before=$(cgroup_dirs)
	id=$("$M" run -d busybox sleep 30)
	assert_status 1 "$M" rm "$id"
	"$M" rm -f "$id" >/dev/null
	"$M" run --rm busybox true
	"$M" run --name gone busybox true
	"$M" rm gone >/dev/null
	assert_no_leftovers "$before"
	assert_status 1 "$M" rm nosuchcontainer
}

t_inspect_and_names() {
	local id out
	id=$("$M" run -d --name insp busybox sleep 30)
	out=$("$M" inspect insp)
	assert_eq "insp" "$(echo "$out" | jq -r '.[0].Name')"
	assert_eq "true" "$(echo "$out" | jq -r '.[0].State.Running')"
	assert_eq "sleep" "$(echo "$out" | jq -r '.[0].Config.process.args[0]')"
	out=$("$M" run -d --name insp busybox true 2>&1) && fail "duplicate name accepted"
	assert_contains "$out" "already in use"
	assert_eq "insp" "$("$M" inspect "${id:0:8}" | jq -r '.[0].Name')"
	# A name that is the prefix of another container's id is free (only names
	# clash), and refers to the container of that name.
	local other
	other=$("$M" run -d --name "${id:0:2}" busybox sleep 30)
	assert_eq 64 "${#other}" "run --name ${id:0:2} beside $id"
	assert_eq "$other" "$("$M" inspect "${id:0:2}" | jq -r '.[0].Id')"
	"$M" rm -f "$other" insp >/dev/null
}

t_killed_monitor() {
	local before id mon
	before=$(cgroup_dirs)
	id=$("$M" run -d busybox sleep 30)
	mon=$(state_field "$id" monitor_pid)
	kill -9 "$mon"
	sleep 0.2
	assert_contains "$("$M" ps -a)" "${id:0:12}"
	"$M" rm -f "$id" >/dev/null
	assert_no_leftovers "$before"
}

t_concurrent_cli() {
	local i pids=()
	for i in 1 2 3 4; do "$M" run -d --name "c$i" busybox sleep 30 >/dev/null & pids+=($!); done
	for p in "${pids[@]}"; do wait "$p"; done
	assert_eq 4 "$("$M" ps -q | grep -c .)"
	for i in 1 2 3 4; do "$M" rm -f "c$i" >/dev/null & done
	wait
	assert_eq 0 "$("$M" ps -aq | grep -c . || true)"
}

t_bundles() {
	local b=$RT_TMP/bundle
	mkdir -p "$b"
	"$M" spec --bundle "$b"
	cp -a "$MC_DATA_ROOT/images/busybox/rootfs" "$b/rootfs"
	jq '.process.args = ["sh","-c","echo bundle-ok; hostname"]' "$b/config.json" >"$b/c" && mv "$b/c" "$b/config.json"
	out=$("$M" run --bundle "$b")
	assert_contains "$out" "bundle-ok"
	assert_contains "$out" "mycontainer"
	"$M" rm "$("$M" ps -aq)" >/dev/null
	if command -v crun >/dev/null; then
		rm "$b/config.json"
		(cd "$b" && crun spec)
		jq '.process.terminal = false | .process.args = ["sh","-c","echo crun-ok"]' "$b/config.json" >"$b/c" && mv "$b/c" "$b/config.json"
		assert_contains "$("$M" run --bundle "$b")" "crun-ok"
		"$M" rm "$("$M" ps -aq)" >/dev/null
	fi
}

# A foreground run reports the exit status first and cleans up in the background:
# the same name is usable again at once, the state of a kept container already holds
# the exit code, and the cleanup finishes by itself.
t_cleanup_after_status() {
	local before i rc
	before=$(cgroup_dirs)
	for i in 1 2 3 4 5; do
		rc=0
		"$M" run --rm --name again busybox sh -c "exit $i" || rc=$?
		assert_eq "$i" "$rc" "run $i of the same --rm name"
	done
	rc=0
	"$M" run --name kept busybox sh -c 'exit 7' || rc=$?
	assert_eq 7 "$rc"
	assert_eq "exited 7" "$("$M" inspect kept | jq -r '.[0].State | "\(.Status) \(.ExitCode)"')"
	"$M" rm kept >/dev/null
	assert_no_leftovers "$before"
}

t_help_texts() {
	for v in run exec ps stop start kill rm logs inspect wait stats spec image; do
		out=$("$M" $v --help)
		assert_contains "$out" "Usage: mycontainer $v"
	done
	assert_contains "$("$M" --help)" "Commands:"
}

ktap_run exit_codes t_exit_codes
ktap_run failures_leave_nothing t_failures_leave_nothing
ktap_run detached_and_logs t_detached_and_logs
ktap_run detached_with_a_terminal t_detached_with_a_terminal
ktap_run exec_joins_namespaces t_exec_joins_namespaces
ktap_run users_from_the_container t_users_from_the_container
ktap_run init_reaps_and_forwards_sigterm t_init_reaps_and_forwards
ktap_run stop_escalates_to_kill t_stop_escalates_to_kill
ktap_run start_again_keeps_layer t_start_again_keeps_layer
ktap_run rm_and_no_leftovers t_rm_and_no_leftovers
ktap_run inspect_and_names t_inspect_and_names
ktap_run killed_monitor_still_listed_and_removed t_killed_monitor
ktap_run concurrent_cli t_concurrent_cli
ktap_run bundles t_bundles
ktap_run cleanup_after_status t_cleanup_after_status
ktap_run help_texts t_help_texts
ktap_finish
