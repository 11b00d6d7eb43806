# SPDX-License-Identifier: MIT
# The test harness library (linked into every C test) and the environment probe
# (tests/lib/probe.c, built as $(O)/tests/lib/probe by mk/rules.mk).
LIBS += mctest
mctest_SRCS := tests/lib/harness.c
NOINST_LIBS += mctest
