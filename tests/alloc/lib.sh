# SPDX-License-Identifier: MIT
# Shared by the alloc shell tests, and usable by other collections (the runtime's
# preload test): where the library is and how to tell that a process really runs on it.
#
#   . "$MC_SRC/tests/alloc/lib.sh"
#   alloc_require_lib                 skip the script if libmcmalloc.so is not built
#   alloc_preload prog ...            run a program on it
#   alloc_same_output NAME prog ...   run it on glibc and on the library, compare
#   alloc_maps_have_lib < /proc/PID/maps   true if the library is mapped

ALLOC_LIB=${ALLOC_LIB:-$MC_BUILD/lib/libmcmalloc.so}

alloc_require_lib() {
	[ -r "$ALLOC_LIB" ] || ktap_skip_all "libmcmalloc.so not built at $ALLOC_LIB"
}

# Reads a maps file on stdin; true if an executable mapping of libmcmalloc.so is in it.
alloc_maps_have_lib() {
	# Not grep -q: stopping early would SIGPIPE the writer and fail a pipefail pipeline.
	grep ' r-xp .*/libmcmalloc\.so$' >/dev/null
}

# alloc_pid_has_lib PID: the process (and so its malloc) is on libmcmalloc.
alloc_pid_has_lib() {
	alloc_maps_have_lib <"/proc/$1/maps"
}

# alloc_preload CMD...: runs CMD with libmcmalloc.so preloaded.
alloc_preload() {
	LD_PRELOAD=$ALLOC_LIB "$@"
}

# alloc_same_output NAME CMD...: runs CMD without and then with the preload, in the
# current directory, and fails unless stdout, stderr and the exit status match. The
# preloaded run also writes an MCMALLOC_DUMP per process: without one, CMD did not
# really run on libmcmalloc (a static or setuid binary ignores LD_PRELOAD), and that
# fails too rather than passing vacuously.
alloc_same_output() {
	local name=$1 rc1=0 rc2=0 f
	shift
	"$@" >"$ALLOC_TMP/$name.plain.out" 2>"$ALLOC_TMP/$name.plain.err" || rc1=$?
	MCMALLOC_DUMP="$ALLOC_TMP/$name.dump.%p" alloc_preload "$@" >"$ALLOC_TMP/$name.mc.out" \
		2>"$ALLOC_TMP/$name.mc.err" || rc2=$?
	for f in out err; do
		if ! cmp -s "$ALLOC_TMP/$name.plain.$f" "$ALLOC_TMP/$name.mc.$f"; then
			diff "$ALLOC_TMP/$name.plain.$f" "$ALLOC_TMP/$name.mc.$f" | head -20
			fail "$name: std$f differs under the preload"
		fi
	done
	assert_eq "$rc1" "$rc2" "$name: exit status"
	compgen -G "$ALLOC_TMP/$name.dump.*" >/dev/null || fail "$name: no process ran on libmcmalloc"
	rm -f "$ALLOC_TMP/$name".dump.*
}

# alloc_free_port: prints a free loopback TCP port.
alloc_free_port() {
	/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# alloc_wait_for CMD...: retries CMD (quietly) every 0.1 s, ALLOC_WAIT_TRIES times (100,
# so 10 s, by default); false if it never succeeds.
alloc_wait_for() {
	local _
	for _ in $(seq "${ALLOC_WAIT_TRIES:-100}"); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}

# A private temp dir, removed at exit.
alloc_tmpdir() {
	ALLOC_TMP=$(mktemp -d "${TMPDIR:-/tmp}/mc-alloc.XXXXXX")
	ktap_cleanup "rm -rf '$ALLOC_TMP'"
}
