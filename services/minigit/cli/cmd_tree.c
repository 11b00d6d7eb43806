/* SPDX-License-Identifier: MIT */
/* cmd_tree.c: write-tree (a directory to trees) and checkout-tree (a tree to a directory). */
#include "cli.h"

#include <string.h>

int cmd_write_tree(int argc, char **argv)
{
	struct mc_git_repo *repo;
	struct mc_err err = { 0 };
	struct mc_git_oid oid;
	char hex[MC_GIT_OID_HEXSZ + 1];
	const char *dir;
	int r;

	if (argc > 2 || (argc == 2 && argv[1][0] == '-'))
		return cli_usage("write-tree [DIR]");
	repo = cli_open();
	if (!repo)
		return EXIT_FATAL;
	dir = argc == 2 ? argv[1] : mc_git_repo_worktree(repo);
	if (!dir) {
		mc_git_repo_free(repo);
		return cli_fail("this operation must be run in a work tree (or name a DIR)");
	}
	mc_git_batch_begin(repo);
	r = mc_git_write_tree_dir(repo, dir, &oid, &err);
	/* The batch is always ended: on error it still flushes what was written. */
	if (mc_git_batch_end(repo, r < 0 ? NULL : &err) < 0 && r == 0)
		r = -1;
	mc_git_repo_free(repo);
	if (r < 0)
		return cli_fail_err(&err);
	puts(mc_git_oid_fmt(&oid, hex));
	return 0;
}

int cmd_checkout_tree(int argc, char **argv)
{
	struct mc_git_repo *repo;
	struct mc_err err = { 0 };
	struct mc_git_oid tree;
	int r;

	if (argc != 3)
		return cli_usage("checkout-tree TREE-ISH DIR");
	repo = cli_open();
	if (!repo)
		return EXIT_FATAL;
	r = cli_resolve_tree(repo, argv[1], &tree, &err);
	if (r == 0)
		r = mc_git_checkout_tree(repo, &tree, argv[2], &err);
	mc_git_repo_free(repo);
	return r < 0 ? cli_fail_err(&err) : 0;
}
