# SPDX-License-Identifier: MIT
# cgroup/: control groups behind one interface, v1 and v2 backends (docs/cgroup.md).
LIBS += mccgroup
mccgroup_SRCS := cgroup/cgroup.c cgroup/v1.c cgroup/v2.c cgroup/resources.c \
	cgroup/bpfdev.c cgroup/util.c

COLLECTIONS += cgroup
TESTS_cgroup_PROGS := parse fake_v2 fake_v1 real_v1 real_v2
TESTS_cgroup_LIBS := mccgroup mccommon
TESTS_cgroup_CFLAGS := -Icgroup
TESTS_cgroup_fake_v2_SRCS := tests/cgroup/workload.c
TESTS_cgroup_real_v1_SRCS := tests/cgroup/workload.c
TESTS_cgroup_real_v2_SRCS := tests/cgroup/workload.c
TESTS_cgroup_fake_v1_SRCS := tests/cgroup/workload.c

FUZZERS += cgroup_parse
cgroup_parse_FUZZ_SRCS := cgroup/fuzz/parse.c cgroup/util.c cgroup/resources.c cgroup/bpfdev.c \
	common/err.c common/str.c common/fs.c common/log.c common/time.c
cgroup_parse_FUZZ_CFLAGS := -Icgroup
cgroup_parse_FUZZ_CORPUS := cgroup/fuzz/corpus
