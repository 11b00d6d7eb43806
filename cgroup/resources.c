/* SPDX-License-Identifier: MIT */
/*
 * resources.c: translation of the backend-neutral limits into what each hierarchy
 * understands (CPU weight <-> shares, memory+swap, device rule lines) and the checks
 * that reject inconsistent limits before anything is written.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <mc/cleanup.h>

#include "internal.h"

/*
 * CPU weight (v2, 1..10000, default 100) <-> shares (v1, 2..262144, default 1024).
 * Both are relative, so a linear map of one range onto the other keeps the ratios
 * between siblings. This is the mapping runc, crun and systemd agree on:
 *
 *   weight = 1 + (shares - 2) * 9999 / 262142
 *   shares = 2 + (weight - 1) * 262142 / 9999
 *
 * Integer division makes the round trip lossy by at most one step (1024 -> 39 -> 1012).
 */
uint64_t mc_cgroup_cpu_weight_to_shares(uint64_t weight)
{
	if (weight == 0)
		return 0;
	if (weight > 10000)
		weight = 10000;
	return 2 + ((weight - 1) * 262142) / 9999;
}

uint64_t mc_cgroup_cpu_shares_to_weight(uint64_t shares)
{
	if (shares == 0)
		return 0;
	if (shares < 2)
		shares = 2;
	if (shares > 262144)
		shares = 262144;
	return 1 + ((shares - 2) * 9999) / 262142;
}

int64_t cgroup_swap_total(const struct mc_cgroup_limits *lim)
{
	if (lim->memory_swap_max == -1)
		return -1;
	if (lim->memory_swap_max > 0)
		return lim->memory_swap_max;
	/* docker: --memory without --memory-swap allows as much swap as memory */
	if (lim->memory_max > 0 && lim->memory_max <= INT64_MAX / 2)
		return lim->memory_max * 2;
	return 0;
}

int cgroup_check_limits(const struct mc_cgroup_limits *lim, struct mc_err *err)
{
	if (lim->memory_max < -1)
		return mc_err_setx(err, EINVAL, "invalid memory limit %" PRId64, lim->memory_max);
	if (lim->memory_swap_max < -1)
		return mc_err_setx(err, EINVAL, "invalid memory+swap limit %" PRId64,
				   lim->memory_swap_max);
	if (lim->memory_swap_max > 0 && lim->memory_max <= 0)
		return mc_err_setx(err, EINVAL, "a memory+swap limit needs a memory limit as well");
	if (lim->memory_swap_max > 0 && lim->memory_swap_max < lim->memory_max)
		return mc_err_setx(err, EINVAL,
				   "memory+swap limit (%" PRId64
				   ") is below the memory limit (%" PRId64 ")",
				   lim->memory_swap_max, lim->memory_max);
	if (lim->cpu_weight > 10000)
		return mc_err_setx(err, EINVAL, "cpu weight %" PRIu64 " is outside 1..10000",
				   lim->cpu_weight);
	/* The kernel's own bounds for cfs_period_us and cfs_quota_us. */
	if (lim->cpu_period_us && (lim->cpu_period_us < 1000 || lim->cpu_period_us > 1000000))
		return mc_err_setx(err, EINVAL, "cpu period %" PRIu64 "us is outside 1ms..1s",
				   lim->cpu_period_us);
	if (lim->cpu_quota_us && lim->cpu_quota_us < 1000)
		return mc_err_setx(err, EINVAL, "cpu quota %" PRIu64 "us is below 1ms",
				   lim->cpu_quota_us);
	if (lim->cpu_quota_us > (uint64_t)INT64_MAX / 1000)
		return mc_err_setx(err, EINVAL, "cpu quota %" PRIu64 "us is too large",
				   lim->cpu_quota_us);
	if (lim->pids_max < -1)
		return mc_err_setx(err, EINVAL, "invalid pids limit %" PRId64, lim->pids_max);
	if (lim->n_devices && !lim->devices)
		return mc_err_setx(err, EINVAL, "device rules missing");
	if (lim->n_devices > CG_BPFDEV_MAX_RULES)
		return mc_err_setx(err, EINVAL, "too many device rules (%zu, at most %d)",
				   lim->n_devices, CG_BPFDEV_MAX_RULES);
	for (size_t i = 0; i < lim->n_devices; i++) {
		char line[64];
		int r = cgroup_device_v1_line(&lim->devices[i], line, sizeof(line), err);

		if (r < 0)
			return r;
	}
	return 0;
}

int cgroup_device_v1_line(const struct mc_cgroup_device_rule *r, char *buf, size_t size,
			  struct mc_err *err)
{
	char maj[24], min[24];
	const char *acc = r->access[0] ? r->access : "rwm";
	size_t alen = strnlen(r->access, sizeof(r->access));
	int n;

	if (r->type != 'a' && r->type != 'c' && r->type != 'b')
		return mc_err_setx(err, EINVAL, "device rule: type `%c` is not a, b or c",
				   r->type ? r->type : '?');
	if (alen == sizeof(r->access))
		return mc_err_setx(err, EINVAL, "device rule: access is not terminated");
	for (size_t i = 0; i < alen; i++)
		if (!strchr("rwm", r->access[i]) || memchr(r->access, r->access[i], i))
			return mc_err_setx(err, EINVAL, "device rule: bad access `%.3s`",
					   r->access);
	if (r->major < -1 || r->minor < -1 || r->major > UINT32_MAX || r->minor > UINT32_MAX)
		return mc_err_setx(err, EINVAL, "device rule: bad device number");
	/* The kernel's dev_t: 12-bit major, 20-bit minor. */
	if (r->major > 0xfff || r->minor > 0xfffff)
		return mc_err_setx(err, EINVAL, "device rule: device number out of range");
	if (r->major < 0)
		snprintf(maj, sizeof(maj), "*");
	else
		snprintf(maj, sizeof(maj), "%" PRId64, r->major);
	if (r->minor < 0)
		snprintf(min, sizeof(min), "*");
	else
		snprintf(min, sizeof(min), "%" PRId64, r->minor);
	if (r->type == 'a')
		n = snprintf(buf, size, "a");
	else
		n = snprintf(buf, size, "%c %s:%s %s", r->type, maj, min, acc);
	if (n < 0 || (size_t)n >= size)
		return mc_err_setx(err, EINVAL, "device rule: line too long");
	return 0;
}

/* docker's default allow-list (moby oci/defaults.go, DefaultSpec's Devices). */
static const struct mc_cgroup_device_rule default_devices[] = {
	{ false, 'a', -1, -1, "rwm" }, { true, 'c', -1, -1, "m" }, /* mknod of any char device */
	{ true, 'b', -1, -1, "m" },				   /* mknod of any block device */
	{ true, 'c', 1, 3, "rwm" },				   /* /dev/null */
	{ true, 'c', 1, 5, "rwm" },				   /* /dev/zero */
	{ true, 'c', 1, 7, "rwm" },				   /* /dev/full */
	{ true, 'c', 1, 8, "rwm" },				   /* /dev/random */
	{ true, 'c', 1, 9, "rwm" },				   /* /dev/urandom */
	{ true, 'c', 5, 0, "rwm" },				   /* /dev/tty */
	{ true, 'c', 5, 1, "rwm" },				   /* /dev/console */
	{ true, 'c', 5, 2, "rwm" },				   /* /dev/ptmx */
	{ true, 'c', 136, -1, "rwm" },				   /* /dev/pts/N */
	{ true, 'c', 10, 200, "rwm" },				   /* /dev/net/tun */
};

const struct mc_cgroup_device_rule *mc_cgroup_default_devices(size_t *n)
{
	*n = MC_ARRAY_SIZE(default_devices);
	return default_devices;
}
