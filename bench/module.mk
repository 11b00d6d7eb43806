# SPDX-License-Identifier: MIT
# bench/: each benchmark lives in bench/<name>/ and registers itself in its
# component's module.mk (BENCHES += name; name_BENCH := bench/<name>/run.sh).
