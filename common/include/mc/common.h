/* SPDX-License-Identifier: MIT */
/* common.h: everything libmccommon offers, in one include. */
#ifndef MC_COMMON_H
#define MC_COMMON_H

#include <mc/cleanup.h>
#include <mc/err.h>
#include <mc/log.h>
#include <mc/util.h>

#endif
