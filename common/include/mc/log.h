/* SPDX-License-Identifier: MIT */
/*
 * log.h: logging through one pluggable sink. Messages are formatted into a fixed
 * stack buffer (no allocation) and handed to the sink with their level. The default
 * sink writes "PROG: LEVEL: message" to stderr. Libraries log DEBUG, or WARN for a
 * failure they deliberately swallow; services log one line per event with key=value
 * fields. The level comes from MC_LOG (error|warn|info|debug) unless set.
 */
#ifndef MC_LOG_H
#define MC_LOG_H

enum mc_log_level {
	MC_LOG_ERROR = 0,
	MC_LOG_WARN,
	MC_LOG_INFO,
	MC_LOG_DEBUG,
};

#define MC_LOG_LINE_MAX 1024

/* A sink receives one formatted line without a trailing newline. */
typedef void (*mc_log_sink_fn)(enum mc_log_level level, const char *line, void *arg);

/* mc_log_set_sink: replaces the sink (NULL restores stderr). Not thread-safe vs logging. */
void mc_log_set_sink(mc_log_sink_fn fn, void *arg);
void mc_log_set_level(enum mc_log_level level);
enum mc_log_level mc_log_get_level(void);
/* mc_log_set_prog: the program name the stderr sink prints first (default "mycontainer"). */
void mc_log_set_prog(const char *prog);
/* mc_log_parse_level: "debug" -> MC_LOG_DEBUG etc.; -EINVAL for an unknown name. */
int mc_log_parse_level(const char *name, enum mc_log_level *out);

void mc_log(enum mc_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The stderr sink, for sinks that want to chain to it. */
void mc_log_sink_stderr(enum mc_log_level level, const char *line, void *arg);

#define mc_log_error(...) mc_log(MC_LOG_ERROR, __VA_ARGS__)
#define mc_log_warn(...) mc_log(MC_LOG_WARN, __VA_ARGS__)
#define mc_log_info(...) mc_log(MC_LOG_INFO, __VA_ARGS__)
#define mc_log_debug(...)                                                                          \
	do {                                                                                       \
		if (mc_log_get_level() >= MC_LOG_DEBUG)                                            \
			mc_log(MC_LOG_DEBUG, __VA_ARGS__);                                         \
	} while (0)

#endif
