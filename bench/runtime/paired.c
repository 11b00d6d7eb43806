/* SPDX-License-Identifier: MIT */
/*
 * paired.c: a paired, interleaved timing of two commands (mc-rt-paired). Runs A, B,
 * B, A, A, B, ... (the order swapped every pair), times each exec with
 * CLOCK_MONOTONIC from just before the spawn to the reaped exit, and reports each
 * command's median, the median of the per-pair ratios A/B and a distribution-free 95 %
 * interval for that median (order statistics of the ratios, exact binomial ranks).
 * Paired run by run, a drift of the machine's load lands on both commands of a pair
 * instead of on one block of runs of one tool, which is what the block-alternating
 * hyperfine rounds suffer from.
 *
 *   mc-rt-paired [-n PAIRS] [-w WARMUP] [-s SLEEP_MS] [-b] [-o RAW.csv] [-l LABEL] CMD_A CMD_B
 *
 * A command is split at spaces (no shell, no quoting: the benchmark's commands need
 * none); its stdout and stderr go to /dev/null, as with hyperfine -N. -s sleeps
 * before every timed run (the "cold" cases). -b ("back to back") runs the same
 * command once, untimed, right before each timed run: every timed run then follows a
 * run of its own command, as in a block of hyperfine runs, instead of the other
 * runtime's (whose leftovers, e.g. a background cleaner or a warm kernel lock, would
 * otherwise land on the wrong command). A run that exits non-zero stops the
 * benchmark (exit 1): a failing runtime must not look fast.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define MAX_ARGS 64
#define MAX_PAIRS 10000

struct cmd {
	char *argv[MAX_ARGS + 1];
	const char *text;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static int split(char *s, struct cmd *c)
{
	int n = 0;

	c->text = strdup(s);
	for (char *tok = strtok(s, " "); tok; tok = strtok(NULL, " ")) {
		if (n == MAX_ARGS)
			return -1;
		c->argv[n++] = tok;
	}
	c->argv[n] = NULL;
	return n > 0 ? 0 : -1;
}

/* run_once: the wall time of one exec of @c in ns, or 0 when it failed. */
static uint64_t run_once(const struct cmd *c, posix_spawn_file_actions_t *fa)
{
	uint64_t t0 = now_ns(), t1;
	pid_t pid;
	int st, r;

	r = posix_spawnp(&pid, c->argv[0], fa, NULL, c->argv, environ);
	if (r != 0) {
		fprintf(stderr, "mc-rt-paired: %s: %s\n", c->argv[0], strerror(r));
		return 0;
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return 0;
	t1 = now_ns();
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		fprintf(stderr, "mc-rt-paired: `%s` failed (status %#x)\n", c->text, st);
		return 0;
	}
	return t1 - t0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/*
 * ci_rank: the 1-based rank k such that [v(k), v(n-k+1)] of the sorted values covers
 * the median with >= 95 % probability: the largest k with P(Binom(n, 1/2) < k) <=
 * 0.025. 0 when n is too small for any such interval (n < 6).
 */
static int ci_rank(int n)
{
	double cdf = 0, p = pow(0.5, n);
	int k = 0;

	/* p = C(n, j) / 2^n, built up term by term; cdf = P(X <= j). */
	for (int j = 0; j < n; j++) {
		cdf += p;
		if (cdf > 0.025)
			break;
		k = j + 1;
		p = p * (n - j) / (j + 1);
	}
	return k;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: mc-rt-paired [-n PAIRS] [-w WARMUP] [-s SLEEP_MS] [-b] [-o RAW.csv] "
		"[-l LABEL] CMD_A CMD_B\n");
	exit(2);
}

static long num_arg(const char *opt, const char *s, long lo, long hi)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || end == s || v < lo || v > hi) {
		fprintf(stderr, "mc-rt-paired: %s `%s`: want a number in %ld..%ld\n", opt, s, lo,
			hi);
		exit(2);
	}
	return v;
}

int main(int argc, char **argv)
{
	long pairs = 40, warm = 2, sleep_ms = 0;
	const char *raw = NULL, *label = "case";
	struct cmd c[2];
	posix_spawn_file_actions_t fa;
	double *t[2], *ratio, med[2], mr;
	FILE *out = NULL;
	int opt, k, wins = 0;
	bool b2b = false;

	while ((opt = getopt(argc, argv, "n:w:s:o:l:b")) != -1) {
		switch (opt) {
		case 'n':
			pairs = num_arg("-n", optarg, 1, MAX_PAIRS);
			break;
		case 'w':
			warm = num_arg("-w", optarg, 0, 100);
			break;
		case 's':
			sleep_ms = num_arg("-s", optarg, 0, 10000);
			break;
		case 'o':
			raw = optarg;
			break;
		case 'l':
			label = optarg;
			break;
		case 'b':
			b2b = true;
			break;
		default:
			usage();
		}
	}
	if (argc - optind != 2)
		usage();
	for (int i = 0; i < 2; i++)
		if (split(argv[optind + i], &c[i]) < 0) {
			fprintf(stderr, "mc-rt-paired: command %d: empty or more than %d words\n",
				i + 1, MAX_ARGS);
			return 2;
		}
	if (raw && !(out = fopen(raw, "w"))) {
		fprintf(stderr, "mc-rt-paired: %s: %s\n", raw, strerror(errno));
		return 1;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
	t[0] = calloc((size_t)pairs, sizeof(double));
	t[1] = calloc((size_t)pairs, sizeof(double));
	ratio = calloc((size_t)pairs, sizeof(double));
	if (!t[0] || !t[1] || !ratio)
		return 1;
	for (long i = 0; i < warm; i++)
		for (int j = 0; j < 2; j++)
			if (!run_once(&c[j], &fa))
				return 1;
	if (out)
		fprintf(out, "label,pair,slot,cmd,ns\n");
	for (long i = 0; i < pairs; i++) {
		for (int slot = 0; slot < 2; slot++) {
			/* A B, B A, A B, ...: each command first in half of the pairs. */
			int j = (int)((i + slot) % 2);
			uint64_t ns;

			if (sleep_ms) {
				struct timespec ts = { sleep_ms / 1000,
						       (sleep_ms % 1000) * 1000000 };

				nanosleep(&ts, NULL);
			}
			if (b2b && !run_once(&c[j], &fa))
				return 1;
			ns = run_once(&c[j], &fa);
			if (!ns)
				return 1;
			t[j][i] = (double)ns / 1e6;
			if (out)
				fprintf(out, "%s,%ld,%d,%c,%llu\n", label, i, slot, 'A' + j,
					(unsigned long long)ns);
		}
		ratio[i] = t[0][i] / t[1][i];
		wins += ratio[i] < 1;
	}
	if (out)
		fclose(out);
	med[0] = median(t[0], (int)pairs);
	med[1] = median(t[1], (int)pairs);
	mr = median(ratio, (int)pairs);
	k = ci_rank((int)pairs);
	printf("%s: A median %.2f ms (min %.2f), B median %.2f ms (min %.2f), "
	       "ratio of medians %.3f, median of pair ratios %.3f",
	       label, med[0], t[0][0], med[1], t[1][0], med[0] / med[1], mr);
	if (k > 0)
		printf(", 95%% CI [%.3f, %.3f]", ratio[k - 1], ratio[pairs - k]);
	printf(", A faster in %d of %ld pairs\n", wins, pairs);
	return 0;
}
