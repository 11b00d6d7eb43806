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

static int kill_one(struct mc_cli *cli, const char *ref, const char *id, void *arg,
		    struct mc_err *err)
{
	int r = mc_rt_kill(cli_ctx(cli), id, *(int *)arg, err);

	if (r >= 0)
		printf("%s\n", ref);
	return r;
}

static int stop_one(struct mc_cli *cli, const char *ref, const char *id, void *arg,
		    struct mc_err *err)
{
	int r = mc_rt_stop(cli_ctx(cli), id, (unsigned)*(uint64_t *)arg, err);

	if (r >= 0)
		printf("%s\n", ref);
	return r;
}

int cli_kill(struct mc_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = { { "signal", required_argument, NULL, 's' },
					      { "help", no_argument, NULL, 'H' },
					      { NULL, 0, NULL, 0 } };
	int c, sig = SIGKILL;

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
	return cli_each_container(cli, "kill", argc, argv, optind, kill_one, &sig);
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
	int c;

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
	return cli_each_container(cli, "stop", argc, argv, optind, stop_one, &t);
}
