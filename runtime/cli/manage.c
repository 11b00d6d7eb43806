/* SPDX-License-Identifier: MIT */
/* manage.c: `mycontainer start`, `rm` and `wait`. */
#include "cli.h"
#include "network.h"

#include <stdio.h>
#include <stdlib.h>

static void start_usage(FILE *f)
{
	fputs("Usage: mycontainer start CONTAINER [CONTAINER...]\n\n"
	      "Start stopped containers again, detached, with their original configuration\n"
	      "and their writable layer. Output goes to 'mycontainer logs'.\n",
	      f);
}

static void rm_usage(FILE *f)
{
	fputs("Usage: mycontainer rm [OPTIONS] CONTAINER [CONTAINER...]\n\n"
	      "Remove containers: state, writable layer and cgroup.\n\n"
	      "Options:\n"
	      "  -f, --force   kill running containers first\n"
	      "      --help    print this help\n",
	      f);
}

static void wait_usage(FILE *f)
{
	fputs("Usage: mycontainer wait CONTAINER [CONTAINER...]\n\n"
	      "Block until the containers exit, then print their exit codes (-1: unknown,\n"
	      "when the monitor process was killed).\n",
	      f);
}

enum verb {
	START,
	RM,
	WAIT
};

struct each_arg {
	enum verb v;
	bool force;
};

static int one(struct mc_cli *cli, const char *ref, const char *id, void *arg, struct mc_err *err)
{
	const struct each_arg *ea = arg;
	int code = 0, r;

	if (ea->v == START) {
		cli_net_hook_start(cli, id);
		r = mc_rt_start(cli_ctx(cli), id, err);
	} else if (ea->v == RM) {
		r = cli_net_rm(cli, id, ea->force, err);
	} else {
		r = mc_rt_wait(cli_ctx(cli), id, &code, err);
	}
	if (r < 0)
		return r;
	if (ea->v == WAIT)
		printf("%d\n", code);
	else
		printf("%s\n", ref);
	return 0;
}

static int each(struct mc_cli *cli, int argc, char **argv, enum verb v)
{
	static const char *const names[] = { "start", "rm", "wait" };
	static void (*const usages[])(FILE *) = { start_usage, rm_usage, wait_usage };
	static const struct option opts[] = { { "force", no_argument, NULL, 'f' },
					      { "help", no_argument, NULL, 'H' },
					      { NULL, 0, NULL, 0 } };
	bool force = false;
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, v == RM ? "f" : "", opts, NULL)) != -1) {
		if (c == 'H') {
			usages[v](stdout);
			return 0;
		}
		if (c == 'f' && v == RM) {
			force = true;
			continue;
		}
		return cli_bad_option(names[v], CLI_EXIT_FAIL, argv);
	}
	struct each_arg ea = { .v = v, .force = force };

	return cli_each_container(cli, names[v], argc, argv, optind, one, &ea);
}

int cli_start(struct mc_cli *cli, int argc, char **argv)
{
	return each(cli, argc, argv, START);
}

int cli_rm(struct mc_cli *cli, int argc, char **argv)
{
	return each(cli, argc, argv, RM);
}

int cli_wait(struct mc_cli *cli, int argc, char **argv)
{
	return each(cli, argc, argv, WAIT);
}
