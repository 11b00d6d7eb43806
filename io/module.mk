# SPDX-License-Identifier: MIT
# io/: the event loop (io_uring + epoll), lock-free queues, HTTP/1.1 codec.
LIBS += mcio
mcio_SRCS := io/hazard.c io/queue.c io/ring.c io/http_parse.c io/http_body.c io/http_write.c \
	io/loop.c io/conn.c io/loop_epoll.c io/loop_uring.c io/sock.c
PKG_PROBE += liburing

COLLECTIONS += io
TESTS_io_PROGS := queue http loop loop_output
TESTS_io_loop_SRCS := tests/io/loop_common.c
TESTS_io_loop_output_SRCS := tests/io/loop_common.c
TESTS_io_LIBS := mcio mccommon
TESTS_io_LDLIBS = $(call pkg-libs,liburing) -lpthread

FUZZERS += http_parse
http_parse_FUZZ_SRCS := io/fuzz/http_fuzz.c io/http_parse.c io/http_body.c io/http_write.c
http_parse_FUZZ_CORPUS := io/fuzz/corpus
