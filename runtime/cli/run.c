/* SPDX-License-Identifier: MIT */
/* run.c: `mycontainer run`: flags -> struct mc_rt_run_opts -> mc_rt_run(). */
#include "cli.h"
#include "network.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void usage(FILE *f)
{
	fputs("Usage: mycontainer run [OPTIONS] IMAGE [COMMAND] [ARG...]\n"
	      "       mycontainer run [OPTIONS] --bundle DIR\n\n"
	      "Create a container from IMAGE (see 'mycontainer image') or from an OCI bundle\n"
	      "(a directory with config.json and its rootfs, as made by 'mycontainer spec' or\n"
	      "'crun spec') and run COMMAND in it (default /bin/sh). The container gets new\n"
	      "PID, mount, UTS, IPC, network and cgroup namespaces, an overlay over the\n"
	      "read-only image, pivot_root, a private /dev, masked /proc paths, docker's\n"
	      "default capabilities, no_new_privs and the default seccomp profile.\n\n"
	      "Options:\n"
	      "  -d, --detach              run in the background and print the container id;\n"
	      "                            output goes to 'mycontainer logs' (with -t: the\n"
	      "                            terminal's output; stdin is /dev/null, no attach)\n"
	      "      --rm                  remove the container when it exits\n"
	      "  -i, --interactive         keep stdin open and forward it\n"
	      "  -t, --tty                 allocate a pseudo-terminal (inside the container)\n"
	      "      --name NAME           container name (default mc-<id prefix>)\n"
	      "  -h, --hostname NAME       container host name (default: id prefix)\n"
	      "  -e, --env KEY[=VALUE]     set an environment variable (KEY alone: copy ours)\n"
	      "  -w, --workdir DIR         working directory inside the container\n"
	      "  -u, --user USER[:GROUP]  ids, or names from the image's /etc/passwd and group\n"
	      "  -v, --volume HOST:CTR[:ro]  bind mount a host path\n"
	      "      --read-only           mount the container's root read-only\n"
	      "  -m, --memory SIZE         memory limit (e.g. 50M, 1g; at least 6M)\n"
	      "      --memory-swap SIZE    memory plus swap limit; -1 = unlimited swap\n"
	      "      --cpus N              CPU quota in CPUs (0.5 = 50ms per 100ms)\n"
	      "  -c, --cpu-shares N        relative CPU weight (v1 shares, 2..262144)\n"
	      "      --pids-limit N        maximum number of processes (-1 = unlimited)\n"
	      "      --network MODE        none (default: only lo), host, or:\n" CLI_NET_USAGE
	      "      --init                run a PID 1 that forwards signals and reaps zombies\n"
	      "      --cap-add CAP         add a capability (CAP_NET_ADMIN, NET_ADMIN or ALL)\n"
	      "      --cap-drop CAP        drop a capability (or ALL)\n"
	      "      --security-opt seccomp=unconfined|FILE\n"
	      "                            disable seccomp or use an OCI/docker JSON profile\n"
	      "      --userns C:H:N        run in a user namespace mapping ids C.. to H.. (N ids)\n"
	      "      --ulimit nofile=S[:H] open-file limit (raised only within our hard limit)\n"
	      "      --no-preload-malloc   do not preload libmcmalloc.so (env MC_MALLOC_LIB\n"
	      "                            points at another copy of the library)\n"
	      "  -b, --bundle DIR          run an OCI bundle instead of an image\n"
	      "      --help                print this help\n\n"
	      "Exit status: the command's own; 128+N if it was killed by signal N (137 for an\n"
	      "OOM kill, which is also reported); 125 if mycontainer failed; 126 if the\n"
	      "command cannot be executed; 127 if it was not found.\n\n"
	      "Example:\n"
	      "  sudo mycontainer run --rm -it --hostname box --memory 50M busybox /bin/sh\n",
	      f);
}

enum {
	OPT_RM = 256,
	OPT_NAME,
	OPT_READ_ONLY,
	OPT_SWAP,
	OPT_CPUS,
	OPT_PIDS,
	OPT_NETWORK,
	OPT_INIT,
	OPT_CAP_ADD,
	OPT_CAP_DROP,
	OPT_SECOPT,
	OPT_NO_MALLOC,
	OPT_USERNS,
	OPT_ULIMIT,
	OPT_HELP,
};

/* Frees the flag vectors (their strings are argv's) on every return. */
static void opts_release(struct mc_rt_run_opts *o)
{
	free(o->env);
	free(o->volumes);
	free(o->cap_add);
	free(o->cap_drop);
	free(o->ulimits);
}

int cli_run(struct mc_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "detach", no_argument, NULL, 'd' },
		{ "rm", no_argument, NULL, OPT_RM },
		{ "interactive", no_argument, NULL, 'i' },
		{ "tty", no_argument, NULL, 't' },
		{ "name", required_argument, NULL, OPT_NAME },
		{ "hostname", required_argument, NULL, 'h' },
		{ "env", required_argument, NULL, 'e' },
		{ "workdir", required_argument, NULL, 'w' },
		{ "user", required_argument, NULL, 'u' },
		{ "volume", required_argument, NULL, 'v' },
		{ "read-only", no_argument, NULL, OPT_READ_ONLY },
		{ "memory", required_argument, NULL, 'm' },
		{ "memory-swap", required_argument, NULL, OPT_SWAP },
		{ "cpus", required_argument, NULL, OPT_CPUS },
		{ "cpu-shares", required_argument, NULL, 'c' },
		{ "pids-limit", required_argument, NULL, OPT_PIDS },
		{ "network", required_argument, NULL, OPT_NETWORK },
		{ "net", required_argument, NULL, OPT_NETWORK },
		{ "init", no_argument, NULL, OPT_INIT },
		{ "cap-add", required_argument, NULL, OPT_CAP_ADD },
		{ "cap-drop", required_argument, NULL, OPT_CAP_DROP },
		{ "security-opt", required_argument, NULL, OPT_SECOPT },
		{ "no-preload-malloc", no_argument, NULL, OPT_NO_MALLOC },
		{ "userns", required_argument, NULL, OPT_USERNS },
		{ "ulimit", required_argument, NULL, OPT_ULIMIT },
		{ "bundle", required_argument, NULL, 'b' },
		CLI_NET_OPTIONS,
		{ "help", no_argument, NULL, OPT_HELP },
		{ NULL, 0, NULL, 0 },
	};
	__attribute__((cleanup(opts_release))) struct mc_rt_run_opts o = { 0 };
	struct mc_err err = { 0 };
	struct mc_rt_ctx *ctx;
	char id[MC_RT_ID_LEN + 1];
	int c, status = 0, r = 0;
	bool oom = false;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "+dith:e:w:u:v:m:c:b:p:", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			o.detach = true;
			break;
		case OPT_RM:
			o.rm = true;
			break;
		case 'i':
			o.interactive = true;
			break;
		case 't':
			o.tty = true;
			break;
		case OPT_NAME:
			o.name = optarg;
			break;
		case 'h':
			o.hostname = optarg;
			break;
		case 'e':
			r = cli_push(&o.env, &o.n_env, optarg);
			break;
		case 'w':
			o.workdir = optarg;
			break;
		case 'u':
			o.user = optarg;
			break;
		case 'v':
			r = cli_push(&o.volumes, &o.n_volumes, optarg);
			break;
		case OPT_READ_ONLY:
			o.read_only = true;
			break;
		case 'm':
			o.memory = optarg;
			break;
		case OPT_SWAP:
			o.memory_swap = optarg;
			break;
		case OPT_CPUS:
			o.cpus = optarg;
			break;
		case 'c':
			o.cpu_shares = optarg;
			break;
		case OPT_PIDS:
			o.pids_limit = optarg;
			break;
		case OPT_NETWORK:
			o.network = optarg;
			break;
		case OPT_INIT:
			o.init = true;
			break;
		case OPT_CAP_ADD:
			r = cli_push(&o.cap_add, &o.n_cap_add, optarg);
			break;
		case OPT_CAP_DROP:
			r = cli_push(&o.cap_drop, &o.n_cap_drop, optarg);
			break;
		case OPT_SECOPT:
			if (!strncmp(optarg, "seccomp=", 8) || !strncmp(optarg, "seccomp:", 8)) {
				o.seccomp = optarg + 8;
			} else if (!strcmp(optarg, "no-new-privileges") ||
				   !strcmp(optarg, "no-new-privileges:true")) {
				/* Always on. */
			} else {
				return cli_usage_error("run", MC_RT_EXIT_RUNTIME,
						       "unsupported --security-opt `%s`", optarg);
			}
			break;
		case OPT_NO_MALLOC:
			o.no_preload_malloc = true;
			break;
		case OPT_USERNS:
			o.userns = optarg;
			break;
		case OPT_ULIMIT:
			r = cli_push(&o.ulimits, &o.n_ulimits, optarg);
			break;
		case 'b':
			o.bundle = optarg;
			break;
		case OPT_HELP:
			usage(stdout);
			return 0;
		case CLI_OPT_IP:
		case CLI_OPT_ALIAS:
		case 'p':
			if (cli_net_opt(c, optarg))
				return MC_RT_EXIT_RUNTIME;
			break;
		default:
			return cli_bad_option("run", MC_RT_EXIT_RUNTIME, argv);
		}
		if (r < 0)
			return cli_fail(MC_RT_EXIT_RUNTIME, "out of memory");
	}
	if (!o.bundle) {
		if (optind >= argc)
			return cli_usage_error("run", MC_RT_EXIT_RUNTIME,
					       "requires at least 1 argument (IMAGE)");
		o.image = argv[optind++];
	} else if (optind < argc) {
		return cli_usage_error("run", MC_RT_EXIT_RUNTIME,
				       "--bundle takes its command from config.json");
	}
	o.argv = optind < argc ? argv + optind : NULL;
	if (o.tty && !o.interactive && !isatty(STDOUT_FILENO))
		mc_log_debug("-t without a terminal on stdout");
	if (cli_require_root("run", MC_RT_EXIT_RUNTIME))
		return MC_RT_EXIT_RUNTIME;
	ctx = cli_ctx(cli);
	if (!ctx || cli_net_prepare(cli, &o))
		return MC_RT_EXIT_RUNTIME;
	if (mc_rt_run(ctx, &o, &status, &oom, id, &err) < 0) {
		cli_net_run_failed();
		fprintf(stderr, "mycontainer: %s\n", err.msg);
		return status;
	}
	if (o.detach) {
		printf("%s\n", id);
		return 0;
	}
	if (oom)
		fprintf(stderr, "mycontainer: the container was OOM-killed (memory limit %s)\n",
			o.memory ? o.memory : "of its cgroup");
	return status;
}
