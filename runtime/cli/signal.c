/* SPDX-License-Identifier: MIT */
/* signal.c: `mycontainer kill` and `mycontainer stop`. */
#include "cli.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

static void kill_usage(FILE *f)
{
	fputs("Usage: mycontainer kill [OPTIONS] CONTAINER [CONTAINER...]\n\n"
	      "Send a signal to the main process (PID 1) of running containers. SIGKILL is\n"
	      "sent to every process of the container's cgroup.\n\n"
	      "Options:\n"
	      "  -s, --signal SIG   signal name or number (default KILL)\n"
	      "      --help         print this help\n",
	      f);
}

int cli_kill(struct mc_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = { { "signal", required_argument, NULL, 's' },
					      { "help", no_argument, NULL, 'H' },
					      { NULL, 0, NULL, 0 } };
	int c, sig = SIGKILL, rc = 0;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "s:", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			sig = mc_rt_signal_parse(optarg);
			if (sig < 0)
				return cli_usage_error("kill", CLI_EXIT_FAIL, "invalid signal `%s`",
						       optarg);
			break;
		case 'H':
			kill_usage(stdout);
			return 0;
		default:
			return cli_bad_option("kill", CLI_EXIT_FAIL, argv);
		}
	}
	if (optind >= argc)
		return cli_usage_error("kill", CLI_EXIT_FAIL, "requires at least 1 argument");
	if (cli_require_root("kill", CLI_EXIT_FAIL))
		return CLI_EXIT_FAIL;
	for (; optind < argc; optind++) {
		char id[MC_RT_ID_LEN + 1];
		struct mc_err err = { 0 };

		if (cli_resolve(cli, argv[optind], id) < 0) {
			rc = CLI_EXIT_FAIL;
			continue;
		}
		if (mc_rt_kill(cli_ctx(cli), id, sig, &err) < 0)
			rc = cli_fail(CLI_EXIT_FAIL, "%s", err.msg);
		else
			printf("%s\n", argv[optind]);
	}
	return rc;
}

static void stop_usage(FILE *f)
{
	fputs("Usage: mycontainer stop [OPTIONS] CONTAINER [CONTAINER...]\n\n"
	      "Stop running containers: SIGTERM to PID 1, then SIGKILL to the whole cgroup\n"
	      "after the grace period. Returns once the containers have exited.\n\n"
	      "Options:\n"
	      "  -t, --time SECONDS  grace period before SIGKILL (default 10)\n"
	      "      --help          print this help\n",
	      f);
}

int cli_stop(struct mc_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = { { "time", required_argument, NULL, 't' },
					      { "help", no_argument, NULL, 'H' },
					      { NULL, 0, NULL, 0 } };
	uint64_t t = 10;
	int c, rc = 0;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "t:", opts, NULL)) != -1) {
		switch (c) {
		case 't':
			if (mc_str_to_u64(optarg, &t) < 0 || t > 86400)
				return cli_usage_error("stop", CLI_EXIT_FAIL, "invalid --time `%s`",
						       optarg);
			break;
		case 'H':
			stop_usage(stdout);
			return 0;
		default:
			return cli_bad_option("stop", CLI_EXIT_FAIL, argv);
		}
	}
	if (optind >= argc)
		return cli_usage_error("stop", CLI_EXIT_FAIL, "requires at least 1 argument");
	if (cli_require_root("stop", CLI_EXIT_FAIL))
		return CLI_EXIT_FAIL;
	for (; optind < argc; optind++) {
		char id[MC_RT_ID_LEN + 1];
		struct mc_err err = { 0 };

		if (cli_resolve(cli, argv[optind], id) < 0) {
			rc = CLI_EXIT_FAIL;
			continue;
		}
		if (mc_rt_stop(cli_ctx(cli), id, (unsigned)t, &err) < 0)
			rc = cli_fail(CLI_EXIT_FAIL, "%s", err.msg);
		else
			printf("%s\n", argv[optind]);
	}
	return rc;
}
