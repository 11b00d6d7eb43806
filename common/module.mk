# SPDX-License-Identifier: MIT
# common/: errors, logging, cleanup helpers, fs/string/time utilities.
LIBS += mccommon
mccommon_SRCS := common/err.c common/log.c common/fs.c common/str.c common/time.c
