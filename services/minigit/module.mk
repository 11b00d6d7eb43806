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

# The image store built on libmcgit (libmcimgstore) is declared in rootfs/module.mk.

# Fuzz targets: object and pack parsers (libmcgit) and the image store's tar/manifest.
MCGIT_FUZZ_LIB := $(mcgit_SRCS) common/err.c common/str.c common/fs.c common/log.c common/time.c
FUZZERS += minigit_object minigit_pack imgstore_tar
minigit_object_FUZZ_SRCS := services/minigit/fuzz/fuzz_object.c $(MCGIT_FUZZ_LIB)
minigit_object_FUZZ_LDLIBS = $(call pkg-libs,libcrypto zlib)
minigit_object_FUZZ_CORPUS := services/minigit/fuzz/corpus-object
minigit_pack_FUZZ_SRCS := services/minigit/fuzz/fuzz_pack.c $(MCGIT_FUZZ_LIB)
minigit_pack_FUZZ_LDLIBS = $(call pkg-libs,libcrypto zlib)
minigit_pack_FUZZ_CORPUS := services/minigit/fuzz/corpus-pack
imgstore_tar_FUZZ_SRCS := services/minigit/fuzz/fuzz_tar.c rootfs/tar.c rootfs/store_model.c \
	$(MCGIT_FUZZ_LIB)
imgstore_tar_FUZZ_LDLIBS = $(call pkg-libs,libcrypto zlib)
imgstore_tar_FUZZ_CORPUS := services/minigit/fuzz/corpus-tar

BENCHES += minigit
minigit_BENCH := bench/minigit/run.sh
minigit_BENCH_DEPS := $(O)/bin/minigit
