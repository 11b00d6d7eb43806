#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# run.sh: isolation and security of `mycontainer run`: PID 1, hostname, mounts,
# masked paths, capabilities, seccomp, network none, cgroup limits (OOM, pids, CPU).
. "$MC_SRC/tests/lib/ktap.sh"
. "$MC_SRC/tests/runtime/lib.sh"
require_tool jq
KTAP_TIMEOUT=60
HELPER_DIR=$MC_BUILD/tests/runtime
# Host libraries for the dynamically linked helper (sanitizer runtimes included).
# LeakSanitizer cannot stop the world under the default seccomp profile: off in there.
LIBS=(-v /usr/lib:/usr/lib:ro -v /lib64:/lib64:ro -v /usr/lib:/lib:ro -v "$HELPER_DIR:/t:ro"
	-e ASAN_OPTIONS=detect_leaks=0)

t_pid1() {
	local out
	out=$("$M" run --rm busybox sh -c 'echo $$; ls /proc | grep -c "^[0-9]"')
	assert_eq "1" "$(echo "$out" | sed -n 1p)" "shell is PID 1"
	# sh itself and ls/grep: nothing of the host's processes.
	[ "$(echo "$out" | sed -n 2p)" -le 3 ] || fail "host processes visible: $out"
}

t_hostname() {
	local host
	host=$(hostname)
	assert_eq "box" "$("$M" run --rm --hostname box busybox hostname)"
	assert_eq "box" "$("$M" run --rm --hostname box busybox cat /etc/hostname)"
	assert_eq "$host" "$(hostname)" "host name unchanged"
}

t_own_root_and_mounts_do_not_leak() {
	local id before
	before=$(grep -c . /proc/self/mountinfo)
	out=$("$M" run --rm busybox sh -c 'ls /; cat /proc/self/mountinfo')
	assert_contains "$out" "linuxrc"
	assert_contains "$out" " / / "
	id=$("$M" run -d busybox sleep 30)
	assert_not_contains "$(cat /proc/self/mountinfo)" "$id"
	assert_not_contains "$(cat /proc/self/mountinfo)" "overlay"
	"$M" rm -f "$id" >/dev/null
	assert_eq "$before" "$(grep -c . /proc/self/mountinfo)" "host mount count"
}

t_image_stays_read_only() {
	"$M" run --rm busybox sh -c 'echo x > /bin/newfile; rm /bin/ls'
	[ ! -e "$MC_DATA_ROOT/images/busybox/rootfs/bin/newfile" ] || fail "wrote into the image"
	[ -L "$MC_DATA_ROOT/images/busybox/rootfs/bin/ls" ] || fail "deleted from the image"
	assert_status 1 "$M" run --rm --read-only busybox touch /x
}

t_masked_paths() {
	local out
	out=$("$M" run --rm busybox sh -c '
		echo "timer=$(wc -c < /proc/timer_list)"
		echo "keys=$(wc -c < /proc/keys)"
		echo "firmware=$(ls /sys/firmware | wc -l)"
		echo 1 > /proc/sys/kernel/panic 2>/dev/null && echo sys=rw || echo sys=ro
		echo h > /proc/sysrq-trigger 2>/dev/null && echo sysrq=rw || echo sysrq=ro
		grep " /sys " /proc/self/mountinfo | grep -q " ro," && echo sysfs=ro || echo sysfs=rw')
	assert_contains "$out" "timer=0"
	assert_contains "$out" "keys=0"
	assert_contains "$out" "firmware=0"
	assert_contains "$out" "sys=ro"
	assert_contains "$out" "sysrq=ro"
	assert_contains "$out" "sysfs=ro"
}

t_devices() {
	local out
	out=$("$M" run --rm busybox sh -c 'ls /dev; head -c 4 /dev/urandom | wc -c; echo x > /dev/null && echo nullok; ls /dev/pts')
	for d in null zero full random urandom tty pts shm mqueue ptmx fd; do
		assert_contains "$out" "$d"
	done
	assert_contains "$out" "nullok"
	assert_not_contains "$out" "sda"
}

t_capabilities_default_set() {
	local out
	out=$("$M" run --rm busybox grep ^Cap /proc/self/status)
	# CHOWN DAC_OVERRIDE FOWNER FSETID KILL SETGID SETUID SETPCAP NET_BIND_SERVICE
	# NET_RAW SYS_CHROOT MKNOD AUDIT_WRITE SETFCAP
	assert_contains "$out" "CapEff:	00000000a80425fb"
	assert_contains "$out" "CapPrm:	00000000a80425fb"
	assert_contains "$out" "CapBnd:	00000000a80425fb"
	assert_contains "$out" "CapInh:	0000000000000000"
	assert_contains "$out" "CapAmb:	0000000000000000"
	out=$("$M" run --rm busybox grep NoNewPrivs /proc/self/status)
	assert_contains "$out" "1"
	out=$("$M" run --rm --cap-drop ALL --cap-add NET_ADMIN busybox grep CapBnd /proc/self/status)
	assert_contains "$out" "0000000000001000"
	out=$("$M" run --rm -u 1000:1000 busybox sh -c 'id; grep CapEff /proc/self/status')
	assert_contains "$out" "uid=1000 gid=1000"
	assert_contains "$out" "CapEff:	0000000000000000"
}

t_seccomp() {
	local out why
	why=$("$MC_BUILD/tests/lib/probe" io_uring 2>&1) || skip "$why"
	out=$("$M" run --rm --cap-add SYS_ADMIN "${LIBS[@]}" busybox /t/sc_probe seccomp)
	echo "$out"
	assert_contains "$out" "mount=EPERM"
	assert_contains "$out" "unshare=EPERM"
	assert_contains "$out" "clone_newuts=EPERM"
	assert_contains "$out" "io_uring_setup=ok"
	# The same calls pass once the filter is off (CAP_SYS_ADMIN alone allows them).
	out=$("$M" run --rm --cap-add SYS_ADMIN --security-opt seccomp=unconfined "${LIBS[@]}" \
		busybox /t/sc_probe seccomp)
	assert_contains "$out" "mount=ok"
	assert_contains "$out" "unshare=ok"
}

t_seccomp_profile_file() {
	local prof=$RT_TMP/prof.json
	echo '{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO","errnoRet":13}]}' >"$prof"
	out=$("$M" run --rm --security-opt seccomp="$prof" busybox sh -c 'mkdir /x 2>&1; echo rc=$?')
	assert_contains "$out" "Permission denied"
	echo '{"defaultAction": 5}' >"$prof"
	out=$("$M" run --rm --security-opt seccomp="$prof" busybox true 2>&1) && fail "bad profile accepted"
	assert_contains "$out" "defaultAction"
}

t_network_none_and_host() {
	local out
	out=$("$M" run --rm busybox ip -o link)
	assert_eq "1" "$(echo "$out" | grep -c .)" "only lo: $out"
	assert_contains "$out" "lo:"
	assert_contains "$out" "UP"
	out=$("$M" run --rm --network host busybox ip -o link)
	assert_eq "$(ip -o link | grep -c .)" "$(echo "$out" | grep -c .)" "host links"
	# Each container's network namespace is its own, not the host's nor another
	# running container's, with lo up and nothing else, with and without a user
	# namespace, and the CLI stays in the host's namespace.
	local host a b f pid
	host=$(readlink /proc/self/ns/net)
	# Both alive at once: a freed namespace's inode number may be reused.
	f=$(mktemp)
	"$M" run --rm busybox sh -c 'readlink /proc/self/ns/net; sleep 2' >"$f" &
	pid=$!
	for _ in $(seq 100); do [ -s "$f" ] && break; sleep 0.05; done
	b=$("$M" run --rm busybox sh -c 'readlink /proc/self/ns/net; cat /sys/class/net/lo/flags')
	wait "$pid"
	a=$(cat "$f")
	rm -f "$f"
	assert_contains "$a" "net:["
	assert_not_contains "$a" "$host"
	assert_not_contains "$b" "$host"
	assert_not_contains "$b" "$a"
	assert_eq "0x9" "$(echo "$b" | tail -1)" "lo flags (UP|LOOPBACK)"
	out=$("$M" run --rm --userns 0:100000:65536 busybox ip -o link)
	assert_contains "$out" "UP"
	assert_eq "1" "$(echo "$out" | grep -c .)" "only lo with a user namespace: $out"
	assert_eq "$host" "$(readlink /proc/self/ns/net)" "the test's own namespace"
}

t_oom_kill_reported() {
	local before out rc=0
	before=$(cgroup_dirs)
	out=$("$M" run --rm --memory 50M busybox sh -c 'head -c 209715200 /dev/zero | tail' 2>&1) || rc=$?
	assert_eq 137 "$rc" "exit status"
	assert_contains "$out" "OOM-killed"
	assert_no_leftovers "$before"
}

t_pids_limit_stops_fork_bomb() {
	local out rc=0
	# A bounded bomb: 60 forks against a limit of 20 (the probe is one of the 20).
	out=$("$M" run --rm --pids-limit 20 "${LIBS[@]}" busybox /t/sc_probe forkbomb 60) || rc=$?
	echo "$out"
	assert_contains "$out" "forked=19 failed=41"
}

t_cpu_quota_throttles() {
	local id out thr
	id=$("$M" run -d --cpus 0.1 busybox sh -c 'while :; do :; done')
	sleep 1.5
	out=$("$M" stats "$id")
	"$M" rm -f "$id" >/dev/null
	echo "$out"
	thr=$(echo "$out" | awk 'NR==2 {print $6}')
	[ "${thr:-0}" -gt 0 ] || fail "no throttled periods: $out"
}

t_userns() {
	local out id
	id=$("$M" run -d --userns 0:100000:65536 busybox sh -c 'cat /proc/self/uid_map; id -u; sleep 30')
	sleep 0.5
	out=$("$M" logs "$id")
	assert_contains "$out" "100000"
	assert_eq "0" "$(echo "$out" | tail -n 1)" "root inside"
	pid=$(state_field "$id" pid)
	assert_eq "100000" "$(stat -c %u /proc/$pid)" "uid on the host"
	"$M" rm -f "$id" >/dev/null
}

t_preloaded_malloc() {
	local lib=$MC_BUILD/lib/libmcmalloc.so out
	[ -f "$lib" ] || skip "libmcmalloc.so is not built in this tree (alloc/)"
	# A sanitizer build's programs must load the sanitizer runtime before any preload.
	[ -z "${MC_SANITIZE:-}" ] || skip "LD_PRELOAD of an allocator cannot run under $MC_SANITIZE"
	"$M" image build dist --from "$MC_BUILD/tests/runtime" >/dev/null
	out=$(MC_MALLOC_LIB=$lib "$M" run --rm dist sc_probe maps)
	assert_contains "$out" "libmcmalloc.so"
	out=$(MC_MALLOC_LIB=$lib "$M" run --rm --no-preload-malloc dist sc_probe maps)
	assert_not_contains "$out" "libmcmalloc.so"
	"$M" image rm dist >/dev/null
}

t_dist_image_runs_dynamic_programs() {
	"$M" image build dist --from "$MC_BUILD/tests/runtime" >/dev/null
	out=$("$M" run --rm --no-preload-malloc -e ASAN_OPTIONS=detect_leaks=0 dist sc_probe maps)
	assert_contains "$out" "libc.so"
	"$M" image rm dist >/dev/null
}

# On cgroup v1 the container moves itself into its cgroup ("0" to each hierarchy's
# tasks file, handed over by the parent): it is there in every hierarchy it needs
# before its command runs, with and without a user namespace, and a run long after
# the last one (no warm kernel lock to inherit) says so in its trace.
t_container_joins_its_cgroup() {
	local id pid h out
	ls -d /sys/fs/cgroup/memory/ >/dev/null 2>&1 || { skip "no cgroup v1 memory hierarchy: v2 clones into the cgroup"; return; }
	for opt in "" "--userns=0:100000:65536"; do
		id=$("$M" run -d $opt busybox sleep 30)
		pid=$("$M" inspect "$id" | sed -n 's/.*"Pid": \([0-9]*\).*/\1/p' | head -1)
		for h in memory pids freezer devices cpuacct; do
			assert_contains "$(grep ":$h[:,]\|,$h:" /proc/"$pid"/cgroup)" "mycontainer/$id" "$h ${opt:-(no userns)}"
		done
		"$M" rm -f "$id" >/dev/null
	done
	sleep 0.3
	out=$(MC_RT_TRACE=1 "$M" run --rm busybox true 2>&1)
	assert_contains "$out" "child: joined its cgroup"
	# Nothing of ours outlives the run for long (the cleaner only removes things).
	sleep 0.5
	assert_eq "" "$(our_processes)"
}

ktap_run pid1_and_no_host_pids t_pid1
ktap_run hostname_isolated t_hostname
ktap_run own_root_mounts_do_not_leak t_own_root_and_mounts_do_not_leak
ktap_run image_stays_read_only t_image_stays_read_only
ktap_run masked_and_readonly_paths t_masked_paths
ktap_run dev_nodes t_devices
ktap_run capabilities_default_set t_capabilities_default_set
ktap_run seccomp_denies_mount_unshare_allows_io_uring t_seccomp
ktap_run seccomp_profile_file t_seccomp_profile_file
ktap_run network_none_and_host t_network_none_and_host
ktap_run oom_kill_reported_exit_137 t_oom_kill_reported
ktap_run pids_limit_stops_fork_bomb t_pids_limit_stops_fork_bomb
ktap_run cpu_quota_throttles t_cpu_quota_throttles
ktap_run user_namespace t_userns
ktap_run dist_image_runs_dynamic_programs t_dist_image_runs_dynamic_programs
ktap_run preloaded_malloc_in_dist_image t_preloaded_malloc
ktap_run container_joins_its_cgroup t_container_joins_its_cgroup
ktap_finish
