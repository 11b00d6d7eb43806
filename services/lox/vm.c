/* SPDX-License-Identifier: MIT */
/*
 * vm.c: the public API: VM lifecycle and the scan -> parse -> resolve -> run
 * pipeline, with the error unwinding (runtime errors and out-of-memory longjmp back
 * here) and the C stack bound that turns deep recursion into "Stack overflow.".
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "internal.h"

/* Stack the evaluator may not use: room for the error path and libc underneath. */
#define C_STACK_RESERVE (256 * 1024)

static struct mc_lox_vm *vm_create(const struct mc_lox_opts *opts, size_t stack_slots)
{
	struct mc_lox_vm *volatile vm = calloc(1, sizeof(*vm));

	if (!vm)
		return NULL;
	vm->out = opts && opts->out ? opts->out : stdout;
	vm->err = opts && opts->err ? opts->err : stderr;
	vm->gc_stress = opts && opts->gc_stress;
	vm->stack = malloc(stack_slots * sizeof(lval));
	if (!vm->stack) {
		free(vm);
		return NULL;
	}
	vm->sp = vm->stack;
	vm->stack_end = vm->stack + stack_slots;
	vm->next_gc = 1u << 20;
	vm->ret = V_NIL;

	/* Interning the well-known names can run out of memory: catch it here too. */
	jmp_buf jb;
	vm->on_error = &jb;
	if (setjmp(jb)) {
		vm->on_error = NULL;
		mc_lox_vm_free(vm);
		return NULL;
	}
	vm->init_str = lox_str_const(vm, "init", 4);
	vm->this_str = lox_str_const(vm, "this", 4);
	vm->super_str = lox_str_const(vm, "super", 5);
	vm->empty_str = lox_str_const(vm, "", 0);
	lox_define_natives(vm);
	vm->on_error = NULL;
	return vm;
}

struct mc_lox_vm *mc_lox_vm_new(const struct mc_lox_opts *opts)
{
	return vm_create(opts, LOX_STACK_MAX);
}

void mc_lox_vm_free(struct mc_lox_vm *vm)
{
	if (!vm)
		return;
	lox_gc_free_all(vm);
	lox_table_release(vm, &vm->strings);
	lox_table_release(vm, &vm->global_index);
	lox_pool_release(vm);
	while (vm->arena) {
		struct lox_arena_chunk *next = vm->arena->next;
		free(vm->arena);
		vm->arena = next;
	}
	free(vm->globals);
	free(vm->consts);
	free(vm->scratch);
	free(vm->stack);
	free(vm);
}

void mc_lox_vm_stats(const struct mc_lox_vm *vm, struct mc_lox_stats *st)
{
	st->collections = vm->collections;
	st->bytes_allocated = vm->bytes_allocated;
	st->bytes_freed = vm->bytes_freed;
	st->objects_live = vm->objects_live;
}

/* The lowest address the evaluator may reach on this thread's stack. */
static const char *c_stack_limit(void)
{
	pthread_attr_t attr;
	void *addr = NULL;
	size_t size = 0;
	const char *here = __builtin_frame_address(0);

	if (pthread_getattr_np(pthread_self(), &attr) == 0) {
		if (pthread_attr_getstack(&attr, &addr, &size) != 0)
			addr = NULL;
		pthread_attr_destroy(&attr);
	}
	if (!addr || here < (const char *)addr || here > (const char *)addr + size) {
		/* Best-effort: unknown bounds; assume the common 8 MiB main stack. */
		return here - (8u << 20) + C_STACK_RESERVE;
	}
	size_t reserve = C_STACK_RESERVE;
	if (size < 4 * reserve)
		reserve = size / 4;
	return (const char *)addr + reserve;
}

enum phase {
	PH_COMPILE,
	PH_RUN
};

static enum mc_lox_result run_source(struct mc_lox_vm *vm, const char *src, size_t len,
				     bool execute)
{
	jmp_buf jb;
	struct lox_token *volatile toks = NULL;
	volatile enum phase phase = PH_COMPILE;
	bool scan_error = false;
	size_t ntok;

	vm->on_error = &jb;
	vm->had_error = false;
	int jumped = setjmp(jb);
	if (jumped) {
		free(toks);
		vm->sp = vm->stack;
		vm->frame = NULL;
		vm->on_error = NULL;
		if (jumped == 2 && vm->err)
			fprintf(vm->err, "Out of memory.\n");
		if (vm->out)
			fflush(vm->out);
		return phase == PH_COMPILE ? MC_LOX_COMPILE_ERROR : MC_LOX_RUNTIME_ERROR;
	}
	toks = lox_scan(src, len, vm->err, &scan_error, &ntok);
	if (!toks)
		lox_oom(vm);
	struct lfn *script = lox_parse(vm, toks);
	free(toks);
	toks = NULL;
	if (!script || scan_error || !lox_resolve(vm, script)) {
		vm->on_error = NULL;
		return MC_LOX_COMPILE_ERROR;
	}
	if (execute) {
		phase = PH_RUN;
		vm->c_stack_limit = c_stack_limit();
		lox_run(vm, script);
		if (vm->out)
			fflush(vm->out);
	}
	vm->on_error = NULL;
	return MC_LOX_OK;
}

enum mc_lox_result mc_lox_vm_interpret(struct mc_lox_vm *vm, const char *src, size_t len)
{
	return run_source(vm, src, len, true);
}

int mc_lox_check(const char *src, size_t len, FILE *err)
{
	FILE *sink = NULL;

	if (!err) {
		sink = fopen("/dev/null", "w");
		if (!sink)
			return -errno;
		err = sink;
	}
	struct mc_lox_opts opts = { .out = err, .err = err };
	struct mc_lox_vm *vm = vm_create(&opts, 16);
	if (!vm) {
		if (sink)
			fclose(sink);
		return -ENOMEM;
	}
	int r = run_source(vm, src, len, false);
	mc_lox_vm_free(vm);
	if (sink)
		fclose(sink);
	return r;
}
