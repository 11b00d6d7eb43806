/* SPDX-License-Identifier: MIT */
/*
 * scanner.c: turns Lox source into a token array in one pass. Like the reference
 * tree-walker it reports a bad character or an unterminated string and keeps going,
 * so the parser still reports the errors that follow.
 */
#include <stdlib.h>

#include "internal.h"

struct scanner {
	const char *start, *cur, *end;
	int line;
	FILE *err;
	bool *had_error;
	struct lox_token *toks;
	size_t n, cap;
};

static bool at_end(const struct scanner *s)
{
	return s->cur >= s->end;
}

static bool is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static char peek(const struct scanner *s)
{
	return at_end(s) ? '\0' : *s->cur;
}

static char peek_next(const struct scanner *s)
{
	return s->cur + 1 >= s->end ? '\0' : s->cur[1];
}

static bool match(struct scanner *s, char c)
{
	if (at_end(s) || *s->cur != c)
		return false;
	s->cur++;
	return true;
}

static void report(struct scanner *s, const char *msg)
{
	if (s->err)
		fprintf(s->err, "[line %d] Error: %s\n", s->line, msg);
	*s->had_error = true;
}

static bool add(struct scanner *s, enum lox_tok type, int line)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 256;
		struct lox_token *t = realloc(s->toks, cap * sizeof(*t));
		if (!t)
			return false;
		s->toks = t;
		s->cap = cap;
	}
	s->toks[s->n++] = (struct lox_token){
		.type = (uint8_t)type,
		.start = s->start,
		.len = (uint32_t)(s->cur - s->start),
		.line = line,
	};
	return true;
}

static enum lox_tok keyword(const char *p, size_t len)
{
	static const struct {
		const char *kw;
		enum lox_tok t;
	} kws[] = {
		{ "and", T_AND },     { "class", T_CLASS },   { "else", T_ELSE },
		{ "false", T_FALSE }, { "for", T_FOR },	      { "fun", T_FUN },
		{ "if", T_IF },	      { "nil", T_NIL },	      { "or", T_OR },
		{ "print", T_PRINT }, { "return", T_RETURN }, { "super", T_SUPER },
		{ "this", T_THIS },   { "true", T_TRUE },     { "var", T_VAR },
		{ "while", T_WHILE },
	};
	for (size_t i = 0; i < sizeof(kws) / sizeof(kws[0]); i++)
		if (strlen(kws[i].kw) == len && memcmp(kws[i].kw, p, len) == 0)
			return kws[i].t;
	return T_IDENT;
}

/* One token (or none for whitespace, comments and errors). False when out of memory. */
static bool scan_one(struct scanner *s)
{
	char c = *s->cur++;

	switch (c) {
	case '(':
		return add(s, T_LPAREN, s->line);
	case ')':
		return add(s, T_RPAREN, s->line);
	case '{':
		return add(s, T_LBRACE, s->line);
	case '}':
		return add(s, T_RBRACE, s->line);
	case ',':
		return add(s, T_COMMA, s->line);
	case '.':
		return add(s, T_DOT, s->line);
	case '-':
		return add(s, T_MINUS, s->line);
	case '+':
		return add(s, T_PLUS, s->line);
	case ';':
		return add(s, T_SEMI, s->line);
	case '*':
		return add(s, T_STAR, s->line);
	case '!':
		return add(s, match(s, '=') ? T_BANG_EQ : T_BANG, s->line);
	case '=':
		return add(s, match(s, '=') ? T_EQ_EQ : T_EQ, s->line);
	case '<':
		return add(s, match(s, '=') ? T_LE : T_LT, s->line);
	case '>':
		return add(s, match(s, '=') ? T_GE : T_GT, s->line);
	case '/':
		if (match(s, '/')) {
			while (!at_end(s) && peek(s) != '\n')
				s->cur++;
			return true;
		}
		return add(s, T_SLASH, s->line);
	case ' ':
	case '\r':
	case '\t':
		return true;
	case '\n':
		s->line++;
		return true;
	case '"': {
		while (!at_end(s) && peek(s) != '"') {
			if (peek(s) == '\n')
				s->line++;
			s->cur++;
		}
		if (at_end(s)) {
			report(s, "Unterminated string.");
			return true;
		}
		s->cur++;
		/* The token spans the quotes; its line is where the string ends (as jlox). */
		return add(s, T_STRING, s->line);
	}
	default:
		if (is_digit(c)) {
			while (is_digit(peek(s)))
				s->cur++;
			if (peek(s) == '.' && is_digit(peek_next(s))) {
				s->cur++;
				while (is_digit(peek(s)))
					s->cur++;
			}
			return add(s, T_NUMBER, s->line);
		}
		if (is_alpha(c)) {
			while (is_alpha(peek(s)) || is_digit(peek(s)))
				s->cur++;
			return add(s, keyword(s->start, (size_t)(s->cur - s->start)), s->line);
		}
		report(s, "Unexpected character.");
		return true;
	}
}

struct lox_token *lox_scan(const char *src, size_t len, FILE *err, bool *had_error, size_t *ntok)
{
	struct scanner s = {
		.cur = src,
		.end = src + len,
		.line = 1,
		.err = err,
		.had_error = had_error,
	};

	while (!at_end(&s)) {
		s.start = s.cur;
		if (!scan_one(&s))
			goto oom;
	}
	s.start = s.cur;
	if (!add(&s, T_EOF, s.line))
		goto oom;
	*ntok = s.n;
	return s.toks;
oom:
	free(s.toks);
	return NULL;
}
