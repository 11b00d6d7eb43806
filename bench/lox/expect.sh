# SPDX-License-Identifier: MIT
# Output checks for the programs in lox-tests/test/benchmark/ (sourced by
# bench/lox/run.sh and tests/lox/benchmarks.sh). Timing lines vary; everything else
# is checked. lox_bench_check NAME STDOUT-FILE: returns 0, or prints why and 1.

LOX_BENCHMARKS="binary_trees equality fib instantiation invocation method_call properties
string_equality trees zoo zoo_batch"

# lox_bench_num LINE: true when LINE is a number as Lox prints it.
lox_bench_num() {
	[[ $1 =~ ^-?([0-9]+(\.[0-9]+)?(e[-+][0-9]+)?|inf|nan)$ ]]
}

lox_bench_check() {
	local name=$1 file=$2 want got i
	local -a lines
	mapfile -t lines <"$file"
	case $name in
	binary_trees)
		want="stretch tree of depth: 15 check: -1"
		local iters=32768 d
		for d in 4 6 8 10 12 14; do
			want+=" num trees: $iters depth: $d check: -$iters"
			iters=$((iters / 4))
		done
		want+=" long lived tree of depth: 14 check: -1 elapsed:"
		got="${lines[*]:0:${#lines[@]}-1}"
		[ "$got" = "$want" ] || { echo "binary_trees: got '$got'"; return 1; }
		lox_bench_num "${lines[-1]}" || { echo "binary_trees: bad time '${lines[-1]}'"; return 1; }
		;;
	equality | string_equality)
		[ "${#lines[@]}" = 6 ] && [ "${lines[0]}" = loop ] && [ "${lines[2]}" = elapsed ] &&
			[ "${lines[4]}" = equals ] || { echo "$name: got '${lines[*]}'"; return 1; }
		for i in 1 3 5; do
			lox_bench_num "${lines[$i]}" || { echo "$name: bad number '${lines[$i]}'"; return 1; }
		done
		;;
	fib)
		[ "${#lines[@]}" = 2 ] && [ "${lines[0]}" = true ] && lox_bench_num "${lines[1]}" ||
			{ echo "fib: got '${lines[*]}'"; return 1; }
		;;
	method_call)
		[ "${#lines[@]}" = 3 ] && [ "${lines[0]}" = true ] && [ "${lines[1]}" = false ] &&
			lox_bench_num "${lines[2]}" || { echo "method_call: got '${lines[*]}'"; return 1; }
		;;
	instantiation | invocation | properties | trees)
		# trees prints "Error" when a walk returns a wrong sum.
		[ "${#lines[@]}" = 1 ] && lox_bench_num "${lines[0]}" ||
			{ echo "$name: got '${lines[*]}'"; return 1; }
		;;
	zoo)
		[ "${#lines[@]}" = 2 ] && [ "${lines[0]}" = 1e+07 ] && lox_bench_num "${lines[1]}" ||
			{ echo "zoo: got '${lines[*]}'"; return 1; }
		;;
	zoo_batch)
		# sum == batches * 10000 iterations * 6 calls returning 1 (printed with %g).
		[ "${#lines[@]}" = 3 ] && lox_bench_num "${lines[0]}" && lox_bench_num "${lines[1]}" ||
			{ echo "zoo_batch: got '${lines[*]}'"; return 1; }
		awk -v s="${lines[0]}" -v b="${lines[1]}" \
			'BEGIN { w = b * 60000; d = s - w; if (d < 0) d = -d; exit !(b > 0 && d <= w * 1e-5) }' ||
			{ echo "zoo_batch: sum ${lines[0]} != ${lines[1]} * 60000"; return 1; }
		;;
	*)
		echo "unknown benchmark $name"
		return 1
		;;
	esac
}
