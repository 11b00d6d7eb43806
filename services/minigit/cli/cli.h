/* SPDX-License-Identifier: MIT */
/* cli.h: shared helpers of the minigit verbs (one file per group of verbs). */
#ifndef MINIGIT_CLI_H
#define MINIGIT_CLI_H

#include <mc/common.h>
#include <mc/git.h>

#include <stdio.h>

/* Exit statuses, as git uses them: 128 fatal, 129 usage. */
#define EXIT_FATAL 128
#define EXIT_USAGE 129

/* cli_fail: prints "minigit: MSG" and returns EXIT_FATAL. */
int cli_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* cli_fail_err: prints "minigit: err->msg" and returns EXIT_FATAL. */
int cli_fail_err(const struct mc_err *err);
int cli_usage(const char *usage);
/* cli_open: the repository of the current directory (or $GIT_DIR); NULL after printing. */
struct mc_git_repo *cli_open(void);
/* cli_resolve_tree: a tree-ish (tree, commit, tag) to a tree id. */
int cli_resolve_tree(struct mc_git_repo *repo, const char *rev, struct mc_git_oid *out,
		     struct mc_err *err);
/* cli_quote_path: writes @name as git does in ls-tree (C-quoted if unusual). */
void cli_quote_path(FILE *f, const char *name, size_t len);

int cmd_init(int argc, char **argv);
int cmd_hash_object(int argc, char **argv);
int cmd_cat_file(int argc, char **argv);
int cmd_ls_tree(int argc, char **argv);
int cmd_mktree(int argc, char **argv);
int cmd_write_tree(int argc, char **argv);
int cmd_checkout_tree(int argc, char **argv);
int cmd_commit_tree(int argc, char **argv);
int cmd_update_ref(int argc, char **argv);
int cmd_rev_parse(int argc, char **argv);
int cmd_log(int argc, char **argv);

#endif
