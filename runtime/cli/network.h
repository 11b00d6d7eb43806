/* SPDX-License-Identifier: MIT */
/* network.h: the network verb and run's network flags (runtime/cli/network.c). */
#ifndef MC_RT_CLI_NETWORK_H
#define MC_RT_CLI_NETWORK_H

#include "cli.h"

/* getopt values of run's network flags (-p is 'p'). */
enum {
	CLI_OPT_IP = 1000,
	CLI_OPT_ALIAS
};
#define CLI_NET_OPTIONS                                                                            \
	{ "ip", required_argument, NULL, CLI_OPT_IP },                                             \
		{ "network-alias", required_argument, NULL, CLI_OPT_ALIAS },                       \
	{                                                                                          \
		"publish", required_argument, NULL, 'p'                                            \
	}
#define CLI_NET_USAGE                                                                              \
	"      --network NAME        a bridge network (see 'mycontainer network'); the\n"          \
	"                            default network is `bridge`\n"                                \
	"      --ip IP               the container's address on --network NAME\n"                  \
	"      --network-alias NAME  another name the container resolves by on the network\n"      \
	"  -p, --publish [HOSTIP:]HOSTPORT:CTRPORT[/tcp|/udp]  publish a port on the host\n"

int cli_network(struct mc_cli *cli, int argc, char **argv);
/* run: records --ip/--network-alias/-p; 0 or the exit status after printing. */
int cli_net_opt(int c, const char *arg);
/* run: validates, makes the /etc/hosts file, adds its volume, installs the hook. */
int cli_net_prepare(struct mc_cli *cli, struct mc_rt_run_opts *o);
void cli_net_run_failed(void);
/* start: installs the hook for a container restarted on its network. */
void cli_net_hook_start(struct mc_cli *cli, const char *id);
/* rm: mc_rt_rm, then detach from every network and remove the hosts file. */
int cli_net_rm(struct mc_cli *cli, const char *id, bool force, struct mc_err *err);

#endif
