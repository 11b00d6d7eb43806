#!/bin/bash
# SPDX-License-Identifier: MIT
# httpd, backend and tcpserver end to end, with curl as the real client and bash's
# /dev/tcp for raw bytes: static files, MIME, HEAD, Range, If-Modified-Since, 404/
# 405/501, traversal, keep-alive and pipelining, partial reads, malformed requests,
# bodies by sendfile (ranges, keep-alive after them, a replaced file), idle
# timeout, a slow client, 1,000 concurrent connections, the connection limit,
# graceful drain on SIGTERM, the access log. Key cases run on both loop backends.
# Everything listens on 127.0.0.1 with an ephemeral port.
. "$MC_SRC/tests/lib/ktap.sh"

require_tool curl cmp

WWW=$(mktemp -d /tmp/mc-httpd-test.XXXXXX)
ktap_cleanup "rm -rf '$WWW'"
mkdir -p "$WWW/sub" "$WWW/empty"
echo '<h1>hello</h1>' >"$WWW/index.html"
echo 'body { color: red }' >"$WWW/style.css"
echo sub >"$WWW/sub/index.html"
head -c 1024 /dev/urandom >"$WWW/1k.bin"
head -c 65536 /dev/urandom >"$WWW/64k.bin"
head -c 3000000 /dev/urandom >"$WWW/big.bin"
echo secret >"$WWW/../mc-httpd-outside.$$"
ktap_cleanup "rm -f '$WWW/../mc-httpd-outside.$$'"

# start PROG ARGS...: starts a server on an ephemeral port; sets SRV_PID, PORT, SRV_LOG.
start() {
	local prog=$1 i
	shift
	SRV_LOG=$(mktemp /tmp/mc-httpd-log.XXXXXX)
	MC_LOG=info "$MC_BIN/$prog" --host 127.0.0.1 --port 0 "$@" 2>"$SRV_LOG" &
	SRV_PID=$!
	for i in $(seq 100); do
		PORT=$(sed -n 's/.*listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$SRV_LOG")
		[ -n "$PORT" ] && return 0
		kill -0 "$SRV_PID" 2>/dev/null || break
		sleep 0.05
	done
	cat "$SRV_LOG"
	fail "$prog did not start"
}

stop() {
	kill -TERM "$SRV_PID" 2>/dev/null || true
	local rc=0
	wait "$SRV_PID" || rc=$?
	rm -f "$SRV_LOG"
	return $rc
}

# raw BYTES: sends BYTES on a fresh connection, prints everything until close.
raw() {
	exec 3<>"/dev/tcp/127.0.0.1/$PORT"
	printf '%b' "$1" >&3
	timeout 5 cat <&3 || true
	exec 3<&-
}

url() { echo "http://127.0.0.1:$PORT$1"; }

t_static() {
	start httpd --root "$WWW" ${BACKEND:+--backend $BACKEND}
	assert_eq '<h1>hello</h1>' "$(curl -sf "$(url /)")"
	assert_contains "$(curl -si "$(url /)")" 'Content-Type: text/html'
	assert_contains "$(curl -si "$(url /style.css)")" 'Content-Type: text/css'
	assert_contains "$(curl -si "$(url /1k.bin)")" 'Content-Type: application/octet-stream'
	curl -sf "$(url /1k.bin)" | cmp - "$WWW/1k.bin"
	curl -sf "$(url /64k.bin)" | cmp - "$WWW/64k.bin"
	curl -sf "$(url /big.bin)" | cmp - "$WWW/big.bin"
	assert_eq sub "$(curl -sf "$(url /sub/)")"
	# Twice: the second comes from the per-loop cache; change the file, see it.
	curl -sf "$(url /64k.bin)" | cmp - "$WWW/64k.bin"
	echo changed >"$WWW/empty/f.txt"
	assert_eq changed "$(curl -sf "$(url /empty/f.txt)")"
	echo changed-again >"$WWW/empty/f.txt"
	assert_eq changed-again "$(curl -sf "$(url /empty/f.txt)")"
	stop
}

t_head_range_ims() {
	start httpd --root "$WWW" ${BACKEND:+--backend $BACKEND}
	local h
	h=$(curl -sI "$(url /64k.bin)")
	assert_contains "$h" 'HTTP/1.1 200 OK'
	assert_contains "$h" 'Content-Length: 65536'
	h=$(raw 'HEAD /64k.bin HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n')
	assert_contains "$h" 'Content-Length: 65536'
	[ ${#h} -lt 1000 ] || fail "HEAD response carried a body (${#h} bytes)"
	assert_not_contains "$(raw 'HEAD /index.html HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n')" '<h1>'
	assert_eq 206 "$(curl -s -o /dev/null -w '%{http_code}' -r 100-199 "$(url /1k.bin)")"
	curl -s -r 100-199 "$(url /1k.bin)" | cmp - <(tail -c +101 "$WWW/1k.bin" | head -c 100)
	curl -s -r -10 "$(url /1k.bin)" | cmp - <(tail -c 10 "$WWW/1k.bin")
	assert_contains "$(curl -si -r 100-199 "$(url /1k.bin)")" 'Content-Range: bytes 100-199/1024'
	assert_eq 416 "$(curl -s -o /dev/null -w '%{http_code}' -r 5000-6000 "$(url /1k.bin)")"
	assert_eq 304 "$(curl -s -o /dev/null -w '%{http_code}' -z "$WWW/1k.bin" "$(url /1k.bin)")"
	assert_eq 200 "$(curl -s -o /dev/null -w '%{http_code}' -H 'If-Modified-Since: Thu, 01 Jan 1970 00:00:01 GMT' "$(url /1k.bin)")"
	stop
}

t_errors() {
	start httpd --root "$WWW" ${BACKEND:+--backend $BACKEND}
	assert_eq 404 "$(curl -s -o /dev/null -w '%{http_code}' "$(url /nope)")"
	assert_eq 404 "$(curl -s -o /dev/null -w '%{http_code}' "$(url /empty/)")"
	assert_eq 405 "$(curl -s -o /dev/null -w '%{http_code}' -X POST -d x "$(url /)")"
	assert_contains "$(curl -si -X DELETE "$(url /)")" 'Allow: GET, HEAD'
	assert_eq 501 "$(curl -s -o /dev/null -w '%{http_code}' -X BREW "$(url /)")"
	assert_eq 301 "$(curl -s -o /dev/null -w '%{http_code}' "$(url /sub)")"
	assert_contains "$(curl -si "$(url /sub)")" 'Location: /sub/'
	# Traversal, plain and encoded: refused, and the outside file never served.
	local out
	out=$(curl -s --path-as-is -w ' %{http_code}' "$(url /../mc-httpd-outside.$$)")
	assert_contains "$out" ' 403'
	assert_not_contains "$out" secret
	out=$(curl -s --path-as-is -w ' %{http_code}' "$(url /sub/%2e%2e/%2e%2e/mc-httpd-outside.$$)")
	assert_contains "$out" ' 403'
	assert_not_contains "$out" secret
	# A symlink pointing out of the root is not followed out (openat2 RESOLVE_BENEATH).
	ln -sf "$WWW/../mc-httpd-outside.$$" "$WWW/empty/link"
	assert_not_contains "$(curl -s "$(url /empty/link)")" secret
	rm -f "$WWW/empty/link"
	stop
}

t_pipelining() {
	start httpd --root "$WWW" ${BACKEND:+--backend $BACKEND}
	local out n
	out=$(raw 'GET /sub/ HTTP/1.1\r\nHost: a\r\n\r\nGET /nope HTTP/1.1\r\nHost: a\r\n\r\nHEAD / HTTP/1.1\r\nHost: a\r\n\r\nGET /index.html HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n')
	n=$(grep -c '^HTTP/1.1 ' <<<"$out")
	assert_eq 4 "$n"
	assert_eq '200 404 200 200' "$(grep '^HTTP/1.1 ' <<<"$out" | awk '{print $2}' | tr -d '\r' | xargs)"
	assert_contains "$out" 'sub'
	assert_contains "$out" '<h1>hello</h1>'
	# A request with a body in the middle of a pipeline: the body is skipped.
	out=$(raw 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhelloGET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n')
	assert_eq '405 200' "$(grep '^HTTP/1.1 ' <<<"$out" | awk '{print $2}' | tr -d '\r' | xargs)"
	out=$(raw 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\nGET / HTTP/1.0\r\n\r\n')
	assert_eq '405 200' "$(grep '^HTTP/1.1 ' <<<"$out" | awk '{print $2}' | tr -d '\r' | xargs)"
	# Keep-alive: curl reuses one connection for two URLs.
	out=$(curl -sv "$(url /)" "$(url /sub/)" 2>&1)
	assert_contains "$out" 'Re-using existing connection'
	stop
}

t_partial_reads() {
	start httpd --root "$WWW" ${BACKEND:+--backend $BACKEND}
	local req=$'GET /index.html HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n' i out
	exec 3<>"/dev/tcp/127.0.0.1/$PORT"
	for ((i = 0; i < ${#req}; i += 3)); do
		printf '%s' "${req:i:3}" >&3
		sleep 0.01
	done
	out=$(timeout 5 cat <&3)
	exec 3<&-
	assert_contains "$out" 'HTTP/1.1 200 OK'
	assert_contains "$out" '<h1>hello</h1>'
	stop
}

# bad REQUEST STATUS: the server answers STATUS and closes the connection.
bad() {
	local out
	out=$(raw "$1")
	assert_contains "$out" "HTTP/1.1 $2 " "request: $1"
	assert_contains "$out" 'Connection: close'
}

t_malformed() {
	start httpd --root "$WWW" --max-header 1k ${BACKEND:+--backend $BACKEND}
	bad 'GET / HTTP/1.1\r\n\r\n' 400
	bad 'GET /\x01 HTTP/1.1\r\nHost: a\r\n\r\n' 400
	bad 'GET / HTTP/1.1\r\nHost : a\r\n\r\n' 400
	bad 'GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n' 400
	bad 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n' 400
	bad '\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03' 400
	bad "GET /$(printf 'a%.0s' $(seq 1100)) HTTP/1.1\r\nHost: a\r\n\r\n" 414
	bad "GET / HTTP/1.1\r\nHost: a\r\nX: $(printf 'v%.0s' $(seq 1100))\r\n\r\n" 431
	bad 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n' 501
	bad 'GET / HTTP/2.0\r\nHost: a\r\n\r\n' 505
	bad 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999\r\n\r\n' 413
	bad 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n' 400
	# Still serving afterwards.
	assert_eq '<h1>hello</h1>' "$(curl -sf "$(url /)")"
	stop
}

t_idle_timeout() {
	start httpd --root "$WWW" --idle-timeout 300ms ${BACKEND:+--backend $BACKEND}
	local t0 t1 out
	t0=$(date +%s%N)
	out=$(raw '')
	t1=$(date +%s%N)
	assert_eq '' "$out"
	[ $(((t1 - t0) / 1000000)) -lt 3000 ] || fail "idle connection not closed in time"
	# A head that never finishes gets 408.
	assert_contains "$(raw 'GET / HTTP/1.1\r\nHost: a\r\n')" 'HTTP/1.1 408 '
	stop
}

t_slow_client() {
	start httpd --root "$WWW" ${BACKEND:+--backend $BACKEND}
	local t0 t1
	exec 4<>"/dev/tcp/127.0.0.1/$PORT"
	printf 'GET / HTTP/1.1\r\nHo' >&4
	t0=$(date +%s%N)
	curl -sf "$(url /64k.bin)" | cmp - "$WWW/64k.bin"
	t1=$(date +%s%N)
	[ $(((t1 - t0) / 1000000)) -lt 2000 ] || fail "slow client stalled others"
	printf 'st: a\r\nConnection: close\r\n\r\n' >&4
	assert_contains "$(timeout 5 cat <&4)" '<h1>hello</h1>'
	exec 4<&-
	stop
}

t_thousand() {
	start httpd --root "$WWW" ${BACKEND:+--backend $BACKEND}
	local out
	out=$("$MC_BUILD/tests/httpd/hclient" many "$PORT" 1000 /index.html)
	assert_eq 'ok 1000' "$out"
	stop
}

t_max_conns() {
	start httpd --root "$WWW" --max-conns 2
	exec 5<>"/dev/tcp/127.0.0.1/$PORT"
	exec 6<>"/dev/tcp/127.0.0.1/$PORT"
	sleep 0.2
	assert_contains "$(curl -si "$(url /)")" 'HTTP/1.1 503'
	exec 5<&- 6<&-
	sleep 0.2
	assert_eq '<h1>hello</h1>' "$(curl -sf "$(url /)")"
	stop
}

# --deferred-accept (TCP_DEFER_ACCEPT): a connection that has sent nothing is not
# accepted yet, so it does not count against --max-conns (without the flag it
# does: t_max_conns); requests are served as usual, on both threads.
t_deferred_accept() {
	start httpd --root "$WWW" --max-conns 1 --threads 2 --deferred-accept
	exec 5<>"/dev/tcp/127.0.0.1/$PORT"
	sleep 0.2
	assert_eq '<h1>hello</h1>' "$(curl -sf "$(url /)")"
	curl -sf -H 'Connection: close' "$(url /64k.bin)" | cmp - "$WWW/64k.bin" || fail "64k.bin differs"
	# The silent connection is accepted once it speaks.
	printf 'GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n' >&5
	assert_contains "$(timeout 5 cat <&5)" '<h1>hello</h1>'
	exec 5<&-
	stop
}

t_drain() {
	start httpd --root "$WWW" ${BACKEND:+--backend $BACKEND}
	local dl idle rc=0
	dl=$(mktemp)
	# In flight: a 3 MB download at 1 MB/s; idle: a keep-alive connection.
	curl -s --limit-rate 1M "$(url /big.bin)" -o "$dl" &
	local cpid=$!
	exec 7<>"/dev/tcp/127.0.0.1/$PORT"
	sleep 0.5
	kill -TERM "$SRV_PID"
	sleep 0.3
	# New connections are refused once draining started.
	if curl -s -m 2 -o /dev/null "$(url /)"; then fail "accepted after SIGTERM"; fi
	# The idle connection was closed.
	assert_eq '' "$(timeout 3 cat <&7)"
	exec 7<&-
	wait "$cpid" || fail "in-flight download failed"
	cmp "$dl" "$WWW/big.bin" || fail "in-flight download truncated"
	rm -f "$dl"
	wait "$SRV_PID" || rc=$?
	assert_eq 0 "$rc" "exit status after drain"
	assert_contains "$(cat "$SRV_LOG")" 'drained'
	rm -f "$SRV_LOG"
}

t_access_log() {
	local log
	log=$(mktemp)
	start httpd --root "$WWW" --access-log "$log"
	curl -s -o /dev/null "$(url /1k.bin)"
	curl -s -o /dev/null "$(url /missing)"
	stop
	assert_contains "$(cat "$log")" 'method=GET target="/1k.bin" status=200 bytes=1024'
	assert_contains "$(cat "$log")" 'target="/missing" status=404'
	rm -f "$log"
}

t_threads() {
	start httpd --root "$WWW" --threads 2 ${BACKEND:+--backend $BACKEND}
	local i
	for i in 1 2 3 4 5 6; do
		curl -sf "$(url /64k.bin)" | cmp - "$WWW/64k.bin"
	done
	assert_eq 'ok 200' "$("$MC_BUILD/tests/httpd/hclient" many "$PORT" 200 /)"
	stop
}

t_bad_flags() {
	local out rc=0
	out=$("$MC_BIN/httpd" --port 99999 2>&1) || rc=$?
	assert_eq 64 "$rc"
	assert_contains "$out" 'httpd: --port `99999`'
	rc=0
	out=$("$MC_BIN/httpd" --root /nonexistent/dir 2>&1) || rc=$?
	assert_ne 0 "$rc"
	assert_contains "$out" 'httpd: open root `/nonexistent/dir`'
	rc=0
	out=$("$MC_BIN/backend" --port 1 2>&1) || rc=$?
	assert_eq 64 "$rc"
	assert_contains "$out" 'backend: --name'
	rc=0
	out=$("$MC_BIN/tcpserver" --backend kqueue 2>&1) || rc=$?
	assert_eq 64 "$rc"
	assert_contains "$out" 'tcpserver: --backend `kqueue`'
}

t_backend() {
	start backend --name Server-A ${BACKEND:+--backend $BACKEND}
	assert_eq 'Response from Server-A' "$(curl -sf "$(url /anything)")"
	assert_eq 'Response from Server-A' "$(curl -sf -X POST -d data "$(url /)")"
	stop
}

t_tcpserver() {
	start tcpserver ${BACKEND:+--backend $BACKEND}
	local out
	exec 3<>"/dev/tcp/127.0.0.1/$PORT"
	printf 'hello, telnet\r\n' >&3
	read -r -t 5 out <&3
	assert_eq $'hello, telnet\r' "$out"
	printf 'second line\n' >&3
	read -r -t 5 out <&3
	assert_eq 'second line' "$out"
	exec 3<&-
	stop
}

# Bodies over 16 KiB go out with sendfile from the open-file cache: offsets (Range),
# keep-alive and pipelining after such a body, HEAD, a replaced file, a client that
# leaves mid-file.
t_sendfile() {
	local d
	d=$(mktemp -d /tmp/mc-httpd-sf.XXXXXX)
	ktap_cleanup "rm -rf '$d'"
	start httpd --root "$WWW" ${BACKEND:+--backend $BACKEND}
	curl -s -r 1000-40999 "$(url /64k.bin)" | cmp - <(tail -c +1001 "$WWW/64k.bin" | head -c 40000)
	curl -s -r 2000000- "$(url /big.bin)" | cmp - <(tail -c +2000001 "$WWW/big.bin")
	curl -s -r -30000 "$(url /64k.bin)" | cmp - <(tail -c 30000 "$WWW/64k.bin")
	# Two bodies on one connection (num_connects 0 for the second).
	assert_eq "1 0" "$(curl -s -o "$d/a" -o "$d/b" -w '%{num_connects} ' "$(url /64k.bin)" "$(url /big.bin)" | xargs)"
	cmp "$d/a" "$WWW/64k.bin"
	cmp "$d/b" "$WWW/big.bin"
	# Pipelined: file, file, small page in one write; all three answered in order.
	raw 'GET /64k.bin HTTP/1.1\r\nHost: a\r\n\r\nGET /64k.bin HTTP/1.1\r\nHost: a\r\n\r\nGET /index.html HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n' >"$d/p"
	assert_eq 3 "$(grep -ao 'HTTP/1.1 200 OK' "$d/p" | wc -l)"
	assert_eq '<h1>hello</h1>' "$(tail -n 1 "$d/p")"
	[ "$(wc -c <"$d/p")" -gt $((65536 * 2 + 15)) ] || fail "pipelined bodies short: $(wc -c <"$d/p") bytes"
	# Connection: close after a file (sent corked, the FIN on its last bytes): whole,
	# and promptly (a cork left on would hold each tail for 200 ms: 4 s for 20).
	local t0 t1
	t0=$(date +%s%N)
	for i in $(seq 10); do
		curl -sf -H 'Connection: close' "$(url /64k.bin)" | cmp - "$WWW/64k.bin"
		curl -sf -H 'Connection: close' "$(url /big.bin)" | cmp - "$WWW/big.bin"
	done
	t1=$(date +%s%N)
	[ $(((t1 - t0) / 1000000)) -lt 3000 ] || fail "20 close responses took $(((t1 - t0) / 1000000)) ms"
	local h
	h=$(curl -sI "$(url /big.bin)")
	assert_contains "$h" 'Content-Length: 3000000'
	# Replaced under the cache (new inode), then rewritten in place (new mtime).
	head -c 70000 /dev/urandom >"$d/new" && cp "$d/new" "$WWW/sf.bin"
	curl -sf "$(url /sf.bin)" | cmp - "$WWW/sf.bin"
	head -c 70000 /dev/urandom >"$d/new2" && mv "$d/new2" "$WWW/sf.bin"
	curl -sf "$(url /sf.bin)" | cmp - "$WWW/sf.bin"
	touch -d '2001-01-01' "$d/new" && dd if="$d/new" of="$WWW/sf.bin" conv=notrunc status=none
	touch -d '2002-02-02' "$WWW/sf.bin"
	curl -sf "$(url /sf.bin)" | cmp - "$d/new"
	rm -f "$WWW/sf.bin"
	# Clients that leave mid-file: the server stays up and serves the next one.
	for i in 1 2 3; do
		curl -s --limit-rate 200k -m 0.3 "$(url /big.bin)" -o /dev/null || true
	done
	curl -sf "$(url /big.bin)" | cmp - "$WWW/big.bin"
	stop
}

for BACKEND in uring epoll; do
	if [ $BACKEND = uring ] && ! "$MC_BUILD/tests/lib/probe" io_uring >/dev/null 2>&1; then
		continue
	fi
	export BACKEND
	ktap_run "static_files_$BACKEND" t_static
	ktap_run "head_range_ims_$BACKEND" t_head_range_ims
	ktap_run "errors_and_traversal_$BACKEND" t_errors
	ktap_run "keepalive_pipelining_$BACKEND" t_pipelining
	ktap_run "sendfile_$BACKEND" t_sendfile
	ktap_run "partial_reads_$BACKEND" t_partial_reads
	ktap_run "malformed_requests_$BACKEND" t_malformed
	ktap_run "idle_timeout_$BACKEND" t_idle_timeout
	ktap_run "slow_client_$BACKEND" t_slow_client
	ktap_run "thousand_connections_$BACKEND" t_thousand
	ktap_run "graceful_drain_$BACKEND" t_drain
	ktap_run "threads_$BACKEND" t_threads
	ktap_run "backend_$BACKEND" t_backend
	ktap_run "tcpserver_echo_$BACKEND" t_tcpserver
done
unset BACKEND
ktap_run max_conns t_max_conns
ktap_run deferred_accept t_deferred_accept
ktap_run access_log t_access_log
ktap_run bad_flags t_bad_flags
ktap_finish
