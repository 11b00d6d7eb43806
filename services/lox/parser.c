/* SPDX-License-Identifier: MIT */
/*
 * parser.c: recursive descent from tokens to the AST, with the reference
 * tree-walker's grammar, error messages and recovery (a parse error abandons the
 * current declaration and resynchronizes at the next statement boundary).
 */
#include <stdlib.h>

#include "internal.h"

/*
 * Nesting bound: the parser, resolver and evaluator recurse on the tree's depth, so a
 * pathological input ("((((...", "-----...", a 100k-term sum) must be a compile error
 * and not a C stack overflow. Each parenthesis level costs about a dozen C frames here.
 */
#define MAX_NEST 1000

struct parser {
	struct mc_lox_vm *vm;
	const struct lox_token *toks;
	size_t cur;
	int nest;
	struct lox_node *grouped; /* the last parenthesized expression */
	jmp_buf *panic;
	bool had_error;
};

struct nodevec {
	struct lox_node **v;
	int n, cap;
};

static void vec_push(struct parser *p, struct nodevec *vec, struct lox_node *n)
{
	if (vec->n == vec->cap) {
		int cap = vec->cap ? vec->cap * 2 : 8;
		struct lox_node **v = lox_arena_alloc(p->vm, (size_t)cap * sizeof(*v));
		if (vec->n)
			memcpy(v, vec->v, (size_t)vec->n * sizeof(*v));
		vec->v = v;
		vec->cap = cap;
	}
	vec->v[vec->n++] = n;
}

static const struct lox_token *peek(const struct parser *p)
{
	return &p->toks[p->cur];
}

static const struct lox_token *previous(const struct parser *p)
{
	return &p->toks[p->cur - 1];
}

static bool check(const struct parser *p, enum lox_tok t)
{
	return peek(p)->type == t;
}

static const struct lox_token *advance(struct parser *p)
{
	if (peek(p)->type != T_EOF)
		p->cur++;
	return previous(p);
}

static bool match(struct parser *p, enum lox_tok t)
{
	if (!check(p, t))
		return false;
	advance(p);
	return true;
}

static void error_at(struct parser *p, const struct lox_token *t, const char *msg)
{
	FILE *err = p->vm->err;

	p->had_error = true;
	if (!err)
		return;
	if (t->type == T_EOF)
		fprintf(err, "[line %d] Error at end: %s\n", t->line, msg);
	else
		fprintf(err, "[line %d] Error at '%.*s': %s\n", t->line, (int)t->len, t->start,
			msg);
}

/* A parse error that abandons the current declaration (jlox throws ParseError). */
static _Noreturn void fail(struct parser *p, const struct lox_token *t, const char *msg)
{
	error_at(p, t, msg);
	longjmp(*p->panic, 1);
}

static const struct lox_token *consume(struct parser *p, enum lox_tok t, const char *msg)
{
	if (check(p, t))
		return advance(p);
	fail(p, peek(p), msg);
}

static void enter(struct parser *p)
{
	if (++p->nest > MAX_NEST)
		fail(p, peek(p), "Too much nesting.");
}

static struct lox_node *node(struct parser *p, enum lox_op op, int line)
{
	struct lox_node *n = lox_arena_alloc(p->vm, sizeof(*n));
	memset(n, 0, sizeof(*n));
	n->op = (uint8_t)op;
	n->line = line;
	return n;
}

static struct lstr *tok_str(struct parser *p, const struct lox_token *t)
{
	return lox_str_const(p->vm, t->start, t->len);
}

static struct lox_node *expression(struct parser *p);
static struct lox_node *statement(struct parser *p);
static struct lox_node *declaration(struct parser *p);
static struct lox_node **block(struct parser *p, int *n);

static struct lox_node *var_ref(struct parser *p, const struct lox_token *t)
{
	struct lox_node *n = node(p, X_VAR, t->line);
	n->u.var.name = tok_str(p, t);
	return n;
}

static struct lox_node *primary(struct parser *p)
{
	const struct lox_token *t = peek(p);
	struct lox_node *n;

	switch (t->type) {
	case T_FALSE:
	case T_TRUE:
	case T_NIL:
		advance(p);
		n = node(p, X_CONST, t->line);
		n->u.val = t->type == T_NIL ? V_NIL : v_bool(t->type == T_TRUE);
		return n;
	case T_NUMBER: {
		char buf[64];
		advance(p);
		n = node(p, X_CONST, t->line);
		if (t->len < sizeof(buf)) {
			memcpy(buf, t->start, t->len);
			buf[t->len] = '\0';
			n->u.val = v_from_num(strtod(buf, NULL));
		} else {
			char *s = strndup(t->start, t->len);
			if (!s)
				lox_oom(p->vm);
			n->u.val = v_from_num(strtod(s, NULL));
			free(s);
		}
		return n;
	}
	case T_STRING:
		advance(p);
		n = node(p, X_CONST, t->line);
		n->u.val = v_from_obj(lox_str_const(p->vm, t->start + 1, t->len - 2));
		return n;
	case T_SUPER: {
		advance(p);
		consume(p, T_DOT, "Expect '.' after 'super'.");
		const struct lox_token *name =
			consume(p, T_IDENT, "Expect superclass method name.");
		n = node(p, X_SUPER_GET, t->line);
		n->u.prop.name = tok_str(p, name);
		n->u.prop.line = name->line;
		n->u.prop.obj = var_ref(p, t);
		n->u.prop.obj->u.var.name = p->vm->this_str;
		n->u.prop.super = var_ref(p, t);
		return n;
	}
	case T_THIS:
	case T_IDENT:
		advance(p);
		return var_ref(p, t);
	case T_LPAREN: {
		advance(p);
		n = expression(p);
		consume(p, T_RPAREN, "Expect ')' after expression.");
		/* `(a) = 1` is not an assignment: remember what came out of parentheses. */
		p->grouped = n;
		return n;
	}
	default:
		fail(p, t, "Expect expression.");
	}
}

static struct lox_node *finish_call(struct parser *p, struct lox_node *callee, int *nargs,
				    struct lox_node ***args, int *line)
{
	struct nodevec v = { 0 };

	if (!check(p, T_RPAREN)) {
		do {
			if (v.n >= 255)
				error_at(p, peek(p), "Can't have more than 255 arguments.");
			vec_push(p, &v, expression(p));
		} while (match(p, T_COMMA));
	}
	const struct lox_token *paren = consume(p, T_RPAREN, "Expect ')' after arguments.");
	*line = paren->line;
	*nargs = v.n;
	*args = v.v;
	return callee;
}

static struct lox_node *call(struct parser *p)
{
	struct lox_node *e = primary(p);
	int saved = p->nest;

	for (;;) {
		if (match(p, T_LPAREN)) {
			enter(p);
			int nargs, line;
			struct lox_node **args;
			finish_call(p, e, &nargs, &args, &line);
			struct lox_node *n;
			if (e->op == X_GET) {
				/* obj.name(args): a method invocation without a bound method */
				n = e;
				n->op = X_INVOKE;
				n->line = line;
				n->u.prop.args = args;
			} else if (e->op == X_SUPER_GET) {
				n = e;
				n->op = X_SUPER_INVOKE;
				n->line = line;
				n->u.prop.args = args;
			} else {
				n = node(p, X_CALL, line);
				n->u.call.callee = e;
				n->u.call.args = args;
			}
			n->nargs = (uint16_t)nargs;
			e = n;
		} else if (match(p, T_DOT)) {
			enter(p);
			const struct lox_token *name =
				consume(p, T_IDENT, "Expect property name after '.'.");
			struct lox_node *n = node(p, X_GET, name->line);
			n->u.prop.obj = e;
			n->u.prop.name = tok_str(p, name);
			n->u.prop.line = name->line;
			e = n;
		} else {
			break;
		}
	}
	p->nest = saved;
	return e;
}

static struct lox_node *unary(struct parser *p)
{
	if (check(p, T_BANG) || check(p, T_MINUS)) {
		const struct lox_token *op = advance(p);
		enter(p);
		struct lox_node *n = node(p, op->type == T_BANG ? X_NOT : X_NEG, op->line);
		n->u.k.a = unary(p);
		p->nest--;
		return n;
	}
	return call(p);
}

typedef struct lox_node *(*parse_fn)(struct parser *p);

/* One left-associative binary level: operand (op operand)*. */
static struct lox_node *binary(struct parser *p, parse_fn operand, const enum lox_tok *toks,
			       const enum lox_op *ops, int nops)
{
	struct lox_node *e = operand(p);
	int saved = p->nest;

	for (;;) {
		int i;
		for (i = 0; i < nops; i++)
			if (check(p, toks[i]))
				break;
		if (i == nops)
			break;
		const struct lox_token *op = advance(p);
		enter(p);
		struct lox_node *n = node(p, ops[i], op->line);
		n->u.k.a = e;
		n->u.k.b = operand(p);
		e = n;
	}
	p->nest = saved;
	return e;
}

static struct lox_node *factor(struct parser *p)
{
	static const enum lox_tok t[] = { T_SLASH, T_STAR };
	static const enum lox_op o[] = { X_DIV, X_MUL };
	return binary(p, unary, t, o, 2);
}

static struct lox_node *term(struct parser *p)
{
	static const enum lox_tok t[] = { T_MINUS, T_PLUS };
	static const enum lox_op o[] = { X_SUB, X_ADD };
	return binary(p, factor, t, o, 2);
}

static struct lox_node *comparison(struct parser *p)
{
	static const enum lox_tok t[] = { T_GT, T_GE, T_LT, T_LE };
	static const enum lox_op o[] = { X_GT, X_GE, X_LT, X_LE };
	return binary(p, term, t, o, 4);
}

static struct lox_node *equality(struct parser *p)
{
	static const enum lox_tok t[] = { T_BANG_EQ, T_EQ_EQ };
	static const enum lox_op o[] = { X_NE, X_EQ };
	return binary(p, comparison, t, o, 2);
}

static struct lox_node *and_expr(struct parser *p)
{
	static const enum lox_tok t[] = { T_AND };
	static const enum lox_op o[] = { X_AND };
	return binary(p, equality, t, o, 1);
}

static struct lox_node *or_expr(struct parser *p)
{
	static const enum lox_tok t[] = { T_OR };
	static const enum lox_op o[] = { X_OR };
	return binary(p, and_expr, t, o, 1);
}

static struct lox_node *assignment(struct parser *p)
{
	struct lox_node *e = or_expr(p);

	if (match(p, T_EQ)) {
		const struct lox_token *equals = previous(p);
		enter(p);
		struct lox_node *value = assignment(p);
		p->nest--;
		if (e == p->grouped) {
			error_at(p, equals, "Invalid assignment target.");
			return e;
		}
		if (e->op == X_VAR && e->u.var.name != p->vm->this_str) {
			e->op = X_ASSIGN;
			e->u.var.value = value;
			return e;
		}
		if (e->op == X_GET) {
			e->op = X_SET;
			e->u.prop.value = value;
			return e;
		}
		error_at(p, equals, "Invalid assignment target.");
	}
	return e;
}

static struct lox_node *expression(struct parser *p)
{
	enter(p);
	struct lox_node *e = assignment(p);
	p->nest--;
	return e;
}

static struct lox_node *expr_stmt(struct parser *p)
{
	struct lox_node *e = expression(p);
	struct lox_node *n = node(p, S_EXPR, e->line);
	consume(p, T_SEMI, "Expect ';' after expression.");
	n->u.k.a = e;
	return n;
}

static struct lox_node *var_decl(struct parser *p)
{
	const struct lox_token *name = consume(p, T_IDENT, "Expect variable name.");
	struct lox_node *n = node(p, S_VAR, name->line);

	n->u.var.name = tok_str(p, name);
	if (match(p, T_EQ))
		n->u.var.value = expression(p);
	consume(p, T_SEMI, "Expect ';' after variable declaration.");
	return n;
}

static struct lox_node *while_stmt(struct parser *p, int line)
{
	struct lox_node *n = node(p, S_WHILE, line);

	consume(p, T_LPAREN, "Expect '(' after 'while'.");
	n->u.k.a = expression(p);
	consume(p, T_RPAREN, "Expect ')' after condition.");
	n->u.k.b = statement(p);
	return n;
}

/*
 * for (init; cond; incr) body  ==>  { init; while (cond) { body; incr; } }
 * The increment is kept as the loop's third child instead of a block around the body;
 * the scoping is the same.
 */
static struct lox_node *for_stmt(struct parser *p, int line)
{
	struct lox_node *init = NULL, *cond = NULL, *incr = NULL;

	consume(p, T_LPAREN, "Expect '(' after 'for'.");
	if (match(p, T_SEMI))
		init = NULL;
	else if (match(p, T_VAR))
		init = var_decl(p);
	else
		init = expr_stmt(p);
	if (!check(p, T_SEMI))
		cond = expression(p);
	consume(p, T_SEMI, "Expect ';' after loop condition.");
	if (!check(p, T_RPAREN))
		incr = expression(p);
	consume(p, T_RPAREN, "Expect ')' after for clauses.");

	struct lox_node *loop = node(p, S_WHILE, line);
	if (!cond) {
		cond = node(p, X_CONST, line);
		cond->u.val = V_TRUE;
	}
	loop->u.k.a = cond;
	loop->u.k.b = statement(p);
	loop->u.k.c = incr;
	if (!init)
		return loop;
	struct lox_node *blk = node(p, S_BLOCK, line);
	blk->u.block.stmts = lox_arena_alloc(p->vm, 2 * sizeof(struct lox_node *));
	blk->u.block.stmts[0] = init;
	blk->u.block.stmts[1] = loop;
	blk->u.block.n = 2;
	return blk;
}

static struct lox_node *if_stmt(struct parser *p, int line)
{
	struct lox_node *n = node(p, S_IF, line);

	consume(p, T_LPAREN, "Expect '(' after 'if'.");
	n->u.k.a = expression(p);
	consume(p, T_RPAREN, "Expect ')' after if condition.");
	n->u.k.b = statement(p);
	if (match(p, T_ELSE))
		n->u.k.c = statement(p);
	return n;
}

static struct lox_node *statement(struct parser *p)
{
	const struct lox_token *t = peek(p);
	struct lox_node *n;

	enter(p);
	switch (t->type) {
	case T_FOR:
		advance(p);
		n = for_stmt(p, t->line);
		break;
	case T_IF:
		advance(p);
		n = if_stmt(p, t->line);
		break;
	case T_PRINT:
		advance(p);
		n = node(p, S_PRINT, t->line);
		n->u.k.a = expression(p);
		consume(p, T_SEMI, "Expect ';' after value.");
		break;
	case T_RETURN:
		advance(p);
		n = node(p, S_RETURN, t->line);
		if (!check(p, T_SEMI))
			n->u.k.a = expression(p);
		consume(p, T_SEMI, "Expect ';' after return value.");
		break;
	case T_WHILE:
		advance(p);
		n = while_stmt(p, t->line);
		break;
	case T_LBRACE:
		advance(p);
		n = node(p, S_BLOCK, t->line);
		n->u.block.stmts = block(p, &n->u.block.n);
		break;
	default:
		n = expr_stmt(p);
		break;
	}
	p->nest--;
	return n;
}

static struct lox_node **block(struct parser *p, int *n)
{
	struct nodevec v = { 0 };

	while (!check(p, T_RBRACE) && !check(p, T_EOF)) {
		struct lox_node *d = declaration(p);
		if (d)
			vec_push(p, &v, d);
	}
	consume(p, T_RBRACE, "Expect '}' after block.");
	*n = v.n;
	return v.v;
}

static struct lfn *function(struct parser *p, const char *kind, enum lfn_kind fk)
{
	char msg[64];
	struct lfn *fn = lox_arena_alloc(p->vm, sizeof(*fn));
	struct nodevec params = { 0 };

	memset(fn, 0, sizeof(*fn));
	snprintf(msg, sizeof(msg), "Expect %s name.", kind);
	const struct lox_token *name = consume(p, T_IDENT, msg);
	fn->name = tok_str(p, name);
	fn->line = name->line;
	fn->kind = fk;
	if (fk == FN_METHOD && name->len == 4 && memcmp(name->start, "init", 4) == 0)
		fn->kind = FN_INIT;
	snprintf(msg, sizeof(msg), "Expect '(' after %s name.", kind);
	consume(p, T_LPAREN, msg);
	if (!check(p, T_RPAREN)) {
		do {
			if (params.n >= 255)
				error_at(p, peek(p), "Can't have more than 255 parameters.");
			const struct lox_token *pt = consume(p, T_IDENT, "Expect parameter name.");
			vec_push(p, &params, var_ref(p, pt));
		} while (match(p, T_COMMA));
	}
	consume(p, T_RPAREN, "Expect ')' after parameters.");
	snprintf(msg, sizeof(msg), "Expect '{' before %s body.", kind);
	consume(p, T_LBRACE, msg);
	fn->arity = params.n;
	for (int i = 0; i < params.n; i++)
		params.v[i]->op = S_VAR;
	fn->params = params.v;
	fn->body = block(p, &fn->nbody);
	return fn;
}

static struct lox_node *class_decl(struct parser *p)
{
	const struct lox_token *name = consume(p, T_IDENT, "Expect class name.");
	struct lox_node *n = node(p, S_CLASS, name->line);
	struct lfn **methods = NULL;
	int nm = 0, cap = 0;

	n->u.var.name = tok_str(p, name);
	struct lox_node *c = node(p, S_CLASS, name->line);
	c->u.cls.name = n->u.var.name;
	n->u.var.decl = c;
	if (match(p, T_LT)) {
		const struct lox_token *sup = consume(p, T_IDENT, "Expect superclass name.");
		c->u.cls.superclass = var_ref(p, sup);
		c->u.cls.super_line = sup->line;
		c->u.cls.super_decl = node(p, S_VAR, sup->line);
		c->u.cls.super_decl->u.var.name = p->vm->super_str;
	}
	consume(p, T_LBRACE, "Expect '{' before class body.");
	while (!check(p, T_RBRACE) && !check(p, T_EOF)) {
		if (nm == cap) {
			cap = cap ? cap * 2 : 8;
			struct lfn **m = lox_arena_alloc(p->vm, (size_t)cap * sizeof(*m));
			if (nm)
				memcpy(m, methods, (size_t)nm * sizeof(*m));
			methods = m;
		}
		methods[nm++] = function(p, "method", FN_METHOD);
	}
	consume(p, T_RBRACE, "Expect '}' after class body.");
	c->u.cls.methods = methods;
	c->u.cls.nmethods = nm;
	return n;
}

static void synchronize(struct parser *p)
{
	advance(p);
	while (!check(p, T_EOF)) {
		if (previous(p)->type == T_SEMI)
			return;
		switch (peek(p)->type) {
		case T_CLASS:
		case T_FUN:
		case T_VAR:
		case T_FOR:
		case T_IF:
		case T_WHILE:
		case T_PRINT:
		case T_RETURN:
			return;
		default:
			advance(p);
		}
	}
}

static struct lox_node *declaration(struct parser *p)
{
	jmp_buf here, *outer = p->panic;
	int saved_nest = p->nest;
	struct lox_node *volatile n = NULL;

	p->panic = &here;
	if (setjmp(here)) {
		p->panic = outer;
		p->nest = saved_nest;
		synchronize(p);
		return NULL;
	}
	if (match(p, T_CLASS)) {
		n = class_decl(p);
	} else if (match(p, T_FUN)) {
		struct lfn *fn = function(p, "function", FN_FUNCTION);
		struct lox_node *d = node(p, S_FUN, fn->line);
		d->u.var.name = fn->name;
		d->u.var.decl = node(p, S_FUN, fn->line);
		d->u.var.decl->u.fn = fn;
		n = d;
	} else if (match(p, T_VAR)) {
		n = var_decl(p);
	} else {
		n = statement(p);
	}
	p->panic = outer;
	return n;
}

struct lfn *lox_parse(struct mc_lox_vm *vm, const struct lox_token *toks)
{
	struct parser p = { .vm = vm, .toks = toks };
	struct nodevec v = { 0 };
	struct lfn *script = lox_arena_alloc(vm, sizeof(*script));

	while (!check(&p, T_EOF)) {
		struct lox_node *d = declaration(&p);
		if (d)
			vec_push(&p, &v, d);
	}
	if (p.had_error)
		return NULL;
	memset(script, 0, sizeof(*script));
	script->kind = FN_SCRIPT;
	script->body = v.v;
	script->nbody = v.n;
	script->line = 1;
	return script;
}
