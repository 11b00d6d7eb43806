#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# nginx (master and workers) under the preload on a loopback port: wrk drives it for
# a few seconds; the bytes served equal those of an nginx on glibc.
. "$MC_SRC/tests/lib/ktap.sh"
. "$MC_SRC/tests/alloc/lib.sh"
alloc_require_lib
require_tool nginx wrk curl
alloc_tmpdir
# nginx workers drop to www-data when started by root: they must read the docroot.
chmod 755 "$ALLOC_TMP"

# start_nginx NAME PRELOAD: sets PORT and PID (the master).
start_nginx() {
	local d=$ALLOC_TMP/$1
	mkdir -p "$d/www" "$d/tmp"
	PORT=$(alloc_free_port)
	cp "$ALLOC_TMP/big.bin" "$d/www/big.bin"
	printf 'hello from nginx\n' >"$d/www/index.html"
	cat >"$d/nginx.conf" <<CONF
daemon off;
worker_processes 2;
pid $d/nginx.pid;
error_log $d/error.log;
events { worker_connections 256; }
http {
	access_log off;
	client_body_temp_path $d/tmp; proxy_temp_path $d/tmp; fastcgi_temp_path $d/tmp;
	uwsgi_temp_path $d/tmp; scgi_temp_path $d/tmp;
	gzip on; gzip_types *; gzip_min_length 10;
	server {
		listen 127.0.0.1:$PORT;
		root $d/www;
		location /echo { return 200 "uri=\$uri args=\$args\n"; }
	}
}
CONF
	local run=()
	# env, not the alloc_preload function: $! must be the server itself.
	[ "$2" = 1 ] && run=(env LD_PRELOAD="$ALLOC_LIB")
	"${run[@]}" nginx -p "$d" -c "$d/nginx.conf" -e "$d/error.log" &
	PID=$!
	ktap_cleanup "kill $PID"
	alloc_wait_for curl -fs "http://127.0.0.1:$PORT/" && return 0
	cat "$d/error.log"
	fail "nginx did not start"
}

fetch_all() {
	curl -fs "http://127.0.0.1:$1/"
	curl -fs "http://127.0.0.1:$1/big.bin" | md5sum
	curl -fs --compressed "http://127.0.0.1:$1/big.bin" | md5sum
	curl -fs "http://127.0.0.1:$1/echo/a/b?x=1&y=2"
	curl -s -o /dev/null -w '%{http_code}\n' "http://127.0.0.1:$1/missing"
}

t_nginx() {
	head -c 100000 /dev/urandom >"$ALLOC_TMP/big.bin"
	start_nginx plain 0
	fetch_all "$PORT" >"$ALLOC_TMP/plain.out"
	start_nginx mc 1
	local port=$PORT pid=$PID
	fetch_all "$port" >"$ALLOC_TMP/mc.out"
	cmp -s "$ALLOC_TMP/plain.out" "$ALLOC_TMP/mc.out" || {
		diff "$ALLOC_TMP/plain.out" "$ALLOC_TMP/mc.out"
		fail "responses differ"
	}
	local w
	for w in $(pgrep -P "$pid"); do
		alloc_pid_has_lib "$w" || fail "nginx worker $w did not map libmcmalloc"
	done
	local out
	out=$(timeout 30 wrk -t2 -c32 -d3s "http://127.0.0.1:$port/big.bin" 2>&1)
	printf '%s\n' "$out" | grep -E 'Requests/sec|requests in|errors' || true
	assert_contains "$out" "Requests/sec"
	assert_not_contains "$out" "Non-2xx"
	out=$(timeout 30 wrk -t2 -c32 -d2s "http://127.0.0.1:$port/echo/x?y=1" 2>&1)
	assert_contains "$out" "Requests/sec"
	fetch_all "$port" >"$ALLOC_TMP/mc2.out"
	cmp -s "$ALLOC_TMP/plain.out" "$ALLOC_TMP/mc2.out" || fail "responses differ after load"
	kill -0 "$pid" || fail "nginx died under load"
}

ktap_run nginx_wrk t_nginx
ktap_finish
