/* SPDX-License-Identifier: MIT */
/* spec.c: `mycontainer spec`: a default OCI config.json, to stdout or a bundle. */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int cli_spec(struct mc_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = { { "bundle", required_argument, NULL, 'b' },
					      { "help", no_argument, NULL, 'H' },
					      { NULL, 0, NULL, 0 } };
	const char *bundle = NULL;
	struct mc_err err = { 0 };
	char *json = NULL, path[4096];
	int c;

	(void)cli;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "b:", opts, NULL)) != -1) {
		switch (c) {
		case 'b':
			bundle = optarg;
			break;
		case 'H':
			fputs("Usage: mycontainer spec [--bundle DIR]\n\n"
			      "Print a default OCI runtime config (config.json): namespaces, mounts,\n"
			      "docker's default capabilities, masked and read-only paths, the default\n"
			      "seccomp profile, rootfs \"rootfs\" and command `sh`. With --bundle, write\n"
			      "DIR/config.json instead (refusing to overwrite one). Run the bundle with\n"
			      "'mycontainer run --bundle DIR'.\n",
			      stdout);
			return 0;
		default:
			return cli_bad_option("spec", CLI_EXIT_FAIL, argv);
		}
	}
	if (optind < argc)
		return cli_usage_error("spec", CLI_EXIT_FAIL, "accepts no arguments");
	if (mc_rt_spec_build(NULL, NULL, &json, &err) < 0)
		return cli_fail(CLI_EXIT_FAIL, "%s", err.msg);
	if (!bundle) {
		printf("%s\n", json);
		free(json);
		return 0;
	}
	snprintf(path, sizeof(path), "%s/config.json", bundle);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);

	if (fd < 0) {
		int e = errno;

		free(json);
		return cli_fail(CLI_EXIT_FAIL, "spec: create `%s`: %s", path, strerror(e));
	}
	mc_write_all(fd, json, strlen(json));
	mc_write_all(fd, "\n", 1);
	close(fd);
	free(json);
	return 0;
}
