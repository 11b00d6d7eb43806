# SPDX-License-Identifier: MIT
# netns/: container networking: netlink (libmnl), nftables (libnftnl), IPAM records (jansson).
LIBS += mcnetns
mcnetns_SRCS := netns/addr.c netns/attach.c netns/ipam.c netns/link.c netns/network.c \
	netns/nft.c netns/nl.c netns/record.c netns/store.c
PKG_PROBE += libmnl libnftnl jansson
