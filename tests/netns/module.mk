# SPDX-License-Identifier: MIT
# tests/netns: every test that touches the kernel runs in a network namespace it
# created itself (unshare(CLONE_NEWNET) in the fixture), never on the host's links.
COLLECTIONS += netns
TESTS_netns_PROGS := ipam store link attach ports
TESTS_netns_attach_SRCS := tests/netns/ctr.c
TESTS_netns_ports_SRCS := tests/netns/ctr.c
TESTS_netns_LIBS := mcnetns mccommon
TESTS_netns_LDLIBS = $(call pkg-libs,libmnl libnftnl jansson)
TESTS_netns_SCRIPTS := cli.sh
TESTS_netns_DEPS := $(O)/bin/mycontainer
