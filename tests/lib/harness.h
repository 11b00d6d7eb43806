/* SPDX-License-Identifier: MIT */
/*
 * harness.h: mycontainer's kselftest-style test harness (TAP version 13).
 * The macros here only register tests and record results; the logic (forking,
 * timeouts, teardown after crashes, TAP output) lives in harness.c.
 *
 *   #include "harness.h"
 *
 *   TEST(adds) { ASSERT_EQ(2, 1 + 1); }
 *
 *   FIXTURE(tmpdir) { char path[64]; };
 *   FIXTURE_VARIANT(tmpdir) { int mode; };
 *   FIXTURE_VARIANT_ADD(tmpdir, private) { .mode = 0700 };
 *   FIXTURE_SETUP(tmpdir) { strcpy(self->path, "/tmp/t.XXXXXX");
 * ASSERT_NONNULL(mkdtemp(self->path)); } FIXTURE_TEARDOWN(tmpdir) { if
 * (self->path[0]) rmdir(self->path); } TEST_F(tmpdir, exists) { ASSERT_EQ(0,
 * access(self->path, F_OK)); }
 *
 *   TEST_HARNESS_MAIN
 *
 * Every test runs in a forked child in its own process group, with a timeout
 * (30 s unless TEST_TIMEOUT/TEST_F_TIMEOUT say otherwise; MC_TEST_TIMEOUT_SCALE
 * multiplies it). A crash, abort, or hang fails that test only. Fixture data
 * (`self`) lives in shared memory, so when the child dies after setup without
 * finishing teardown, the parent runs the teardown in a fresh child: paths,
 * mounts and cgroups a test created are removed even then (fds are not).
 *
 * ASSERT_* stops the test (teardown still runs); EXPECT_* records a failure and
 * continues. SKIP(fmt, ...) stops the test and reports `ok N name # SKIP
 * reason`. Exit status of the program: 1 if any test failed, 4 if every test
 * skipped, 0 otherwise. Options: -l lists tests, -t NAME runs only tests whose
 * full name (fixture.variant.test) contains NAME (repeatable), -h for help.
 */
#ifndef MC_TEST_HARNESS_H
#define MC_TEST_HARNESS_H

#include <setjmp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct th_variant;
struct th_fixture;

/* Per-test metadata, registered by constructors in file order. */
struct th_test {
	const char *name;
	const struct th_fixture *fixture; /* NULL for plain TEST */
	void (*fn)(struct th_test *t, void *self, const void *variant);
	int timeout; /* seconds */
	const char *file;
	int line;
	struct th_test *next;
};

struct th_fixture {
	const char *name;
	size_t self_size;
	void (*setup)(struct th_test *t, void *self, const void *variant);
	void (*teardown)(struct th_test *t, void *self, const void *variant);
	struct th_variant *variants; /* NULL: one unnamed variant */
	struct th_fixture *next;
};

struct th_variant {
	const char *name;
	const void *data;
	struct th_variant *next;
};

void th_register_test(struct th_test *t);
void th_register_fixture(struct th_fixture *f);
void th_register_variant(struct th_fixture *f, struct th_variant *v);
int th_main(int argc, char **argv);

/* Result recording, called from the macros below. */
void th_fail(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void th_assert_failed(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4), noreturn));
void th_skip(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4), noreturn));
void th_log(const char *file, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/*
 * The seed of a randomised test: MC_TEST_SEED if set, otherwise derived from
 * the clock. The first call in a test prints `# seed=N` so a failure can be
 * replayed.
 */
uint64_t th_seed(void);

/* Environment checks: each skips the current test with a one-line reason. */
void th_require_root(const char *file, int line);
void th_require_io_uring(const char *file, int line);
void th_require_cgroup_v2(const char *file, int line);
void th_require_tool(const char *file, int line, const char *tool);
#define require_root() th_require_root(__FILE__, __LINE__)
#define require_io_uring() th_require_io_uring(__FILE__, __LINE__)
#define require_cgroup_v2() th_require_cgroup_v2(__FILE__, __LINE__)
#define require_tool(tool) th_require_tool(__FILE__, __LINE__, (tool))

/* The timeout of the current test in seconds, already scaled. */
int th_timeout(void);

#define TH_CAT_(a, b) a##b
#define TH_CAT(a, b) TH_CAT_(a, b)

#define TH_DEFAULT_TIMEOUT 30

#define TEST(tn) TEST_TIMEOUT(tn, TH_DEFAULT_TIMEOUT)
#define TEST_TIMEOUT(tn, secs)                                                                     \
	static void th_fn_##tn(struct th_test *th_t, void *th_self, const void *th_variant);       \
	static struct th_test th_test_##tn = {                                                     \
		.name = #tn,                                                                       \
		.fn = th_fn_##tn,                                                                  \
		.timeout = (secs),                                                                 \
		.file = __FILE__,                                                                  \
		.line = __LINE__,                                                                  \
	};                                                                                         \
	static void __attribute__((constructor)) th_reg_##tn(void)                                 \
	{                                                                                          \
		th_register_test(&th_test_##tn);                                                   \
	}                                                                                          \
	static void th_body_##tn(void);                                                            \
	static void th_fn_##tn(struct th_test *th_t, void *th_self, const void *th_variant)        \
	{                                                                                          \
		(void)th_t, (void)th_self, (void)th_variant;                                       \
		th_body_##tn();                                                                    \
	}                                                                                          \
	static void th_body_##tn(void)

#define FIXTURE_DATA(fx) struct th_self_##fx
#define FIXTURE(fx)                                                                                \
	FIXTURE_DATA(fx);                                                                          \
	struct th_variant_##fx;                                                                    \
	static void th_setup_##fx(struct th_test *, void *, const void *);                         \
	static void th_teardown_##fx(struct th_test *, void *, const void *);                      \
	static struct th_fixture th_fixture_##fx = {                                               \
		.name = #fx,                                                                       \
		.setup = th_setup_##fx,                                                            \
		.teardown = th_teardown_##fx,                                                      \
	};                                                                                         \
	static void __attribute__((constructor)) th_regfx_##fx(void)                               \
	{                                                                                          \
		th_register_fixture(&th_fixture_##fx);                                             \
	}                                                                                          \
	FIXTURE_DATA(fx)

#define FIXTURE_VARIANT(fx) struct th_variant_##fx

#define FIXTURE_VARIANT_ADD(fx, vname)                                                             \
	static const struct th_variant_##fx th_vdata_##fx##_##vname;                               \
	static struct th_variant th_var_##fx##_##vname = {                                         \
		.name = #vname,                                                                    \
		.data = &th_vdata_##fx##_##vname,                                                  \
	};                                                                                         \
	static void __attribute__((constructor(200))) th_regvar_##fx##_##vname(void)               \
	{                                                                                          \
		th_register_variant(&th_fixture_##fx, &th_var_##fx##_##vname);                     \
	}                                                                                          \
	static const struct th_variant_##fx th_vdata_##fx##_##vname =

/* The fixture's size is recorded here: its struct is complete by FIXTURE_SETUP.
 */
#define FIXTURE_SETUP(fx)                                                                          \
	static void __attribute__((constructor)) th_size_##fx(void)                                \
	{                                                                                          \
		th_fixture_##fx.self_size = sizeof(FIXTURE_DATA(fx));                              \
	}                                                                                          \
	static void th_setup_body_##fx(FIXTURE_DATA(fx) * self,                                    \
				       const struct th_variant_##fx *variant);                     \
	static void th_setup_##fx(struct th_test *th_t, void *th_self, const void *th_v)           \
	{                                                                                          \
		(void)th_t;                                                                        \
		th_setup_body_##fx(th_self, th_v);                                                 \
	}                                                                                          \
	static void th_setup_body_##fx(FIXTURE_DATA(fx) * self,                                    \
				       const struct th_variant_##fx *variant)

#define FIXTURE_TEARDOWN(fx)                                                                       \
	static void th_teardown_body_##fx(FIXTURE_DATA(fx) * self,                                 \
					  const struct th_variant_##fx *variant);                  \
	static void th_teardown_##fx(struct th_test *th_t, void *th_self, const void *th_v)        \
	{                                                                                          \
		(void)th_t;                                                                        \
		th_teardown_body_##fx(th_self, th_v);                                              \
	}                                                                                          \
	static void th_teardown_body_##fx(FIXTURE_DATA(fx) * self,                                 \
					  const struct th_variant_##fx *variant)

#define TEST_F(fx, tn) TEST_F_TIMEOUT(fx, tn, TH_DEFAULT_TIMEOUT)
#define TEST_F_TIMEOUT(fx, tn, secs)                                                               \
	static void th_fn_##fx##_##tn(struct th_test *, void *, const void *);                     \
	static struct th_test th_test_##fx##_##tn = {                                              \
		.name = #tn,                                                                       \
		.fixture = &th_fixture_##fx,                                                       \
		.fn = th_fn_##fx##_##tn,                                                           \
		.timeout = (secs),                                                                 \
		.file = __FILE__,                                                                  \
		.line = __LINE__,                                                                  \
	};                                                                                         \
	static void __attribute__((constructor)) th_reg_##fx##_##tn(void)                          \
	{                                                                                          \
		th_register_test(&th_test_##fx##_##tn);                                            \
	}                                                                                          \
	static void th_body_##fx##_##tn(FIXTURE_DATA(fx) * self,                                   \
					const struct th_variant_##fx *variant);                    \
	static void th_fn_##fx##_##tn(struct th_test *th_t, void *th_self, const void *th_v)       \
	{                                                                                          \
		(void)th_t;                                                                        \
		th_body_##fx##_##tn(th_self, th_v);                                                \
	}                                                                                          \
	static void th_body_##fx##_##tn(FIXTURE_DATA(fx) * self,                                   \
					const struct th_variant_##fx *variant)

#define TEST_HARNESS_MAIN                                                                          \
	int main(int argc, char **argv)                                                            \
	{                                                                                          \
		return th_main(argc, argv);                                                        \
	}

/*
 * Comparisons. Integer and pointer operands are evaluated once and compared as
 * intmax_t, so mixed signedness needs no casts; use ASSERT_TRUE for floating
 * point.
 */
#define TH_CMP(kind, a, op, b)                                                                     \
	do {                                                                                       \
		intmax_t th_a = (intmax_t)(a), th_b = (intmax_t)(b);                               \
		if (!(th_a op th_b))                                                               \
			kind(__FILE__, __LINE__, "%s %s %s (%jd %s %jd)", #a, #op, #b, th_a, #op,  \
			     th_b);                                                                \
	} while (0)

#define TH_BOOL(kind, expr, want)                                                                  \
	do {                                                                                       \
		if ((bool)(expr) != (want))                                                        \
			kind(__FILE__, __LINE__, "%s is %s", #expr, (want) ? "false" : "true");    \
	} while (0)

#define TH_STR(kind, a, b, want_eq)                                                                \
	do {                                                                                       \
		const char *th_sa = (a), *th_sb = (b);                                             \
		bool th_eq = th_sa && th_sb ? strcmp(th_sa, th_sb) == 0 : th_sa == th_sb;          \
		if (th_eq != (want_eq))                                                            \
			kind(__FILE__, __LINE__, "%s %s %s (\"%s\" vs \"%s\")", #a,                \
			     (want_eq) ? "==" : "!=", #b, th_sa ? th_sa : "(null)",                \
			     th_sb ? th_sb : "(null)");                                            \
	} while (0)

#define ASSERT_EQ(a, b) TH_CMP(th_assert_failed, a, ==, b)
#define ASSERT_NE(a, b) TH_CMP(th_assert_failed, a, !=, b)
#define ASSERT_LT(a, b) TH_CMP(th_assert_failed, a, <, b)
#define ASSERT_LE(a, b) TH_CMP(th_assert_failed, a, <=, b)
#define ASSERT_GT(a, b) TH_CMP(th_assert_failed, a, >, b)
#define ASSERT_GE(a, b) TH_CMP(th_assert_failed, a, >=, b)
#define ASSERT_TRUE(x) TH_BOOL(th_assert_failed, x, true)
#define ASSERT_FALSE(x) TH_BOOL(th_assert_failed, x, false)
#define ASSERT_NULL(x) TH_BOOL(th_assert_failed, (x) == NULL, true)
#define ASSERT_NONNULL(x) TH_BOOL(th_assert_failed, (x) != NULL, true)
#define ASSERT_STREQ(a, b) TH_STR(th_assert_failed, a, b, true)
#define ASSERT_STRNE(a, b) TH_STR(th_assert_failed, a, b, false)

#define EXPECT_EQ(a, b) TH_CMP(th_fail, a, ==, b)
#define EXPECT_NE(a, b) TH_CMP(th_fail, a, !=, b)
#define EXPECT_LT(a, b) TH_CMP(th_fail, a, <, b)
#define EXPECT_LE(a, b) TH_CMP(th_fail, a, <=, b)
#define EXPECT_GT(a, b) TH_CMP(th_fail, a, >, b)
#define EXPECT_GE(a, b) TH_CMP(th_fail, a, >=, b)
#define EXPECT_TRUE(x) TH_BOOL(th_fail, x, true)
#define EXPECT_FALSE(x) TH_BOOL(th_fail, x, false)
#define EXPECT_NULL(x) TH_BOOL(th_fail, (x) == NULL, true)
#define EXPECT_NONNULL(x) TH_BOOL(th_fail, (x) != NULL, true)
#define EXPECT_STREQ(a, b) TH_STR(th_fail, a, b, true)
#define EXPECT_STRNE(a, b) TH_STR(th_fail, a, b, false)

/* ASSERT_OK(expr): expr >= 0 (our `-errno` convention); prints the errno name
 * if not. */
#define ASSERT_OK(expr)                                                                            \
	do {                                                                                       \
		intmax_t th_r = (intmax_t)(expr);                                                  \
		if (th_r < 0)                                                                      \
			th_assert_failed(__FILE__, __LINE__, "%s failed: %jd (%s)", #expr, th_r,   \
					 strerror((int)-th_r));                                    \
	} while (0)

#define SKIP(...) th_skip(__FILE__, __LINE__, __VA_ARGS__)
#define TH_LOG(...) th_log(__FILE__, __LINE__, __VA_ARGS__)

#endif
