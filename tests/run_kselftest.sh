#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# run_kselftest.sh: runs the test collections (C test programs and shell tests) listed
# in BUILD/tests/kselftest-list.txt, which `make check` writes. Each program's own TAP
# is nested under a `# ` prefix; the outer TAP has one line per program, mapped as
# kselftest's runner does (exit 4 -> SKIP, timeout, exit=N). The last line counts the
# test cases: `N passed, N failed, N skipped`.
set -u

usage() {
	cat <<EOF
usage: $0 [-o BUILD] [-c COLLECTION]... [-t COLLECTION:TEST]... [-l|--list] [-s] [-h]
  -o BUILD    build directory (default: build)
  -c COLL     run only this collection (repeatable)
  -t C:T      run only test T of collection C (repeatable)
  -l, --list  list the available tests and exit
  -s          summary: print only the outer TAP, not each program's output
environment: MC_TEST_TIMEOUT_SCALE multiplies every timeout; MC_TEST_SEED fixes seeds
EOF
}

top=$(cd "$(dirname "$0")/.." && pwd)
build=build
colls=()
tests=()
list=0
summary=0
while [ $# -gt 0 ]; do
	case $1 in
	-o) build=$2; shift ;;
	-c) colls+=("$2"); shift ;;
	-t) tests+=("$2"); shift ;;
	-l | --list) list=1 ;;
	-s) summary=1 ;;
	-h | --help) usage; exit 0 ;;
	*) echo "run_kselftest.sh: unknown option '$1'" >&2; usage >&2; exit 2 ;;
	esac
	shift
done
case $build in /*) ;; *) build=$top/$build ;; esac
listfile=$build/tests/kselftest-list.txt
if [ ! -r "$listfile" ]; then
	echo "run_kselftest.sh: no test list at $listfile (run 'make check')" >&2
	exit 2
fi

# Selection: -t entries are exact; -c selects whole collections; nothing selects all.
selected() {
	local coll=$1 name=$2 x
	[ ${#colls[@]} -eq 0 ] && [ ${#tests[@]} -eq 0 ] && return 0
	for x in "${colls[@]}"; do [ "$x" = "$coll" ] && return 0; done
	for x in "${tests[@]}"; do [ "$x" = "$coll:$name" ] && return 0; done
	return 1
}

entries=()
while IFS=: read -r coll name path; do
	coll=${coll#"${coll%%[![:space:]]*}"}
	[ -n "$coll" ] || continue
	selected "$coll" "$name" && entries+=("$coll:$name:$path")
done <"$listfile"

if [ $list = 1 ]; then
	for e in "${entries[@]}"; do echo "${e%:*}"; done
	exit 0
fi
if [ ${#entries[@]} -eq 0 ]; then
	echo "run_kselftest.sh: no test matches the selection" >&2
	exit 2
fi
for x in "${tests[@]}"; do
	found=0
	for e in "${entries[@]}"; do [ "${e%:*}" = "$x" ] && found=1; done
	[ $found = 1 ] || { echo "run_kselftest.sh: no test '$x'" >&2; exit 2; }
done

scale=${MC_TEST_TIMEOUT_SCALE:-1}
if [ -n "${MC_SANITIZE:-}" ] && [ -z "${MC_TEST_TIMEOUT_SCALE:-}" ]; then
	scale=3 # sanitizer builds run several times slower
	export MC_TEST_TIMEOUT_SCALE=$scale
fi

export MC_SRC=$top MC_BUILD=$build MC_BIN=$build/bin
passed=0
failed=0
skipped=0
num=0
echo "TAP version 13"
echo "1..${#entries[@]}"
for e in "${entries[@]}"; do
	coll=${e%%:*}
	rest=${e#*:}
	name=${rest%%:*}
	path=${rest#*:}
	num=$((num + 1))
	timeout=45
	if [ -r "$top/tests/$coll/settings" ]; then
		t=$(sed -n 's/^timeout=\([0-9]\+\)$/\1/p' "$top/tests/$coll/settings")
		[ -n "$t" ] && timeout=$t
	fi
	timeout=$(awk -v t="$timeout" -v s="$scale" 'BEGIN { printf "%d", t * s + 0.5 }')
	title="selftests: $coll: $name"
	echo "# timeout set to $timeout"
	echo "# $title"
	out=$(mktemp)
	if [ ! -x "$path" ]; then
		echo "# $name: not executable or missing: $path" | tee "$out" >/dev/null
		rc=127
	else
		# timeout(1) puts the test in its own process group and kills all of it.
		(cd "$top/tests/$coll" 2>/dev/null || cd "$(dirname "$path")"; exec timeout -k 5 "$timeout" "$path") </dev/null 2>&1 |
			tee "$out" | if [ $summary = 1 ]; then cat >/dev/null; else sed -u 's/^/# /'; fi
		rc=${PIPESTATUS[0]}
	fi
	# Count the program's own test cases (its top-level `ok`/`not ok` lines).
	p=$(grep -cE '^ok [0-9]+' "$out" | head -1)
	s=$(grep -cE '^ok [0-9]+.*# SKIP' "$out" | head -1)
	f=$(grep -cE '^not ok [0-9]+' "$out" | head -1)
	allskip=$(grep -cE '^1\.\.0( |$)' "$out" | head -1)
	p=$((p - s))
	rm -f "$out"
	case $rc in
	0)
		if [ $f -gt 0 ]; then
			echo "not ok $num $title # exit=0 with $f failed case(s)"
		else
			echo "ok $num $title"
		fi
		[ $((p + s + f)) -eq 0 ] && p=1
		;;
	4)
		echo "ok $num $title # SKIP"
		[ $((p + s + f)) -eq 0 ] && s=1
		[ "$allskip" -gt 0 ] && [ $s -eq 0 ] && s=1
		;;
	124 | 137)
		echo "not ok $num $title # TIMEOUT $timeout seconds"
		f=$((f + 1))
		;;
	*)
		echo "not ok $num $title # exit=$rc"
		[ $f -eq 0 ] && f=1
		;;
	esac
	passed=$((passed + p))
	failed=$((failed + f))
	skipped=$((skipped + s))
done
echo "$passed passed, $failed failed, $skipped skipped"
[ $failed -eq 0 ]
