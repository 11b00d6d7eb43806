/* SPDX-License-Identifier: MIT */
/*
 * internal.h: the Lox interpreter's shared types: NaN-boxed values, heap objects,
 * the resolved AST the evaluator walks, and the VM state. Not a public header.
 */
#ifndef MC_LOX_INTERNAL_H
#define MC_LOX_INTERNAL_H

#include <setjmp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <mc/lox.h>

#define LOX_LIKELY(x) __builtin_expect(!!(x), 1)
#define LOX_UNLIKELY(x) __builtin_expect(!!(x), 0)

/*
 * Values are NaN-boxed in 64 bits. A double is stored as is; everything else lives in
 * the payload of a quiet NaN that arithmetic never produces (the 0x7ffc prefix): the
 * singletons nil/false/true/undef in the low bits, object pointers with the sign bit
 * set. Hardware NaNs (0x7ff8.../0xfff8...) stay numbers, so NaN != NaN holds.
 */
typedef uint64_t lval;

#define LOX_QNAN ((uint64_t)0x7ffc000000000000)
#define LOX_SIGN ((uint64_t)0x8000000000000000)
#define V_NIL (LOX_QNAN | 1)
#define V_FALSE (LOX_QNAN | 2)
#define V_TRUE (LOX_QNAN | 3)
/* A global slot that was never defined: never visible to Lox code. */
#define V_UNDEF (LOX_QNAN | 4)

static inline bool v_is_num(lval v)
{
	return (v & LOX_QNAN) != LOX_QNAN;
}
static inline double v_num(lval v)
{
	double d;
	memcpy(&d, &v, sizeof(d));
	return d;
}
static inline lval v_from_num(double d)
{
	lval v;
	memcpy(&v, &d, sizeof(v));
	return v;
}
static inline bool v_is_obj(lval v)
{
	return (v & (LOX_QNAN | LOX_SIGN)) == (LOX_QNAN | LOX_SIGN);
}
static inline struct lobj *v_obj(lval v)
{
	return (struct lobj *)(uintptr_t)(v & ~(LOX_SIGN | LOX_QNAN));
}
static inline lval v_from_obj(const void *o)
{
	return LOX_SIGN | LOX_QNAN | (uint64_t)(uintptr_t)o;
}
static inline lval v_bool(bool b)
{
	return b ? V_TRUE : V_FALSE;
}
static inline bool v_falsey(lval v)
{
	return v == V_NIL || v == V_FALSE;
}

/* ---- heap objects ---- */

enum lobj_type {
	O_STRING,
	O_CELL,
	O_CLOSURE,
	O_CLASS,
	O_INSTANCE,
	O_BOUND,
	O_NATIVE,
};

/* Every object starts with this header; all objects are on vm->objects for the sweep. */
struct lobj {
	struct lobj *next;
	uint8_t type;
	uint8_t marked;
};

/* Interned: two strings with the same bytes are the same object, so == is pointer ==. */
struct lstr {
	struct lobj o;
	uint32_t hash;
	uint32_t len;
	char chars[];
};

/* A captured variable: locals that some closure captures live in a cell, not a slot. */
struct lcell {
	struct lobj o;
	lval v;
};

struct lentry {
	struct lstr *key;
	lval v;
};

/*
 * Open addressing, linear probing, keys are interned strings compared by pointer.
 * Capacity is a power of two (mask = capacity - 1) kept at most 3/4 full. A NULL key
 * with value V_TRUE is a tombstone (only the weak intern table deletes).
 */
struct ltable {
	uint32_t count; /* live keys plus tombstones */
	uint32_t mask;
	struct lentry *e;
};

struct lfn;

struct lclosure {
	struct lobj o;
	struct lfn *fn;
	struct lcell *up[];
};

struct lclass {
	struct lobj o;
	struct lstr *name;
	struct lclass *super;
	struct lclosure *init; /* cached "init" method or NULL */
	uint64_t id;	       /* never reused: keys the inline caches of call sites */
	struct ltable methods; /* own methods plus inherited ones (copied down) */
};

struct linst {
	struct lobj o;
	struct lclass *klass;
	struct ltable fields;
};

struct lbound {
	struct lobj o;
	lval recv;
	struct lclosure *m;
};

struct mc_lox_vm;
typedef lval (*lnative_fn)(struct mc_lox_vm *vm, lval *args);

struct lnative {
	struct lobj o;
	struct lstr *name;
	int arity;
	lnative_fn fn;
};

#define O_AS(type, v) ((struct type *)v_obj(v))
static inline bool v_is(lval v, enum lobj_type t)
{
	return v_is_obj(v) && v_obj(v)->type == t;
}

/* ---- AST ---- */

/*
 * One node type for expressions and statements. The parser builds X_VAR/X_ASSIGN and
 * S_VAR-family nodes unresolved; the resolver rewrites op to the storage class it found
 * (a frame slot, a cell in a frame slot, an upvalue of the closure, a global index) and
 * fills `slot`, so the evaluator never looks a name up.
 */
enum lox_op {
	/* expressions */
	X_CONST,
	X_VAR,
	X_LOCAL,
	X_LOCAL_CELL,
	X_UPVAL,
	X_GLOBAL,
	X_ASSIGN,
	X_SET_LOCAL,
	X_SET_LOCAL_CELL,
	X_SET_UPVAL,
	X_SET_GLOBAL,
	X_NEG,
	X_NOT,
	X_ADD,
	X_SUB,
	X_MUL,
	X_DIV,
	X_LT,
	X_LE,
	X_GT,
	X_GE,
	X_EQ,
	X_NE,
	X_AND,
	X_OR,
	X_CALL,
	X_GET,
	X_SET,
	X_INVOKE,
	X_SUPER_GET,
	X_SUPER_INVOKE,
	/* statements */
	S_EXPR,
	S_PRINT,
	S_VAR,	      /* unresolved declaration (var, fun or class name) */
	S_VAR_LOCAL,  /* declaration into fp[slot] */
	S_VAR_CELL,   /* declaration into a new cell in fp[slot] */
	S_VAR_GLOBAL, /* declaration of globals[slot] */
	S_BLOCK,
	S_IF,
	S_WHILE,
	S_RETURN,
	S_FUN,
	S_CLASS,
};

/* Binding of a declaration: how S_VAR_* stores; shared by var, fun and class nodes. */
struct lox_node;

struct lox_node {
	uint8_t op;
	/* X_* binary ops: the right operand allocates nothing and has no side effect. */
	uint8_t simple_rhs;
	uint8_t bind; /* S_FUN, S_CLASS: S_VAR_LOCAL, S_VAR_CELL or S_VAR_GLOBAL */
	uint16_t nargs;
	int line;
	union {
		lval val; /* X_CONST */
		struct {
			struct lstr *name;
			int slot;
			struct lox_node *value;	   /* assignment / initializer, or NULL */
			struct lox_node *next_ref; /* resolver: other uses of this local */
			struct lox_node *decl;	   /* S_FUN/S_CLASS: what is declared */
		} var;
		struct {
			struct lox_node *a, *b, *c;
		} k;
		struct {
			struct lox_node *callee;
			struct lox_node **args;
		} call;
		struct {
			struct lox_node *obj; /* X_SUPER_*: the `this` reference */
			struct lstr *name;
			int line;		/* line of the name (errors before the call) */
			struct lox_node *value; /* X_SET */
			struct lox_node **args; /* X_INVOKE, X_SUPER_INVOKE */
			struct lox_node *super; /* X_SUPER_*: the `super` reference */
			uint64_t ic_id;		/* inline cache: class id ... */
			struct lclosure *ic_m;	/* ... and its method for this name */
		} prop;
		struct {
			struct lox_node **stmts;
			int n;
		} block;
		struct lfn *fn; /* the function of an S_FUN's decl */
		struct {
			struct lstr *name;
			struct lox_node *superclass; /* X_VAR reference or NULL */
			struct lox_node *super_decl; /* declares the `super` local or NULL */
			struct lfn **methods;
			int nmethods;
			int super_line;
		} cls;
	} u;
};

enum lfn_kind {
	FN_SCRIPT,
	FN_FUNCTION,
	FN_METHOD,
	FN_INIT,
};

struct lupdesc {
	uint8_t is_local; /* capture fp[index] (a cell) of the enclosing frame ... */
	int index;	  /* ... or up[index] of the enclosing closure */
};

/* A function declaration after resolution; lives in the AST arena. */
struct lfn {
	struct lstr *name;
	int kind;
	int arity;
	int nslots; /* frame size: slot 0 (callee or this), params, locals */
	int nup;
	struct lupdesc *ups;
	struct lox_node **params; /* S_VAR declarations, resolved into slots 1..arity */
	int ncellp;		  /* parameters (and slot 0) captured by closures: boxed at entry */
	int *cellp;
	struct lox_node **body;
	int nbody;
	int line;
};

/* ---- arena for the AST (freed with the VM) ---- */

struct lox_arena_chunk {
	struct lox_arena_chunk *next;
	size_t used, size;
	max_align_t data[];
};

/* lox_arena_alloc: zero-filled memory freed with the VM; never NULL (lox_oom instead). */
void *lox_arena_alloc(struct mc_lox_vm *vm, size_t size);

/* lox_oom: out of memory: unwinds to mc_lox_vm_interpret, which reports it. */
_Noreturn void lox_oom(struct mc_lox_vm *vm);

/* ---- VM ---- */

struct lglobal {
	lval v;
	struct lstr *name;
};

/* A Lox call in progress; linked through the C stack, read by the GC and for traces. */
struct lox_frame {
	struct lox_frame *prev;
	struct lclosure *cl; /* NULL for the script */
	int call_line;	     /* line of the call in the caller */
};

#define LOX_STACK_MAX (1u << 22)
#define LOX_POOL_MAX 256

struct lox_slab;

struct lox_free {
	struct lox_free *next;
};

struct mc_lox_vm {
	FILE *out, *err;
	bool gc_stress;

	/* value stack: frames and temporaries, the GC's main root */
	lval *stack, *sp, *stack_end;
	struct lox_frame *frame;
	int depth;
	const char *c_stack_limit; /* below this address: "Stack overflow." */

	struct lglobal *globals;
	int nglobals, capglobals;
	struct ltable global_index; /* name -> index + 1 (as number) */

	struct ltable strings; /* intern table, weak */
	struct lstr **consts;  /* strings the AST refers to: permanent roots */
	int nconsts, capconsts;
	struct lstr *init_str, *this_str, *super_str, *empty_str;

	struct lobj *objects;
	size_t bytes_allocated, next_gc;
	uint64_t collections, objects_live, bytes_freed;
	uint64_t next_class_id;
	struct lobj **gray;
	size_t ngray, capgray;

	struct lox_arena_chunk *arena;

	/* object.c: small-block pools, one free list per 16-byte size class */
	struct lox_free *pool[LOX_POOL_MAX / 16 + 1];
	struct lox_slab *slabs;
	char *slab_cur;
	size_t slab_left;

	char *scratch; /* concat buffer */
	size_t scratch_cap;

	lval ret; /* value of the last `return` while unwinding to the call */
	jmp_buf *on_error;
	bool had_error;
};

/* object.c */
void *lox_realloc(struct mc_lox_vm *vm, void *p, size_t old, size_t size);
struct lobj *lox_alloc_obj(struct mc_lox_vm *vm, size_t size, enum lobj_type type);
uint32_t lox_hash(const char *s, size_t len);
struct lstr *lox_str_intern(struct mc_lox_vm *vm, const char *s, size_t len);
struct lstr *lox_str_const(struct mc_lox_vm *vm, const char *s, size_t len);
struct lcell *lox_cell_new(struct mc_lox_vm *vm, lval v);
struct lclass *lox_class_new(struct mc_lox_vm *vm, struct lstr *name);
struct linst *lox_inst_new(struct mc_lox_vm *vm, struct lclass *k);
struct lbound *lox_bound_new(struct mc_lox_vm *vm, lval recv, struct lclosure *m);
struct lclosure *lox_closure_new(struct mc_lox_vm *vm, struct lfn *fn);
struct lnative *lox_native_new(struct mc_lox_vm *vm, struct lstr *name, int arity, lnative_fn fn);
void lox_obj_free(struct mc_lox_vm *vm, struct lobj *o);
void lox_pool_release(struct mc_lox_vm *vm);

/* Table lookups: the hot ones are inline. */
static inline struct lentry *lox_table_find(const struct ltable *t, const struct lstr *key)
{
	if (!t->e)
		return NULL;
	uint32_t i = key->hash & t->mask;
	for (;;) {
		struct lentry *e = &t->e[i];
		if (e->key == key)
			return e;
		if (!e->key && e->v != V_TRUE)
			return NULL;
		i = (i + 1) & t->mask;
	}
}
void lox_table_set(struct mc_lox_vm *vm, struct ltable *t, struct lstr *key, lval v);
void lox_table_release(struct mc_lox_vm *vm, struct ltable *t);
struct lstr *lox_table_find_str(const struct ltable *t, const char *s, size_t len, uint32_t hash);

/* gc.c */
void lox_gc_collect(struct mc_lox_vm *vm);
void lox_gc_free_all(struct mc_lox_vm *vm);

/* scanner.c */
enum lox_tok {
	T_LPAREN,
	T_RPAREN,
	T_LBRACE,
	T_RBRACE,
	T_COMMA,
	T_DOT,
	T_MINUS,
	T_PLUS,
	T_SEMI,
	T_SLASH,
	T_STAR,
	T_BANG,
	T_BANG_EQ,
	T_EQ,
	T_EQ_EQ,
	T_GT,
	T_GE,
	T_LT,
	T_LE,
	T_IDENT,
	T_STRING,
	T_NUMBER,
	T_AND,
	T_CLASS,
	T_ELSE,
	T_FALSE,
	T_FOR,
	T_FUN,
	T_IF,
	T_NIL,
	T_OR,
	T_PRINT,
	T_RETURN,
	T_SUPER,
	T_THIS,
	T_TRUE,
	T_VAR,
	T_WHILE,
	T_EOF,
};

struct lox_token {
	uint8_t type;
	uint32_t len;
	const char *start;
	int line;
};

/*
 * lox_scan: tokenizes all of @src (jlox style: errors are reported on @err and the bad
 * character skipped). Returns a malloc'd array ending with T_EOF, or NULL when out of
 * memory. *had_error is set when something was reported.
 */
struct lox_token *lox_scan(const char *src, size_t len, FILE *err, bool *had_error, size_t *ntok);

/* parser.c: builds the AST of a script; NULL after reporting errors. */
struct lfn *lox_parse(struct mc_lox_vm *vm, const struct lox_token *toks);

/* resolver.c: resolves names and slots; false after reporting errors. */
bool lox_resolve(struct mc_lox_vm *vm, struct lfn *script);

/* interp.c */
int lox_run(struct mc_lox_vm *vm, struct lfn *script);
void lox_print_value(FILE *f, lval v);
int lox_global_slot(struct mc_lox_vm *vm, struct lstr *name);
void lox_define_natives(struct mc_lox_vm *vm);

#endif
