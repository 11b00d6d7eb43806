/* SPDX-License-Identifier: MIT */
/*
 * store.c: the network store on disk: NAME.json (definition, durable) and NAME.ep
 * (two checksummed slots overwritten in place). Saves alternate slots without a new
 * inode, a torn newest slot falls back to the previous version, two damaged slots
 * are an error naming the file (or, written before this boot, fall back to the
 * definition), networks from before NAME.ep load, records grow past a slot, remove
 * deletes both files, and random add/remove sequences with random tears round trip.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../netns/internal.h"
#include <mc/cleanup.h>
#include <mc/util.h>

#include "harness.h"

FIXTURE(store)
{
	char root[64];
	struct mc_netns_ctx ctx;
	struct net_store st;
	char json[128], ep[128];
};

FIXTURE_SETUP(store)
{
	struct mc_err err = { 0 };

	strcpy(self->root, "/tmp/mc-netns-store.XXXXXX");
	ASSERT_NONNULL(mkdtemp(self->root));
	self->ctx.state_root = self->root;
	self->st.lock_fd = -1;
	ASSERT_OK(store_open(&self->ctx, true, &self->st, &err));
	snprintf(self->json, sizeof(self->json), "%s/networks/n1.json", self->root);
	snprintf(self->ep, sizeof(self->ep), "%s/networks/n1.ep", self->root);
}

FIXTURE_TEARDOWN(store)
{
	store_close(&self->st);
	if (self->root[0])
		mc_fs_rm_rf(self->root, NULL);
}

static struct net_record def(void)
{
	struct net_record r = { 0 };

	strcpy(r.name, "n1");
	strcpy(r.bridge, "mc-n1");
	r.subnet = 0x0a580000u;
	r.prefix = 16;
	r.gateway = 0x0a580001u;
	r.mtu = 1500;
	strcpy(r.created, "2026-01-01T00:00:00Z");
	return r;
}

static void add_ep(struct net_record *r, int i)
{
	struct net_endpoint ep = { 0 };

	snprintf(ep.id, sizeof(ep.id), "ctr%04d", i);
	snprintf(ep.name, sizeof(ep.name), "name%04d", i);
	ep.ip = 0x0a580002u + (uint32_t)i;
	snprintf(ep.veth, sizeof(ep.veth), "mcv%08x", (unsigned)i);
	snprintf(ep.hosts, sizeof(ep.hosts), "/var/lib/x/hosts/%04d", i);
	net_record_add(r, &ep, NULL);
}

/* Endpoints loaded for n1, or -errno. */
static int loaded_eps(FIXTURE_DATA(store) * self, struct mc_err *err)
{
	struct net_record r;
	int n, ret = store_load(&self->st, "n1", &r, err);

	if (ret < 0)
		return ret;
	n = (int)r.n_eps;
	net_record_release(&r);
	return n;
}

/* Flips a byte inside the JSON of slot @which (0, 1, or -1: the higher generation). */
static void tear(const char *path, int which)
{
	mc_autoclose int fd = open(path, O_RDWR);
	struct stat sb;
	uint64_t g0 = 0, g1 = 0;
	off_t slot, at;
	char c;

	ASSERT_GE(fd, 0);
	ASSERT_EQ(0, fstat(fd, &sb));
	slot = sb.st_size / 2;
	ASSERT_EQ(8, pread(fd, &g0, 8, 8));
	ASSERT_EQ(8, pread(fd, &g1, 8, slot + 8));
	if (which < 0)
		which = g1 > g0;
	at = which * slot + 40;
	ASSERT_EQ(1, pread(fd, &c, 1, at));
	c ^= 0x20;
	ASSERT_EQ(1, pwrite(fd, &c, 1, at));
}

static void tear_newest(const char *path)
{
	tear(path, -1);
}

TEST_F(store, saves_alternate_slots_in_place_and_a_torn_slot_falls_back)
{
	struct mc_err err = { 0 };
	struct net_record r = def();
	struct stat a, b;
	struct timespec old[2] = { { .tv_sec = 1 }, { .tv_sec = 1 } };

	ASSERT_OK(store_save(&self->st, &r, true, &err));
	ASSERT_EQ(0, stat(self->json, &a));
	ASSERT_EQ(0, stat(self->ep, &a));
	EXPECT_EQ(0, loaded_eps(self, &err));
	for (int i = 0; i < 5; i++) {
		add_ep(&r, i);
		ASSERT_OK(store_save(&self->st, &r, false, &err));
		EXPECT_EQ(i + 1, loaded_eps(self, &err));
	}
	/* Overwritten in place: the same inode all along. */
	ASSERT_EQ(0, stat(self->ep, &b));
	EXPECT_EQ(a.st_ino, b.st_ino);
	EXPECT_EQ(a.st_size, b.st_size);

	/* A writer killed mid-save: the newest slot is torn, the previous version loads. */
	tear_newest(self->ep);
	EXPECT_EQ(4, loaded_eps(self, &err));
	/* The next save goes over the torn slot and wins again. */
	ASSERT_OK(store_save(&self->st, &r, false, &err));
	EXPECT_EQ(5, loaded_eps(self, &err));

	/* Both slots damaged in this boot: an error naming the file, nothing guessed. */
	tear(self->ep, 0);
	tear(self->ep, 1);
	EXPECT_EQ(-MC_ECORRUPT, loaded_eps(self, &err));
	TH_LOG("message: %s", err.msg);
	EXPECT_NONNULL(strstr(err.msg, "n1.ep"));
	/* The same damage in a file from before this boot (a power loss): the
	 * definition's endpoints, since the kernel objects of that boot are gone. */
	ASSERT_EQ(0, utimensat(AT_FDCWD, self->ep, old, 0));
	EXPECT_EQ(0, loaded_eps(self, &err));
	/* And a save starts NAME.ep over. */
	ASSERT_OK(store_save(&self->st, &r, false, &err));
	EXPECT_EQ(5, loaded_eps(self, &err));
	net_record_release(&r);
}

TEST_F(store, network_from_before_ep_files_loads_and_moves_on)
{
	struct mc_err err = { 0 };
	struct net_record r = def();
	mc_autofree char *json = NULL;

	/* What an older version left: endpoints in NAME.json, no NAME.ep. */
	add_ep(&r, 0);
	add_ep(&r, 1);
	ASSERT_OK(net_record_format(&r, &json, &err));
	ASSERT_OK(mc_fs_write_atomic(self->json, json, strlen(json), 0600, &err));
	EXPECT_EQ(2, loaded_eps(self, &err));
	add_ep(&r, 2);
	ASSERT_OK(store_save(&self->st, &r, false, &err));
	EXPECT_EQ(0, access(self->ep, F_OK));
	EXPECT_EQ(3, loaded_eps(self, &err));
	/* remove deletes both; the network is gone. */
	ASSERT_OK(store_remove(&self->st, "n1", &err));
	EXPECT_NE(0, access(self->ep, F_OK));
	EXPECT_NE(0, access(self->json, F_OK));
	EXPECT_EQ(-ENOENT, loaded_eps(self, &err));
	EXPECT_STREQ("network `n1` not found", err.msg);
	net_record_release(&r);
}

TEST_F(store, records_grow_past_a_slot)
{
	struct mc_err err = { 0 };
	struct net_record r = def();
	struct stat a, b;

	ASSERT_OK(store_save(&self->st, &r, true, &err));
	ASSERT_EQ(0, stat(self->ep, &a));
	/* ~200 bytes of JSON per endpoint: 300 of them need more than the first slots. */
	for (int i = 0; i < 300; i++) {
		add_ep(&r, i);
		ASSERT_OK(store_save(&self->st, &r, false, &err));
	}
	ASSERT_EQ(0, stat(self->ep, &b));
	EXPECT_GT(b.st_size, a.st_size);
	EXPECT_EQ(300, loaded_eps(self, &err));
	/* Shrinking stays in place. */
	for (int i = 0; i < 290; i++) {
		char id[32];

		snprintf(id, sizeof(id), "ctr%04d", i);
		net_record_remove(&r, id);
	}
	ASSERT_OK(store_save(&self->st, &r, false, &err));
	ASSERT_EQ(0, stat(self->ep, &a));
	EXPECT_EQ(a.st_ino, b.st_ino);
	EXPECT_EQ(10, loaded_eps(self, &err));
	net_record_release(&r);
}

TEST_F(store, random_saves_and_tears_round_trip)
{
	struct mc_err err = { 0 };
	struct net_record r = def();
	unsigned seed = th_seed();
	int prev = 0, next_id = 0;

	ASSERT_OK(store_save(&self->st, &r, true, &err));
	for (int step = 0; step < 400; step++) {
		int n = (int)r.n_eps;

		if (n > 0 && rand_r(&seed) % 3 == 0)
			net_record_remove(&r, r.eps[rand_r(&seed) % (unsigned)n].id);
		else
			add_ep(&r, next_id++);
		ASSERT_OK(store_save(&self->st, &r, false, &err));
		if (rand_r(&seed) % 10 == 0) {
			/* A torn save of this version: the one before it loads. */
			tear_newest(self->ep);
			ASSERT_EQ(prev, loaded_eps(self, &err));
			ASSERT_OK(store_save(&self->st, &r, false, &err));
		}
		ASSERT_EQ((int)r.n_eps, loaded_eps(self, &err));
		prev = (int)r.n_eps;
	}
	net_record_release(&r);
}

TEST_HARNESS_MAIN
