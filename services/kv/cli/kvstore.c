/* SPDX-License-Identifier: MIT */
/*
 * kvstore: the command-line face of libmckv. Each verb parses its arguments and
 * makes one library call. Exit status: 0 success, 1 missing key or failure,
 * 64 usage error.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mc/cleanup.h>
#include <mc/kv.h>
#include <mc/log.h>

#define EX_USAGE 64
#define PROG "kvstore"

static void usage(FILE *f)
{
	fprintf(f, "usage: " PROG " [--db PATH] [--sync none|batch|always] COMMAND [ARGS]\n"
		   "commands:\n"
		   "  put KEY VALUE     store VALUE under KEY (prints OK)\n"
		   "  get KEY           print the value of KEY (exit 1 if not found)\n"
		   "  delete KEY        remove KEY (prints OK)\n"
		   "  scan [PREFIX]     print `KEY<TAB>VALUE` lines in key order\n"
		   "  stats             print engine statistics\n"
		   "  compact           merge every table into one\n"
		   "the database directory defaults to $KVSTORE_DB, else ./kvstore.db\n");
}

static int fail(const char *what, const struct mc_err *err)
{
	fprintf(stderr, PROG ": %s: %s\n", what, err->msg);
	return 1;
}

static int open_db(const char *dir, enum mc_kv_sync sync, bool ro, struct mc_kv **kv)
{
	struct mc_kv_options opt;
	struct mc_err err = { 0 };

	mc_kv_options_init(&opt);
	opt.sync = sync;
	opt.read_only = ro;
	if (mc_kv_open(dir, &opt, kv, &err) < 0)
		return fail("open", &err);
	return 0;
}

static int data_error(struct mc_kv *kv, const char *what, int r)
{
	struct mc_err err = { 0 };

	if (mc_kv_last_error(kv, &err) < 0 && err.code == -r)
		return fail(what, &err);
	fprintf(stderr, PROG ": %s: %s\n", what, mc_strerror(-r));
	return 1;
}

static int cmd_put(struct mc_kv *kv, int argc, char **argv)
{
	int r = mc_kv_put(kv, argv[0], strlen(argv[0]), argv[1], strlen(argv[1]));

	if (r < 0)
		return data_error(kv, "put", r);
	puts("OK");
	return 0;
}

static int cmd_get(struct mc_kv *kv, int argc, char **argv)
{
	struct mc_buf val = MC_BUF_INIT;
	int r = mc_kv_get(kv, argv[0], strlen(argv[0]), &val);

	if (r == -ENOENT) {
		fprintf(stderr, PROG ": get: key `%s` not found\n", argv[0]);
		return 1;
	}
	if (r < 0)
		return data_error(kv, "get", r);
	fwrite(val.data, 1, val.len, stdout);
	putchar('\n');
	mc_buf_release(&val);
	return 0;
}

static int cmd_delete(struct mc_kv *kv, int argc, char **argv)
{
	int r = mc_kv_delete(kv, argv[0], strlen(argv[0]));

	if (r < 0)
		return data_error(kv, "delete", r);
	puts("OK");
	return 0;
}

static int cmd_scan(struct mc_kv *kv, int argc, char **argv)
{
	const char *prefix = argc ? argv[0] : "";
	size_t plen = strlen(prefix);
	struct mc_kv_iter *it;
	int r = mc_kv_iter_new(kv, &it);

	if (r < 0)
		return data_error(kv, "scan", r);
	for (mc_kv_iter_seek(it, prefix, plen); mc_kv_iter_valid(it); mc_kv_iter_next(it)) {
		size_t kl, vl;
		const char *k = mc_kv_iter_key(it, &kl), *v = mc_kv_iter_value(it, &vl);

		if (kl < plen || memcmp(k, prefix, plen) != 0)
			break;
		fwrite(k, 1, kl, stdout);
		putchar('\t');
		fwrite(v, 1, vl, stdout);
		putchar('\n');
	}
	r = mc_kv_iter_status(it);
	mc_kv_iter_free(it);
	if (r < 0)
		return data_error(kv, "scan", r);
	return 0;
}

static int cmd_stats(struct mc_kv *kv, int argc, char **argv)
{
	struct mc_kv_stats st;

	mc_kv_stats_get(kv, &st);
	printf("last_seq %" PRIu64 "\nmemtable_entries %" PRIu64 "\nmemtable_bytes %" PRIu64
	       "\ntables %u\ntable_bytes %" PRIu64 "\ntable_entries %" PRIu64 "\n",
	       st.last_seq, st.mem_entries, st.mem_bytes, st.tables, st.table_bytes,
	       st.table_entries);
	for (int i = 0; i < 8; i++)
		if (st.tiers[i])
			printf("tier%d_tables %u\n", i, st.tiers[i]);
	return 0;
}

static int cmd_compact(struct mc_kv *kv, int argc, char **argv)
{
	struct mc_err err = { 0 };
	struct mc_kv_stats st;

	if (mc_kv_compact(kv, &err) < 0)
		return fail("compact", &err);
	mc_kv_stats_get(kv, &st);
	printf("OK: %u table(s), %" PRIu64 " bytes\n", st.tables, st.table_bytes);
	return 0;
}

struct verb {
	const char *name;
	int min_args, max_args;
	bool read_only;
	int (*fn)(struct mc_kv *kv, int argc, char **argv);
};

static const struct verb verbs[] = {
	{ "put", 2, 2, false, cmd_put },	 { "get", 1, 1, true, cmd_get },
	{ "delete", 1, 1, false, cmd_delete },	 { "del", 1, 1, false, cmd_delete },
	{ "scan", 0, 1, true, cmd_scan },	 { "stats", 0, 0, true, cmd_stats },
	{ "compact", 0, 0, false, cmd_compact },
};

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "db", required_argument, NULL, 'd' },
		{ "sync", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *dir = getenv("KVSTORE_DB");
	enum mc_kv_sync sync = MC_KV_SYNC_ALWAYS;
	int c;

	mc_log_set_prog(PROG);
	if (!dir || !*dir)
		dir = "kvstore.db";
	while ((c = getopt_long(argc, argv, "+d:s:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'd':
			dir = optarg;
			break;
		case 's':
			if (strcmp(optarg, "none") == 0)
				sync = MC_KV_SYNC_NONE;
			else if (strcmp(optarg, "batch") == 0)
				sync = MC_KV_SYNC_BATCH;
			else if (strcmp(optarg, "always") == 0)
				sync = MC_KV_SYNC_ALWAYS;
			else {
				fprintf(stderr,
					PROG
					": --sync: unknown policy `%s` (none, batch, always)\n",
					optarg);
				return EX_USAGE;
			}
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return EX_USAGE;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, PROG ": missing command\n");
		usage(stderr);
		return EX_USAGE;
	}
	const char *name = argv[optind++];
	int nargs = argc - optind;

	for (size_t i = 0; i < MC_ARRAY_SIZE(verbs); i++) {
		const struct verb *v = &verbs[i];

		if (strcmp(v->name, name) != 0)
			continue;
		if (nargs < v->min_args || nargs > v->max_args) {
			fprintf(stderr, PROG ": %s: expected %d%s argument(s), got %d\n", name,
				v->min_args, v->max_args > v->min_args ? " or more" : "", nargs);
			return EX_USAGE;
		}
		struct mc_kv *kv;

		if (open_db(dir, sync, v->read_only, &kv) != 0)
			return 1;
		int rc = v->fn(kv, nargs, argv + optind);

		mc_kv_close(kv);
		if (fflush(stdout) != 0) {
			fprintf(stderr, PROG ": write output: %s\n", strerror(errno));
			return 1;
		}
		return rc;
	}
	fprintf(stderr, PROG ": unknown command `%s`\n", name);
	usage(stderr);
	return EX_USAGE;
}
