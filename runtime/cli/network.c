/* SPDX-License-Identifier: MIT */
/*
 * network.c: `mycontainer network create|ls|inspect|rm`, the run flags --ip,
 * --network-alias and -p, and the runtime's network hook backed by libmcnetns
 * (attach after clone, detach at exit, and release at `rm`, also after kill -9).
 * Networks live in <data-root>/networks; each container's /etc/hosts is a file in
 * <data-root>/networks/hosts bind-mounted over the image's, rewritten by libmcnetns.
 */
#include "network.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include <mc/netns.h>

#define MAX_ALIASES 8
#define MAX_PORTS 32

/* What `run` collected for the hook; lives until the process (or its monitor) ends. */
static struct {
	struct mc_netns_ctx ctx;
	char root[4096];
	const char *ip;
	const char *aliases[MAX_ALIASES + 1];
	size_t n_aliases;
	struct mc_netns_port ports[MAX_PORTS];
	size_t n_ports;
	const char *port_specs[MAX_PORTS]; /* as given, saved for `start` */
	const char *name, *hostname;
	bool auto_rm; /* run --rm: nobody will `rm`, so detach removes the hosts file */
	char hosts[4200];
	char volume[4300];
	/* the network options kept in config.json annotations (see save_options) */
	char ann[4][2048];
	char *anns[5];
	/* `start`: what load_options read back (run_net's pointers point here) */
	char s_ip[64], s_aliases[MAX_ALIASES][64], s_name[128], s_hostname[256];
} run_net;

/*
 * The options `start` needs to rejoin the network as `run` did (the same --ip,
 * aliases, published ports) live in config.json, the container's state.
 */
#define ANN_IP "org.mycontainer.network.ip"
#define ANN_ALIASES "org.mycontainer.network.aliases"
#define ANN_PORTS "org.mycontainer.network.ports"
#define ANN_HOSTNAME "org.mycontainer.network.hostname" /* --hostname: also a name */

static void net_ctx(struct mc_cli *cli)
{
	struct mc_rt_ctx *ctx = cli_ctx(cli);

	snprintf(run_net.root, sizeof(run_net.root), "%s",
		 ctx ? ctx->data_root : MC_NETNS_STATE_DEFAULT);
	run_net.ctx.state_root = run_net.root;
}

/* ---- the hook ---- */

static int hook_attach(const char *id, const char *network, pid_t pid, void *arg,
		       struct mc_err *err)
{
	struct mc_netns_attachment at;
	char defname[16];
	const char *aliases[MAX_ALIASES + 1];
	size_t n = 0;
	struct mc_netns_attach_req req = {
		.network = strcmp(network, MC_NETNS_DEFAULT_NETWORK) ? network : NULL,
		.ctr_id = id,
		.pid = pid,
		.nsfd = -1,
		.ip = run_net.ip,
		.hosts_path = run_net.hosts[0] ? run_net.hosts : NULL,
		.ports = run_net.ports,
		.n_ports = run_net.n_ports,
	};

	(void)arg;
	snprintf(defname, sizeof(defname), "mc-%.10s", id);
	req.name = run_net.name ? run_net.name : defname;
	for (size_t i = 0; i < run_net.n_aliases; i++)
		aliases[n++] = run_net.aliases[i];
	/* The host name resolves too, unless it is the name already or taken as alias. */
	if (run_net.hostname && strcmp(run_net.hostname, req.name) && n < MAX_ALIASES) {
		bool dup = false;

		for (size_t i = 0; i < n; i++)
			dup |= !strcmp(aliases[i], run_net.hostname);
		if (!dup)
			aliases[n++] = run_net.hostname;
	}
	req.aliases = aliases;
	req.n_aliases = n;
	if (mc_netns_attach(&run_net.ctx, &req, &at, err) < 0)
		return -err->code;
	mc_log_debug("network %s: %s/%d gw %s veth %s", at.network, at.ip, at.prefix, at.gateway,
		     at.veth);
	return 0;
}

static void hook_detach(const char *id, const char *network, void *arg)
{
	struct mc_err err = { 0 };

	(void)network, (void)arg;
	/* Best-effort: `rm` retries, and a leftover record only holds an address. */
	if (mc_netns_detach(&run_net.ctx, NULL, id, &err) < 0)
		mc_log_warn("network detach: %s", err.msg);
	if (run_net.auto_rm && run_net.hosts[0])
		unlink(run_net.hosts);
}

/* The container exited: address, names, ports now; its veth dies with its netns. */
static void hook_exited(const char *id, const char *network, void *arg)
{
	struct mc_err err = { 0 };

	(void)arg;
	/* Best-effort: `rm` retries, and a leftover record only holds an address. */
	if (mc_netns_detach_flags(&run_net.ctx, network, id, MC_NETNS_DETACH_KEEP_LINK, &err) < 0)
		mc_log_warn("network detach: %s", err.msg);
	if (run_net.auto_rm && run_net.hosts[0])
		unlink(run_net.hosts);
}

/* From the background cleaner: the veth, if the kernel has not deleted it yet. */
static void hook_release(const char *id, const char *network, void *arg)
{
	struct mc_err err = { 0 };

	(void)arg;
	if (mc_netns_link_release(network, id, &err) < 0)
		mc_log_warn("network: %s", err.msg); /* Best-effort: `rm` deletes it too */
}

static const struct mc_rt_net_hook hook = {
	.attach = hook_attach,
	.detach = hook_detach,
	.exited = hook_exited,
	.release = hook_release,
};

/* The hosts file a container's config.json bind-mounts over /etc/hosts, if ours. */
static void find_hosts(struct mc_cli *cli, const char *id, char *out, size_t size)
{
	struct mc_rt_ctx *ctx = cli_ctx(cli);
	char path[4200], dir[4200];
	json_t *root, *mounts, *m;
	size_t i;

	out[0] = '\0';
	if (!ctx)
		return;
	snprintf(path, sizeof(path), "%s/%s/config.json", ctx->state_root, id);
	snprintf(dir, sizeof(dir), "%s/networks/hosts/", run_net.root);
	root = json_load_file(path, 0, NULL);
	mounts = json_object_get(root, "mounts");
	json_array_foreach(mounts, i, m)
	{
		const char *dst = json_string_value(json_object_get(m, "destination"));
		const char *src = json_string_value(json_object_get(m, "source"));

		if (dst && src && !strcmp(dst, "/etc/hosts") && !strncmp(src, dir, strlen(dir)))
			snprintf(out, size, "%s", src);
	}
	json_decref(root);
}

/*
 * load_options: what save_options stored and the container's name back into
 * run_net for the hook. A value that no longer parses is dropped with a
 * warning (the container still starts, without that option).
 */
static void load_options(struct mc_cli *cli, const char *id)
{
	struct mc_rt_ctx *ctx = cli_ctx(cli);
	struct mc_rt_info info;
	char path[4200];
	json_t *root, *ann;
	const char *v;

	if (!ctx)
		return;
	if (mc_rt_info_get(ctx, id, &info, NULL) == 0) {
		snprintf(run_net.s_name, sizeof(run_net.s_name), "%s", info.name);
		run_net.name = run_net.s_name;
	}
	snprintf(path, sizeof(path), "%s/%s/config.json", ctx->state_root, id);
	root = json_load_file(path, 0, NULL);
	ann = json_object_get(root, "annotations");
	if ((v = json_string_value(json_object_get(ann, ANN_HOSTNAME)))) {
		snprintf(run_net.s_hostname, sizeof(run_net.s_hostname), "%s", v);
		run_net.hostname = run_net.s_hostname;
	}
	if ((v = json_string_value(json_object_get(ann, ANN_IP)))) {
		snprintf(run_net.s_ip, sizeof(run_net.s_ip), "%s", v);
		run_net.ip = run_net.s_ip;
	}
	if ((v = json_string_value(json_object_get(ann, ANN_ALIASES)))) {
		while (*v && run_net.n_aliases < MAX_ALIASES) {
			size_t len = strcspn(v, ",");
			char *a = run_net.s_aliases[run_net.n_aliases];

			if (len && len < sizeof(run_net.s_aliases[0])) {
				memcpy(a, v, len);
				a[len] = '\0';
				run_net.aliases[run_net.n_aliases++] = a;
			}
			v += len + (v[len] == ',');
		}
	}
	if ((v = json_string_value(json_object_get(ann, ANN_PORTS)))) {
		while (*v && run_net.n_ports < MAX_PORTS) {
			size_t len = strcspn(v, ",");
			char spec[128];
			struct mc_err e = { 0 };

			snprintf(spec, sizeof(spec), "%.*s", (int)MC_MIN(len, sizeof(spec) - 1), v);
			if (mc_netns_port_parse(spec, &run_net.ports[run_net.n_ports], &e) == 0)
				run_net.n_ports++;
			else
				mc_log_warn("start: published port `%s` dropped: %s", spec, e.msg);
			v += len + (v[len] == ',');
		}
	}
	json_decref(root);
}

void cli_net_hook_start(struct mc_cli *cli, const char *id)
{
	net_ctx(cli);
	find_hosts(cli, id, run_net.hosts, sizeof(run_net.hosts));
	load_options(cli, id);
	mc_rt_set_net_hook(&hook);
}

int cli_net_rm(struct mc_cli *cli, const char *id, bool force, struct mc_err *err)
{
	char hosts[4200];
	int r;

	net_ctx(cli);
	find_hosts(cli, id, hosts, sizeof(hosts));
	r = mc_rt_rm(cli_ctx(cli), id, force, err);
	if (r < 0)
		return r;
	/* After a kill -9 of the container or its monitor nobody detached: do it here. */
	hook_detach(id, NULL, NULL);
	if (hosts[0] && unlink(hosts) < 0 && errno != ENOENT)
		mc_log_warn("remove `%s`: %s", hosts, strerror(errno));
	return 0;
}

/* ---- run flags ---- */

int cli_net_opt(int c, const char *arg)
{
	struct mc_err err = { 0 };

	switch (c) {
	case CLI_OPT_IP:
		run_net.ip = arg;
		return 0;
	case CLI_OPT_ALIAS:
		if (run_net.n_aliases >= MAX_ALIASES)
			return cli_usage_error("run", MC_RT_EXIT_RUNTIME,
					       "at most %d --network-alias", MAX_ALIASES);
		run_net.aliases[run_net.n_aliases++] = arg;
		return 0;
	case 'p':
		if (run_net.n_ports >= MAX_PORTS)
			return cli_usage_error("run", MC_RT_EXIT_RUNTIME, "at most %d -p",
					       MAX_PORTS);
		if (mc_netns_port_parse(arg, &run_net.ports[run_net.n_ports], &err) < 0)
			return cli_usage_error("run", MC_RT_EXIT_RUNTIME, "%s", err.msg);
		run_net.port_specs[run_net.n_ports++] = arg;
		return 0;
	}
	return MC_RT_EXIT_RUNTIME;
}

/* join: @v[0..n) with commas into @buf; -1 when it does not fit. */
static int join(char *buf, size_t size, const char *key, const char *const *v, size_t n)
{
	size_t len = (size_t)snprintf(buf, size, "%s=", key);

	for (size_t i = 0; i < n && len < size; i++)
		len += (size_t)snprintf(buf + len, size - len, "%s%s", i ? "," : "", v[i]);
	return len < size ? 0 : -1;
}

/* save_options: --ip, --network-alias and -p as annotations of the config. */
static int save_options(struct mc_rt_run_opts *o)
{
	size_t n = 0;

	if (o->n_annotations)
		return -1; /* the CLI sets none otherwise; keep it simple */
	if (run_net.ip) {
		if (join(run_net.ann[n], sizeof(run_net.ann[n]), ANN_IP, &run_net.ip, 1) < 0)
			return -1;
		run_net.anns[n] = run_net.ann[n];
		n++;
	}
	if (run_net.n_aliases) {
		if (join(run_net.ann[n], sizeof(run_net.ann[n]), ANN_ALIASES, run_net.aliases,
			 run_net.n_aliases) < 0)
			return -1;
		run_net.anns[n] = run_net.ann[n];
		n++;
	}
	if (run_net.n_ports) {
		if (join(run_net.ann[n], sizeof(run_net.ann[n]), ANN_PORTS, run_net.port_specs,
			 run_net.n_ports) < 0)
			return -1;
		run_net.anns[n] = run_net.ann[n];
		n++;
	}
	if (run_net.hostname) {
		if (join(run_net.ann[n], sizeof(run_net.ann[n]), ANN_HOSTNAME, &run_net.hostname,
			 1) < 0)
			return -1;
		run_net.anns[n] = run_net.ann[n];
		n++;
	}
	run_net.anns[n] = NULL;
	o->annotations = run_net.anns;
	o->n_annotations = n;
	return 0;
}

int cli_net_prepare(struct mc_cli *cli, struct mc_rt_run_opts *o)
{
	bool bridge = o->network && strcmp(o->network, "none") && strcmp(o->network, "host");
	char dir[4200], **vols;
	uint8_t rnd[8];
	int fd;

	if (!bridge) {
		if (run_net.ip || run_net.n_aliases || run_net.n_ports)
			return cli_usage_error("run", MC_RT_EXIT_RUNTIME,
					       "--ip, --network-alias and -p need --network NAME "
					       "(a bridge network, not none or host)");
		return 0;
	}
	net_ctx(cli);
	run_net.name = o->name;
	run_net.hostname = o->hostname;
	run_net.auto_rm = o->rm;
	/* The /etc/hosts file, created now so that the config can bind-mount it. */
	snprintf(dir, sizeof(dir), "%s/networks/hosts", run_net.root);
	if (mc_fs_mkdir_p(dir, 0700, NULL) < 0 || getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd))
		return cli_fail(MC_RT_EXIT_RUNTIME, "network: create `%s`: %s", dir,
				strerror(errno));
	snprintf(run_net.hosts, sizeof(run_net.hosts), "%s/%02x%02x%02x%02x%02x%02x%02x%02x", dir,
		 rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5], rnd[6], rnd[7]);
	fd = open(run_net.hosts, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		return cli_fail(MC_RT_EXIT_RUNTIME, "network: create `%s`: %s", run_net.hosts,
				strerror(errno));
	close(fd);
	snprintf(run_net.volume, sizeof(run_net.volume), "%s:/etc/hosts", run_net.hosts);
	/* A new heap vector with the hosts volume added: run's opts_release frees it. */
	vols = calloc(o->n_volumes + 2, sizeof(*vols));
	if (!vols)
		return cli_fail(MC_RT_EXIT_RUNTIME, "out of memory");
	for (size_t i = 0; i < o->n_volumes; i++)
		vols[i] = o->volumes[i];
	vols[o->n_volumes++] = run_net.volume;
	free(o->volumes);
	o->volumes = vols;
	if (save_options(o) < 0)
		return cli_usage_error("run", MC_RT_EXIT_RUNTIME, "network options too long");
	mc_rt_set_net_hook(&hook);
	return 0;
}

void cli_net_run_failed(void)
{
	/* The run never attached (or rolled back): the hosts file is ours to remove. */
	if (run_net.hosts[0])
		unlink(run_net.hosts);
}

/* ---- mycontainer network ---- */

static void usage(FILE *f)
{
	fputs("Usage: mycontainer network COMMAND\n\n"
	      "Manage bridge networks (a Linux bridge, an IPv4 subnet, NAT to the outside,\n"
	      "isolation from other networks). Containers join with 'run --network NAME' and\n"
	      "resolve each other by name through /etc/hosts.\n\n"
	      "Commands:\n"
	      "  create [--subnet CIDR] [--gateway IP] [--mtu N] NAME\n"
	      "                                               create a network (MTU 576..65535,\n"
	      "                                               default 1500; 65535 for fast\n"
	      "                                               container-to-container TCP)\n"
	      "  ls                                           list networks\n"
	      "  inspect NAME [NAME...]                       show networks as JSON\n"
	      "  rm NAME [NAME...]                            remove networks (none attached)\n\n"
	      "The default network `" MC_NETNS_DEFAULT_NETWORK "` (" MC_NETNS_DEFAULT_SUBNET
	      ") is created on first use.\n",
	      f);
}

static int net_fail(const struct mc_err *err)
{
	return cli_fail(CLI_EXIT_FAIL, "%s", err->msg);
}

static int cmd_create(struct mc_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = { { "subnet", required_argument, NULL, 's' },
					      { "gateway", required_argument, NULL, 'g' },
					      { "mtu", required_argument, NULL, 'm' },
					      { "help", no_argument, NULL, 'H' },
					      { NULL, 0, NULL, 0 } };
	const char *subnet = NULL, *gw = NULL;
	struct mc_err err = { 0 };
	unsigned long mtu = 0;
	char *end;
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 's')
			subnet = optarg;
		else if (c == 'g')
			gw = optarg;
		else if (c == 'm') {
			errno = 0;
			mtu = strtoul(optarg, &end, 10);
			if (errno || end == optarg || *end || mtu < 576 || mtu > 65535)
				return cli_usage_error("network create", CLI_EXIT_FAIL,
						       "invalid --mtu `%s`: want 576..65535",
						       optarg);
		} else if (c == 'H')
			return usage(stdout), 0;
		else
			return cli_bad_option("network create", CLI_EXIT_FAIL, argv);
	}
	if (optind + 1 != argc)
		return cli_usage_error("network create", CLI_EXIT_FAIL,
				       "requires exactly 1 argument (NAME)");
	if (cli_require_root("network create", CLI_EXIT_FAIL))
		return CLI_EXIT_FAIL;
	net_ctx(cli);
	if (mc_netns_network_create_mtu(&run_net.ctx, argv[optind], subnet, gw, (unsigned)mtu,
					&err) < 0)
		return net_fail(&err);
	printf("%s\n", argv[optind]);
	return 0;
}

static int cmd_ls(struct mc_cli *cli, int argc, char **argv)
{
	struct mc_netns_network_info *v = NULL;
	struct mc_err err = { 0 };
	size_t n = 0;

	if (argc > 1)
		return cli_usage_error("network ls", CLI_EXIT_FAIL, "takes no arguments");
	(void)argv;
	net_ctx(cli);
	if (mc_netns_network_list(&run_net.ctx, &v, &n, &err) < 0)
		return net_fail(&err);
	printf("%-20s %-15s %-18s %-15s %s\n", "NAME", "BRIDGE", "SUBNET", "GATEWAY", "CONTAINERS");
	for (size_t i = 0; i < n; i++)
		printf("%-20s %-15s %-18s %-15s %zu\n", v[i].name, v[i].bridge, v[i].subnet,
		       v[i].gateway, v[i].n_endpoints);
	mc_netns_network_list_free(v, n);
	return 0;
}

static int cmd_inspect(struct mc_cli *cli, int argc, char **argv)
{
	json_t *arr = json_array();
	struct mc_err err = { 0 };
	int rc = 0;

	if (argc < 2)
		return cli_usage_error("network inspect", CLI_EXIT_FAIL,
				       "requires at least 1 argument");
	net_ctx(cli);
	for (int i = 1; i < argc; i++) {
		struct mc_netns_network_info info;
		json_t *o, *eps;

		if (mc_netns_network_inspect(&run_net.ctx, argv[i], &info, &err) < 0) {
			rc = net_fail(&err);
			continue;
		}
		eps = json_array();
		for (size_t j = 0; j < info.n_endpoints; j++)
			json_array_append_new(eps, json_pack("{s:s,s:s,s:s,s:s}", "Id",
							     info.endpoints[j].id, "Name",
							     info.endpoints[j].name, "IPv4",
							     info.endpoints[j].ip, "Veth",
							     info.endpoints[j].veth));
		o = json_pack("{s:s,s:s,s:s,s:s,s:i,s:s,s:o}", "Name", info.name, "Bridge",
			      info.bridge, "Subnet", info.subnet, "Gateway", info.gateway, "MTU",
			      (int)info.mtu, "Created", info.created, "Containers", eps);
		json_array_append_new(arr, o);
		mc_netns_network_info_release(&info);
	}
	if (json_array_size(arr)) {
		char *s = json_dumps(arr, JSON_INDENT(4) | JSON_PRESERVE_ORDER);

		if (s)
			printf("%s\n", s);
		free(s);
	}
	json_decref(arr);
	return rc;
}

static int cmd_rm(struct mc_cli *cli, int argc, char **argv)
{
	struct mc_err err = { 0 };
	int rc = 0;

	if (argc < 2)
		return cli_usage_error("network rm", CLI_EXIT_FAIL, "requires at least 1 argument");
	if (cli_require_root("network rm", CLI_EXIT_FAIL))
		return CLI_EXIT_FAIL;
	net_ctx(cli);
	for (int i = 1; i < argc; i++) {
		if (mc_netns_network_remove(&run_net.ctx, argv[i], &err) < 0)
			rc = net_fail(&err);
		else
			printf("%s\n", argv[i]);
	}
	return rc;
}

int cli_network(struct mc_cli *cli, int argc, char **argv)
{
	const char *sub = argc > 1 ? argv[1] : NULL;

	if (!sub || !strcmp(sub, "--help") || !strcmp(sub, "-h")) {
		usage(sub ? stdout : stderr);
		return sub ? 0 : CLI_EXIT_FAIL;
	}
	optind = 0;
	if (!strcmp(sub, "create"))
		return cmd_create(cli, argc - 1, argv + 1);
	if (!strcmp(sub, "ls") || !strcmp(sub, "list"))
		return cmd_ls(cli, argc - 1, argv + 1);
	if (!strcmp(sub, "inspect"))
		return cmd_inspect(cli, argc - 1, argv + 1);
	if (!strcmp(sub, "rm") || !strcmp(sub, "remove"))
		return cmd_rm(cli, argc - 1, argv + 1);
	return cli_usage_error("network", CLI_EXIT_FAIL, "unknown command `%s`", sub);
}
