# SPDX-License-Identifier: MIT
COLLECTIONS += common
TESTS_common_PROGS := err str fs
TESTS_common_LIBS := mccommon
