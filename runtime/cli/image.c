/* SPDX-License-Identifier: MIT */
/*
 * image.c: `mycontainer image build|import|ls|history|rm|path|prune`. Images are
 * commits of the store DATA_ROOT/images.git (refs/images/NAME); libmcrootfs maps them
 * to checked-out trees. Removal checks the containers here, in the CLI, because only
 * the runtime knows them.
 */
#include "cli.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mc/rootfs.h>

static void usage(FILE *f)
{
	fputs("Usage: mycontainer image COMMAND\n\n"
	      "Commands:\n"
	      "  build busybox            build the base image from Debian's busybox-static\n"
	      "  build dist [--from DIR]  busybox plus the project's programs (from DIR, default\n"
	      "                           the directory of this mycontainer) and their shared\n"
	      "                           libraries, so dynamically linked programs run inside\n"
	      "  import NAME FILE.tar|DIR|- [-m MSG]\n"
	      "                           store a tar (gzip'ed too; - for stdin) or a directory\n"
	      "                           as a new version of image NAME\n"
	      "  ls [-q]                  list images\n"
	      "  history NAME             the versions of an image, newest first\n"
	      "  rm [-f] NAME...          remove images (-f: even if containers use them)\n"
	      "  path NAME                print the image's read-only checked-out tree\n"
	      "  prune                    remove checked-out trees nothing uses\n\n"
	      "Images are commits under refs/images/NAME in the git repository\n"
	      "DATA_ROOT/images.git (--data-root); `run` shares one read-only check-out\n"
	      "DATA_ROOT/rootfs/TREE-ID per tree below each container's overlay.\n",
	      f);
}

/* ago: "5 seconds ago", ... like docker's CREATED column. */
static void ago(int64_t when, char *buf, size_t size)
{
	int64_t s = (int64_t)time(NULL) - when;
	static const struct {
		int64_t secs;
		const char *unit;
	} units[] = { { 86400 * 365, "year" }, { 86400 * 30, "month" }, { 86400 * 7, "week" },
		      { 86400, "day" },	       { 3600, "hour" },	{ 60, "minute" } };

	if (s < 0)
		s = 0;
	for (size_t i = 0; i < MC_ARRAY_SIZE(units); i++) {
		if (s >= units[i].secs) {
			long long k = (long long)(s / units[i].secs);

			snprintf(buf, size, "%lld %s%s ago", k, units[i].unit, k == 1 ? "" : "s");
			return;
		}
	}
	snprintf(buf, size, "%lld second%s ago", (long long)s, s == 1 ? "" : "s");
}

/* human: sizes as docker prints them (decimal units). */
static void human(uint64_t b, char *buf, size_t size)
{
	static const char *const units[] = { "B", "kB", "MB", "GB", "TB" };
	double v = (double)b;
	size_t u = 0;

	while (v >= 1000 && u + 1 < MC_ARRAY_SIZE(units)) {
		v /= 1000;
		u++;
	}
	snprintf(buf, size, u ? "%.3g%s" : "%.0f%s", v, units[u]);
}

struct ls_ctx {
	struct mc_imgstore *store;
	bool quiet;
	struct mc_err *err;
};

static int ls_row(const struct mc_imgstore_info *info, void *arg)
{
	struct ls_ctx *lc = arg;
	char commit[MC_GIT_OID_HEXSZ + 1], tree[MC_GIT_OID_HEXSZ + 1], created[64], size[32];
	uint64_t bytes;

	if (lc->quiet) {
		printf("%s\n", info->name);
		return 0;
	}
	if (mc_rootfs_image_size(lc->store, &info->tree, &bytes, lc->err) < 0) {
		mc_err_wrap(lc->err, "image `%s`", info->name);
		return -1;
	}
	mc_git_oid_fmt(&info->commit, commit);
	mc_git_oid_fmt(&info->tree, tree);
	ago(info->when, created, sizeof(created));
	human(bytes, size, sizeof(size));
	printf("%-20s %-12.12s %-40s %-16s %s\n", info->name, commit, tree, created, size);
	return 0;
}

static int cmd_ls(struct mc_rt_ctx *ctx, int argc, char **argv)
{
	struct mc_err err = { 0 };
	struct ls_ctx lc = { .err = &err };
	char **names = NULL;
	size_t n = 0;
	int r;

	if (argc == 3 && (!strcmp(argv[2], "-q") || !strcmp(argv[2], "--quiet")))
		lc.quiet = true;
	else if (argc != 2)
		return cli_usage_error("image", CLI_EXIT_FAIL, "usage: image ls [-q]");
	/* The name list first: it migrates any old plain-directory images. */
	if (mc_rootfs_image_list(ctx->data_root, &names, &n, &err) < 0)
		return cli_fail(CLI_EXIT_FAIL, "image ls: %s", err.msg);
	mc_rootfs_names_free(names, n);
	if (mc_rootfs_store_open(ctx->data_root, &lc.store, &err) < 0)
		return cli_fail(CLI_EXIT_FAIL, "image ls: %s", err.msg);
	if (!lc.quiet)
		printf("%-20s %-12s %-40s %-16s %s\n", "IMAGE", "COMMIT", "TREE", "CREATED",
		       "SIZE");
	r = mc_imgstore_list(lc.store, ls_row, &lc, &err);
	mc_imgstore_close(lc.store);
	if (r)
		return cli_fail(CLI_EXIT_FAIL, "image ls: %s", err.msg);
	return 0;
}

static int history_row(const struct mc_imgstore_info *info, void *arg)
{
	char commit[MC_GIT_OID_HEXSZ + 1], when[64], created[64];
	struct tm tm;
	time_t t = (time_t)info->when;

	(void)arg;
	mc_git_oid_fmt(&info->commit, commit);
	localtime_r(&t, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S %z", &tm);
	ago(info->when, created, sizeof(created));
	printf("%.12s  %s  (%s)  %s\n", commit, when, created, info->message);
	return 0;
}

static int cmd_history(struct mc_rt_ctx *ctx, int argc, char **argv)
{
	struct mc_imgstore *store = NULL;
	struct mc_err err = { 0 };
	char path[PATH_MAX];
	int r;

	if (argc != 3)
		return cli_usage_error("image", CLI_EXIT_FAIL, "usage: image history NAME");
	if (!mc_rootfs_image_name_valid(argv[2]))
		return cli_fail(CLI_EXIT_FAIL, "image history: invalid image name `%s`", argv[2]);
	/* Resolving first migrates an old plain-directory image and checks the name. */
	if (mc_rootfs_image_resolve(ctx->data_root, argv[2], path, sizeof(path), &err) < 0)
		return cli_fail(CLI_EXIT_FAIL, "image history: %s", err.msg);
	if (mc_rootfs_store_open(ctx->data_root, &store, &err) < 0)
		return cli_fail(CLI_EXIT_FAIL, "image history: %s", err.msg);
	r = mc_imgstore_history(store, argv[2], history_row, NULL, &err);
	mc_imgstore_close(store);
	if (r)
		return cli_fail(CLI_EXIT_FAIL, "image history: %s", err.msg);
	return 0;
}

static int cmd_import(struct mc_rt_ctx *ctx, int argc, char **argv)
{
	struct mc_err err = { 0 };
	struct mc_git_oid commit;
	char hex[MC_GIT_OID_HEXSZ + 1];
	const char *msg = NULL;

	if (argc == 6 && !strcmp(argv[4], "-m"))
		msg = argv[5];
	else if (argc != 4)
		return cli_usage_error("image", CLI_EXIT_FAIL,
				       "usage: image import NAME FILE.tar|DIR|- [-m MESSAGE]");
	if (msg && (!*msg || strchr(msg, '\n')))
		return cli_fail(CLI_EXIT_FAIL, "image import: the message must be one line");
	if (mc_rootfs_image_import(ctx->data_root, argv[2], argv[3], msg, &commit, &err) < 0)
		return cli_fail(CLI_EXIT_FAIL, "image import: %s", err.msg);
	printf("%s\n", mc_git_oid_fmt(&commit, hex));
	return 0;
}

/*
 * going_away: an exited `run --rm` container whose background cleaner has not removed
 * it yet (a foreground run reports the exit status before its cleanup). Waits for it
 * to go, at most 5 s; true if it went. auto_remove is documented in docs/runtime.md.
 */
static bool going_away(struct mc_rt_ctx *ctx, const struct mc_rt_info *info)
{
	char path[PATH_MAX];
	struct mc_rt_info now;
	json_t *st;
	bool rm;

	if (info->status != MC_RT_EXITED)
		return false;
	snprintf(path, sizeof(path), "%s/%s/state.json", ctx->state_root, info->id);
	st = json_load_file(path, 0, NULL);
	rm = json_is_true(json_object_get(st, "auto_remove"));
	json_decref(st);
	if (!st)
		return true; /* removed meanwhile */
	for (int i = 0; rm && i < 250; i++) {
		if (mc_rt_info_get(ctx, info->id, &now, NULL) < 0)
			return true;
		mc_time_sleep_ns(20 * 1000 * 1000);
	}
	return false;
}

/*
 * The overlay lower dirs of every container (running or not: a stopped one can be
 * started again) and the name of one made from image @name, in @user ("" if none).
 */
static int containers_using(struct mc_rt_ctx *ctx, const char *name, char ***lowers,
			    size_t *n_lowers, char *user, size_t user_size)
{
	struct mc_rt_info *v = NULL;
	struct mc_err err = { 0 };
	size_t n = 0;

	if (user)
		user[0] = '\0';
	if (mc_rt_list(ctx, &v, &n, &err) < 0)
		return cli_fail(-1, "image: list containers: %s", err.msg);
	for (size_t i = 0; i < n; i++) {
		char *json = NULL;
		json_t *root, *lower;

		if (going_away(ctx, &v[i]))
			continue;
		if (user && name && !user[0] && !strcmp(v[i].image, name))
			snprintf(user, user_size, "%s", v[i].name[0] ? v[i].name : v[i].id);
		/* Best-effort: a container removed meanwhile holds nothing any more. */
		if (mc_rt_inspect(ctx, v[i].id, &json, NULL) < 0)
			continue;
		root = json_loads(json, 0, NULL);
		free(json);
		lower = json_object_get(
			json_object_get(json_object_get(json_array_get(root, 0), "Config"),
					"annotations"),
			"org.mycontainer.overlay.lower");
		if (json_is_string(lower)) {
			char *d = strdup(json_string_value(lower));

			/* A lower dir missing from the list could be pruned under a container. */
			if (!d || cli_push(lowers, n_lowers, d) < 0) {
				free(d);
				json_decref(root);
				free(v);
				return cli_fail(-1, "image: list containers: out of memory");
			}
		}
		json_decref(root);
	}
	free(v);
	return 0;
}

static int prune(struct mc_rt_ctx *ctx, bool verbose)
{
	struct mc_err err = { 0 };
	char **lowers = NULL;
	size_t n = 0;
	int r;

	if (containers_using(ctx, NULL, &lowers, &n, NULL, 0) < 0)
		return -1;
	r = mc_rootfs_image_prune(ctx->data_root, lowers, n, &err);
	for (size_t i = 0; i < n; i++)
		free(lowers[i]);
	free(lowers);
	if (r < 0)
		return cli_fail(-1, "image prune: %s", err.msg);
	if (verbose)
		printf("removed %d checked-out tree%s\n", r, r == 1 ? "" : "s");
	return 0;
}

static int cmd_rm(struct mc_rt_ctx *ctx, int argc, char **argv)
{
	bool force = false;
	int rc = 0, i = 2;

	if (argc > 2 && (!strcmp(argv[2], "-f") || !strcmp(argv[2], "--force"))) {
		force = true;
		i++;
	}
	if (i >= argc)
		return cli_usage_error("image", CLI_EXIT_FAIL, "usage: image rm [-f] NAME...");
	for (; i < argc; i++) {
		struct mc_err err = { 0 };
		char user[MC_RT_NAME_MAX + 1];
		char **lowers = NULL;
		size_t n = 0;

		if (!mc_rootfs_image_name_valid(argv[i])) {
			rc = cli_fail(CLI_EXIT_FAIL, "image rm: invalid image name `%s`", argv[i]);
			continue;
		}
		if (containers_using(ctx, argv[i], &lowers, &n, user, sizeof(user)) < 0)
			return CLI_EXIT_FAIL;
		for (size_t k = 0; k < n; k++)
			free(lowers[k]);
		free(lowers);
		if (user[0] && !force) {
			rc = cli_fail(CLI_EXIT_FAIL,
				      "image rm: image `%s` is used by container `%s` (remove it "
				      "first, or use -f)",
				      argv[i], user);
			continue;
		}
		if (mc_rootfs_image_rm(ctx->data_root, argv[i], &err) < 0)
			rc = cli_fail(CLI_EXIT_FAIL, "image rm: %s", err.msg);
		else
			printf("%s\n", argv[i]);
	}
	/* Trees still under a container (rm -f) stay until a later prune finds them unused. */
	if (prune(ctx, false) < 0)
		rc = CLI_EXIT_FAIL;
	return rc;
}

int cli_image(struct mc_cli *cli, int argc, char **argv)
{
	static const char *const subs[] = { "build",   "import", "ls",	 "list",
					    "history", "rm",	 "path", "prune" };
	struct mc_rt_ctx *ctx;
	struct mc_err err = { 0 };
	const char *sub = argc > 1 ? argv[1] : NULL;
	bool known = false;

	if (!sub || !strcmp(sub, "--help") || !strcmp(sub, "-h")) {
		usage(sub ? stdout : stderr);
		return sub ? 0 : CLI_EXIT_FAIL;
	}
	for (size_t i = 0; i < MC_ARRAY_SIZE(subs); i++)
		known |= !strcmp(sub, subs[i]);
	if (!known)
		return cli_usage_error("image", CLI_EXIT_FAIL, "unknown command `%s`", sub);
	if (cli_require_root("image", CLI_EXIT_FAIL))
		return CLI_EXIT_FAIL;
	ctx = cli_ctx(cli);
	if (!ctx)
		return CLI_EXIT_FAIL;
	if (!strcmp(sub, "build")) {
		const char *from = NULL;

		if (argc == 5 && !strcmp(argv[3], "--from"))
			from = argv[4];
		else if (argc != 3)
			return cli_usage_error("image", CLI_EXIT_FAIL,
					       "usage: image build busybox|dist [--from DIR]");
		if (mc_rootfs_image_build(ctx->data_root, argv[2], from, &err) < 0)
			return cli_fail(CLI_EXIT_FAIL, "image build: %s", err.msg);
		printf("%s\n", argv[2]);
		/* The previous version's tree goes unless a container still uses it. */
		return prune(ctx, false) < 0 ? CLI_EXIT_FAIL : 0;
	}
	if (!strcmp(sub, "import")) {
		int rc = cmd_import(ctx, argc, argv);

		return rc ? rc : prune(ctx, false) < 0 ? CLI_EXIT_FAIL : 0;
	}
	if (!strcmp(sub, "ls") || !strcmp(sub, "list"))
		return cmd_ls(ctx, argc, argv);
	if (!strcmp(sub, "history"))
		return cmd_history(ctx, argc, argv);
	if (!strcmp(sub, "rm"))
		return cmd_rm(ctx, argc, argv);
	if (!strcmp(sub, "prune")) {
		if (argc != 2)
			return cli_usage_error("image", CLI_EXIT_FAIL,
					       "prune accepts no arguments");
		return prune(ctx, true) < 0 ? CLI_EXIT_FAIL : 0;
	}
	if (argc != 3)
		return cli_usage_error("image", CLI_EXIT_FAIL, "usage: image path NAME");
	char path[PATH_MAX];

	if (mc_rootfs_image_resolve(ctx->data_root, argv[2], path, sizeof(path), &err) < 0)
		return cli_fail(CLI_EXIT_FAIL, "image path: %s", err.msg);
	printf("%s\n", path);
	return 0;
}
