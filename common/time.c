/* SPDX-License-Identifier: MIT */
/* time.c: clocks in nanoseconds, a signal-proof sleep, RFC 3339 timestamps. */
#include <mc/util.h>

#include <errno.h>
#include <stdio.h>
#include <time.h>

static uint64_t now_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t mc_time_mono_ns(void)
{
	return now_ns(CLOCK_MONOTONIC);
}

uint64_t mc_time_real_ns(void)
{
	return now_ns(CLOCK_REALTIME);
}

void mc_time_sleep_ns(uint64_t ns)
{
	struct timespec ts = { .tv_sec = (time_t)(ns / 1000000000u),
			       .tv_nsec = (long)(ns % 1000000000u) };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

void mc_time_format_rfc3339(uint64_t real_ns, char *buf, size_t size)
{
	time_t secs = (time_t)(real_ns / 1000000000u);
	struct tm tm;

	gmtime_r(&secs, &tm);
	snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%09uZ", tm.tm_year + 1900, tm.tm_mon + 1,
		 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (unsigned)(real_ns % 1000000000u));
}
