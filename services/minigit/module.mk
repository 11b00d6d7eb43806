# SPDX-License-Identifier: MIT
# services/minigit: libmcgit (git objects, packs, refs) and the `minigit` CLI.
PKG_PROBE += libcrypto zlib

LIBS += mcgit
mcgit_SRCS := services/minigit/oid.c services/minigit/repo.c services/minigit/loose.c \
	services/minigit/pack.c services/minigit/odb.c services/minigit/tree.c \
	services/minigit/commit.c services/minigit/refs.c services/minigit/worktree.c

PROGS += minigit
minigit_SRCS := services/minigit/cli/main.c services/minigit/cli/cmd_object.c \
	services/minigit/cli/cmd_tree.c services/minigit/cli/cmd_commit.c
minigit_LIBS := mcgit mccommon
minigit_LDLIBS = $(call pkg-libs,libcrypto zlib)
