#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bash under the preload: string, array and associative-array churn, subshells,
# pipelines and command substitution print the same as without it.
. "$MC_SRC/tests/lib/ktap.sh"
. "$MC_SRC/tests/alloc/lib.sh"
alloc_require_lib
alloc_tmpdir

t_bash_workload() {
	cat >"$ALLOC_TMP/w.sh" <<'SH'
declare -A h
s=
for ((i = 0; i < 20000; i++)); do
	h[k$i]=$((i * i))
	s+="${i: -1}"
	a[i]=$i
done
for ((i = 0; i < 20000; i += 3)); do unset "h[k$i]"; done
echo "${#h[@]} ${#s} ${#a[@]}"
x=$(for i in {1..500}; do printf '%s\n' "line $i"; done | sort -r | head -3 | tr '\n' ' ')
echo "$x"
echo "$(seq 1 2000 | paste -sd+ | bc 2>/dev/null || echo nobc)"
f() { local v=$1; (( v > 0 )) && f $((v - 1)) && echo -n .; return 0; }
f 200; echo
printf '%s\n' "${!h[@]}" | sort | md5sum
SH
	cd "$ALLOC_TMP"
	alloc_same_output bash bash ./w.sh
	alloc_preload bash -c 'cat /proc/$$/maps' | alloc_maps_have_lib || fail "bash did not map libmcmalloc"
}

ktap_run bash_workload t_bash_workload
ktap_finish
