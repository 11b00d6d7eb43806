# SPDX-License-Identifier: MIT
# bench/io: the lock-free queue against a mutex queue, the two-lock queue, liburcu and ck.
PROGS += qbench
NOINST_PROGS += qbench
qbench_SRCS := bench/io/qbench.c
qbench_LIBS := mcio mccommon
qbench_LDLIBS = -lurcu-memb -lurcu-cds -lurcu-common -lck -lpthread
BENCHES += io
io_BENCH := bench/io/run.sh
io_BENCH_DEPS = $(O)/bin/qbench
