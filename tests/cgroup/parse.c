/* SPDX-License-Identifier: MIT */
/*
 * Pure parts of libmccgroup: the kernel-file parsers, path checks, the resource
 * translations (weight <-> shares, memory+swap, device lines) and the eBPF device
 * program builder, whose random rule sets must all pass the kernel verifier.
 */
#include "harness.h"

#include <errno.h>
#include <linux/bpf.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mc/cgroup.h>

#include "internal.h"

TEST(keyed_parser)
{
	uint64_t v = 0;

	ASSERT_EQ(0, cgroup_parse_keyed("a 1\noom_kill 42\n", "oom_kill", &v));
	EXPECT_EQ(42, v);
	ASSERT_EQ(0, cgroup_parse_keyed("oom 3\noom_kill 7", "oom", &v));
	EXPECT_EQ(3, v);
	/* a key must match whole: "oom" is not "oom_kill" and vice versa */
	EXPECT_EQ(-ENOENT, cgroup_parse_keyed("oom_kill_x 1\n", "oom_kill", &v));
	EXPECT_EQ(-ENOENT, cgroup_parse_keyed("", "x", &v));
	EXPECT_EQ(-EINVAL, cgroup_parse_keyed("x \n", "x", &v));
	EXPECT_EQ(-EINVAL, cgroup_parse_keyed("x -1\n", "x", &v));
	EXPECT_EQ(-EINVAL, cgroup_parse_keyed("x 99999999999999999999999\n", "x", &v));
}

TEST(pids_parser)
{
	pid_t *p = NULL;
	size_t n = 0;

	ASSERT_EQ(0, cgroup_parse_pids("1\n22\n333\n22\n", &p, &n));
	ASSERT_EQ(3, n);
	EXPECT_EQ(333, p[2]);
	ASSERT_EQ(0, cgroup_parse_pids("", &p, &n));
	EXPECT_EQ(3, n);
	EXPECT_EQ(-EINVAL, cgroup_parse_pids("0\n", &p, &n));
	EXPECT_EQ(-EINVAL, cgroup_parse_pids("1\n\n", &p, &n));
	EXPECT_EQ(-EINVAL, cgroup_parse_pids("abc\n", &p, &n));
	EXPECT_EQ(-EINVAL, cgroup_parse_pids("99999999999\n", &p, &n));
	free(p);
}

TEST(path_validation)
{
	EXPECT_TRUE(cgroup_path_valid("a"));
	EXPECT_TRUE(cgroup_path_valid("mycontainer/abc-1.2"));
	EXPECT_FALSE(cgroup_path_valid(""));
	EXPECT_FALSE(cgroup_path_valid("/a"));
	EXPECT_FALSE(cgroup_path_valid("a/"));
	EXPECT_FALSE(cgroup_path_valid("a//b"));
	EXPECT_FALSE(cgroup_path_valid(".."));
	EXPECT_FALSE(cgroup_path_valid("a/./b"));
	EXPECT_FALSE(cgroup_path_valid("a/.."));
	EXPECT_TRUE(cgroup_path_valid("a/..b"));
}

TEST(weight_shares_mapping)
{
	EXPECT_EQ(2, mc_cgroup_cpu_weight_to_shares(1));
	EXPECT_EQ(262144, mc_cgroup_cpu_weight_to_shares(10000));
	EXPECT_EQ(2597, mc_cgroup_cpu_weight_to_shares(100));
	EXPECT_EQ(39, mc_cgroup_cpu_shares_to_weight(1024));
	EXPECT_EQ(1, mc_cgroup_cpu_shares_to_weight(2));
	EXPECT_EQ(10000, mc_cgroup_cpu_shares_to_weight(262144));
	EXPECT_EQ(0, mc_cgroup_cpu_weight_to_shares(0));
	/* monotonic, and the round trip stays within one step */
	for (uint64_t w = 1; w <= 10000; w++) {
		uint64_t s = mc_cgroup_cpu_weight_to_shares(w);
		uint64_t back = mc_cgroup_cpu_shares_to_weight(s);

		ASSERT_TRUE(back == w || back + 1 == w);
		ASSERT_LE(mc_cgroup_cpu_weight_to_shares(w - 1), s);
	}
}

TEST(swap_total_like_docker)
{
	struct mc_cgroup_limits l = { 0 };

	EXPECT_EQ(0, cgroup_swap_total(&l));
	l.memory_max = 100;
	EXPECT_EQ(200, cgroup_swap_total(&l));
	l.memory_swap_max = 150;
	EXPECT_EQ(150, cgroup_swap_total(&l));
	l.memory_swap_max = -1;
	EXPECT_EQ(-1, cgroup_swap_total(&l));
	l.memory_max = -1;
	l.memory_swap_max = 0;
	EXPECT_EQ(0, cgroup_swap_total(&l));
}

TEST(device_lines)
{
	struct mc_cgroup_device_rule r = { true, 'c', 1, 3, "rw" };
	char line[64];

	ASSERT_EQ(0, cgroup_device_v1_line(&r, line, sizeof(line), NULL));
	EXPECT_STREQ("c 1:3 rw", line);
	r = (struct mc_cgroup_device_rule){ true, 'b', -1, -1, "" };
	ASSERT_EQ(0, cgroup_device_v1_line(&r, line, sizeof(line), NULL));
	EXPECT_STREQ("b *:* rwm", line);
	r = (struct mc_cgroup_device_rule){ false, 'a', 5, 5, "r" };
	ASSERT_EQ(0, cgroup_device_v1_line(&r, line, sizeof(line), NULL));
	EXPECT_STREQ("a", line);
	r = (struct mc_cgroup_device_rule){ true, 'c', 4096, 0, "r" };
	EXPECT_EQ(-EINVAL, cgroup_device_v1_line(&r, line, sizeof(line), NULL));
	r = (struct mc_cgroup_device_rule){ true, 'c', 1, 1, "rr" };
	EXPECT_EQ(-EINVAL, cgroup_device_v1_line(&r, line, sizeof(line), NULL));
	r = (struct mc_cgroup_device_rule){ true, 'c', -2, 1, "r" };
	EXPECT_EQ(-EINVAL, cgroup_device_v1_line(&r, line, sizeof(line), NULL));
}

static void random_rules(struct mc_cgroup_device_rule *r, size_t n, unsigned *seed)
{
	static const char *const acc[] = { "r", "w", "m", "rw", "rm", "wm", "rwm", "" };
	static const char types[] = { 'a', 'b', 'c', 'c', 'c' };

	for (size_t i = 0; i < n; i++) {
		r[i].allow = rand_r(seed) & 1;
		/* 'a' rarely, so that most programs have many reachable rules */
		r[i].type = types[rand_r(seed) % 5];
		r[i].major = rand_r(seed) % 3 ? rand_r(seed) % 300 : -1;
		r[i].minor = rand_r(seed) % 3 ? rand_r(seed) % 300 : -1;
		strcpy(r[i].access, acc[rand_r(seed) % 8]);
	}
}

TEST(bpf_program_shape)
{
	unsigned seed = (unsigned)th_seed();
	struct mc_cgroup_device_rule rules[64];
	struct bpf_insn insns[600];

	for (int iter = 0; iter < 500; iter++) {
		size_t n = (size_t)(rand_r(&seed) % 64);
		int len;

		random_rules(rules, n, &seed);
		ASSERT_LE(cgroup_bpfdev_max_insns(n), 600);
		len = cgroup_bpfdev_build(rules, n, insns, NULL);
		ASSERT_GT(len, 0);
		ASSERT_LE((size_t)len, cgroup_bpfdev_max_insns(n));
		EXPECT_EQ(BPF_JMP | BPF_EXIT, insns[len - 1].code);
		/* every jump lands inside the program */
		for (int i = 0; i < len; i++)
			if (BPF_CLASS(insns[i].code) == BPF_JMP &&
			    BPF_OP(insns[i].code) != BPF_EXIT) {
				ASSERT_GE(insns[i].off, 0);
				ASSERT_LT(i + 1 + insns[i].off, len);
			}
	}
}

TEST(bpf_programs_pass_the_verifier)
{
	unsigned seed = (unsigned)th_seed();
	struct mc_cgroup_device_rule rules[CG_BPFDEV_MAX_RULES];
	size_t n_def;
	const struct mc_cgroup_device_rule *def = mc_cgroup_default_devices(&n_def);
	struct mc_err err = { 0 };
	int fd;

	require_root();
	fd = cgroup_bpfdev_load(def, n_def, &err);
	if (fd < 0 && (err.code == EPERM || err.code == ENOSYS))
		SKIP("bpf(BPF_PROG_LOAD) not permitted here: %s", err.msg);
	ASSERT_GE(fd, 0);
	close(fd);
	for (int iter = 0; iter < 40; iter++) {
		size_t n = (size_t)(rand_r(&seed) % CG_BPFDEV_MAX_RULES) + 1;

		random_rules(rules, n, &seed);
		fd = cgroup_bpfdev_load(rules, n, &err);
		if (fd < 0)
			TH_LOG("iteration %d, %zu rules: %s", iter, n, err.msg);
		ASSERT_GE(fd, 0);
		close(fd);
	}
}

TEST_HARNESS_MAIN
