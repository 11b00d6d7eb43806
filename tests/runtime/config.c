/* SPDX-License-Identifier: MIT */
/* Unit tests of the OCI config parser, the default spec and the mount options. */
#include "harness.h"

#include <errno.h>
#include <seccomp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>

#include "../../runtime/internal.h"

static int parse(const char *text, struct rt_config *c, struct mc_err *err)
{
	return rt_config_parse(text, strlen(text), "/bundle", c, err);
}

TEST(default_spec_round_trips)
{
	json_t *spec = rt_spec_default();
	char *text = json_dumps(spec, 0);
	struct mc_err err = { 0 };
	struct rt_config c;

	ASSERT_NONNULL(text);
	ASSERT_EQ(0, parse(text, &c, &err));
	ASSERT_STREQ("sh", c.args[0]);
	ASSERT_STREQ("/bundle/rootfs", c.root_path);
	EXPECT_TRUE(c.no_new_privs);
	EXPECT_TRUE(c.ns[RT_NS_PID] && c.ns[RT_NS_NET] && c.ns[RT_NS_MNT] && c.ns[RT_NS_CGROUP]);
	EXPECT_FALSE(c.ns[RT_NS_USER]);
	EXPECT_EQ(rt_caps_default(), c.caps[RT_CAP_BOUNDING]);
	EXPECT_EQ(rt_caps_default(), c.caps[RT_CAP_EFFECTIVE]);
	EXPECT_EQ(0, c.caps[RT_CAP_INHERITABLE]);
	EXPECT_EQ(0, c.caps[RT_CAP_AMBIENT]);
	/* docker's 14 default capabilities. */
	EXPECT_EQ(14, __builtin_popcountll(c.caps[RT_CAP_BOUNDING]));
	ASSERT_NONNULL(c.seccomp);
	EXPECT_EQ(SCMP_ACT_ALLOW, c.seccomp->default_action);
	EXPECT_GE(c.n_masked, 5);
	EXPECT_GE(c.n_readonly, 4);
	EXPECT_GE(c.n_mounts, 6);
	rt_config_release(&c);
	free(text);
	json_decref(spec);
}

TEST(default_seccomp_denies_dangerous_allows_io_uring)
{
	json_t *sc = rt_seccomp_default_json();
	char *text = json_dumps(sc, 0);

	ASSERT_NONNULL(strstr(text, "\"mount\""));
	ASSERT_NONNULL(strstr(text, "\"unshare\""));
	ASSERT_NONNULL(strstr(text, "\"keyctl\""));
	ASSERT_NONNULL(strstr(text, "\"bpf\""));
	ASSERT_NONNULL(strstr(text, "\"kexec_load\""));
	ASSERT_NULL(strstr(text, "io_uring"));
	free(text);
	json_decref(sc);
}

static const char *const bad_configs[] = {
	"",
	"[]",
	"{\"root\":{\"path\":\"r\"}}",
	"{\"process\":{\"args\":[]},\"root\":{\"path\":\"r\"}}",
	"{\"process\":{\"args\":[1]},\"root\":{\"path\":\"r\"}}",
	"{\"process\":{\"args\":[\"sh\"],\"cwd\":\"rel\"},\"root\":{\"path\":\"r\"}}",
	"{\"process\":{\"args\":[\"sh\"]}}",
	"{\"process\":{\"args\":[\"sh\"],\"capabilities\":{\"bounding\":[\"CAP_NOPE\"]}},"
	"\"root\":{\"path\":\"r\"}}",
	"{\"process\":{\"args\":[\"sh\"],\"user\":{\"uid\":-1}},\"root\":{\"path\":\"r\"}}",
	"{\"process\":{\"args\":[\"sh\"]},\"root\":{\"path\":\"r\"},\"mounts\":[{\"destination\":"
	"\"rel\",\"type\":\"tmpfs\"}]}",
	"{\"process\":{\"args\":[\"sh\"]},\"root\":{\"path\":\"r\"},\"linux\":{\"namespaces\":[{"
	"\"type\":\"nope\"}]}}",
	"{\"process\":{\"args\":[\"sh\"]},\"root\":{\"path\":\"r\"},\"linux\":{\"namespaces\":[{"
	"\"type\":\"user\"}]}}",
	"{\"process\":{\"args\":[\"sh\"]},\"root\":{\"path\":\"r\"},\"linux\":{\"seccomp\":{"
	"\"defaultAction\":\"SCMP_ACT_NOPE\"}}}",
	"{\"process\":{\"args\":[\"sh\"]},\"root\":{\"path\":\"r\"},\"linux\":{\"resources\":{"
	"\"memory\":{\"limit\":100,\"swap\":50}}}}",
	"{\"process\":{\"args\":[\"sh\"]},\"root\":{\"path\":\"r\"},\"hostname\":\"x\"}",
	"{\"process\":{\"args\":[\"sh\"]},\"process\":{\"args\":[\"sh\"]},\"root\":{\"path\":\"r\"}}",
};

TEST(malformed_configs_fail_with_a_message)
{
	for (size_t i = 0; i < sizeof(bad_configs) / sizeof(bad_configs[0]); i++) {
		struct mc_err err = { 0 };
		struct rt_config c;

		EXPECT_LT(parse(bad_configs[i], &c, &err), 0);
		EXPECT_NE(0, err.msg[0]);
		TH_LOG("%zu: %s", i, err.msg);
		rt_config_release(&c);
	}
}

TEST(mount_options)
{
	struct rt_mount m = { 0 };
	json_t *o = json_pack("[sssssss]", "rbind", "ro", "nosuid", "rprivate", "mode=755",
			      "size=1k", "rw");
	struct mc_err err = { 0 };

	ASSERT_EQ(0, rt_mount_options(o, &m, &err));
	EXPECT_TRUE(m.bind);
	EXPECT_EQ(MS_REC | MS_NOSUID, m.flags);
	EXPECT_EQ(MS_PRIVATE | MS_REC, m.propagation);
	ASSERT_STREQ("mode=755,size=1k", m.data);
	free(m.data);
	json_decref(o);
}

TEST(seccomp_rule_args)
{
	const char *text =
		"{\"defaultAction\":\"SCMP_ACT_ALLOW\",\"syscalls\":[{\"names\":"
		"[\"clone\"],\"action\":\"SCMP_ACT_ERRNO\",\"errnoRet\":1,\"args\":"
		"[{\"index\":0,\"value\":2,\"valueTwo\":2,\"op\":\"SCMP_CMP_MASKED_EQ\"}]}]}";
	json_t *j = json_loads(text, 0, NULL);
	struct rt_seccomp *s = NULL;
	struct mc_err err = { 0 };

	ASSERT_EQ(0, rt_seccomp_parse(j, &s, &err));
	ASSERT_EQ(1, s->n_rules);
	EXPECT_EQ(1, s->rules[0].n_args);
	EXPECT_EQ(SCMP_CMP_MASKED_EQ, s->rules[0].args[0].op);
	EXPECT_EQ(SCMP_ACT_ERRNO(1), s->rules[0].action);
	rt_seccomp_free(s);
	json_decref(j);
}

TEST(idmap_and_caps_names)
{
	struct rt_idmap m;
	struct mc_err err = { 0 };

	ASSERT_EQ(0, rt_parse_idmap("0:100000:65536", &m, &err));
	EXPECT_EQ(100000, m.host_id);
	EXPECT_LT(rt_parse_idmap("0:1", &m, &err), 0);
	EXPECT_LT(rt_parse_idmap("0:1:0", &m, &err), 0);
	EXPECT_EQ(21, rt_cap_from_name("SYS_ADMIN"));
	EXPECT_EQ(21, rt_cap_from_name("cap_sys_admin"));
	EXPECT_LT(rt_cap_from_name("NOPE"), 0);
	EXPECT_EQ(15, mc_rt_signal_parse("SIGTERM"));
	EXPECT_EQ(9, mc_rt_signal_parse("9"));
	EXPECT_LT(mc_rt_signal_parse("SIGNOPE"), 0);
}

TEST_HARNESS_MAIN
