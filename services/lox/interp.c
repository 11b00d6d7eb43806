/* SPDX-License-Identifier: MIT */
/*
 * interp.c: the evaluator. It walks the resolved AST with the current frame (fp: a
 * window of the value stack) and closure in registers: locals are fp[slot], captured
 * locals a cell in fp[slot], upvalues cl->up[i], globals vm->globals[i]. A call
 * pushes the callee and its arguments where the new frame starts, so no call
 * allocates; a runtime error longjmps to mc_lox_vm_interpret.
 *
 * GC discipline: a collection can only start inside lox_alloc_obj. Any object a C
 * local holds across an evaluation or allocation is first pushed on the value stack.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <time.h>

#include "internal.h"

#define EVAL(x) eval(vm, (x), fp, cl)
/* Constants and plain locals are read in place: no call for the commonest leaves. */
#define LEAF(x)                                                                                    \
	((x)->op == X_CONST ? (x)->u.val : (x)->op == X_LOCAL ? fp[(x)->u.var.slot] : EVAL(x))
#define EXEC(x) exec(vm, (x), fp, cl)
#define PUSH(v) (*vm->sp++ = (v))
#define POP() (*--vm->sp)

/* Room every frame keeps above itself for temporaries of nested expressions. */
#define STACK_MARGIN 4096

static lval eval(struct mc_lox_vm *vm, struct lox_node *n, lval *fp, struct lclosure *cl);

static const char *fn_name(const struct lclosure *cl)
{
	return cl ? cl->fn->name->chars : NULL;
}

static _Noreturn __attribute__((format(printf, 3, 4))) void rt_error(struct mc_lox_vm *vm, int line,
								     const char *fmt, ...)
{
	va_list ap;

	if (vm->out)
		fflush(vm->out);
	if (vm->err) {
		va_start(ap, fmt);
		vfprintf(vm->err, fmt, ap);
		va_end(ap);
		fputc('\n', vm->err);
		/* Innermost first: the failing line, then each call site outwards. */
		int n = 0;
		for (struct lox_frame *f = vm->frame; f; f = f->prev) {
			const char *name = fn_name(f->cl);
			if (n++ < 64 || !f->prev) {
				if (name)
					fprintf(vm->err, "[line %d] in %s()\n", line, name);
				else
					fprintf(vm->err, "[line %d] in script\n", line);
			} else if (n == 65) {
				fprintf(vm->err, "...\n");
			}
			line = f->call_line;
		}
		fflush(vm->err);
	}
	vm->had_error = true;
	longjmp(*vm->on_error, 1);
}

int lox_global_slot(struct mc_lox_vm *vm, struct lstr *name)
{
	struct lentry *e = lox_table_find(&vm->global_index, name);

	if (e)
		return (int)v_num(e->v);
	if (vm->nglobals == vm->capglobals) {
		int cap = vm->capglobals ? vm->capglobals * 2 : 64;
		struct lglobal *g = realloc(vm->globals, (size_t)cap * sizeof(*g));
		if (!g)
			lox_oom(vm);
		vm->globals = g;
		vm->capglobals = cap;
	}
	int slot = vm->nglobals++;
	vm->globals[slot] = (struct lglobal){ .v = V_UNDEF, .name = name };
	lox_table_set(vm, &vm->global_index, name, v_from_num(slot));
	return slot;
}

/* ---- printing ---- */

void lox_print_value(FILE *f, lval v)
{
	if (v_is_num(v)) {
		double d = v_num(v);
		if (d != d)
			fputs("nan", f);
		else
			fprintf(f, "%g", d);
		return;
	}
	switch (v) {
	case V_NIL:
		fputs("nil", f);
		return;
	case V_TRUE:
		fputs("true", f);
		return;
	case V_FALSE:
		fputs("false", f);
		return;
	default:
		break;
	}
	struct lobj *o = v_obj(v);
	switch (o->type) {
	case O_STRING:
		fwrite(((struct lstr *)o)->chars, 1, ((struct lstr *)o)->len, f);
		break;
	case O_CLOSURE:
		fprintf(f, "<fn %s>", ((struct lclosure *)o)->fn->name->chars);
		break;
	case O_BOUND:
		fprintf(f, "<fn %s>", ((struct lbound *)o)->m->fn->name->chars);
		break;
	case O_NATIVE:
		fputs("<native fn>", f);
		break;
	case O_CLASS:
		fputs(((struct lclass *)o)->name->chars, f);
		break;
	case O_INSTANCE:
		fprintf(f, "%s instance", ((struct linst *)o)->klass->name->chars);
		break;
	case O_CELL:
		fputs("<cell>", f);
		break;
	}
}

/* ---- calls ---- */

static int exec(struct mc_lox_vm *vm, struct lox_node *n, lval *fp, struct lclosure *cl);

/*
 * Calls closure @c with the frame at @base: base[0] is the callee or receiver,
 * base[1..argc] the arguments, vm->sp == base + 1 + argc. Returns with vm->sp == base.
 */
static lval call_closure(struct mc_lox_vm *vm, struct lclosure *c, lval *base, int argc, int line)
{
	struct lfn *fn = c->fn;

	if (LOX_UNLIKELY(argc != fn->arity))
		rt_error(vm, line, "Expected %d arguments but got %d.", fn->arity, argc);
	if (LOX_UNLIKELY(vm->stack_end - base < fn->nslots + STACK_MARGIN ||
			 (const char *)__builtin_frame_address(0) < vm->c_stack_limit))
		rt_error(vm, line, "Stack overflow.");

	lval recv = base[0];
	vm->sp = base + fn->nslots;
	for (lval *p = base + 1 + argc; p < vm->sp; p++)
		*p = V_NIL;
	struct lox_frame fr = { .prev = vm->frame, .cl = c, .call_line = line };
	vm->frame = &fr;
	for (int i = 0; i < fn->ncellp; i++) {
		/* The value stays rooted in its slot until the cell replaces it. */
		struct lcell *cell = lox_cell_new(vm, V_NIL);
		cell->v = base[fn->cellp[i]];
		base[fn->cellp[i]] = v_from_obj(cell);
	}

	lval result = V_NIL;
	struct lox_node **body = fn->body;
	for (int i = 0, nb = fn->nbody; i < nb; i++) {
		if (exec(vm, body[i], base, c)) {
			result = vm->ret;
			break;
		}
	}
	if (fn->kind == FN_INIT)
		result = recv;
	vm->frame = fr.prev;
	vm->sp = base;
	return result;
}

static lval call_value(struct mc_lox_vm *vm, lval *base, int argc, int line)
{
	lval callee = base[0];

	if (LOX_LIKELY(v_is_obj(callee))) {
		struct lobj *o = v_obj(callee);
		switch (o->type) {
		case O_CLOSURE:
			return call_closure(vm, (struct lclosure *)o, base, argc, line);
		case O_BOUND: {
			struct lbound *b = (struct lbound *)o;
			base[0] = b->recv;
			/* The method stays reachable: the frame record roots it. */
			return call_closure(vm, b->m, base, argc, line);
		}
		case O_CLASS: {
			struct lclass *k = (struct lclass *)o;
			struct linst *inst = lox_inst_new(vm, k);
			base[0] = v_from_obj(inst);
			if (k->init)
				return call_closure(vm, k->init, base, argc, line);
			if (argc != 0)
				rt_error(vm, line, "Expected 0 arguments but got %d.", argc);
			vm->sp = base;
			return base[0];
		}
		case O_NATIVE: {
			struct lnative *nat = (struct lnative *)o;
			if (argc != nat->arity)
				rt_error(vm, line, "Expected %d arguments but got %d.", nat->arity,
					 argc);
			lval r = nat->fn(vm, base + 1);
			vm->sp = base;
			return r;
		}
		default:
			break;
		}
	}
	rt_error(vm, line, "Can only call functions and classes.");
}

static struct lclosure *make_closure(struct mc_lox_vm *vm, struct lfn *fn, lval *fp,
				     struct lclosure *cl)
{
	struct lclosure *c = lox_closure_new(vm, fn);

	for (int i = 0; i < fn->nup; i++) {
		const struct lupdesc *u = &fn->ups[i];
		c->up[i] = u->is_local ? (struct lcell *)v_obj(fp[u->index]) : cl->up[u->index];
	}
	return c;
}

/* ---- properties ---- */

static struct lclosure *find_method(struct mc_lox_vm *vm, struct lox_node *n, struct lclass *k)
{
	if (LOX_LIKELY(n->u.prop.ic_id == k->id))
		return n->u.prop.ic_m;
	struct lentry *e = lox_table_find(&k->methods, n->u.prop.name);
	if (!e)
		return NULL;
	n->u.prop.ic_id = k->id;
	n->u.prop.ic_m = (struct lclosure *)v_obj(e->v);
	return n->u.prop.ic_m;
}

static lval concat(struct mc_lox_vm *vm, struct lstr *a, struct lstr *b)
{
	size_t len = (size_t)a->len + b->len;

	if (len > vm->scratch_cap) {
		size_t cap = vm->scratch_cap ? vm->scratch_cap : 256;
		while (cap < len)
			cap *= 2;
		char *s = realloc(vm->scratch, cap);
		if (!s)
			lox_oom(vm);
		vm->scratch = s;
		vm->scratch_cap = cap;
	}
	memcpy(vm->scratch, a->chars, a->len);
	memcpy(vm->scratch + a->len, b->chars, b->len);
	/* @a and @b may be collected from here on: the bytes are in the scratch buffer. */
	return v_from_obj(lox_str_intern(vm, vm->scratch, len));
}

static inline bool v_equal(lval a, lval b)
{
	if (v_is_num(a) && v_is_num(b))
		return v_num(a) == v_num(b);
	return a == b;
}

/* Both operands of a binary node; the left one stays rooted while the right runs. */
#define OPERANDS(n, a, b)                                                                          \
	do {                                                                                       \
		a = LEAF((n)->u.k.a);                                                              \
		if ((n)->simple_rhs) {                                                             \
			b = LEAF((n)->u.k.b);                                                      \
		} else {                                                                           \
			PUSH(a);                                                                   \
			b = EVAL((n)->u.k.b);                                                      \
			a = POP();                                                                 \
		}                                                                                  \
	} while (0)

#define NUM_BINOP(n, expr_)                                                                        \
	do {                                                                                       \
		lval a, b;                                                                         \
		OPERANDS(n, a, b);                                                                 \
		if (LOX_LIKELY(v_is_num(a) && v_is_num(b))) {                                      \
			double x = v_num(a), y = v_num(b);                                         \
			return expr_;                                                              \
		}                                                                                  \
		rt_error(vm, (n)->line, "Operands must be numbers.");                              \
	} while (0)

static lval eval(struct mc_lox_vm *vm, struct lox_node *n, lval *fp, struct lclosure *cl)
{
	switch ((enum lox_op)n->op) {
	case X_CONST:
		return n->u.val;
	case X_LOCAL:
		return fp[n->u.var.slot];
	case X_LOCAL_CELL:
		return ((struct lcell *)v_obj(fp[n->u.var.slot]))->v;
	case X_UPVAL:
		return cl->up[n->u.var.slot]->v;
	case X_GLOBAL: {
		lval v = vm->globals[n->u.var.slot].v;
		if (LOX_UNLIKELY(v == V_UNDEF))
			rt_error(vm, n->line, "Undefined variable '%s'.", n->u.var.name->chars);
		return v;
	}
	case X_SET_LOCAL:
		return fp[n->u.var.slot] = EVAL(n->u.var.value);
	case X_SET_LOCAL_CELL: {
		lval v = EVAL(n->u.var.value);
		((struct lcell *)v_obj(fp[n->u.var.slot]))->v = v;
		return v;
	}
	case X_SET_UPVAL: {
		lval v = EVAL(n->u.var.value);
		cl->up[n->u.var.slot]->v = v;
		return v;
	}
	case X_SET_GLOBAL: {
		lval v = EVAL(n->u.var.value);
		struct lglobal *g = &vm->globals[n->u.var.slot];
		if (LOX_UNLIKELY(g->v == V_UNDEF))
			rt_error(vm, n->line, "Undefined variable '%s'.", n->u.var.name->chars);
		g->v = v;
		return v;
	}
	case X_NEG: {
		lval v = EVAL(n->u.k.a);
		if (LOX_UNLIKELY(!v_is_num(v)))
			rt_error(vm, n->line, "Operand must be a number.");
		return v_from_num(-v_num(v));
	}
	case X_NOT:
		return v_bool(v_falsey(EVAL(n->u.k.a)));
	case X_ADD: {
		lval a, b;
		OPERANDS(n, a, b);
		if (LOX_LIKELY(v_is_num(a) && v_is_num(b)))
			return v_from_num(v_num(a) + v_num(b));
		if (v_is(a, O_STRING) && v_is(b, O_STRING))
			return concat(vm, O_AS(lstr, a), O_AS(lstr, b));
		rt_error(vm, n->line, "Operands must be two numbers or two strings.");
	}
	case X_SUB:
		NUM_BINOP(n, v_from_num(x - y));
	case X_MUL:
		NUM_BINOP(n, v_from_num(x * y));
	case X_DIV:
		NUM_BINOP(n, v_from_num(x / y));
	case X_LT:
		NUM_BINOP(n, v_bool(x < y));
	case X_LE:
		NUM_BINOP(n, v_bool(x <= y));
	case X_GT:
		NUM_BINOP(n, v_bool(x > y));
	case X_GE:
		NUM_BINOP(n, v_bool(x >= y));
	case X_EQ: {
		lval a, b;
		OPERANDS(n, a, b);
		return v_bool(v_equal(a, b));
	}
	case X_NE: {
		lval a, b;
		OPERANDS(n, a, b);
		return v_bool(!v_equal(a, b));
	}
	case X_AND: {
		lval a = EVAL(n->u.k.a);
		return v_falsey(a) ? a : EVAL(n->u.k.b);
	}
	case X_OR: {
		lval a = EVAL(n->u.k.a);
		return v_falsey(a) ? EVAL(n->u.k.b) : a;
	}
	case X_CALL: {
		lval *base = vm->sp;
		if (LOX_UNLIKELY(vm->stack_end - base < n->nargs + STACK_MARGIN))
			rt_error(vm, n->line, "Stack overflow.");
		lval f = EVAL(n->u.call.callee);
		PUSH(f);
		struct lox_node **args = n->u.call.args;
		for (int i = 0, na = n->nargs; i < na; i++) {
			lval a = LEAF(args[i]);
			PUSH(a);
		}
		return call_value(vm, base, n->nargs, n->line);
	}
	case X_INVOKE: {
		lval *base = vm->sp;
		if (LOX_UNLIKELY(vm->stack_end - base < n->nargs + STACK_MARGIN))
			rt_error(vm, n->line, "Stack overflow.");
		lval recv = EVAL(n->u.prop.obj);
		if (LOX_UNLIKELY(!v_is(recv, O_INSTANCE)))
			rt_error(vm, n->u.prop.line, "Only instances have properties.");
		struct linst *inst = O_AS(linst, recv);
		struct lentry *e = lox_table_find(&inst->fields, n->u.prop.name);
		struct lclosure *m = NULL;
		if (e) {
			PUSH(e->v);
		} else {
			m = find_method(vm, n, inst->klass);
			if (LOX_UNLIKELY(!m))
				rt_error(vm, n->u.prop.line, "Undefined property '%s'.",
					 n->u.prop.name->chars);
			PUSH(recv);
		}
		struct lox_node **args = n->u.prop.args;
		for (int i = 0, na = n->nargs; i < na; i++) {
			lval a = EVAL(args[i]);
			PUSH(a);
		}
		if (m)
			return call_closure(vm, m, base, n->nargs, n->line);
		return call_value(vm, base, n->nargs, n->line);
	}
	case X_GET: {
		lval recv = EVAL(n->u.prop.obj);
		if (LOX_UNLIKELY(!v_is(recv, O_INSTANCE)))
			rt_error(vm, n->line, "Only instances have properties.");
		struct linst *inst = O_AS(linst, recv);
		struct lentry *e = lox_table_find(&inst->fields, n->u.prop.name);
		if (e)
			return e->v;
		struct lclosure *m = find_method(vm, n, inst->klass);
		if (!m)
			rt_error(vm, n->line, "Undefined property '%s'.", n->u.prop.name->chars);
		PUSH(recv);
		lval b = v_from_obj(lox_bound_new(vm, recv, m));
		vm->sp--;
		return b;
	}
	case X_SET: {
		lval recv = EVAL(n->u.prop.obj);
		if (LOX_UNLIKELY(!v_is(recv, O_INSTANCE)))
			rt_error(vm, n->line, "Only instances have fields.");
		PUSH(recv);
		lval v = EVAL(n->u.prop.value);
		vm->sp--;
		/* Never collects (see lox_realloc), so neither value needs rooting here. */
		lox_table_set(vm, &O_AS(linst, recv)->fields, n->u.prop.name, v);
		return v;
	}
	case X_SUPER_GET:
	case X_SUPER_INVOKE: {
		lval *base = vm->sp;
		if (LOX_UNLIKELY(vm->stack_end - base < n->nargs + STACK_MARGIN))
			rt_error(vm, n->line, "Stack overflow.");
		lval recv = EVAL(n->u.prop.obj);
		struct lclass *sup = O_AS(lclass, EVAL(n->u.prop.super));
		struct lentry *e = lox_table_find(&sup->methods, n->u.prop.name);
		if (!e)
			rt_error(vm, n->u.prop.line, "Undefined property '%s'.",
				 n->u.prop.name->chars);
		struct lclosure *m = (struct lclosure *)v_obj(e->v);
		PUSH(recv);
		if (n->op == X_SUPER_GET) {
			lval b = v_from_obj(lox_bound_new(vm, recv, m));
			vm->sp = base;
			return b;
		}
		struct lox_node **args = n->u.prop.args;
		for (int i = 0, na = n->nargs; i < na; i++) {
			lval a = EVAL(args[i]);
			PUSH(a);
		}
		return call_closure(vm, m, base, n->nargs, n->line);
	}
	default:
		break;
	}
	abort(); /* statements never reach eval: the parser guarantees it */
}

/* Stores the value of a declaration (var, fun, class) into its binding. */
static void bind(struct mc_lox_vm *vm, int kind, int slot, lval v, lval *fp)
{
	switch (kind) {
	case S_VAR_LOCAL:
		fp[slot] = v;
		break;
	case S_VAR_CELL: {
		PUSH(v);
		struct lcell *c = lox_cell_new(vm, V_NIL);
		c->v = POP();
		fp[slot] = v_from_obj(c);
		break;
	}
	default:
		vm->globals[slot].v = v;
		break;
	}
}

static void exec_class(struct mc_lox_vm *vm, struct lox_node *n, lval *fp, struct lclosure *cl)
{
	struct lox_node *c = n->u.var.decl;
	struct lcell *self = NULL;
	lval *base = vm->sp;

	/* Methods may name the class: its cell must exist before they capture it. */
	if (n->bind == S_VAR_CELL) {
		self = lox_cell_new(vm, V_NIL);
		fp[n->u.var.slot] = v_from_obj(self);
	}
	struct lclass *sup = NULL;
	if (c->u.cls.superclass) {
		lval s = EVAL(c->u.cls.superclass);
		if (!v_is(s, O_CLASS))
			rt_error(vm, c->u.cls.super_line, "Superclass must be a class.");
		sup = O_AS(lclass, s);
		bind(vm, c->u.cls.super_decl->op, c->u.cls.super_decl->u.var.slot, s, fp);
		PUSH(s);
	}
	struct lclass *k = lox_class_new(vm, c->u.cls.name);
	PUSH(v_from_obj(k));
	if (sup) {
		k->super = sup;
		if (sup->methods.e) {
			for (uint32_t i = 0; i <= sup->methods.mask; i++) {
				struct lentry *e = &sup->methods.e[i];
				if (e->key)
					lox_table_set(vm, &k->methods, e->key, e->v);
			}
		}
		k->init = sup->init;
	}
	for (int i = 0; i < c->u.cls.nmethods; i++) {
		struct lfn *fn = c->u.cls.methods[i];
		struct lclosure *m = make_closure(vm, fn, fp, cl);
		lox_table_set(vm, &k->methods, fn->name, v_from_obj(m));
		if (fn->kind == FN_INIT)
			k->init = m;
	}
	if (self)
		self->v = v_from_obj(k);
	else
		bind(vm, n->bind, n->u.var.slot, v_from_obj(k), fp);
	vm->sp = base;
}

static int exec(struct mc_lox_vm *vm, struct lox_node *n, lval *fp, struct lclosure *cl)
{
	switch ((enum lox_op)n->op) {
	case S_EXPR:
		(void)LEAF(n->u.k.a);
		return 0;
	case S_PRINT: {
		lval v = EVAL(n->u.k.a);
		lox_print_value(vm->out, v);
		fputc('\n', vm->out);
		return 0;
	}
	case S_VAR_LOCAL:
		fp[n->u.var.slot] = n->u.var.value ? EVAL(n->u.var.value) : V_NIL;
		return 0;
	case S_VAR_CELL:
	case S_VAR_GLOBAL: {
		lval v = n->u.var.value ? EVAL(n->u.var.value) : V_NIL;
		bind(vm, n->op, n->u.var.slot, v, fp);
		return 0;
	}
	case S_BLOCK: {
		struct lox_node **s = n->u.block.stmts;
		for (int i = 0, ns = n->u.block.n; i < ns; i++) {
			/*
			 * Expression statements, the commonest, skip one dispatch; a bare
			 * constant or local has no effect and cannot fail, so it is not
			 * evaluated at all.
			 */
			if (s[i]->op == S_EXPR)
				(void)LEAF(s[i]->u.k.a);
			else if (EXEC(s[i]))
				return 1;
		}
		return 0;
	}
	case S_IF:
		if (!v_falsey(LEAF(n->u.k.a)))
			return EXEC(n->u.k.b);
		if (n->u.k.c)
			return EXEC(n->u.k.c);
		return 0;
	case S_WHILE: {
		struct lox_node *cond = n->u.k.a, *body = n->u.k.b, *incr = n->u.k.c;
		while (!v_falsey(EVAL(cond))) {
			if (EXEC(body))
				return 1;
			if (incr)
				EVAL(incr);
		}
		return 0;
	}
	case S_RETURN:
		vm->ret = n->u.k.a ? EVAL(n->u.k.a) : V_NIL;
		return 1;
	case S_FUN: {
		struct lfn *fn = n->u.var.decl->u.fn;
		if (n->bind == S_VAR_CELL) {
			/* A local function may call itself: the cell comes first. */
			struct lcell *c = lox_cell_new(vm, V_NIL);
			fp[n->u.var.slot] = v_from_obj(c);
			c->v = v_from_obj(make_closure(vm, fn, fp, cl));
		} else {
			bind(vm, n->bind, n->u.var.slot, v_from_obj(make_closure(vm, fn, fp, cl)),
			     fp);
		}
		return 0;
	}
	case S_CLASS:
		exec_class(vm, n, fp, cl);
		return 0;
	default:
		break;
	}
	/* An expression in statement position never happens: the parser wraps them. */
	abort();
}

static lval native_clock(struct mc_lox_vm *vm, lval *args)
{
	struct timespec ts;

	(void)vm;
	(void)args;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return v_from_num((double)ts.tv_sec + (double)ts.tv_nsec / 1e9);
}

void lox_define_natives(struct mc_lox_vm *vm)
{
	struct lstr *name = lox_str_const(vm, "clock", 5);
	int slot = lox_global_slot(vm, name);
	vm->globals[slot].v = v_from_obj(lox_native_new(vm, name, 0, native_clock));
}

int lox_run(struct mc_lox_vm *vm, struct lfn *script)
{
	lval *base = vm->sp;
	struct lox_frame fr = { .prev = vm->frame, .cl = NULL, .call_line = 0 };

	if (vm->stack_end - base < script->nslots + STACK_MARGIN)
		rt_error(vm, 1, "Stack overflow.");
	vm->sp = base + script->nslots;
	for (lval *p = base; p < vm->sp; p++)
		*p = V_NIL;
	vm->frame = &fr;
	for (int i = 0; i < script->nbody; i++)
		exec(vm, script->body[i], base, NULL);
	vm->frame = fr.prev;
	vm->sp = base;
	return 0;
}
