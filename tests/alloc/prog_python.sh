#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# python3 under the preload: some of CPython's own test modules (Debian's
# libpython3.11-testsuite), and a dict/list/string workload with threads whose
# output matches the run without the preload.
. "$MC_SRC/tests/lib/ktap.sh"
. "$MC_SRC/tests/alloc/lib.sh"
alloc_require_lib
PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3) || ktap_skip_all "requires python3"
alloc_tmpdir

t_cpython_tests() {
	"$PY" -c 'import test.test_dict' 2>/dev/null || skip "CPython test suite not installed (libpython3-testsuite)"
	local out rc=0
	out=$(cd "$ALLOC_TMP" && alloc_preload "$PY" -m test test_dict test_list test_set \
		test_json test_re test_collections test_bytes 2>&1) || rc=$?
	printf '%s\n' "$out" | tail -4
	assert_eq 0 "$rc"
	assert_contains "$out" "Tests result: SUCCESS"
}

t_workload() {
	cat >"$ALLOC_TMP/w.py" <<'PY'
import threading, hashlib
def work(k, out):
    d = {}
    for i in range(150000):
        d[(k, i)] = str(i) * (i % 7)
        if i % 3 == 0:
            d.pop((k, i - 3), None)
    l = sorted(d.values(), key=len)[-1000:]
    s = "".join(l)
    out[k] = hashlib.sha256(s.encode()).hexdigest()[:16] + " %d" % len(d)
out = {}
ts = [threading.Thread(target=work, args=(k, out)) for k in range(4)]
[t.start() for t in ts]
[t.join() for t in ts]
for k in sorted(out):
    print(k, out[k])
big = [bytearray(i % 5000) for i in range(20000)]
print(sum(map(len, big)), len({i: [i] * 10 for i in range(100000)}))
PY
	cd "$ALLOC_TMP"
	alloc_same_output python "$PY" w.py
}

ktap_run cpython_test_modules t_cpython_tests
ktap_run dict_list_string_workload t_workload
ktap_finish
