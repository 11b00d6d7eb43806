/* SPDX-License-Identifier: MIT */
/* main.c: the minigit command table, shared CLI helpers and `minigit init`. */
#include "cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *help;
} commands[] = {
	{ "init", cmd_init, "create a repository" },
	{ "hash-object", cmd_hash_object, "compute an object id, optionally store the object" },
	{ "cat-file", cmd_cat_file, "show an object's content, type, size or existence" },
	{ "ls-tree", cmd_ls_tree, "list a tree" },
	{ "mktree", cmd_mktree, "build a tree from ls-tree text on stdin" },
	{ "write-tree", cmd_write_tree, "store a directory as trees and blobs" },
	{ "checkout-tree", cmd_checkout_tree, "write a tree into a directory" },
	{ "commit-tree", cmd_commit_tree, "create a commit" },
	{ "update-ref", cmd_update_ref, "point a ref at an object, or delete it" },
	{ "rev-parse", cmd_rev_parse, "resolve revisions to object ids" },
	{ "log", cmd_log, "show commit history" },
};

int cli_fail(const char *fmt, ...)
{
	va_list ap;

	fputs("minigit: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return EXIT_FATAL;
}

int cli_fail_err(const struct mc_err *err)
{
	return cli_fail("%s", err->msg[0] ? err->msg : mc_strerror(err->code));
}

int cli_usage(const char *usage)
{
	fprintf(stderr, "usage: minigit %s\n", usage);
	return EXIT_USAGE;
}

struct mc_git_repo *cli_open(void)
{
	struct mc_err err = { 0 };
	struct mc_git_repo *repo;

	if (mc_git_repo_open(NULL, true, &repo, &err) < 0) {
		cli_fail_err(&err);
		return NULL;
	}
	return repo;
}

int cli_resolve_tree(struct mc_git_repo *repo, const char *rev, struct mc_git_oid *out,
		     struct mc_err *err)
{
	char buf[4096];

	if (snprintf(buf, sizeof(buf), "%s^{tree}", rev) >= (int)sizeof(buf))
		return mc_err_setx(err, ENAMETOOLONG, "revision too long");
	return mc_git_resolve(repo, buf, out, err);
}

void cli_quote_path(FILE *f, const char *name, size_t len)
{
	bool quote = false;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];

		if (c < 0x20 || c == '"' || c == '\\' || c >= 0x7f)
			quote = true;
	}
	if (!quote) {
		fwrite(name, 1, len, f);
		return;
	}
	fputc('"', f);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];
		const char *esc = strchr("\a\b\t\n\v\f\r", c);

		if (c && esc)
			fprintf(f, "\\%c", "abtnvfr"[esc - "\a\b\t\n\v\f\r"]);
		else if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			fprintf(f, "\\%03o", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

int cmd_init(int argc, char **argv)
{
	struct mc_err err = { 0 };
	struct mc_git_repo *repo;
	bool bare = false, quiet = false;
	const char *dir = ".";

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--bare") == 0)
			bare = true;
		else if (strcmp(argv[i], "-q") == 0 || strcmp(argv[i], "--quiet") == 0)
			quiet = true;
		else if (argv[i][0] == '-' || i != argc - 1)
			return cli_usage("init [-q] [--bare] [DIR]");
		else
			dir = argv[i];
	}
	if (mc_fs_mkdir_p(dir, 0755, &err) < 0 || mc_git_repo_init(dir, bare, &repo, &err) < 0)
		return cli_fail_err(&err);
	if (!quiet)
		printf("Initialized empty Git repository in %s/\n", mc_git_repo_gitdir(repo));
	mc_git_repo_free(repo);
	return 0;
}

static void usage_all(FILE *f)
{
	fprintf(f, "usage: minigit COMMAND [ARGS]\n\ncommands:\n");
	for (size_t i = 0; i < MC_ARRAY_SIZE(commands); i++)
		fprintf(f, "  %-14s %s\n", commands[i].name, commands[i].help);
}

int main(int argc, char **argv)
{
	mc_log_set_prog("minigit");
	if (argc < 2) {
		usage_all(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage_all(stdout);
		return 0;
	}
	for (size_t i = 0; i < MC_ARRAY_SIZE(commands); i++) {
		if (strcmp(argv[1], commands[i].name) == 0) {
			int r = commands[i].fn(argc - 1, argv + 1);

			if (fflush(stdout) != 0 && r == 0)
				return cli_fail("write output: %s", strerror(errno));
			return r;
		}
	}
	fprintf(stderr, "minigit: '%s' is not a minigit command\n", argv[1]);
	usage_all(stderr);
	return EXIT_USAGE;
}
