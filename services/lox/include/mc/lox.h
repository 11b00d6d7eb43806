/* SPDX-License-Identifier: MIT */
/*
 * lox.h: libmclox, a tree-walking interpreter for Lox (the language of "Crafting
 * Interpreters") with resolved variable slots, interned strings and a mark-sweep GC.
 */
#ifndef MC_LOX_H
#define MC_LOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Results of mc_lox_vm_interpret; the values are the sysexits the CLI uses. */
enum mc_lox_result {
	MC_LOX_OK = 0,
	MC_LOX_COMPILE_ERROR = 65, /* scan, parse or resolve error */
	MC_LOX_RUNTIME_ERROR = 70,
};

struct mc_lox_opts {
	FILE *out;	/* `print` goes here (stdout when NULL) */
	FILE *err;	/* compile and runtime errors (stderr when NULL) */
	bool gc_stress; /* collect garbage before every object allocation */
};

struct mc_lox_stats {
	uint64_t collections;	  /* garbage collections run so far */
	uint64_t bytes_allocated; /* heap bytes the GC accounts for right now */
	uint64_t bytes_freed;	  /* total bytes freed by collections */
	uint64_t objects_live;	  /* heap objects alive right now */
};

struct mc_lox_vm;

/*
 * mc_lox_vm_new: a fresh interpreter with the native clock() defined. @opts may be NULL.
 * Returns NULL when out of memory. Not thread-safe: one thread uses a VM at a time.
 */
struct mc_lox_vm *mc_lox_vm_new(const struct mc_lox_opts *opts);

/* mc_lox_vm_free: releases the VM and every object and AST it holds; NULL is a no-op. */
void mc_lox_vm_free(struct mc_lox_vm *vm);

/*
 * mc_lox_vm_interpret: scans, parses, resolves and runs @src (@len bytes, NUL bytes are
 * "Unexpected character."). Globals persist across calls on one VM (the REPL relies on
 * it). Errors are printed to opts->err in the reference format (`[line N] Error at
 * 'x': ...` or the runtime message followed by a `[line N]` trace). Deep recursion is
 * the runtime error "Stack overflow.", checked against the calling thread's stack.
 */
enum mc_lox_result mc_lox_vm_interpret(struct mc_lox_vm *vm, const char *src, size_t len);

/* mc_lox_vm_stats: GC counters (for tests and benchmarks). */
void mc_lox_vm_stats(const struct mc_lox_vm *vm, struct mc_lox_stats *st);

/*
 * mc_lox_check: scans, parses and resolves @src without running it, errors to @err
 * (NULL: discarded). Returns MC_LOX_OK or MC_LOX_COMPILE_ERROR; -ENOMEM when out of
 * memory. This is the fuzzing entry point.
 */
int mc_lox_check(const char *src, size_t len, FILE *err);

#endif
