/* SPDX-License-Identifier: MIT */
/*
 * fixture.h: the "host" fixture shared by attach.c and ports.c: a fresh network
 * namespace (unshare in the test process), lo up, a private state root, and the
 * pids of the test containers, killed in teardown even after a crash.
 */
#ifndef MC_TESTS_NETNS_FIXTURE_H
#define MC_TESTS_NETNS_FIXTURE_H

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mc/cleanup.h>
#include <mc/netlink.h>
#include <mc/netns.h>
#include <mc/util.h>

#include "ctr.h"
#include "harness.h"

#define MAX_CTRS 16

FIXTURE(host)
{
	char root[64];
	struct mc_netns_ctx ctx;
	pid_t pids[MAX_CTRS];
	int n_pids;
};

FIXTURE_SETUP(host)
{
	struct mc_err err = { 0 };
	struct mc_netns_nl *nl = NULL;

	require_root();
	ASSERT_EQ(0, unshare(CLONE_NEWNET));
	ASSERT_OK(mc_netns_nl_open(&nl, &err));
	ASSERT_OK(mc_netns_link_set_up(nl, "lo", true, &err));
	mc_netns_nl_close(nl);
	strcpy(self->root, "/tmp/mc-netns-test.XXXXXX");
	ASSERT_NONNULL(mkdtemp(self->root));
	self->ctx.state_root = self->root;
}

FIXTURE_TEARDOWN(host)
{
	kill_pids(self->pids, self->n_pids);
	/* Links, addresses and nftables rules die with the test's namespace. */
	if (self->root[0])
		mc_fs_rm_rf(self->root, NULL);
}

/* Spawns a test container and records its pid for teardown. */
static inline int spawn(FIXTURE_DATA(host) * self, struct ctr *c, const struct ctr_spec *s)
{
	int r = ctr_spawn(c, s);

	if (c->pid > 0 && self->n_pids < MAX_CTRS)
		self->pids[self->n_pids++] = c->pid;
	return r;
}

/* Host-side veth ends ("mcv...") present in the test's host namespace. */
static inline int count_veths(void)
{
	struct mc_err err = { 0 };
	struct mc_netns_nl *nl = NULL;
	struct mc_netns_link_info *v = NULL;
	size_t n = 0;
	int cnt = 0;

	if (mc_netns_nl_open(&nl, &err) < 0)
		return -1;
	if (mc_netns_link_dump(nl, &v, &n, &err) < 0)
		cnt = -1;
	for (size_t i = 0; cnt >= 0 && i < n; i++)
		cnt += strncmp(v[i].name, "mcv", 3) == 0;
	free(v);
	mc_netns_nl_close(nl);
	return cnt;
}

static inline int count_links(void)
{
	struct mc_err err = { 0 };
	struct mc_netns_nl *nl = NULL;
	struct mc_netns_link_info *v = NULL;
	size_t n = 0;

	if (mc_netns_nl_open(&nl, &err) < 0)
		return -1;
	if (mc_netns_link_dump(nl, &v, &n, &err) < 0)
		n = (size_t)-1;
	free(v);
	mc_netns_nl_close(nl);
	return (int)n;
}

#endif
