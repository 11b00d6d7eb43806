/* SPDX-License-Identifier: MIT */
/* exec.c: `mycontainer exec`: run a command inside a running container. */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
	fputs("Usage: mycontainer exec [OPTIONS] CONTAINER COMMAND [ARG...]\n\n"
	      "Run COMMAND in a running container. It joins every namespace of the container\n"
	      "and its cgroup, and runs with the container's capabilities, seccomp filter and\n"
	      "no_new_privs.\n\n"
	      "Options:\n"
	      "  -i, --interactive     keep stdin open and forward it\n"
	      "  -t, --tty             allocate a pseudo-terminal\n"
	      "  -e, --env KEY=VALUE   set an environment variable\n"
	      "  -w, --workdir DIR     working directory\n"
	      "  -u, --user USER[:GROUP]\n"
	      "                        ids, or names from the container's /etc/passwd and group\n"
	      "      --help            print this help\n\n"
	      "Exit status: the command's own, 128+N for signal N, 125/126/127 as for run.\n",
	      f);
}

static void opts_release(struct mc_rt_exec_opts *o)
{
	free(o->env);
}

int cli_exec(struct mc_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "interactive", no_argument, NULL, 'i' },
		{ "tty", no_argument, NULL, 't' },
		{ "env", required_argument, NULL, 'e' },
		{ "workdir", required_argument, NULL, 'w' },
		{ "user", required_argument, NULL, 'u' },
		{ "help", no_argument, NULL, 'H' },
		{ NULL, 0, NULL, 0 },
	};
	__attribute__((cleanup(opts_release))) struct mc_rt_exec_opts o = { 0 };
	struct mc_err err = { 0 };
	char id[MC_RT_ID_LEN + 1];
	int c, status = 0;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "+ite:w:u:", opts, NULL)) != -1) {
		switch (c) {
		case 'i':
			o.interactive = true;
			break;
		case 't':
			o.tty = true;
			break;
		case 'e':
			if (cli_push(&o.env, &o.n_env, optarg) < 0)
				return cli_fail(MC_RT_EXIT_RUNTIME, "out of memory");
			break;
		case 'w':
			o.workdir = optarg;
			break;
		case 'u':
			o.user = optarg;
			break;
		case 'H':
			usage(stdout);
			return 0;
		default:
			return cli_bad_option("exec", MC_RT_EXIT_RUNTIME, argv);
		}
	}
	if (argc - optind < 2)
		return cli_usage_error("exec", MC_RT_EXIT_RUNTIME,
				       "requires at least 2 arguments (CONTAINER COMMAND)");
	if (cli_require_root("exec", MC_RT_EXIT_RUNTIME))
		return MC_RT_EXIT_RUNTIME;
	if (cli_resolve(cli, argv[optind], id) < 0)
		return MC_RT_EXIT_RUNTIME;
	o.argv = argv + optind + 1;
	if (mc_rt_exec(cli_ctx(cli), id, &o, &status, &err) < 0) {
		fprintf(stderr, "mycontainer: %s\n", err.msg);
		return status;
	}
	return status;
}
