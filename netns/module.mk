# SPDX-License-Identifier: MIT
# netns/: container networking: netlink (libmnl), nftables (libnftnl), IPAM records (jansson).
LIBS += mcnetns
mcnetns_SRCS := netns/addr.c netns/attach.c netns/epslot.c netns/ipam.c netns/link.c \
	netns/network.c netns/nft.c netns/nl.c netns/record.c netns/store.c
PKG_PROBE += libmnl libnftnl jansson

FUZZERS += netns_parse
netns_parse_FUZZ_SRCS := netns/fuzz/fuzz_parse.c netns/epslot.c netns/ipam.c netns/record.c \
	common/err.c
netns_parse_FUZZ_LDLIBS = $(call pkg-libs,jansson)
netns_parse_FUZZ_CORPUS := netns/fuzz/corpus

# The benchmark's helper (bench/netns/run.sh runs it; not installed).
PROGS += netbench
NOINST_PROGS += netbench
netbench_SRCS := bench/netns/netbench.c
netbench_LIBS := mcnetns mccommon
netbench_LDLIBS = $(call pkg-libs,libmnl libnftnl jansson)
BENCHES += netns
netns_BENCH := bench/netns/run.sh
netns_BENCH_DEPS := $(O)/bin/netbench $(O)/bin/mycontainer
