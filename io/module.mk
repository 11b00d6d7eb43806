# SPDX-License-Identifier: MIT
# io/: the event loop (io_uring + epoll), lock-free queues, HTTP/1.1 codec.
LIBS += mcio
mcio_SRCS := io/hazard.c io/queue.c io/ring.c
PKG_PROBE += liburing

COLLECTIONS += io
TESTS_io_PROGS := queue
TESTS_io_LIBS := mcio mccommon
TESTS_io_LDLIBS = $(call pkg-libs,liburing) -lpthread
