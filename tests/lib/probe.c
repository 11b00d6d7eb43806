/* SPDX-License-Identifier: MIT */
/*
 * probe: environment checks for shell tests (ktap.sh's require_io_uring and friends).
 * `probe io_uring|cgroup2|root|tool NAME`: exit 0 when available, otherwise exit 4 and
 * print the one-line reason, the same text the C harness uses.
 */
#include "harness.h"

#include <stdio.h>
#include <string.h>

static int probe(const char *what, const char *arg)
{
	if (!strcmp(what, "io_uring"))
		require_io_uring();
	else if (!strcmp(what, "cgroup2"))
		require_cgroup_v2();
	else if (!strcmp(what, "root"))
		require_root();
	else if (!strcmp(what, "tool") && arg)
		require_tool(arg);
	else
		return 2;
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: probe io_uring|cgroup2|root|tool NAME\n");
		return 2;
	}
	return probe(argv[1], argc > 2 ? argv[2] : NULL);
}
