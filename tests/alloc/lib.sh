# SPDX-License-Identifier: MIT
# Shared by the alloc shell tests, and usable by other collections (the runtime's
# preload test): where the library is and how to tell that a process really runs on it.
#
#   . "$MC_SRC/tests/alloc/lib.sh"
#   alloc_require_lib                 skip the script if libmcmalloc.so is not built
#   LD_PRELOAD=$ALLOC_LIB prog ...    run a program on it
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

# alloc_same_output NAME CMD...: runs CMD with and without the preload, in the
# current directory, and fails unless stdout, stderr and the exit status match.
alloc_same_output() {
	local name=$1 rc1=0 rc2=0
	shift
	"$@" >"$ALLOC_TMP/$name.plain.out" 2>"$ALLOC_TMP/$name.plain.err" || rc1=$?
	LD_PRELOAD=$ALLOC_LIB "$@" >"$ALLOC_TMP/$name.mc.out" 2>"$ALLOC_TMP/$name.mc.err" || rc2=$?
	if ! cmp -s "$ALLOC_TMP/$name.plain.out" "$ALLOC_TMP/$name.mc.out"; then
		diff "$ALLOC_TMP/$name.plain.out" "$ALLOC_TMP/$name.mc.out" | head -20
		fail "$name: stdout differs under the preload"
	fi
	if ! cmp -s "$ALLOC_TMP/$name.plain.err" "$ALLOC_TMP/$name.mc.err"; then
		diff "$ALLOC_TMP/$name.plain.err" "$ALLOC_TMP/$name.mc.err" | head -20
		fail "$name: stderr differs under the preload"
	fi
	assert_eq "$rc1" "$rc2" "$name: exit status"
}

# A private temp dir, removed at exit.
alloc_tmpdir() {
	ALLOC_TMP=$(mktemp -d "${TMPDIR:-/tmp}/mc-alloc.XXXXXX")
	ktap_cleanup "rm -rf '$ALLOC_TMP'"
}
