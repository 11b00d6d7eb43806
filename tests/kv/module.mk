# SPDX-License-Identifier: MIT
COLLECTIONS += kv
TESTS_kv_PROGS := engine model crash corrupt compact resp
TESTS_kv_LIBS := mckv mccommon
TESTS_kv_LDLIBS := -lpthread
TESTS_kv_SCRIPTS := cli.sh redis_cli.sh
TESTS_kv_DEPS := $(O)/bin/kvstore $(O)/bin/kv-server
