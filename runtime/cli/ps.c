/* SPDX-License-Identifier: MIT */
/* ps.c: `mycontainer ps`: the container table. */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
	fputs("Usage: mycontainer ps [OPTIONS]\n\n"
	      "List running containers.\n\n"
	      "Options:\n"
	      "  -a, --all     show all containers (default: only running ones)\n"
	      "  -q, --quiet   print only the ids\n"
	      "      --help    print this help\n",
	      f);
}

/* ago: "5 seconds", "3 minutes", ... like docker's human durations. */
static void ago(uint64_t then_ns, char *buf, size_t size)
{
	uint64_t now = mc_time_real_ns();
	uint64_t s = now > then_ns ? (now - then_ns) / 1000000000ULL : 0;

	if (s < 60)
		snprintf(buf, size, "%llu second%s", (unsigned long long)s, s == 1 ? "" : "s");
	else if (s < 3600)
		snprintf(buf, size, "%llu minute%s", (unsigned long long)s / 60,
			 s / 60 == 1 ? "" : "s");
	else if (s < 86400)
		snprintf(buf, size, "%llu hour%s", (unsigned long long)s / 3600,
			 s / 3600 == 1 ? "" : "s");
	else
		snprintf(buf, size, "%llu days", (unsigned long long)s / 86400);
}

int cli_ps(struct mc_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "all", no_argument, NULL, 'a' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'H' },
		{ NULL, 0, NULL, 0 },
	};
	struct mc_rt_info *v = NULL;
	struct mc_err err = { 0 };
	struct mc_rt_ctx *ctx;
	bool all = false, quiet = false;
	size_t n = 0;
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "aq", opts, NULL)) != -1) {
		switch (c) {
		case 'a':
			all = true;
			break;
		case 'q':
			quiet = true;
			break;
		case 'H':
			usage(stdout);
			return 0;
		default:
			return cli_bad_option("ps", CLI_EXIT_FAIL, argv);
		}
	}
	if (optind < argc)
		return cli_usage_error("ps", CLI_EXIT_FAIL, "accepts no arguments");
	if (cli_require_root("ps", CLI_EXIT_FAIL))
		return CLI_EXIT_FAIL;
	ctx = cli_ctx(cli);
	if (!ctx)
		return CLI_EXIT_FAIL;
	if (mc_rt_list(ctx, &v, &n, &err) < 0)
		return cli_fail(CLI_EXIT_FAIL, "%s", err.msg);
	if (!quiet)
		printf("%-12s  %-10s  %-22s  %-14s  %-26s  %s\n", "CONTAINER ID", "IMAGE",
		       "COMMAND", "CREATED", "STATUS", "NAMES");
	for (size_t i = 0; i < n; i++) {
		char created[48], status[64], t[40], cmd[32];

		if (!all && v[i].status != MC_RT_RUNNING)
			continue;
		if (quiet) {
			printf("%.12s\n", v[i].id);
			continue;
		}
		ago(v[i].created_ns, t, sizeof(t));
		snprintf(created, sizeof(created), "%s ago", t);
		if (v[i].status == MC_RT_RUNNING) {
			ago(v[i].started_ns, t, sizeof(t));
			snprintf(status, sizeof(status), "Up %s", t);
		} else if (v[i].status == MC_RT_CREATED) {
			snprintf(status, sizeof(status), "Created");
		} else {
			ago(v[i].finished_ns ? v[i].finished_ns : v[i].started_ns, t, sizeof(t));
			if (v[i].exit_code < 0)
				snprintf(status, sizeof(status), "Exited (unknown)");
			else
				snprintf(status, sizeof(status), "Exited (%d) %s ago",
					 v[i].exit_code, t);
		}
		snprintf(cmd, sizeof(cmd), "\"%.18s%s\"", v[i].command,
			 strlen(v[i].command) > 18 ? "..." : "");
		printf("%.12s  %-10s  %-22s  %-14s  %-26s  %s\n", v[i].id, v[i].image, cmd, created,
		       status, v[i].name);
	}
	free(v);
	return 0;
}
