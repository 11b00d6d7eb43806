/* SPDX-License-Identifier: MIT */
/* cli.h: the `mycontainer` verbs; each parses its flags and makes one library call. */
#ifndef MC_RT_CLI_H
#define MC_RT_CLI_H

#include <getopt.h>
#include <stdbool.h>

#include <mc/common.h>
#include <mc/runtime.h>

struct mc_cli {
	struct mc_rt_ctx ctx;
	const char *root, *data_root;
	bool ctx_ready;
};

/* Exit statuses of the CLI's own failures (docker's: 125 for run/exec, 1 elsewhere). */
#define CLI_EXIT_FAIL 1

/* cli_ctx: initialises the roots on first use; prints and returns NULL on failure. */
struct mc_rt_ctx *cli_ctx(struct mc_cli *cli);
/* cli_fail: prints "mycontainer: MSG" and returns @status. */
int cli_fail(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* cli_usage_error: "mycontainer VERB: MSG" + "See 'mycontainer VERB --help'." */
int cli_usage_error(const char *verb, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* cli_bad_option: the message for getopt's '?' result. */
int cli_bad_option(const char *verb, int status, char **argv);
/* cli_resolve: ref -> id; prints the error. */
int cli_resolve(struct mc_cli *cli, const char *ref, char id[MC_RT_ID_LEN + 1]);
/*
 * cli_each_container: the common tail of the verbs that take CONTAINER...: requires at
 * least one name in argv[first..], root, then calls @fn with each resolved id. @fn
 * returns < 0 with @err set (printed here, the loop goes on) or >= 0 after printing its
 * own result. Returns the verb's exit status.
 */
typedef int (*cli_each_fn)(struct mc_cli *cli, const char *ref, const char *id, void *arg,
			   struct mc_err *err);
int cli_each_container(struct mc_cli *cli, const char *verb, int argc, char **argv, int first,
		       cli_each_fn fn, void *arg);
/* cli_require_root: prints "mycontainer: VERB needs root" unless euid 0. */
int cli_require_root(const char *verb, int status);
/* cli_push: appends to a growable argv-style vector. */
int cli_push(char ***v, size_t *n, char *s);

int cli_run(struct mc_cli *cli, int argc, char **argv);
int cli_exec(struct mc_cli *cli, int argc, char **argv);
int cli_ps(struct mc_cli *cli, int argc, char **argv);
int cli_kill(struct mc_cli *cli, int argc, char **argv);
int cli_stop(struct mc_cli *cli, int argc, char **argv);
int cli_start(struct mc_cli *cli, int argc, char **argv);
int cli_rm(struct mc_cli *cli, int argc, char **argv);
int cli_logs(struct mc_cli *cli, int argc, char **argv);
int cli_inspect(struct mc_cli *cli, int argc, char **argv);
int cli_wait(struct mc_cli *cli, int argc, char **argv);
int cli_stats(struct mc_cli *cli, int argc, char **argv);
int cli_spec(struct mc_cli *cli, int argc, char **argv);
int cli_image(struct mc_cli *cli, int argc, char **argv);

#endif
