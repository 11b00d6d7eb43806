# SPDX-License-Identifier: MIT
# services/httpd: tcpserver (echo), httpd (static files), backend (the LB's demo).
HTTPD_CORE := services/httpd/server.c services/httpd/opts.c

PROGS += httpd backend tcpserver
httpd_SRCS := services/httpd/httpd_main.c services/httpd/static.c $(HTTPD_CORE)
httpd_LIBS := mcio mccommon
httpd_LDLIBS = $(call pkg-libs,liburing) -lpthread
backend_SRCS := services/httpd/backend_main.c $(HTTPD_CORE)
backend_LIBS := mcio mccommon
backend_LDLIBS = $(call pkg-libs,liburing) -lpthread
tcpserver_SRCS := services/httpd/tcpserver_main.c services/httpd/opts.c
tcpserver_LIBS := mcio mccommon
tcpserver_LDLIBS = $(call pkg-libs,liburing) -lpthread

COLLECTIONS += httpd
TESTS_httpd_PROGS :=
TESTS_httpd_HELPERS := hclient
TESTS_httpd_LIBS := mccommon
TESTS_httpd_SCRIPTS := httpd.sh
TESTS_httpd_DEPS = $(O)/bin/httpd $(O)/bin/backend $(O)/bin/tcpserver

BENCHES += httpd
httpd_BENCH := bench/httpd/run.sh
httpd_BENCH_DEPS = $(O)/bin/httpd
