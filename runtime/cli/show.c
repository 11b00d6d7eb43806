/* SPDX-License-Identifier: MIT */
/* show.c: `mycontainer logs`, `inspect` and `stats`. */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static void logs_usage(FILE *f)
{
	fputs("Usage: mycontainer logs [OPTIONS] CONTAINER\n\n"
	      "Print the output (stdout and stderr) of a detached container.\n\n"
	      "Options:\n"
	      "  -f, --follow   keep printing new output until the container exits\n"
	      "      --help     print this help\n",
	      f);
}

int cli_logs(struct mc_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = { { "follow", no_argument, NULL, 'f' },
					      { "help", no_argument, NULL, 'H' },
					      { NULL, 0, NULL, 0 } };
	char id[MC_RT_ID_LEN + 1];
	struct mc_err err = { 0 };
	bool follow = false;
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "f", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			follow = true;
			break;
		case 'H':
			logs_usage(stdout);
			return 0;
		default:
			return cli_bad_option("logs", CLI_EXIT_FAIL, argv);
		}
	}
	if (argc - optind != 1)
		return cli_usage_error("logs", CLI_EXIT_FAIL, "requires exactly 1 argument");
	if (cli_require_root("logs", CLI_EXIT_FAIL) || cli_resolve(cli, argv[optind], id) < 0)
		return CLI_EXIT_FAIL;
	if (mc_rt_logs(cli_ctx(cli), id, STDOUT_FILENO, follow, &err) < 0)
		return cli_fail(CLI_EXIT_FAIL, "%s", err.msg);
	return 0;
}

int cli_inspect(struct mc_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = { { "help", no_argument, NULL, 'H' },
					      { NULL, 0, NULL, 0 } };
	char id[MC_RT_ID_LEN + 1];
	struct mc_err err = { 0 };
	char *json = NULL;
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'H') {
			fputs("Usage: mycontainer inspect CONTAINER\n\n"
			      "Print a JSON array with the container's state (Status, Pid, ExitCode,\n"
			      "OOMKilled, times) and its OCI configuration.\n",
			      stdout);
			return 0;
		}
		return cli_bad_option("inspect", CLI_EXIT_FAIL, argv);
	}
	if (argc - optind != 1)
		return cli_usage_error("inspect", CLI_EXIT_FAIL, "requires exactly 1 argument");
	if (cli_require_root("inspect", CLI_EXIT_FAIL) || cli_resolve(cli, argv[optind], id) < 0)
		return CLI_EXIT_FAIL;
	if (mc_rt_inspect(cli_ctx(cli), id, &json, &err) < 0)
		return cli_fail(CLI_EXIT_FAIL, "%s", err.msg);
	printf("%s\n", json);
	free(json);
	return 0;
}

static void human(uint64_t b, char *buf, size_t size)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double v = (double)b;
	size_t u = 0;

	while (v >= 1024 && u + 1 < MC_ARRAY_SIZE(units)) {
		v /= 1024;
		u++;
	}
	snprintf(buf, size, u ? "%.1f%s" : "%.0f%s", v, units[u]);
}

int cli_stats(struct mc_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = { { "help", no_argument, NULL, 'H' },
					      { "no-stream", no_argument, NULL, 'n' },
					      { NULL, 0, NULL, 0 } };
	int c, rc = 0;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'n')
			continue;
		if (c == 'H') {
			fputs("Usage: mycontainer stats [--no-stream] CONTAINER [CONTAINER...]\n\n"
			      "Print one sample of each container's cgroup counters: memory in use,\n"
			      "its peak and limit, CPU time, throttling, processes and OOM kills.\n",
			      stdout);
			return 0;
		}
		return cli_bad_option("stats", CLI_EXIT_FAIL, argv);
	}
	if (optind >= argc)
		return cli_usage_error("stats", CLI_EXIT_FAIL, "requires at least 1 argument");
	if (cli_require_root("stats", CLI_EXIT_FAIL))
		return CLI_EXIT_FAIL;
	printf("%-12s  %-10s  %-10s  %-10s  %-12s  %-10s  %-6s  %s\n", "CONTAINER", "MEM USAGE",
	       "MEM PEAK", "MEM LIMIT", "CPU TIME", "THROTTLED", "PIDS", "OOM KILLS");
	for (; optind < argc; optind++) {
		char id[MC_RT_ID_LEN + 1], cur[16], peak[16], lim[16], cpu[24];
		struct mc_rt_stats st;
		struct mc_err err = { 0 };

		if (cli_resolve(cli, argv[optind], id) < 0) {
			rc = CLI_EXIT_FAIL;
			continue;
		}
		if (mc_rt_stats(cli_ctx(cli), id, &st, &err) < 0) {
			rc = cli_fail(CLI_EXIT_FAIL, "%s", err.msg);
			continue;
		}
		human(st.memory_current, cur, sizeof(cur));
		human(st.memory_peak, peak, sizeof(peak));
		if (st.memory_limit)
			human(st.memory_limit, lim, sizeof(lim));
		else
			snprintf(lim, sizeof(lim), "unlimited");
		snprintf(cpu, sizeof(cpu), "%.3fs", (double)st.cpu_usage_ns / 1e9);
		printf("%.12s  %-10s  %-10s  %-10s  %-12s  %-10llu  %-6llu  %llu\n", id, cur, peak,
		       lim, cpu, (unsigned long long)st.nr_throttled,
		       (unsigned long long)st.pids_current, (unsigned long long)st.oom_kills);
	}
	return rc;
}
