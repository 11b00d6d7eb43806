/* SPDX-License-Identifier: MIT */
/* log.c: leveled logging through one pluggable sink; no allocation on the log path. */
#include <mc/log.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static mc_log_sink_fn sink = mc_log_sink_stderr;
static void *sink_arg;
static int level = -1; /* -1: not yet read from MC_LOG */
static const char *prog = "mycontainer";

static const char *const names[] = { "error", "warning", "info", "debug" };

int mc_log_parse_level(const char *name, enum mc_log_level *out)
{
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!strcmp(name, names[i]) || (i == MC_LOG_WARN && !strcmp(name, "warn"))) {
			*out = (enum mc_log_level)i;
			return 0;
		}
	}
	return -22; /* -EINVAL */
}

enum mc_log_level mc_log_get_level(void)
{
	if (level < 0) {
		const char *env = getenv("MC_LOG");
		enum mc_log_level l = MC_LOG_WARN;

		if (env)
			mc_log_parse_level(env, &l);
		level = (int)l;
	}
	return (enum mc_log_level)level;
}

void mc_log_set_level(enum mc_log_level l)
{
	level = (int)l;
}

void mc_log_set_sink(mc_log_sink_fn fn, void *arg)
{
	sink = fn ? fn : mc_log_sink_stderr;
	sink_arg = fn ? arg : NULL;
}

void mc_log_set_prog(const char *p)
{
	prog = p;
}

void mc_log_sink_stderr(enum mc_log_level l, const char *line, void *arg)
{
	char buf[MC_LOG_LINE_MAX + 128];
	int n;

	(void)arg;
	n = snprintf(buf, sizeof(buf), "%s: %s: %s\n", prog, names[l], line);
	if (n > (int)sizeof(buf) - 1)
		n = (int)sizeof(buf) - 1;
	/* One write(2) per line so concurrent writers do not interleave mid-line. */
	if (write(STDERR_FILENO, buf, (size_t)n) < 0) {
		/* Best-effort: nowhere left to report a failing stderr. */
	}
}

void mc_log(enum mc_log_level l, const char *fmt, ...)
{
	char line[MC_LOG_LINE_MAX];
	va_list ap;

	if ((int)l > (int)mc_log_get_level())
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	sink(l, line, sink_arg);
}
