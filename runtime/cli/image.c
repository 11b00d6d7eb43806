/* SPDX-License-Identifier: MIT */
/* image.c: `mycontainer image build|ls|rm`. */
#include "cli.h"

#include <stdio.h>
#include <string.h>

#include <mc/rootfs.h>

static void usage(FILE *f)
{
	fputs("Usage: mycontainer image COMMAND\n\n"
	      "Commands:\n"
	      "  build busybox            build the base image from Debian's busybox-static\n"
	      "  build dist [--from DIR]  busybox plus the project's programs (from DIR, default\n"
	      "                           the directory of this mycontainer) and their shared\n"
	      "                           libraries, so dynamically linked programs run inside\n"
	      "  ls                       list images\n"
	      "  rm NAME...               remove images\n\n"
	      "Images are directories under DATA_ROOT/images/NAME/rootfs (--data-root).\n",
	      f);
}

int cli_image(struct mc_cli *cli, int argc, char **argv)
{
	struct mc_rt_ctx *ctx;
	struct mc_err err = { 0 };
	const char *sub = argc > 1 ? argv[1] : NULL;

	if (!sub || !strcmp(sub, "--help") || !strcmp(sub, "-h")) {
		usage(sub ? stdout : stderr);
		return sub ? 0 : CLI_EXIT_FAIL;
	}
	if (strcmp(sub, "build") && strcmp(sub, "ls") && strcmp(sub, "rm"))
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
		return 0;
	}
	if (!strcmp(sub, "ls")) {
		char **names = NULL;
		size_t n = 0;

		if (argc != 2)
			return cli_usage_error("image", CLI_EXIT_FAIL, "ls accepts no arguments");
		if (mc_rootfs_image_list(ctx->data_root, &names, &n, &err) < 0)
			return cli_fail(CLI_EXIT_FAIL, "image ls: %s", err.msg);
		printf("IMAGE\n");
		for (size_t i = 0; i < n; i++)
			printf("%s\n", names[i]);
		mc_rootfs_names_free(names, n);
		return 0;
	}
	if (argc < 3)
		return cli_usage_error("image", CLI_EXIT_FAIL, "rm requires at least 1 argument");
	int rc = 0;

	for (int i = 2; i < argc; i++) {
		if (mc_rootfs_image_rm(ctx->data_root, argv[i], &err) < 0)
			rc = cli_fail(CLI_EXIT_FAIL, "image rm: %s", err.msg);
		else
			printf("%s\n", argv[i]);
	}
	return rc;
}
