/* SPDX-License-Identifier: MIT */
/* main.c: `mycontainer`: global flags, the verb table, shared CLI helpers. */
#include "cli.h"
#include "network.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mc/config.h>

static const struct {
	const char *name;
	int (*fn)(struct mc_cli *, int, char **);
	const char *summary;
} verbs[] = {
	{ "run", cli_run, "Create and run a container from an image or an OCI bundle" },
	{ "exec", cli_exec, "Run a command in a running container" },
	{ "ps", cli_ps, "List containers" },
	{ "stop", cli_stop, "Stop a running container (SIGTERM, grace period, SIGKILL)" },
	{ "start", cli_start, "Start a stopped container again (detached)" },
	{ "kill", cli_kill, "Send a signal to a running container" },
	{ "rm", cli_rm, "Remove containers" },
	{ "logs", cli_logs, "Show the output of a detached container" },
	{ "inspect", cli_inspect, "Show a container's state and configuration as JSON" },
	{ "wait", cli_wait, "Block until a container exits, print its exit code" },
	{ "stats", cli_stats, "Show memory, CPU and pids usage from the container's cgroup" },
	{ "spec", cli_spec, "Print a default OCI config.json" },
	{ "image", cli_image, "Build, import, list and remove images (image --help)" },
	{ "network", cli_network, "Create, list, inspect and remove networks" },
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: mycontainer [OPTIONS] COMMAND [ARG...]\n\n"
		"A container runtime: namespaces, pivot_root, cgroups, capabilities, seccomp.\n\n"
		"Options:\n"
		"      --root DIR        state directory (default /run/mycontainer, env MC_ROOT)\n"
		"      --data-root DIR   images and container layers (default /var/lib/mycontainer,\n"
		"                        env MC_DATA_ROOT)\n"
		"      --log-level LVL   error, warn, info or debug (env MC_LOG)\n"
		"  -v, --version         print the version\n"
		"  -h, --help            print this help\n\n"
		"Commands:\n");
	for (size_t i = 0; i < MC_ARRAY_SIZE(verbs); i++)
		fprintf(f, "  %-9s %s\n", verbs[i].name, verbs[i].summary);
	fprintf(f, "\nRun 'mycontainer COMMAND --help' for more information on a command.\n"
		   "Exit status of run/exec: the container's own, 128+N when killed by signal N,\n"
		   "125 when mycontainer itself failed, 126 when the command cannot be executed,\n"
		   "127 when it is not found.\n");
}

struct mc_rt_ctx *cli_ctx(struct mc_cli *cli)
{
	struct mc_err err = { 0 };

	if (cli->ctx_ready)
		return &cli->ctx;
	if (mc_rt_ctx_init(&cli->ctx, cli->root, cli->data_root, &err) < 0) {
		fprintf(stderr, "mycontainer: %s\n", err.msg);
		return NULL;
	}
	cli->ctx_ready = true;
	return &cli->ctx;
}

int cli_fail(int status, const char *fmt, ...)
{
	va_list ap;

	fputs("mycontainer: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return status;
}

int cli_usage_error(const char *verb, int status, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "mycontainer %s: ", verb);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nSee 'mycontainer %s --help'.\n", verb);
	return status;
}

int cli_bad_option(const char *verb, int status, char **argv)
{
	const char *arg = argv[optind - 1];

	if (optopt && !strchr(arg, '=') && arg[0] == '-' && arg[1] != '-')
		return cli_usage_error(verb, status, "unknown flag or missing value: -%c", optopt);
	return cli_usage_error(verb, status, "unknown flag or missing value: %s", arg);
}

int cli_resolve(struct mc_cli *cli, const char *ref, char id[MC_RT_ID_LEN + 1])
{
	struct mc_err err = { 0 };
	struct mc_rt_ctx *ctx = cli_ctx(cli);

	if (!ctx)
		return -1;
	if (mc_rt_resolve(ctx, ref, id, &err) < 0) {
		fprintf(stderr, "mycontainer: %s\n", err.msg);
		return -1;
	}
	return 0;
}

int cli_each_container(struct mc_cli *cli, const char *verb, int argc, char **argv, int first,
		       cli_each_fn fn, void *arg)
{
	int rc = 0;

	if (first >= argc)
		return cli_usage_error(verb, CLI_EXIT_FAIL, "requires at least 1 argument");
	if (cli_require_root(verb, CLI_EXIT_FAIL))
		return CLI_EXIT_FAIL;
	for (int i = first; i < argc; i++) {
		char id[MC_RT_ID_LEN + 1];
		struct mc_err err = { 0 };

		if (cli_resolve(cli, argv[i], id) < 0)
			rc = CLI_EXIT_FAIL;
		else if (fn(cli, argv[i], id, arg, &err) < 0)
			rc = cli_fail(CLI_EXIT_FAIL, "%s", err.msg);
	}
	return rc;
}

int cli_require_root(const char *verb, int status)
{
	if (geteuid() == 0)
		return 0;
	cli_fail(status, "%s: permission denied: mycontainer needs root (try sudo)", verb);
	return status;
}

int cli_push(char ***v, size_t *n, char *s)
{
	char **nv = realloc(*v, (*n + 2) * sizeof(char *));

	if (!nv)
		return -ENOMEM;
	nv[(*n)++] = s;
	nv[*n] = NULL;
	*v = nv;
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "root", required_argument, NULL, 'R' },
		{ "data-root", required_argument, NULL, 'D' },
		{ "log-level", required_argument, NULL, 'L' },
		{ "version", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct mc_cli cli = { 0 };
	enum mc_log_level lvl;
	const char *env = getenv("MC_LOG");
	int c;

	mc_log_set_prog("mycontainer");
	if (env && mc_log_parse_level(env, &lvl) == 0)
		mc_log_set_level(lvl);
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+vh", opts, NULL)) != -1) {
		switch (c) {
		case 'R':
			cli.root = optarg;
			break;
		case 'D':
			cli.data_root = optarg;
			break;
		case 'L':
			if (mc_log_parse_level(optarg, &lvl) < 0)
				return cli_fail(CLI_EXIT_FAIL, "invalid --log-level `%s`", optarg);
			mc_log_set_level(lvl);
			break;
		case 'v':
			printf("mycontainer version %s\n", MC_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			fprintf(stderr, "mycontainer: unknown flag: %s\n", argv[optind - 1]);
			fprintf(stderr, "See 'mycontainer --help'.\n");
			return CLI_EXIT_FAIL;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return CLI_EXIT_FAIL;
	}
	for (size_t i = 0; i < MC_ARRAY_SIZE(verbs); i++) {
		if (strcmp(argv[optind], verbs[i].name))
			continue;
		/* Each verb parses from its own argv[0]. */
		optind++;
		int vargc = argc - optind + 1;
		char **vargv = argv + optind - 1;

		optind = 0;
		return verbs[i].fn(&cli, vargc, vargv);
	}
	fprintf(stderr, "mycontainer: '%s' is not a mycontainer command.\n", argv[optind]);
	fprintf(stderr, "See 'mycontainer --help'.\n");
	return CLI_EXIT_FAIL;
}
