/* SPDX-License-Identifier: MIT */
/*
 * resolver.c: the static-scope pass. Every variable use becomes a frame slot, a cell
 * in a frame slot (for locals some closure captures), an upvalue index of the running
 * closure, or a global index; it also reports the reference tree-walker's static
 * errors (redeclaration, self-initializer, misplaced return/this/super).
 */
#include <stdlib.h>

#include "internal.h"

struct rlocal {
	struct lstr *name;
	int depth;
	bool defined;
	bool captured;
	struct lox_node *refs; /* every node naming this local, chained by next_ref */
};

enum class_kind {
	CLASS_NONE,
	CLASS_PLAIN,
	CLASS_SUB
};

struct rfn {
	struct rfn *enclosing;
	struct lfn *fn;
	struct rlocal *locals;
	int nlocals, caplocals;
	int scope_depth;
	int capups;
};

struct resolver {
	struct mc_lox_vm *vm;
	struct rfn *cur;
	enum class_kind cls;
	bool had_error;
};

static void rerror(struct resolver *r, int line, const char *lexeme, const char *msg)
{
	r->had_error = true;
	if (r->vm->err)
		fprintf(r->vm->err, "[line %d] Error at '%s': %s\n", line, lexeme, msg);
}

static void *grow(struct mc_lox_vm *vm, void *p, int *cap, int n, size_t elem)
{
	if (n < *cap)
		return p;
	int ncap = *cap ? *cap * 2 : 16;
	void *q = realloc(p, (size_t)ncap * elem);
	if (!q) {
		free(p);
		lox_oom(vm);
	}
	*cap = ncap;
	return q;
}

static void add_local(struct resolver *r, struct lstr *name, bool defined)
{
	struct rfn *f = r->cur;

	f->locals = grow(r->vm, f->locals, &f->caplocals, f->nlocals, sizeof(*f->locals));
	f->locals[f->nlocals++] = (struct rlocal){
		.name = name,
		.depth = f->scope_depth,
		.defined = defined,
	};
	if (f->nlocals > f->fn->nslots)
		f->fn->nslots = f->nlocals;
}

static void add_ref(struct rlocal *l, struct lox_node *n)
{
	n->u.var.next_ref = l->refs;
	l->refs = n;
}

/* A captured local lives in a cell: switch every use to the cell variant. */
static void retire_local(struct rlocal *l)
{
	if (!l->captured)
		return;
	for (struct lox_node *n = l->refs; n; n = n->u.var.next_ref) {
		switch (n->op) {
		case X_LOCAL:
			n->op = X_LOCAL_CELL;
			break;
		case X_SET_LOCAL:
			n->op = X_SET_LOCAL_CELL;
			break;
		case S_VAR_LOCAL:
			n->op = S_VAR_CELL;
			break;
		case S_FUN:
		case S_CLASS:
			if (n->bind == S_VAR_LOCAL)
				n->bind = S_VAR_CELL;
			break;
		default:
			break;
		}
	}
}

static void begin_scope(struct resolver *r)
{
	r->cur->scope_depth++;
}

static void end_scope(struct resolver *r)
{
	struct rfn *f = r->cur;

	f->scope_depth--;
	while (f->nlocals > 0 && f->locals[f->nlocals - 1].depth > f->scope_depth)
		retire_local(&f->locals[--f->nlocals]);
}

/* S_VAR becomes the storage class; S_FUN and S_CLASS keep their op and record it. */
static void set_bind(struct lox_node *n, enum lox_op kind)
{
	if (n->op == S_FUN || n->op == S_CLASS)
		n->bind = (uint8_t)kind;
	else
		n->op = (uint8_t)kind;
}

/* Declares @n (a declaring node) in the current scope and defines it when asked. */
static void declare(struct resolver *r, struct lox_node *n, bool define)
{
	struct rfn *f = r->cur;

	if (f->scope_depth == 0) {
		set_bind(n, S_VAR_GLOBAL);
		n->u.var.slot = lox_global_slot(r->vm, n->u.var.name);
		return;
	}
	for (int i = f->nlocals - 1; i >= 0; i--) {
		struct rlocal *l = &f->locals[i];
		if (l->depth < f->scope_depth)
			break;
		if (l->name == n->u.var.name) {
			rerror(r, n->line, n->u.var.name->chars,
			       "Already a variable with this name in this scope.");
			break;
		}
	}
	set_bind(n, S_VAR_LOCAL);
	n->u.var.slot = f->nlocals;
	add_local(r, n->u.var.name, define);
	add_ref(&f->locals[f->nlocals - 1], n);
}

static void define_last(struct resolver *r)
{
	if (r->cur->scope_depth > 0)
		r->cur->locals[r->cur->nlocals - 1].defined = true;
}

static int find_local(struct rfn *f, struct lstr *name)
{
	for (int i = f->nlocals - 1; i >= 0; i--)
		if (f->locals[i].name == name)
			return i;
	return -1;
}

static int add_upvalue(struct resolver *r, struct rfn *f, bool is_local, int index)
{
	struct lfn *fn = f->fn;

	for (int i = 0; i < fn->nup; i++)
		if (fn->ups[i].is_local == is_local && fn->ups[i].index == index)
			return i;
	fn->ups = grow(r->vm, fn->ups, &f->capups, fn->nup, sizeof(*fn->ups));
	fn->ups[fn->nup] = (struct lupdesc){ .is_local = is_local, .index = index };
	return fn->nup++;
}

static int find_upvalue(struct resolver *r, struct rfn *f, struct lstr *name)
{
	if (!f->enclosing)
		return -1;
	int local = find_local(f->enclosing, name);
	if (local >= 0) {
		f->enclosing->locals[local].captured = true;
		return add_upvalue(r, f, true, local);
	}
	int up = find_upvalue(r, f->enclosing, name);
	if (up >= 0)
		return add_upvalue(r, f, false, up);
	return -1;
}

/* Resolves an X_VAR (or X_ASSIGN when @set) node in place. */
static void resolve_ref(struct resolver *r, struct lox_node *n, bool set)
{
	struct rfn *f = r->cur;
	struct lstr *name = n->u.var.name;
	int i = find_local(f, name);

	if (i >= 0) {
		if (!set && !f->locals[i].defined)
			rerror(r, n->line, name->chars,
			       "Can't read local variable in its own initializer.");
		n->op = set ? X_SET_LOCAL : X_LOCAL;
		n->u.var.slot = i;
		add_ref(&f->locals[i], n);
		return;
	}
	i = find_upvalue(r, f, name);
	if (i >= 0) {
		n->op = set ? X_SET_UPVAL : X_UPVAL;
		n->u.var.slot = i;
		return;
	}
	n->op = set ? X_SET_GLOBAL : X_GLOBAL;
	n->u.var.slot = lox_global_slot(r->vm, name);
}

static void expr(struct resolver *r, struct lox_node *n);
static void stmt(struct resolver *r, struct lox_node *n);

static bool simple(const struct lox_node *n)
{
	switch (n->op) {
	case X_CONST:
	case X_LOCAL:
	case X_LOCAL_CELL:
	case X_UPVAL:
	case X_GLOBAL:
		return true;
	default:
		return false;
	}
}

static void args(struct resolver *r, struct lox_node **a, int n)
{
	for (int i = 0; i < n; i++)
		expr(r, a[i]);
}

static void expr(struct resolver *r, struct lox_node *n)
{
	switch (n->op) {
	case X_CONST:
		break;
	case X_VAR:
		if (n->u.var.name == r->vm->this_str && r->cls == CLASS_NONE) {
			rerror(r, n->line, "this", "Can't use 'this' outside of a class.");
			break;
		}
		resolve_ref(r, n, false);
		break;
	case X_ASSIGN:
		expr(r, n->u.var.value);
		resolve_ref(r, n, true);
		break;
	case X_NEG:
	case X_NOT:
		expr(r, n->u.k.a);
		break;
	case X_ADD:
	case X_SUB:
	case X_MUL:
	case X_DIV:
	case X_LT:
	case X_LE:
	case X_GT:
	case X_GE:
	case X_EQ:
	case X_NE:
	case X_AND:
	case X_OR:
		expr(r, n->u.k.a);
		expr(r, n->u.k.b);
		break;
	case X_CALL:
		expr(r, n->u.call.callee);
		args(r, n->u.call.args, n->nargs);
		break;
	case X_GET:
		expr(r, n->u.prop.obj);
		break;
	case X_SET:
		expr(r, n->u.prop.value);
		expr(r, n->u.prop.obj);
		break;
	case X_INVOKE:
		expr(r, n->u.prop.obj);
		args(r, n->u.prop.args, n->nargs);
		break;
	case X_SUPER_GET:
	case X_SUPER_INVOKE:
		if (r->cls == CLASS_NONE)
			rerror(r, n->line, "super", "Can't use 'super' outside of a class.");
		else if (r->cls != CLASS_SUB)
			rerror(r, n->line, "super",
			       "Can't use 'super' in a class with no superclass.");
		else {
			resolve_ref(r, n->u.prop.obj, false);
			resolve_ref(r, n->u.prop.super, false);
		}
		if (n->op == X_SUPER_INVOKE)
			args(r, n->u.prop.args, n->nargs);
		break;
	default:
		break;
	}
	if (n->op >= X_ADD && n->op <= X_NE)
		n->simple_rhs = simple(n->u.k.b);
}

static void function(struct resolver *r, struct lfn *fn)
{
	struct rfn f = { .enclosing = r->cur, .fn = fn };

	r->cur = &f;
	begin_scope(r);
	/* Slot 0: the receiver of a method, unnamed (the callee) for a function. */
	add_local(r, fn->kind == FN_METHOD || fn->kind == FN_INIT ? r->vm->this_str : NULL, true);
	for (int i = 0; i < fn->arity; i++) {
		declare(r, fn->params[i], true);
	}
	for (int i = 0; i < fn->nbody; i++)
		stmt(r, fn->body[i]);

	/* Boxed at entry: the receiver and parameters that closures capture. */
	int ncell = 0;
	for (int i = 0; i <= fn->arity && i < f.nlocals; i++)
		ncell += f.locals[i].captured;
	if (ncell) {
		fn->cellp = lox_arena_alloc(r->vm, (size_t)ncell * sizeof(int));
		for (int i = 0; i <= fn->arity && i < f.nlocals; i++)
			if (f.locals[i].captured)
				fn->cellp[fn->ncellp++] = i;
	}
	while (f.nlocals > 0)
		retire_local(&f.locals[--f.nlocals]);
	/* The upvalue table moves to the arena so the AST owns all of its memory. */
	if (fn->nup) {
		struct lupdesc *ups = lox_arena_alloc(r->vm, (size_t)fn->nup * sizeof(*ups));
		memcpy(ups, fn->ups, (size_t)fn->nup * sizeof(*ups));
		free(fn->ups);
		fn->ups = ups;
	} else {
		free(fn->ups);
		fn->ups = NULL;
	}
	free(f.locals);
	r->cur = f.enclosing;
}

static void class_stmt(struct resolver *r, struct lox_node *n)
{
	struct lox_node *c = n->u.var.decl;
	enum class_kind enclosing = r->cls;

	declare(r, n, true);
	r->cls = CLASS_PLAIN;
	if (c->u.cls.superclass) {
		if (c->u.cls.superclass->u.var.name == c->u.cls.name)
			rerror(r, c->u.cls.super_line, c->u.cls.name->chars,
			       "A class can't inherit from itself.");
		r->cls = CLASS_SUB;
		resolve_ref(r, c->u.cls.superclass, false);
		begin_scope(r);
		declare(r, c->u.cls.super_decl, true);
	}
	for (int i = 0; i < c->u.cls.nmethods; i++)
		function(r, c->u.cls.methods[i]);
	if (c->u.cls.superclass)
		end_scope(r);
	r->cls = enclosing;
}

static void stmt(struct resolver *r, struct lox_node *n)
{
	switch (n->op) {
	case S_EXPR:
	case S_PRINT:
		expr(r, n->u.k.a);
		break;
	case S_VAR:
		declare(r, n, false);
		if (n->u.var.value)
			expr(r, n->u.var.value);
		define_last(r);
		break;
	case S_BLOCK:
		begin_scope(r);
		for (int i = 0; i < n->u.block.n; i++)
			stmt(r, n->u.block.stmts[i]);
		end_scope(r);
		break;
	case S_IF:
		expr(r, n->u.k.a);
		stmt(r, n->u.k.b);
		if (n->u.k.c)
			stmt(r, n->u.k.c);
		break;
	case S_WHILE:
		expr(r, n->u.k.a);
		stmt(r, n->u.k.b);
		if (n->u.k.c)
			expr(r, n->u.k.c);
		break;
	case S_RETURN:
		if (r->cur->fn->kind == FN_SCRIPT)
			rerror(r, n->line, "return", "Can't return from top-level code.");
		if (n->u.k.a) {
			if (r->cur->fn->kind == FN_INIT)
				rerror(r, n->line, "return",
				       "Can't return a value from an initializer.");
			expr(r, n->u.k.a);
		}
		break;
	case S_FUN:
		declare(r, n, true);
		function(r, n->u.var.decl->u.fn);
		break;
	case S_CLASS:
		class_stmt(r, n);
		break;
	default:
		break;
	}
}

bool lox_resolve(struct mc_lox_vm *vm, struct lfn *script)
{
	struct resolver r = { .vm = vm };
	struct rfn f = { .fn = script };

	r.cur = &f;
	add_local(&r, NULL, true);
	for (int i = 0; i < script->nbody; i++)
		stmt(&r, script->body[i]);
	while (f.nlocals > 0)
		retire_local(&f.locals[--f.nlocals]);
	free(f.locals);
	return !r.had_error;
}
