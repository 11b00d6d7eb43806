#!/bin/bash
# SPDX-License-Identifier: MIT
# The `lox` command's contract: exit codes 0/64/65/70/74, one-line errors, the REPL.
. "$MC_SRC/tests/lib/ktap.sh"

LOX=$MC_BIN/lox
tmp=$(mktemp -d)
ktap_cleanup 'rm -rf "$tmp"'

t_ok() {
	printf 'print "hello" + " " + "world";\n' >"$tmp/ok.lox"
	assert_eq "hello world" "$("$LOX" "$tmp/ok.lox")"
	assert_status 0 "$LOX" "$tmp/ok.lox"
}

t_usage() {
	assert_status 64 "$LOX" a.lox b.lox
	assert_contains "$("$LOX" a.lox b.lox 2>&1)" "Usage: lox"
	assert_status 64 "$LOX" --bogus
	assert_contains "$("$LOX" --bogus 2>&1)" "lox: unknown option \`--bogus\`"
	assert_status 0 "$LOX" --help
}

t_unreadable() {
	local err
	assert_status 74 "$LOX" "$tmp/missing.lox"
	err=$("$LOX" "$tmp/missing.lox" 2>&1) || true
	assert_contains "$err" "lox: "
	assert_contains "$err" "missing.lox"
	assert_eq 1 "$(wc -l <<<"$err")"
	assert_status 74 "$LOX" "$tmp"
}

t_compile_error() {
	local err
	printf 'var x = ;\nprint 1;\n' >"$tmp/bad.lox"
	assert_status 65 "$LOX" "$tmp/bad.lox"
	err=$("$LOX" "$tmp/bad.lox" 2>&1 >/dev/null) || true
	assert_eq "[line 1] Error at ';': Expect expression." "$err"
	# Nothing runs when compilation fails.
	assert_eq "" "$("$LOX" "$tmp/bad.lox" 2>/dev/null)"
}

t_runtime_error() {
	local err
	printf 'fun f(a) {\n  return a * 2;\n}\nprint 1;\nf("x");\n' >"$tmp/rt.lox"
	assert_status 70 "$LOX" "$tmp/rt.lox"
	err=$("$LOX" "$tmp/rt.lox" 2>&1 >/dev/null) || true
	assert_eq $'Operands must be numbers.\n[line 2] in f()\n[line 5] in script' "$err"
	assert_eq "1" "$("$LOX" "$tmp/rt.lox" 2>/dev/null)"
}

t_stack_overflow() {
	local err
	printf 'fun f() { f(); }\nf();\n' >"$tmp/so.lox"
	assert_status 70 "$LOX" "$tmp/so.lox"
	err=$("$LOX" "$tmp/so.lox" 2>&1 | head -n 2) || true
	assert_eq $'Stack overflow.\n[line 1] in f()' "$err"
}

t_repl() {
	local out
	out=$(printf 'var a = 1;\nprint a + 1;\nprint nope;\nprint (;\nfun f(x) { return x * a; }\nprint f(21);\n' |
		"$LOX" 2>"$tmp/repl.err")
	assert_eq $'2\n21' "$out"
	assert_contains "$(cat "$tmp/repl.err")" "Undefined variable 'nope'."
	assert_contains "$(cat "$tmp/repl.err")" "Error at ';': Expect expression."
	assert_status 0 "$LOX" </dev/null
}

t_gc_stress_flag() {
	printf 'var s = "";\nfor (var i = 0; i < 100; i = i + 1) s = s + "a";\nprint s == s;\n' >"$tmp/g.lox"
	assert_eq "true" "$("$LOX" --gc-stress "$tmp/g.lox")"
	assert_eq "true" "$(LOX_GC_STRESS=1 "$LOX" "$tmp/g.lox")"
}

t_binary_input() {
	head -c 4096 /dev/urandom >"$tmp/junk.lox"
	printf '\0\0print 1;' >>"$tmp/junk.lox"
	local rc=0
	"$LOX" "$tmp/junk.lox" >/dev/null 2>&1 || rc=$?
	# Random bytes are a compile error (65), never a crash.
	assert_eq 65 "$rc"
}

ktap_run ok t_ok
ktap_run usage t_usage
ktap_run unreadable t_unreadable
ktap_run compile_error t_compile_error
ktap_run runtime_error t_runtime_error
ktap_run stack_overflow t_stack_overflow
ktap_run repl t_repl
ktap_run gc_stress_flag t_gc_stress_flag
ktap_run binary_input t_binary_input
ktap_finish
