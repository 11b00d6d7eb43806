#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# sqlite3 under the preload: 200k rows, an index, joins and aggregates, same output.
. "$MC_SRC/tests/lib/ktap.sh"
. "$MC_SRC/tests/alloc/lib.sh"
alloc_require_lib
require_tool sqlite3
alloc_tmpdir

t_sqlite() {
	cat >"$ALLOC_TMP/q.sql" <<'SQL'
CREATE TABLE t(id INTEGER PRIMARY KEY, k TEXT, v INTEGER, blob BLOB);
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 200000)
INSERT INTO t(k, v, blob) SELECT printf('key%06d', x % 9973), x * 7 % 1000, zeroblob(x % 200) FROM c;
CREATE INDEX tk ON t(k);
SELECT count(*), sum(v), sum(length(blob)) FROM t;
SELECT k, count(*), max(v) FROM t GROUP BY k ORDER BY count(*) DESC, k LIMIT 5;
SELECT a.k, b.v FROM t a JOIN t b ON a.id = b.id + 1 WHERE a.v = 999 ORDER BY a.id LIMIT 5;
SELECT group_concat(k, ',') FROM (SELECT DISTINCT k FROM t ORDER BY k LIMIT 50);
DELETE FROM t WHERE v % 2 = 0;
VACUUM;
SELECT count(*) FROM t;
SQL
	cd "$ALLOC_TMP"
	rm -f a.db
	alloc_same_output sqlite sh -c 'rm -f a.db; sqlite3 a.db < q.sql'
}

ktap_run sqlite_queries t_sqlite
ktap_finish
