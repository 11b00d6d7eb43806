/* SPDX-License-Identifier: MIT */
/*
 * Tests of libmclox's garbage collector: the stress mode (a collection before every
 * allocation) must not change any program's output, collections must keep an
 * allocation-heavy loop in bounded memory, and the VM must survive errors.
 */
#include "harness.h"

#include <stdlib.h>
#include <string.h>
#include <mc/lox.h>

struct run {
	char *out, *err;
	size_t outlen, errlen;
	int rc;
	struct mc_lox_stats st;
};

static void run_lox(const char *src, bool stress, struct run *r)
{
	FILE *out = open_memstream(&r->out, &r->outlen);
	FILE *err = open_memstream(&r->err, &r->errlen);
	struct mc_lox_opts opts = { .out = out, .err = err, .gc_stress = stress };
	struct mc_lox_vm *vm = mc_lox_vm_new(&opts);

	if (!vm) {
		r->rc = -1;
	} else {
		r->rc = mc_lox_vm_interpret(vm, src, strlen(src));
		mc_lox_vm_stats(vm, &r->st);
		mc_lox_vm_free(vm);
	}
	fclose(out);
	fclose(err);
}

static void run_free(struct run *r)
{
	free(r->out);
	free(r->err);
}

/* Everything that holds references: cells, closures, classes, bound methods, strings. */
static const char *const mixed_program =
	"class Node { init(v, next) { this.v = v; this.next = next; } }\n"
	"class Named < Node {\n"
	"  init(v, next) { super.init(v, next); this.name = \"n\" + \"-\" + \"x\"; }\n"
	"  label() { return this.name + \"!\"; }\n"
	"}\n"
	"fun counter() { var c = 0; fun inc() { c = c + 1; return c; } return inc; }\n"
	"var list = nil;\n"
	"var inc = counter();\n"
	"for (var i = 0; i < 200; i = i + 1) {\n"
	"  var k = Node; if (i / 2 == 0) k = Named;\n"
	"  list = k(inc(), list);\n"
	"}\n"
	"var sum = 0; var n = list;\n"
	"while (n != nil) { sum = sum + n.v; n = n.next; }\n"
	"print sum;\n"
	"var m = Named(1, nil).label; print m();\n"
	"var s = \"\";\n"
	"for (var i = 0; i < 50; i = i + 1) { s = s + \"ab\"; }\n"
	"print s == \"abababababababababababababababababababababababababababababababababababababab"
	"abababababababababababab\";\n"
	"fun outer() { var a = \"a\"; fun mid() { var b = a + \"b\"; fun in() { return a + b; }"
	" return in; } return mid(); }\n"
	"print outer()();\n";

static const char *const mixed_expect = "20100\nn-x!\ntrue\naab\n";

TEST(stress_same_output)
{
	struct run plain = { 0 }, stress = { 0 };

	run_lox(mixed_program, false, &plain);
	run_lox(mixed_program, true, &stress);
	ASSERT_EQ(0, plain.rc);
	ASSERT_EQ(0, stress.rc);
	ASSERT_STREQ(mixed_expect, plain.out);
	ASSERT_STREQ(mixed_expect, stress.out);
	ASSERT_STREQ("", stress.err);
	/* Stress collects before every object allocation: at least one per instance. */
	ASSERT_GE(stress.st.collections, 250);
	ASSERT_LT(plain.st.collections, stress.st.collections);
	run_free(&plain);
	run_free(&stress);
}

TEST(stress_collects_garbage)
{
	struct run r = { 0 };

	/* Each iteration's string and instance die at once; stress mode must free them. */
	run_lox("class P {}\n"
		"for (var i = 0; i < 2000; i = i + 1) { var p = P(); p.s = \"x\" + \"y\"; }\n"
		"print \"done\";\n",
		true, &r);
	ASSERT_EQ(0, r.rc);
	ASSERT_STREQ("done\n", r.out);
	ASSERT_GE(r.st.collections, 2000);
	ASSERT_GE(r.st.bytes_freed, 2000 * 16);
	/* Live at the end: the class, a few strings, natives: far fewer than 2000. */
	ASSERT_LT(r.st.objects_live, 200);
	run_free(&r);
}

TEST(bounded_memory)
{
	struct run r = { 0 };

	/* About 100 MB of garbage in total; the live heap must stay small. */
	run_lox("class Box { init(v) { this.v = v; } }\n"
		"var keep = nil;\n"
		"for (var i = 0; i < 300000; i = i + 1) {\n"
		"  var b = Box(i); b.s = \"item\" + \"-\"; keep = Box(b);\n"
		"}\n"
		"print keep.v.v;\n",
		false, &r);
	ASSERT_EQ(0, r.rc);
	ASSERT_STREQ("299999\n", r.out);
	ASSERT_GT(r.st.collections, 0);
	ASSERT_LT(r.st.bytes_allocated, 8u << 20);
	run_free(&r);
}

TEST(stress_random_lists)
{
	uint64_t seed = th_seed();
	char *src = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&src, &len);
	long long sum = 0;
	char expect[64];
	struct run r = { 0 };

	srandom((unsigned)seed);
	/* A random list of numbers and strings, built and folded under stress. */
	fputs("class C { init(v, n) { this.v = v; this.n = n; } }\nvar l = nil;\n", f);
	int n = 50 + (int)(random() % 150);
	for (int i = 0; i < n; i++) {
		int v = (int)(random() % 100000);
		sum += v;
		fprintf(f, "l = C(%d, l);\n", v);
	}
	fputs("fun fold(l) { var s = 0; var t = \"\"; while (l != nil) { s = s + l.v;"
	      " t = t + \".\"; l = l.n; } return s; }\nprint fold(l);\n",
	      f);
	fclose(f);
	snprintf(expect, sizeof(expect), "%g\n", (double)sum);
	run_lox(src, true, &r);
	ASSERT_EQ(0, r.rc);
	ASSERT_STREQ(expect, r.out);
	run_free(&r);
	free(src);
}

TEST(errors_keep_vm_usable)
{
	char *out = NULL, *err = NULL;
	size_t ol = 0, el = 0;
	FILE *fo = open_memstream(&out, &ol), *fe = open_memstream(&err, &el);
	struct mc_lox_opts opts = { .out = fo, .err = fe, .gc_stress = true };
	struct mc_lox_vm *vm = mc_lox_vm_new(&opts);

	ASSERT_NONNULL(vm);
	ASSERT_EQ(MC_LOX_OK, mc_lox_vm_interpret(vm, "var a = \"kept\";", 15));
	ASSERT_EQ(MC_LOX_RUNTIME_ERROR, mc_lox_vm_interpret(vm, "print a + 1;", 12));
	ASSERT_EQ(MC_LOX_COMPILE_ERROR, mc_lox_vm_interpret(vm, "print ;", 7));
	ASSERT_EQ(MC_LOX_OK, mc_lox_vm_interpret(vm, "print a;", 8));
	mc_lox_vm_free(vm);
	fclose(fo);
	fclose(fe);
	ASSERT_STREQ("kept\n", out);
	ASSERT_STREQ("Operands must be two numbers or two strings.\n[line 1] in script\n"
		     "[line 1] Error at ';': Expect expression.\n",
		     err);
	free(out);
	free(err);
}

TEST(stack_overflow_is_clean)
{
	struct run r = { 0 };

	run_lox("fun f(n) { return f(n + 1) + 1; }\nf(0);\n", false, &r);
	ASSERT_EQ(MC_LOX_RUNTIME_ERROR, r.rc);
	ASSERT_EQ(0, strncmp(r.err, "Stack overflow.\n[line 1] in f()\n", 32));
	run_free(&r);
	/* A deep but finite recursion still works on the test's own (8 MiB) stack. */
	run_lox("fun d(n) { if (n == 0) return 0; return d(n - 1) + 1; }\nprint d(2000);\n", true,
		&r);
	ASSERT_EQ(0, r.rc);
	ASSERT_STREQ("2000\n", r.out);
	run_free(&r);
}

TEST(check_api)
{
	ASSERT_EQ(MC_LOX_OK, mc_lox_check("print 1;", 8, NULL));
	ASSERT_EQ(MC_LOX_COMPILE_ERROR, mc_lox_check("print (;", 8, NULL));
	ASSERT_EQ(MC_LOX_COMPILE_ERROR, mc_lox_check("return 1;", 9, NULL));
	/* NUL bytes are just unexpected characters. */
	ASSERT_EQ(MC_LOX_COMPILE_ERROR, mc_lox_check("print 1;\0", 9, NULL));
	/* Nesting is bounded: a compile error, not a C stack overflow. */
	size_t n = 100000;
	char *deep = malloc(2 * n + 1);
	ASSERT_NONNULL(deep);
	memset(deep, '(', n);
	memset(deep + n, ')', n);
	deep[2 * n] = '\0';
	EXPECT_EQ(MC_LOX_COMPILE_ERROR, mc_lox_check(deep, 2 * n, NULL));
	memset(deep, '-', n);
	EXPECT_EQ(MC_LOX_COMPILE_ERROR, mc_lox_check(deep, n, NULL));
	free(deep);
}

TEST_HARNESS_MAIN
