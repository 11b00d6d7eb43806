# SPDX-License-Identifier: MIT
# runtime/: libmcrt (container lifecycle, namespaces, mounts, caps, seccomp, state, OCI
# config) and the `mycontainer` CLI; images and overlays come from rootfs/ (libmcrootfs).
PKG_PROBE += jansson libcap libseccomp

LIBS += mcrt
mcrt_SRCS := runtime/config.c runtime/spec.c runtime/security.c runtime/mounts.c \
	runtime/process.c runtime/run.c runtime/state.c runtime/lifecycle.c runtime/exec.c \
	runtime/seccomp_cache.c runtime/passwd.c

PROGS += mycontainer
mycontainer_SRCS := runtime/cli/main.c runtime/cli/run.c runtime/cli/exec.c runtime/cli/ps.c \
	runtime/cli/signal.c runtime/cli/manage.c runtime/cli/show.c runtime/cli/spec.c \
	runtime/cli/image.c runtime/cli/network.c
mycontainer_LIBS := mcrt mcrootfs mcimgstore mcgit mccgroup mcnetns mccommon
mycontainer_LDLIBS = -Wl,-Bstatic $(call pkg-libs,jansson libcap libseccomp libnftnl libcrypto zlib) \
	-Wl,-Bdynamic $(call pkg-libs,libmnl) -lm

DEMO := runtime/demo.sh
DEMO_DEPS := $(O)/bin/mycontainer

FUZZERS += rt_config
rt_config_FUZZ_SRCS := runtime/fuzz/config.c runtime/config.c common/err.c common/str.c \
	common/log.c common/fs.c common/time.c cgroup/resources.c
rt_config_FUZZ_CFLAGS := -Icgroup
rt_config_FUZZ_LDLIBS = $(call pkg-libs,jansson libseccomp)
rt_config_FUZZ_CORPUS := runtime/fuzz/corpus

FUZZERS += rt_passwd
rt_passwd_FUZZ_SRCS := runtime/fuzz/passwd.c runtime/passwd.c common/err.c common/str.c \
	common/log.c common/fs.c common/time.c
rt_passwd_FUZZ_CFLAGS := -Icgroup
rt_passwd_FUZZ_LDLIBS = $(call pkg-libs,jansson libseccomp)
rt_passwd_FUZZ_CORPUS := runtime/fuzz/passwd-corpus

BENCHES += runtime
runtime_BENCH := bench/runtime/run.sh
runtime_BENCH_DEPS := $(O)/bin/mycontainer $(O)/bin/mc-rt-paired

# The paired, run-by-run interleaved timing driver of bench/runtime (not installed).
PROGS += mc-rt-paired
NOINST_PROGS += mc-rt-paired
mc-rt-paired_SRCS := bench/runtime/paired.c
mc-rt-paired_LDLIBS := -lm
