/* SPDX-License-Identifier: MIT */
/*
 * main.c: the `lox` command: run a script (`lox FILE`) or a REPL (`lox`). Exit codes
 * follow the reference interpreters: 64 usage, 65 compile error, 70 runtime error,
 * 74 unreadable file. The interpreter runs on a thread with a large stack so deep
 * (but finite) recursion works; deeper still is a clean "Stack overflow.".
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mc/lox.h>
#include <mc/util.h>

#define EX_USAGE 64
#define EX_IOERR 74
#define LOX_THREAD_STACK (64u << 20)
#define LOX_MAX_SOURCE (1u << 30)

struct job {
	const char *path;
	bool gc_stress;
	int status;
};

static void usage(FILE *f)
{
	fputs("Usage: lox [--gc-stress] [script]\n"
	      "Runs a Lox script, or a REPL when no script is given.\n"
	      "  --gc-stress  collect garbage before every allocation (also LOX_GC_STRESS=1)\n",
	      f);
}

static int run_file(struct job *job)
{
	struct mc_err err = { 0 };
	char *src = NULL;
	size_t len = 0;

	if (mc_fs_read_file(job->path, &src, &len, LOX_MAX_SOURCE, &err) < 0) {
		fprintf(stderr, "lox: %s\n", err.msg);
		return EX_IOERR;
	}
	struct mc_lox_opts opts = { .gc_stress = job->gc_stress };
	struct mc_lox_vm *vm = mc_lox_vm_new(&opts);
	if (!vm) {
		free(src);
		fprintf(stderr, "lox: create interpreter: %s\n", strerror(ENOMEM));
		return 70;
	}
	int r = mc_lox_vm_interpret(vm, src, len);
	mc_lox_vm_free(vm);
	free(src);
	return r;
}

static int repl(struct job *job)
{
	struct mc_lox_opts opts = { .gc_stress = job->gc_stress };
	struct mc_lox_vm *vm = mc_lox_vm_new(&opts);
	bool tty = isatty(STDIN_FILENO);
	char *line = NULL;
	size_t cap = 0;

	if (!vm) {
		fprintf(stderr, "lox: create interpreter: %s\n", strerror(ENOMEM));
		return 70;
	}
	for (;;) {
		if (tty) {
			fputs("> ", stdout);
			fflush(stdout);
		}
		ssize_t n = getline(&line, &cap, stdin);
		if (n < 0)
			break;
		/* Errors are printed and the session goes on, with its globals intact. */
		mc_lox_vm_interpret(vm, line, (size_t)n);
	}
	if (tty)
		fputc('\n', stdout);
	free(line);
	mc_lox_vm_free(vm);
	return 0;
}

static void *run(void *arg)
{
	struct job *job = arg;

	job->status = job->path ? run_file(job) : repl(job);
	return NULL;
}

int main(int argc, char **argv)
{
	struct job job = { 0 };
	const char *env = getenv("LOX_GC_STRESS");

	job.gc_stress = env && *env && strcmp(env, "0") != 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--gc-stress") == 0) {
			job.gc_stress = true;
		} else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			usage(stdout);
			return 0;
		} else if (a[0] == '-' && a[1] != '\0') {
			fprintf(stderr, "lox: unknown option `%s`\n", a);
			usage(stderr);
			return EX_USAGE;
		} else if (job.path) {
			usage(stderr);
			return EX_USAGE;
		} else {
			job.path = a;
		}
	}

	pthread_attr_t attr;
	pthread_t t;
	int e = pthread_attr_init(&attr);
	if (e == 0)
		e = pthread_attr_setstacksize(&attr, LOX_THREAD_STACK);
	if (e == 0)
		e = pthread_create(&t, &attr, run, &job);
	if (e != 0) {
		/* Best-effort: without the big thread, run here with the default stack. */
		run(&job);
	} else {
		pthread_join(t, NULL);
	}
	pthread_attr_destroy(&attr);
	fflush(stdout);
	return job.status;
}
