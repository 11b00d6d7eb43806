/* SPDX-License-Identifier: MIT */
/*
 * spec.c: builds OCI configs: the default spec (docker-like security defaults) and
 * the config of a `run`, where each CLI flag becomes a field. Values from the user
 * are validated here, each with a one-line error naming the flag.
 */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEFAULT_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* docker's default capability set. */
static const int default_caps[] = { 0 /* CHOWN */,
				    1 /* DAC_OVERRIDE */,
				    4 /* FSETID */,
				    3 /* FOWNER */,
				    27 /* MKNOD */,
				    13 /* NET_RAW */,
				    6 /* SETGID */,
				    7 /* SETUID */,
				    31 /* SETFCAP */,
				    8 /* SETPCAP */,
				    10 /* NET_BIND_SERVICE */,
				    18 /* SYS_CHROOT */,
				    5 /* KILL */,
				    29 /* AUDIT_WRITE */ };

uint64_t rt_caps_default(void)
{
	uint64_t m = 0;

	for (size_t i = 0; i < MC_ARRAY_SIZE(default_caps); i++)
		m |= 1ULL << default_caps[i];
	return m;
}

static json_t *caps_array(uint64_t mask)
{
	json_t *a = json_array();

	for (int i = 0; i < 64; i++)
		if (mask & (1ULL << i) && rt_cap_name(i))
			json_array_append_new(a, json_string(rt_cap_name(i)));
	return a;
}

/* Paths docker and runc hide (masked) or freeze (read-only) in /proc and /sys. */
static const char *const masked_paths[] = {
	"/proc/asound",
	"/proc/acpi",
	"/proc/kcore",
	"/proc/keys",
	"/proc/latency_stats",
	"/proc/timer_list",
	"/proc/timer_stats",
	"/proc/sched_debug",
	"/proc/scsi",
	"/sys/firmware",
	"/sys/devices/virtual/powercap",
};
static const char *const readonly_paths[] = { "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
					      "/proc/sysrq-trigger" };

/*
 * The default seccomp profile: allow by default, deny what lets a container reach
 * the kernel's global state (mounts, namespaces, keyrings, modules, kexec, clocks,
 * BPF, perf, swap, reboot, syslog, accounting, handle-based opens, userfaultfd).
 * io_uring_setup/enter/register stay allowed: our services are built on io_uring.
 * clone is filtered by flags (no new namespaces) and clone3, whose flags live in
 * memory seccomp cannot read, fails with ENOSYS so libc falls back to clone.
 */
static const char *const denied_syscalls[] = {
	"mount",
	"umount",
	"umount2",
	"pivot_root",
	"unshare",
	"setns",
	"keyctl",
	"add_key",
	"request_key",
	"bpf",
	"perf_event_open",
	"kexec_load",
	"kexec_file_load",
	"init_module",
	"finit_module",
	"delete_module",
	"create_module",
	"open_by_handle_at",
	"name_to_handle_at",
	"reboot",
	"swapon",
	"swapoff",
	"syslog",
	"acct",
	"clock_settime",
	"clock_adjtime",
	"settimeofday",
	"stime",
	"userfaultfd",
	"lookup_dcookie",
	"nfsservctl",
	"quotactl",
	"quotactl_fd",
	"vm86",
	"vm86old",
	"iopl",
	"ioperm",
	"uselib",
	"ustat",
	"sysfs",
	"_sysctl",
	"fsopen",
	"fsconfig",
	"fsmount",
	"fspick",
	"move_mount",
	"open_tree",
	"mount_setattr",
	"get_kernel_syms",
	"query_module",
	"get_mempolicy",
	"set_mempolicy",
	"mbind",
	"move_pages",
	"kcmp",
	"process_madvise",
	"pidfd_getfd",
};

json_t *rt_seccomp_default_json(void)
{
	static const unsigned long ns_flags[] = { CLONE_NEWNS,	  CLONE_NEWUTS, CLONE_NEWIPC,
						  CLONE_NEWUSER,  CLONE_NEWPID, CLONE_NEWNET,
						  CLONE_NEWCGROUP };
	json_t *sc = json_object(), *calls = json_array(), *names = json_array();

	json_object_set_new(sc, "defaultAction", json_string("SCMP_ACT_ALLOW"));
	json_object_set_new(
		sc, "architectures",
		json_pack("[sss]", "SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"));
	for (size_t i = 0; i < MC_ARRAY_SIZE(denied_syscalls); i++)
		json_array_append_new(names, json_string(denied_syscalls[i]));
	json_array_append_new(calls, json_pack("{s:o,s:s,s:i}", "names", names, "action",
					       "SCMP_ACT_ERRNO", "errnoRet", EPERM));
	for (size_t i = 0; i < MC_ARRAY_SIZE(ns_flags); i++)
		json_array_append_new(
			calls, json_pack("{s:[s],s:s,s:i,s:[{s:i,s:I,s:I,s:s}]}", "names", "clone",
					 "action", "SCMP_ACT_ERRNO", "errnoRet", EPERM, "args",
					 "index", 0, "value", (json_int_t)ns_flags[i], "valueTwo",
					 (json_int_t)ns_flags[i], "op", "SCMP_CMP_MASKED_EQ"));
	json_array_append_new(calls, json_pack("{s:[s],s:s,s:i}", "names", "clone3", "action",
					       "SCMP_ACT_ERRNO", "errnoRet", ENOSYS));
	json_object_set_new(sc, "syscalls", calls);
	return sc;
}

static json_t *mount_json(const char *dst, const char *type, const char *src, const char *opts)
{
	json_t *m = json_pack("{s:s,s:s,s:s}", "destination", dst, "type", type, "source", src);
	json_t *o = json_array();
	char *copy = strdup(opts), *save = NULL;

	for (char *t = copy ? strtok_r(copy, ",", &save) : NULL; t; t = strtok_r(NULL, ",", &save))
		json_array_append_new(o, json_string(t));
	free(copy);
	json_object_set_new(m, "options", o);
	return m;
}

static json_t *device_rules_json(void)
{
	size_t n;
	const struct mc_cgroup_device_rule *r = mc_cgroup_default_devices(&n);
	json_t *a = json_array();

	for (size_t i = 0; i < n; i++) {
		json_t *d = json_object();
		char t[2] = { r[i].type, 0 };

		json_object_set_new(d, "allow", json_boolean(r[i].allow));
		json_object_set_new(d, "type", json_string(t));
		if (r[i].major >= 0)
			json_object_set_new(d, "major", json_integer(r[i].major));
		if (r[i].minor >= 0)
			json_object_set_new(d, "minor", json_integer(r[i].minor));
		json_object_set_new(d, "access", json_string(r[i].access[0] ? r[i].access : "rwm"));
		json_array_append_new(a, d);
	}
	return a;
}

json_t *rt_spec_default(void)
{
	struct rlimit rl = { 1024, 1024 };
	uint64_t caps = rt_caps_default(), nofile;
	json_t *spec, *mounts, *lin, *nss, *masked, *ro;

	/* Raise nofile only within our hard limit: root may lack CAP_SYS_RESOURCE. */
	getrlimit(RLIMIT_NOFILE, &rl);
	nofile = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > 1048576 ? 1048576 : rl.rlim_max;
	spec = json_pack("{s:s,s:{s:b,s:{s:i,s:i},s:[s],s:[s,s],s:s,s:b}}", "ociVersion", "1.0.2",
			 "process", "terminal", 0, "user", "uid", 0, "gid", 0, "args", "sh", "env",
			 DEFAULT_PATH + 0, "TERM=xterm", "cwd", "/", "noNewPrivileges", 1);
	json_t *proc = json_object_get(spec, "process");
	json_object_set_new(proc, "capabilities",
			    json_pack("{s:o,s:o,s:o,s:[],s:[]}", "bounding", caps_array(caps),
				      "effective", caps_array(caps), "permitted", caps_array(caps),
				      "inheritable", "ambient"));
	json_object_set_new(proc, "rlimits",
			    json_pack("[{s:s,s:I,s:I}]", "type", "RLIMIT_NOFILE", "hard",
				      (json_int_t)nofile, "soft", (json_int_t)nofile));
	json_object_set_new(spec, "root", json_pack("{s:s,s:b}", "path", "rootfs", "readonly", 0));
	json_object_set_new(spec, "hostname", json_string("mycontainer"));
	mounts = json_array();
	json_array_append_new(mounts, mount_json("/proc", "proc", "proc", "nosuid,noexec,nodev"));
	json_array_append_new(mounts, mount_json("/dev", "tmpfs", "tmpfs",
						 "nosuid,strictatime,mode=755,size=65536k"));
	json_array_append_new(mounts,
			      mount_json("/dev/pts", "devpts", "devpts",
					 "nosuid,noexec,newinstance,ptmxmode=0666,mode=0620"));
	json_array_append_new(mounts, mount_json("/dev/shm", "tmpfs", "shm",
						 "nosuid,noexec,nodev,mode=1777,size=65536k"));
	json_array_append_new(mounts,
			      mount_json("/dev/mqueue", "mqueue", "mqueue", "nosuid,noexec,nodev"));
	json_array_append_new(mounts,
			      mount_json("/sys", "sysfs", "sysfs", "nosuid,noexec,nodev,ro"));
	json_object_set_new(spec, "mounts", mounts);
	nss = json_pack("[{s:s},{s:s},{s:s},{s:s},{s:s},{s:s}]", "type", "pid", "type", "network",
			"type", "ipc", "type", "uts", "type", "mount", "type", "cgroup");
	masked = json_array();
	for (size_t i = 0; i < MC_ARRAY_SIZE(masked_paths); i++)
		json_array_append_new(masked, json_string(masked_paths[i]));
	ro = json_array();
	for (size_t i = 0; i < MC_ARRAY_SIZE(readonly_paths); i++)
		json_array_append_new(ro, json_string(readonly_paths[i]));
	lin = json_pack("{s:o,s:o,s:o,s:{s:o},s:o}", "namespaces", nss, "maskedPaths", masked,
			"readonlyPaths", ro, "resources", "devices", device_rules_json(), "seccomp",
			rt_seccomp_default_json());
	json_object_set_new(spec, "linux", lin);
	return spec;
}

int rt_parse_idmap(const char *s, struct rt_idmap *m, struct mc_err *err)
{
	unsigned long long a, b, c;
	int n = 0;

	if (sscanf(s, "%llu:%llu:%llu%n", &a, &b, &c, &n) != 3 || s[n] || a > UINT32_MAX ||
	    b > UINT32_MAX || c == 0 || c > UINT32_MAX)
		return mc_err_setx(err, EINVAL, "invalid id map `%s` (want CONTAINER:HOST:SIZE)",
				   s);
	*m = (struct rt_idmap){ (uint32_t)a, (uint32_t)b, (uint32_t)c };
	return 0;
}

/*
 * parse_user: -u USER[:GROUP] of `run`, names from the image's own passwd and group
 * (resolved inside the image tree, see passwd.c), plus the user's supplementary
 * groups from its group file.
 */
static int parse_user(const char *spec, const char *lower, json_t *proc, struct mc_err *err)
{
	struct rt_user u;
	json_t *gids;
	int rootfd = lower ? open(lower, O_PATH | O_DIRECTORY | O_CLOEXEC) : -1;
	int r;

	if (rootfd >= 0) {
		r = rt_user_resolve_in_root(rootfd, spec, &u, err);
		close(rootfd);
	} else {
		r = rt_user_resolve(spec, NULL, 0, NULL, 0, &u, err);
	}
	if (r < 0)
		return r;
	gids = json_array();
	for (size_t i = 0; i < u.n_groups; i++)
		json_array_append_new(gids, json_integer(u.groups[i]));
	json_object_set_new(proc, "user",
			    json_pack("{s:I,s:I,s:o}", "uid", (json_int_t)u.uid, "gid",
				      (json_int_t)u.gid, "additionalGids", gids));
	if (u.uid != 0) {
		/* docker: a non-root user gets no effective or permitted capabilities. */
		json_t *caps = json_object_get(proc, "capabilities");

		json_object_set_new(caps, "effective", json_array());
		json_object_set_new(caps, "permitted", json_array());
	}
	return 0;
}

static int apply_caps(const struct mc_rt_run_opts *o, json_t *proc, struct mc_err *err)
{
	uint64_t mask = rt_caps_default();
	json_t *caps = json_object_get(proc, "capabilities");

	/* Drops first, then adds, as docker does: --cap-drop ALL --cap-add X keeps X. */
	for (size_t i = 0; i < o->n_cap_add + o->n_cap_drop; i++) {
		bool add = i >= o->n_cap_drop;
		const char *name = add ? o->cap_add[i - o->n_cap_drop] : o->cap_drop[i];
		int cap;

		if (!strcasecmp(name, "ALL")) {
			mask = add ? (1ULL << 41) - 1 : 0;
			continue;
		}
		cap = rt_cap_from_name(name);
		if (cap < 0)
			return mc_err_setx(err, EINVAL, "--cap-%s: unknown capability `%s`",
					   add ? "add" : "drop", name);
		if (add)
			mask |= 1ULL << cap;
		else
			mask &= ~(1ULL << cap);
	}
	json_object_set_new(caps, "bounding", caps_array(mask));
	json_object_set_new(caps, "effective", caps_array(mask));
	json_object_set_new(caps, "permitted", caps_array(mask));
	return 0;
}

static int apply_ulimits(const struct mc_rt_run_opts *o, json_t *proc, struct mc_err *err)
{
	json_t *arr = json_object_get(proc, "rlimits");

	for (size_t i = 0; i < o->n_ulimits; i++) {
		const char *u = o->ulimits[i];
		uint64_t soft, hard;
		char num[64], *colon;

		if (strncmp(u, "nofile=", 7) || mc_strlcpy(num, u + 7, sizeof(num)) >= sizeof(num))
			return mc_err_setx(err, EINVAL,
					   "--ulimit `%s`: only nofile=SOFT[:HARD] is supported",
					   u);
		colon = strchr(num, ':');
		if (colon)
			*colon++ = '\0';
		if (mc_str_to_u64(num, &soft) < 0 ||
		    (colon ? mc_str_to_u64(colon, &hard) : (hard = soft, 0)) < 0 || soft > hard ||
		    hard > INT64_MAX)
			return mc_err_setx(err, EINVAL, "--ulimit `%s`: invalid value", u);
		json_array_clear(arr);
		json_array_append_new(arr,
				      json_pack("{s:s,s:I,s:I}", "type", "RLIMIT_NOFILE", "hard",
						(json_int_t)hard, "soft", (json_int_t)soft));
	}
	return 0;
}

static int apply_resources(const struct mc_rt_run_opts *o, json_t *lin, struct mc_err *err)
{
	json_t *res = json_object_get(lin, "resources");
	uint64_t v;
	int64_t pids;

	if (o->memory) {
		if (mc_parse_size(o->memory, &v) < 0 || v < 6 * 1024 * 1024 || v > INT64_MAX)
			return mc_err_setx(
				err, EINVAL,
				"invalid --memory `%s`: want a size of at least 6M like 50M or 1g",
				o->memory);
		json_object_set_new(res, "memory", json_pack("{s:I}", "limit", (json_int_t)v));
	}
	if (o->memory_swap) {
		json_t *mem = json_object_get(res, "memory");
		json_int_t swap;

		if (!strcmp(o->memory_swap, "-1"))
			swap = -1;
		else if (mc_parse_size(o->memory_swap, &v) == 0 && v <= INT64_MAX)
			swap = (json_int_t)v;
		else
			return mc_err_setx(err, EINVAL, "invalid --memory-swap `%s`",
					   o->memory_swap);
		if (!mem)
			return mc_err_setx(err, EINVAL, "--memory-swap needs --memory");
		if (swap > 0 && swap < json_integer_value(json_object_get(mem, "limit")))
			return mc_err_setx(
				err, EINVAL,
				"--memory-swap must be at least --memory (it is memory plus swap)");
		json_object_set_new(mem, "swap", json_integer(swap));
	}
	if (o->cpus || o->cpu_shares) {
		/* Owned by the spec from the start, so an error below frees it too. */
		json_t *cpu = json_object();

		json_object_set_new(res, "cpu", cpu);

		if (o->cpus) {
			char *end = NULL;
			double c = strtod(o->cpus, &end);

			if (!end || *end || end == o->cpus || !(c >= 0.01) || c > 1024)
				return mc_err_setx(
					err, EINVAL,
					"invalid --cpus `%s`: want a number like 0.5 or 2",
					o->cpus);
			json_object_set_new(cpu, "period", json_integer(100000));
			json_object_set_new(cpu, "quota",
					    json_integer((json_int_t)llround(c * 100000.0)));
		}
		if (o->cpu_shares) {
			if (mc_str_to_u64(o->cpu_shares, &v) < 0 || v < 2 || v > 262144)
				return mc_err_setx(err, EINVAL,
						   "invalid --cpu-shares `%s`: want 2..262144",
						   o->cpu_shares);
			json_object_set_new(cpu, "shares", json_integer((json_int_t)v));
		}
	}
	if (o->pids_limit) {
		if (mc_str_to_i64(o->pids_limit, &pids) < 0 || pids == 0 || pids < -1)
			return mc_err_setx(
				err, EINVAL,
				"invalid --pids-limit `%s`: want a positive number or -1",
				o->pids_limit);
		json_object_set_new(res, "pids", json_pack("{s:I}", "limit", (json_int_t)pids));
	}
	return 0;
}

static int write_etc_files(const char *state_dir, const char *hostname, bool host_net,
			   struct mc_err *err)
{
	char path[PATH_MAX], hosts[1024];
	mc_autofree char *resolv = NULL;

	snprintf(path, sizeof(path), "%s/hostname", state_dir);
	snprintf(hosts, sizeof(hosts), "%s\n", hostname);
	if (rt_write_volatile(path, hosts, strlen(hosts), 0644, err) < 0)
		return -err->code;
	snprintf(hosts, sizeof(hosts),
		 "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
		 "127.0.1.1\t%s\n",
		 hostname);
	snprintf(path, sizeof(path), "%s/hosts", state_dir);
	if (rt_write_volatile(path, hosts, strlen(hosts), 0644, err) < 0)
		return -err->code;
	/* Best-effort: a host without resolv.conf gives the container an empty one. */
	if (mc_fs_read_file("/etc/resolv.conf", &resolv, NULL, 1 << 16, NULL) < 0)
		resolv = NULL;
	(void)host_net;
	snprintf(path, sizeof(path), "%s/resolv.conf", state_dir);
	return rt_write_volatile(path, resolv ? resolv : "", resolv ? strlen(resolv) : 0, 0644,
				 err);
}

static json_t *bind_json(const char *dst, const char *src, bool ro)
{
	return mount_json(dst, "bind", src, ro ? "rbind,rprivate,ro" : "rbind,rprivate");
}

static int apply_volumes(const struct mc_rt_run_opts *o, json_t *mounts, struct mc_err *err)
{
	for (size_t i = 0; i < o->n_volumes; i++) {
		char buf[2 * PATH_MAX], *host = buf, *ctr, *mode = NULL, real[PATH_MAX];

		if (mc_strlcpy(buf, o->volumes[i], sizeof(buf)) >= sizeof(buf))
			return mc_err_setx(err, EINVAL, "-v: too long");
		ctr = strchr(buf, ':');
		if (ctr) {
			*ctr++ = '\0';
			mode = strchr(ctr, ':');
			if (mode)
				*mode++ = '\0';
		}
		if (!ctr || host[0] != '/' || ctr[0] != '/' ||
		    (mode && strcmp(mode, "ro") && strcmp(mode, "rw")))
			return mc_err_setx(
				err, EINVAL,
				"invalid volume `%s`: want /host/path:/container/path[:ro]",
				o->volumes[i]);
		if (!realpath(host, real))
			return mc_err_set(err, errno, "volume source `%s`", host);
		json_array_append_new(mounts, bind_json(ctr, real, mode && !strcmp(mode, "ro")));
	}
	return 0;
}

static int apply_env(const struct mc_rt_run_opts *o, const char *hostname, json_t *proc,
		     bool preload, struct mc_err *err)
{
	json_t *env = json_array();
	char buf[512];

	json_array_append_new(env, json_string(DEFAULT_PATH));
	snprintf(buf, sizeof(buf), "HOSTNAME=%s", hostname);
	json_array_append_new(env, json_string(buf));
	if (o->tty)
		json_array_append_new(env, json_string("TERM=xterm"));
	json_array_append_new(env, json_string("HOME=/root"));
	if (preload)
		json_array_append_new(env, json_string("LD_PRELOAD=" RT_MALLOC_CTR_PATH));
	for (size_t i = 0; i < o->n_env; i++) {
		const char *e = o->env[i], *eq = strchr(e, '=');
		size_t klen = eq ? (size_t)(eq - e) : strlen(e);
		json_t *s;
		size_t k;
		json_t *it;

		if (klen == 0)
			return mc_err_setx(err, EINVAL, "invalid environment variable `%s`", e);
		if (!eq) {
			const char *v = getenv(e);

			if (!v)
				continue;
			s = json_sprintf("%s=%s", e, v);
		} else {
			s = json_string(e);
		}
		if (!s)
			return mc_err_setx(err, EINVAL, "invalid environment variable `%s`", e);
		/* A later -e replaces an earlier value of the same variable. */
		json_array_foreach(env, k, it)
		{
			const char *x = json_string_value(it);

			if (!strncmp(x, json_string_value(s), klen) && x[klen] == '=') {
				json_array_remove(env, k);
				break;
			}
		}
		json_array_append_new(env, s);
	}
	json_object_set_new(proc, "env", env);
	return 0;
}

int rt_spec_from_opts(const struct mc_rt_ctx *ctx, const struct mc_rt_run_opts *o, const char *id,
		      const char *state_dir, json_t **out, struct mc_err *err)
{
	char lower[PATH_MAX], hostname[65], path[PATH_MAX];
	struct mc_rootfs_overlay ov;
	json_t *spec = rt_spec_default(), *proc, *lin, *mounts, *ann, *args;
	const char *net = o->network ? o->network : "none";
	bool preload = false;
	struct stat st;

	proc = json_object_get(spec, "process");
	lin = json_object_get(spec, "linux");
	mounts = json_object_get(spec, "mounts");
	ann = json_object();
	json_object_set_new(spec, "annotations", ann);

	if (mc_rootfs_image_resolve(ctx->data_root, o->image, lower, sizeof(lower), err) < 0 ||
	    mc_rootfs_overlay_paths(ctx->data_root, id, &ov, err) < 0)
		goto fail;
	json_object_set_new(ann, RT_ANN_IMAGE, json_string(o->image));
	json_object_set_new(ann, RT_ANN_LOWER, json_string(lower));
	json_object_set_new(spec, "root",
			    json_pack("{s:s,s:b}", "path", ov.merged, "readonly", o->read_only));

	if (o->hostname) {
		size_t n = strlen(o->hostname);

		if (n == 0 || n > 63 ||
		    strspn(o->hostname, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
					"0123456789.-") != n) {
			mc_err_setx(err, EINVAL, "invalid --hostname `%s`", o->hostname);
			goto fail;
		}
		mc_strlcpy(hostname, o->hostname, sizeof(hostname));
	} else {
		snprintf(hostname, sizeof(hostname), "%.12s", id);
	}
	json_object_set_new(spec, "hostname", json_string(hostname));

	args = json_array();
	if (o->argv && o->argv[0]) {
		for (char **a = o->argv; *a; a++)
			json_array_append_new(args, json_string(*a));
	} else {
		json_array_append_new(args, json_string("/bin/sh"));
	}
	json_object_set_new(proc, "args", args);
	json_object_set_new(proc, "terminal", json_boolean(o->tty));
	if (o->workdir) {
		if (o->workdir[0] != '/') {
			mc_err_setx(err, EINVAL, "-w `%s`: the working directory must be absolute",
				    o->workdir);
			goto fail;
		}
		json_object_set_new(proc, "cwd", json_string(o->workdir));
	}
	if (apply_caps(o, proc, err) < 0 ||
	    (o->user && parse_user(o->user, lower, proc, err) < 0) ||
	    apply_ulimits(o, proc, err) < 0 || apply_resources(o, lin, err) < 0)
		goto fail;

	if (!strcmp(net, "host")) {
		json_t *nss = json_object_get(lin, "namespaces"), *e;
		size_t i;

		json_array_foreach(nss, i, e)
		{
			if (!strcmp(json_string_value(json_object_get(e, "type")), "network")) {
				json_array_remove(nss, i);
				break;
			}
		}
	} else if (strcmp(net, "none") && !mc_rootfs_image_name_valid(net)) {
		mc_err_setx(err, EINVAL, "invalid --network `%s`", net);
		goto fail;
	}
	json_object_set_new(ann, RT_ANN_NETWORK, json_string(net));
	for (size_t i = 0; i < o->n_annotations; i++) {
		const char *eq = strchr(o->annotations[i], '=');
		char key[256];

		if (!eq || eq == o->annotations[i] ||
		    (size_t)(eq - o->annotations[i]) >= sizeof(key)) {
			mc_err_setx(err, EINVAL, "invalid annotation `%s`: want KEY=VALUE",
				    o->annotations[i]);
			goto fail;
		}
		memcpy(key, o->annotations[i], (size_t)(eq - o->annotations[i]));
		key[eq - o->annotations[i]] = '\0';
		json_object_set_new(ann, key, json_string(eq + 1));
	}

	if (o->userns) {
		struct rt_idmap m;

		if (rt_parse_idmap(o->userns, &m, err) < 0)
			goto fail;
		json_array_append_new(json_object_get(lin, "namespaces"),
				      json_pack("{s:s}", "type", "user"));
		json_object_set_new(lin, "uidMappings",
				    json_pack("[{s:I,s:I,s:I}]", "containerID",
					      (json_int_t)m.container_id, "hostID",
					      (json_int_t)m.host_id, "size", (json_int_t)m.size));
		json_object_set(lin, "gidMappings", json_object_get(lin, "uidMappings"));
	}

	if (o->seccomp && !strcmp(o->seccomp, "unconfined")) {
		json_object_del(lin, "seccomp");
	} else if (o->seccomp) {
		json_t *prof = NULL;

		if (rt_seccomp_load_file(o->seccomp, &prof, err) < 0)
			goto fail;
		json_object_set_new(lin, "seccomp", prof);
	}

	if (o->init)
		json_object_set_new(ann, RT_ANN_INIT, json_string("true"));

	if (write_etc_files(state_dir, hostname, !strcmp(net, "host"), err) < 0)
		goto fail;
	snprintf(path, sizeof(path), "%s/hostname", state_dir);
	json_array_append_new(mounts, bind_json("/etc/hostname", path, false));
	snprintf(path, sizeof(path), "%s/hosts", state_dir);
	json_array_append_new(mounts, bind_json("/etc/hosts", path, false));
	snprintf(path, sizeof(path), "%s/resolv.conf", state_dir);
	json_array_append_new(mounts, bind_json("/etc/resolv.conf", path, false));
	if (apply_volumes(o, mounts, err) < 0)
		goto fail;

	/* The preloaded allocator: only when the library exists (debug log otherwise). */
	if (!o->no_preload_malloc && ctx->malloc_lib[0]) {
		if (stat(ctx->malloc_lib, &st) == 0 && S_ISREG(st.st_mode)) {
			preload = true;
			json_array_append_new(mounts, mount_json(RT_MALLOC_CTR_PATH, "bind",
								 ctx->malloc_lib,
								 "bind,rprivate,ro,nosuid,nodev"));
			json_object_set_new(ann, RT_ANN_MALLOC, json_string("true"));
		} else {
			mc_log_debug("no %s: running without the preloaded malloc",
				     ctx->malloc_lib);
		}
	}
	if (apply_env(o, hostname, proc, preload, err) < 0)
		goto fail;
	rt_cgroup_path(id, path, sizeof(path));
	json_object_set_new(lin, "cgroupsPath", json_string(path));
	*out = spec;
	return 0;
fail:
	json_decref(spec);
	return -err->code;
}

int mc_rt_spec_build(const struct mc_rt_ctx *ctx, const struct mc_rt_run_opts *opts,
		     char **json_out, struct mc_err *err)
{
	json_t *spec = NULL;
	char tmp[] = "/tmp/mycontainer-spec.XXXXXX";
	char id[MC_RT_ID_LEN + 1];
	int r = 0;

	if (!opts) {
		spec = rt_spec_default();
	} else {
		if (!mkdtemp(tmp))
			return mc_err_set(err, errno, "mkdtemp");
		rt_new_id(id);
		r = rt_spec_from_opts(ctx, opts, id, tmp, &spec, err);
		mc_fs_rm_rf(tmp, NULL);
		if (r < 0)
			return r;
	}
	*json_out = json_dumps(spec, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(spec);
	if (!*json_out)
		return mc_err_set(err, ENOMEM, "spec");
	return 0;
}
