/* SPDX-License-Identifier: MIT */
/*
 * config.c: parses an OCI runtime-spec config.json (jansson) into struct rt_config,
 * checking every field's type and range, so the cloned child works from plain C data.
 * Unknown fields are ignored as the spec allows; malformed known ones are errors.
 */
#include "internal.h"

#include <errno.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>

static const char *const cap_names[] = {
	"CAP_CHOWN",
	"CAP_DAC_OVERRIDE",
	"CAP_DAC_READ_SEARCH",
	"CAP_FOWNER",
	"CAP_FSETID",
	"CAP_KILL",
	"CAP_SETGID",
	"CAP_SETUID",
	"CAP_SETPCAP",
	"CAP_LINUX_IMMUTABLE",
	"CAP_NET_BIND_SERVICE",
	"CAP_NET_BROADCAST",
	"CAP_NET_ADMIN",
	"CAP_NET_RAW",
	"CAP_IPC_LOCK",
	"CAP_IPC_OWNER",
	"CAP_SYS_MODULE",
	"CAP_SYS_RAWIO",
	"CAP_SYS_CHROOT",
	"CAP_SYS_PTRACE",
	"CAP_SYS_PACCT",
	"CAP_SYS_ADMIN",
	"CAP_SYS_BOOT",
	"CAP_SYS_NICE",
	"CAP_SYS_RESOURCE",
	"CAP_SYS_TIME",
	"CAP_SYS_TTY_CONFIG",
	"CAP_MKNOD",
	"CAP_LEASE",
	"CAP_AUDIT_WRITE",
	"CAP_AUDIT_CONTROL",
	"CAP_SETFCAP",
	"CAP_MAC_OVERRIDE",
	"CAP_MAC_ADMIN",
	"CAP_SYSLOG",
	"CAP_WAKE_ALARM",
	"CAP_BLOCK_SUSPEND",
	"CAP_AUDIT_READ",
	"CAP_PERFMON",
	"CAP_BPF",
	"CAP_CHECKPOINT_RESTORE",
};

int rt_cap_from_name(const char *name)
{
	char buf[64];

	/* Accept "CAP_X", "cap_x" and docker's bare "X". */
	if (strncasecmp(name, "CAP_", 4))
		snprintf(buf, sizeof(buf), "CAP_%s", name);
	else
		snprintf(buf, sizeof(buf), "%s", name);
	for (size_t i = 0; i < MC_ARRAY_SIZE(cap_names); i++)
		if (!strcasecmp(buf, cap_names[i]))
			return (int)i;
	return -EINVAL;
}

const char *rt_cap_name(int cap)
{
	return cap >= 0 && (size_t)cap < MC_ARRAY_SIZE(cap_names) ? cap_names[cap] : NULL;
}

static const struct {
	const char *name;
	int res;
} rlimits[] = {
	{ "RLIMIT_CPU", RLIMIT_CPU },		{ "RLIMIT_FSIZE", RLIMIT_FSIZE },
	{ "RLIMIT_DATA", RLIMIT_DATA },		{ "RLIMIT_STACK", RLIMIT_STACK },
	{ "RLIMIT_CORE", RLIMIT_CORE },		{ "RLIMIT_RSS", RLIMIT_RSS },
	{ "RLIMIT_NPROC", RLIMIT_NPROC },	{ "RLIMIT_NOFILE", RLIMIT_NOFILE },
	{ "RLIMIT_MEMLOCK", RLIMIT_MEMLOCK },	{ "RLIMIT_AS", RLIMIT_AS },
	{ "RLIMIT_LOCKS", RLIMIT_LOCKS },	{ "RLIMIT_SIGPENDING", RLIMIT_SIGPENDING },
	{ "RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE }, { "RLIMIT_NICE", RLIMIT_NICE },
	{ "RLIMIT_RTPRIO", RLIMIT_RTPRIO },	{ "RLIMIT_RTTIME", RLIMIT_RTTIME },
};

/* ---- typed accessors: each error names the field ---- */

static int get_str(json_t *o, const char *key, const char *ctx, bool required, char **out,
		   struct mc_err *err)
{
	json_t *v = json_object_get(o, key);

	*out = NULL;
	if (!v || json_is_null(v)) {
		if (required)
			return mc_err_setx(err, MC_EPARSE, "%s.%s: missing", ctx, key);
		return 0;
	}
	if (!json_is_string(v))
		return mc_err_setx(err, MC_EPARSE, "%s.%s: expected a string", ctx, key);
	if (strlen(json_string_value(v)) != json_string_length(v))
		return mc_err_setx(err, MC_EPARSE, "%s.%s: contains a NUL byte", ctx, key);
	*out = strdup(json_string_value(v));
	if (!*out)
		return mc_err_set(err, ENOMEM, "%s.%s", ctx, key);
	return 0;
}

static int get_bool(json_t *o, const char *key, const char *ctx, bool *out, struct mc_err *err)
{
	json_t *v = json_object_get(o, key);

	if (!v || json_is_null(v))
		return 0;
	if (!json_is_boolean(v))
		return mc_err_setx(err, MC_EPARSE, "%s.%s: expected a boolean", ctx, key);
	*out = json_is_true(v);
	return 0;
}

/* get_int: an integer in [min, max]; absent leaves *out alone and returns 0. */
static int get_int(json_t *o, const char *key, const char *ctx, int64_t min, int64_t max,
		   int64_t *out, struct mc_err *err)
{
	json_t *v = json_object_get(o, key);

	if (!v || json_is_null(v))
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max)
		return mc_err_setx(err, MC_EPARSE, "%s.%s: expected an integer in [%lld, %lld]",
				   ctx, key, (long long)min, (long long)max);
	*out = json_integer_value(v);
	return 0;
}

/* get_strv: an array of strings as a NULL-terminated vector. */
static int get_strv(json_t *o, const char *key, const char *ctx, char ***out, size_t *n,
		    struct mc_err *err)
{
	json_t *v = json_object_get(o, key), *e;
	size_t i;
	char **vec;

	*out = NULL;
	*n = 0;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_array(v))
		return mc_err_setx(err, MC_EPARSE, "%s.%s: expected an array of strings", ctx, key);
	vec = calloc(json_array_size(v) + 1, sizeof(*vec));
	if (!vec)
		return mc_err_set(err, ENOMEM, "%s.%s", ctx, key);
	*out = vec;
	json_array_foreach(v, i, e)
	{
		if (!json_is_string(e) || strlen(json_string_value(e)) != json_string_length(e))
			return mc_err_setx(err, MC_EPARSE, "%s.%s[%zu]: expected a string", ctx,
					   key, i);
		vec[i] = strdup(json_string_value(e));
		if (!vec[i])
			return mc_err_set(err, ENOMEM, "%s.%s", ctx, key);
		*n = i + 1;
	}
	return 0;
}

static void strv_free(char **v)
{
	if (!v)
		return;
	for (char **p = v; *p; p++)
		free(*p);
	free(v);
}

/* ---- mounts ---- */

int rt_mount_options(json_t *opts, struct rt_mount *m, struct mc_err *err)
{
	static const struct {
		const char *name;
		bool clear;
		unsigned long flag;
	} flags[] = {
		{ "ro", false, MS_RDONLY },
		{ "rw", true, MS_RDONLY },
		{ "nosuid", false, MS_NOSUID },
		{ "suid", true, MS_NOSUID },
		{ "nodev", false, MS_NODEV },
		{ "dev", true, MS_NODEV },
		{ "noexec", false, MS_NOEXEC },
		{ "exec", true, MS_NOEXEC },
		{ "sync", false, MS_SYNCHRONOUS },
		{ "async", true, MS_SYNCHRONOUS },
		{ "noatime", false, MS_NOATIME },
		{ "atime", true, MS_NOATIME },
		{ "relatime", false, MS_RELATIME },
		{ "norelatime", true, MS_RELATIME },
		{ "strictatime", false, MS_STRICTATIME },
		{ "nodiratime", false, MS_NODIRATIME },
		{ "mand", false, MS_MANDLOCK },
		{ "nomand", true, MS_MANDLOCK },
	};
	static const struct {
		const char *name;
		unsigned long flag;
	} props[] = {
		{ "private", MS_PRIVATE },	 { "rprivate", MS_PRIVATE | MS_REC },
		{ "slave", MS_SLAVE },		 { "rslave", MS_SLAVE | MS_REC },
		{ "shared", MS_SHARED },	 { "rshared", MS_SHARED | MS_REC },
		{ "unbindable", MS_UNBINDABLE }, { "runbindable", MS_UNBINDABLE | MS_REC },
	};
	struct mc_buf data = MC_BUF_INIT;
	json_t *e;
	size_t i;

	if (!opts || json_is_null(opts))
		return 0;
	if (!json_is_array(opts))
		return mc_err_setx(err, MC_EPARSE, "options: expected an array of strings");
	json_array_foreach(opts, i, e)
	{
		const char *s = json_string_value(e);
		bool known = false;

		if (!s || strlen(s) != json_string_length(e)) {
			mc_buf_release(&data);
			return mc_err_setx(err, MC_EPARSE, "options[%zu]: expected a string", i);
		}
		if (!strcmp(s, "bind") || !strcmp(s, "rbind")) {
			m->bind = true;
			if (s[0] == 'r')
				m->flags |= MS_REC;
			continue;
		}
		for (size_t k = 0; k < MC_ARRAY_SIZE(flags) && !known; k++) {
			if (strcmp(s, flags[k].name))
				continue;
			known = true;
			if (flags[k].clear)
				m->flags &= ~flags[k].flag;
			else
				m->flags |= flags[k].flag;
		}
		for (size_t k = 0; k < MC_ARRAY_SIZE(props) && !known; k++) {
			if (strcmp(s, props[k].name))
				continue;
			known = true;
			m->propagation = props[k].flag;
		}
		if (known || !*s)
			continue;
		if ((data.len && mc_buf_puts(&data, ",") < 0) || mc_buf_puts(&data, s) < 0) {
			mc_buf_release(&data);
			return mc_err_set(err, ENOMEM, "options");
		}
	}
	if (data.len) {
		free(m->data);
		m->data = mc_buf_detach(&data);
	}
	mc_buf_release(&data);
	return 0;
}

static int parse_mounts(json_t *root, struct rt_config *c, struct mc_err *err)
{
	json_t *arr = json_object_get(root, "mounts"), *e;
	size_t i;

	if (!arr || json_is_null(arr))
		return 0;
	if (!json_is_array(arr))
		return mc_err_setx(err, MC_EPARSE, "mounts: expected an array");
	c->mounts = calloc(json_array_size(arr) + 1, sizeof(*c->mounts));
	if (!c->mounts)
		return mc_err_set(err, ENOMEM, "mounts");
	json_array_foreach(arr, i, e)
	{
		struct rt_mount *m = &c->mounts[i];
		char ctx[32];

		snprintf(ctx, sizeof(ctx), "mounts[%zu]", i);
		c->n_mounts = i + 1;
		if (!json_is_object(e))
			return mc_err_setx(err, MC_EPARSE, "%s: expected an object", ctx);
		if (get_str(e, "destination", ctx, true, &m->destination, err) < 0 ||
		    get_str(e, "type", ctx, false, &m->type, err) < 0 ||
		    get_str(e, "source", ctx, false, &m->source, err) < 0)
			return -err->code;
		if (m->destination[0] != '/')
			return mc_err_setx(err, MC_EPARSE, "%s.destination: `%s` is not absolute",
					   ctx, m->destination);
		if (rt_mount_options(json_object_get(e, "options"), m, err) < 0)
			return mc_err_wrap(err, "%s", ctx);
		if (m->type && !strcmp(m->type, "bind"))
			m->bind = true;
		if (m->bind && !m->source)
			return mc_err_setx(err, MC_EPARSE, "%s: bind mount without a source", ctx);
		if (!m->bind && !m->type)
			return mc_err_setx(err, MC_EPARSE, "%s: no type", ctx);
	}
	return 0;
}

/* ---- process ---- */

static int parse_caps(json_t *proc, struct rt_config *c, struct mc_err *err)
{
	static const char *const sets[] = { "bounding", "effective", "inheritable", "permitted",
					    "ambient" };
	json_t *caps = json_object_get(proc, "capabilities");

	if (!caps || json_is_null(caps))
		return 0;
	if (!json_is_object(caps))
		return mc_err_setx(err, MC_EPARSE, "process.capabilities: expected an object");
	for (size_t s = 0; s < MC_ARRAY_SIZE(sets); s++) {
		json_t *arr = json_object_get(caps, sets[s]), *e;
		size_t i;

		if (!arr || json_is_null(arr))
			continue;
		if (!json_is_array(arr))
			return mc_err_setx(err, MC_EPARSE,
					   "process.capabilities.%s: expected an array", sets[s]);
		json_array_foreach(arr, i, e)
		{
			int cap = json_is_string(e) ? rt_cap_from_name(json_string_value(e))
						    : -EINVAL;

			if (cap < 0)
				return mc_err_setx(
					err, MC_EPARSE,
					"process.capabilities.%s[%zu]: unknown capability", sets[s],
					i);
			c->caps[s] |= 1ULL << cap;
		}
	}
	return 0;
}

static int parse_rlimits(json_t *proc, struct rt_config *c, struct mc_err *err)
{
	json_t *arr = json_object_get(proc, "rlimits"), *e;
	size_t i;

	if (!arr || json_is_null(arr))
		return 0;
	if (!json_is_array(arr))
		return mc_err_setx(err, MC_EPARSE, "process.rlimits: expected an array");
	c->rlimits = calloc(json_array_size(arr) + 1, sizeof(*c->rlimits));
	if (!c->rlimits)
		return mc_err_set(err, ENOMEM, "rlimits");
	json_array_foreach(arr, i, e)
	{
		const char *type = json_string_value(json_object_get(e, "type"));
		struct rt_rlimit *r = &c->rlimits[i];
		int64_t soft = -1, hard = -1;
		size_t k;

		for (k = 0; type && k < MC_ARRAY_SIZE(rlimits); k++)
			if (!strcmp(type, rlimits[k].name))
				break;
		if (!type || k == MC_ARRAY_SIZE(rlimits))
			return mc_err_setx(err, MC_EPARSE, "process.rlimits[%zu]: unknown type", i);
		if (get_int(e, "soft", "process.rlimits", 0, INT64_MAX, &soft, err) < 0 ||
		    get_int(e, "hard", "process.rlimits", 0, INT64_MAX, &hard, err) < 0)
			return -err->code;
		if (soft < 0 || hard < 0 || soft > hard)
			return mc_err_setx(err, MC_EPARSE,
					   "process.rlimits[%zu]: need 0 <= soft <= hard", i);
		r->resource = rlimits[k].res;
		r->soft = (uint64_t)soft;
		r->hard = (uint64_t)hard;
		c->n_rlimits = i + 1;
	}
	return 0;
}

static int parse_process(json_t *root, struct rt_config *c, struct mc_err *err)
{
	json_t *proc = json_object_get(root, "process"), *user, *groups, *e;
	int64_t uid = 0, gid = 0;
	size_t i;

	if (!json_is_object(proc))
		return mc_err_setx(err, MC_EPARSE, "process: missing or not an object");
	if (get_strv(proc, "args", "process", &c->args, &c->n_args, err) < 0 ||
	    get_strv(proc, "env", "process", &c->env, &c->n_env, err) < 0 ||
	    get_str(proc, "cwd", "process", false, &c->cwd, err) < 0 ||
	    get_bool(proc, "terminal", "process", &c->terminal, err) < 0 ||
	    get_bool(proc, "noNewPrivileges", "process", &c->no_new_privs, err) < 0)
		return -err->code;
	if (c->n_args == 0 || !c->args[0][0])
		return mc_err_setx(err, MC_EPARSE, "process.args: no command given");
	if (!c->env && !(c->env = calloc(1, sizeof(char *))))
		return mc_err_set(err, ENOMEM, "env");
	if (!c->cwd && !(c->cwd = strdup("/")))
		return mc_err_set(err, ENOMEM, "cwd");
	if (c->cwd[0] != '/')
		return mc_err_setx(err, MC_EPARSE, "process.cwd: `%s` is not absolute", c->cwd);
	user = json_object_get(proc, "user");
	if (user && !json_is_object(user))
		return mc_err_setx(err, MC_EPARSE, "process.user: expected an object");
	if (user) {
		if (get_int(user, "uid", "process.user", 0, UINT32_MAX - 1, &uid, err) < 0 ||
		    get_int(user, "gid", "process.user", 0, UINT32_MAX - 1, &gid, err) < 0)
			return -err->code;
		groups = json_object_get(user, "additionalGids");
		if (groups && !json_is_array(groups))
			return mc_err_setx(err, MC_EPARSE,
					   "process.user.additionalGids: expected an array");
		if (groups && json_array_size(groups)) {
			c->groups = calloc(json_array_size(groups), sizeof(gid_t));
			if (!c->groups)
				return mc_err_set(err, ENOMEM, "groups");
			json_array_foreach(groups, i, e)
			{
				if (!json_is_integer(e) || json_integer_value(e) < 0 ||
				    json_integer_value(e) >= UINT32_MAX)
					return mc_err_setx(
						err, MC_EPARSE,
						"process.user.additionalGids[%zu]: bad gid", i);
				c->groups[i] = (gid_t)json_integer_value(e);
				c->n_groups = i + 1;
			}
		}
	}
	c->uid = (uid_t)uid;
	c->gid = (gid_t)gid;
	if (parse_caps(proc, c, err) < 0 || parse_rlimits(proc, c, err) < 0)
		return -err->code;
	return 0;
}

/* ---- seccomp ---- */

static int seccomp_action(const char *s, int64_t errno_ret, uint32_t *out)
{
	if (!s)
		return -EINVAL;
	if (!strcmp(s, "SCMP_ACT_ALLOW"))
		*out = SCMP_ACT_ALLOW;
	else if (!strcmp(s, "SCMP_ACT_ERRNO"))
		*out = SCMP_ACT_ERRNO((uint32_t)errno_ret);
	else if (!strcmp(s, "SCMP_ACT_KILL") || !strcmp(s, "SCMP_ACT_KILL_THREAD"))
		*out = SCMP_ACT_KILL;
	else if (!strcmp(s, "SCMP_ACT_KILL_PROCESS"))
		*out = SCMP_ACT_KILL_PROCESS;
	else if (!strcmp(s, "SCMP_ACT_TRAP"))
		*out = SCMP_ACT_TRAP;
	else if (!strcmp(s, "SCMP_ACT_LOG"))
		*out = SCMP_ACT_LOG;
	else
		return -EINVAL;
	return 0;
}

static int seccomp_op(const char *s)
{
	static const struct {
		const char *name;
		int op;
	} ops[] = {
		{ "SCMP_CMP_NE", SCMP_CMP_NE },
		{ "SCMP_CMP_LT", SCMP_CMP_LT },
		{ "SCMP_CMP_LE", SCMP_CMP_LE },
		{ "SCMP_CMP_EQ", SCMP_CMP_EQ },
		{ "SCMP_CMP_GE", SCMP_CMP_GE },
		{ "SCMP_CMP_GT", SCMP_CMP_GT },
		{ "SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ },
	};

	for (size_t i = 0; s && i < MC_ARRAY_SIZE(ops); i++)
		if (!strcmp(s, ops[i].name))
			return ops[i].op;
	return -EINVAL;
}

void rt_seccomp_free(struct rt_seccomp *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n_rules; i++)
		strv_free(s->rules[i].names);
	free(s->rules);
	free(s);
}

int rt_seccomp_parse(json_t *obj, struct rt_seccomp **out, struct mc_err *err)
{
	json_t *arr, *e;
	struct rt_seccomp *s;
	int64_t eret = EPERM;
	size_t i;

	if (!json_is_object(obj))
		return mc_err_setx(err, MC_EPARSE, "seccomp: expected an object");
	s = calloc(1, sizeof(*s));
	if (!s)
		return mc_err_set(err, ENOMEM, "seccomp");
	if (get_int(obj, "defaultErrnoRet", "seccomp", 0, 4095, &eret, err) < 0)
		goto fail;
	if (seccomp_action(json_string_value(json_object_get(obj, "defaultAction")), eret,
			   &s->default_action) < 0) {
		mc_err_setx(err, MC_EPARSE, "seccomp.defaultAction: missing or unknown");
		goto fail;
	}
	arr = json_object_get(obj, "syscalls");
	if (arr && !json_is_array(arr)) {
		mc_err_setx(err, MC_EPARSE, "seccomp.syscalls: expected an array");
		goto fail;
	}
	s->rules = calloc(json_array_size(arr) + 1, sizeof(*s->rules));
	if (!s->rules) {
		mc_err_set(err, ENOMEM, "seccomp");
		goto fail;
	}
	json_array_foreach(arr, i, e)
	{
		struct rt_seccomp_rule *r = &s->rules[i];
		json_t *args, *a;
		int64_t ret = EPERM;
		size_t k;
		char ctx[48];

		snprintf(ctx, sizeof(ctx), "seccomp.syscalls[%zu]", i);
		s->n_rules = i + 1;
		if (!json_is_object(e)) {
			mc_err_setx(err, MC_EPARSE, "%s: expected an object", ctx);
			goto fail;
		}
		if (get_strv(e, "names", ctx, &r->names, &r->n_names, err) < 0 ||
		    get_int(e, "errnoRet", ctx, 0, 4095, &ret, err) < 0)
			goto fail;
		if (!r->n_names) {
			mc_err_setx(err, MC_EPARSE, "%s.names: missing", ctx);
			goto fail;
		}
		if (seccomp_action(json_string_value(json_object_get(e, "action")), ret,
				   &r->action) < 0) {
			mc_err_setx(err, MC_EPARSE, "%s.action: missing or unknown", ctx);
			goto fail;
		}
		args = json_object_get(e, "args");
		if (args && !json_is_null(args) &&
		    (!json_is_array(args) || json_array_size(args) > 6)) {
			mc_err_setx(err, MC_EPARSE, "%s.args: expected an array of up to 6", ctx);
			goto fail;
		}
		json_array_foreach(args, k, a)
		{
			struct rt_seccomp_arg *sa = &r->args[k];
			int64_t idx = -1, v = 0, v2 = 0;

			if (!json_is_object(a) || get_int(a, "index", ctx, 0, 5, &idx, err) < 0 ||
			    get_int(a, "value", ctx, INT64_MIN, INT64_MAX, &v, err) < 0 ||
			    get_int(a, "valueTwo", ctx, INT64_MIN, INT64_MAX, &v2, err) < 0 ||
			    idx < 0 ||
			    (sa->op = seccomp_op(json_string_value(json_object_get(a, "op")))) <
				    0) {
				mc_err_setx(err, MC_EPARSE, "%s.args[%zu]: bad argument filter",
					    ctx, k);
				goto fail;
			}
			sa->index = (unsigned)idx;
			sa->value = (uint64_t)v;
			sa->value_two = (uint64_t)v2;
			r->n_args = k + 1;
		}
	}
	*out = s;
	return 0;
fail:
	rt_seccomp_free(s);
	return -err->code;
}

/* ---- linux ---- */

static int parse_idmaps(json_t *lin, const char *key, struct rt_idmap **out, size_t *n,
			struct mc_err *err)
{
	json_t *arr = json_object_get(lin, key), *e;
	size_t i;

	if (!arr || json_is_null(arr))
		return 0;
	if (!json_is_array(arr) || json_array_size(arr) > 340)
		return mc_err_setx(err, MC_EPARSE, "linux.%s: expected an array", key);
	*out = calloc(json_array_size(arr) + 1, sizeof(**out));
	if (!*out)
		return mc_err_set(err, ENOMEM, "%s", key);
	json_array_foreach(arr, i, e)
	{
		int64_t cid = -1, hid = -1, size = -1;

		if (!json_is_object(e) ||
		    get_int(e, "containerID", key, 0, UINT32_MAX, &cid, err) < 0 ||
		    get_int(e, "hostID", key, 0, UINT32_MAX, &hid, err) < 0 ||
		    get_int(e, "size", key, 1, UINT32_MAX, &size, err) < 0 || cid < 0 || hid < 0 ||
		    size < 1)
			return mc_err_setx(err, MC_EPARSE, "linux.%s[%zu]: bad mapping", key, i);
		(*out)[i] = (struct rt_idmap){ (uint32_t)cid, (uint32_t)hid, (uint32_t)size };
		*n = i + 1;
	}
	return 0;
}

static int parse_resources(json_t *lin, struct rt_config *c, struct mc_err *err)
{
	json_t *res = json_object_get(lin, "resources"), *mem, *cpu, *pids, *devs, *e;
	int64_t v;
	size_t i;

	if (!res || json_is_null(res))
		return 0;
	if (!json_is_object(res))
		return mc_err_setx(err, MC_EPARSE, "linux.resources: expected an object");
	mem = json_object_get(res, "memory");
	if (json_is_object(mem)) {
		if (get_int(mem, "limit", "linux.resources.memory", -1, INT64_MAX,
			    &c->limits.memory_max, err) < 0 ||
		    get_int(mem, "swap", "linux.resources.memory", -1, INT64_MAX,
			    &c->limits.memory_swap_max, err) < 0)
			return -err->code;
	}
	cpu = json_object_get(res, "cpu");
	if (json_is_object(cpu)) {
		v = 0;
		if (get_int(cpu, "quota", "linux.resources.cpu", -1, INT64_MAX, &v, err) < 0)
			return -err->code;
		c->limits.cpu_quota_us = v > 0 ? (uint64_t)v : 0;
		v = 0;
		if (get_int(cpu, "period", "linux.resources.cpu", 0, 1000000, &v, err) < 0)
			return -err->code;
		c->limits.cpu_period_us = (uint64_t)v;
		v = 0;
		if (get_int(cpu, "shares", "linux.resources.cpu", 0, 262144, &v, err) < 0)
			return -err->code;
		if (v > 0)
			c->limits.cpu_weight = mc_cgroup_cpu_shares_to_weight((uint64_t)v);
	}
	pids = json_object_get(res, "pids");
	if (json_is_object(pids) && get_int(pids, "limit", "linux.resources.pids", -1, INT64_MAX,
					    &c->limits.pids_max, err) < 0)
		return -err->code;
	if (c->limits.memory_max > 0 && c->limits.memory_swap_max > 0 &&
	    c->limits.memory_swap_max < c->limits.memory_max)
		return mc_err_setx(err, MC_EPARSE,
				   "linux.resources.memory: swap (memory+swap) below the limit");
	devs = json_object_get(res, "devices");
	if (devs && !json_is_array(devs))
		return mc_err_setx(err, MC_EPARSE, "linux.resources.devices: expected an array");
	if (json_array_size(devs)) {
		c->devices = calloc(json_array_size(devs), sizeof(*c->devices));
		if (!c->devices)
			return mc_err_set(err, ENOMEM, "devices");
		json_array_foreach(devs, i, e)
		{
			struct mc_cgroup_device_rule *d = &c->devices[i];
			const char *type = json_string_value(json_object_get(e, "type"));
			const char *access = json_string_value(json_object_get(e, "access"));
			bool allow = false;

			d->major = d->minor = -1;
			if (!json_is_object(e) ||
			    get_bool(e, "allow", "devices", &allow, err) < 0 ||
			    get_int(e, "major", "devices", -1, UINT32_MAX, &d->major, err) < 0 ||
			    get_int(e, "minor", "devices", -1, UINT32_MAX, &d->minor, err) < 0 ||
			    (type && (strlen(type) != 1 || !strchr("acb", type[0]))) ||
			    (access &&
			     (strlen(access) > 3 || strspn(access, "rwm") != strlen(access))))
				return mc_err_setx(err, MC_EPARSE,
						   "linux.resources.devices[%zu]: bad rule", i);
			d->allow = allow;
			d->type = type ? type[0] : 'a';
			mc_strlcpy(d->access, access ? access : "rwm", sizeof(d->access));
		}
		c->limits.devices = c->devices;
		c->limits.n_devices = json_array_size(devs);
	}
	return 0;
}

static int parse_linux(json_t *root, struct rt_config *c, struct mc_err *err)
{
	static const char *const ns_names[RT_NS_COUNT] = {
		[RT_NS_PID] = "pid",   [RT_NS_NET] = "network", [RT_NS_IPC] = "ipc",
		[RT_NS_UTS] = "uts",   [RT_NS_MNT] = "mount",	[RT_NS_CGROUP] = "cgroup",
		[RT_NS_USER] = "user",
	};
	json_t *lin = json_object_get(root, "linux"), *nss, *e;
	size_t i;

	if (!lin || json_is_null(lin))
		return 0;
	if (!json_is_object(lin))
		return mc_err_setx(err, MC_EPARSE, "linux: expected an object");
	nss = json_object_get(lin, "namespaces");
	if (nss && !json_is_array(nss))
		return mc_err_setx(err, MC_EPARSE, "linux.namespaces: expected an array");
	json_array_foreach(nss, i, e)
	{
		const char *type = json_string_value(json_object_get(e, "type"));
		int k;

		for (k = 0; type && k < RT_NS_COUNT; k++)
			if (!strcmp(type, ns_names[k]))
				break;
		if (!type || k == RT_NS_COUNT)
			return mc_err_setx(err, MC_EPARSE, "linux.namespaces[%zu]: unknown type",
					   i);
		c->ns[k] = true;
		free(c->ns_path[k]);
		if (get_str(e, "path", "linux.namespaces", false, &c->ns_path[k], err) < 0)
			return -err->code;
	}
	if (parse_idmaps(lin, "uidMappings", &c->uid_maps, &c->n_uid_maps, err) < 0 ||
	    parse_idmaps(lin, "gidMappings", &c->gid_maps, &c->n_gid_maps, err) < 0 ||
	    get_strv(lin, "maskedPaths", "linux", &c->masked, &c->n_masked, err) < 0 ||
	    get_strv(lin, "readonlyPaths", "linux", &c->readonly, &c->n_readonly, err) < 0 ||
	    get_str(lin, "cgroupsPath", "linux", false, &c->cgroups_path, err) < 0 ||
	    parse_resources(lin, c, err) < 0)
		return -err->code;
	if (c->ns[RT_NS_USER] && !c->ns_path[RT_NS_USER] && (!c->n_uid_maps || !c->n_gid_maps))
		return mc_err_setx(err, MC_EPARSE,
				   "linux: a user namespace needs uidMappings and gidMappings");
	e = json_object_get(lin, "seccomp");
	if (e && !json_is_null(e) && rt_seccomp_parse(e, &c->seccomp, err) < 0)
		return mc_err_wrap(err, "linux");
	return 0;
}

static int parse_annotations(json_t *root, struct rt_config *c, struct mc_err *err)
{
	json_t *ann = json_object_get(root, "annotations");
	char *s = NULL;

	if (!ann || json_is_null(ann))
		return 0;
	if (!json_is_object(ann))
		return mc_err_setx(err, MC_EPARSE, "annotations: expected an object");
	if (get_str(ann, RT_ANN_IMAGE, "annotations", false, &c->image, err) < 0 ||
	    get_str(ann, RT_ANN_LOWER, "annotations", false, &c->lower, err) < 0 ||
	    get_str(ann, RT_ANN_NETWORK, "annotations", false, &c->network, err) < 0 ||
	    get_str(ann, RT_ANN_INIT, "annotations", false, &s, err) < 0)
		return -err->code;
	c->init = s && !strcmp(s, "true");
	free(s);
	s = NULL;
	if (get_str(ann, RT_ANN_MALLOC, "annotations", false, &s, err) < 0)
		return -err->code;
	c->preload_malloc = s && !strcmp(s, "true");
	free(s);
	if (c->lower && c->lower[0] != '/')
		return mc_err_setx(err, MC_EPARSE, "annotations: overlay lower must be absolute");
	return 0;
}

int rt_config_parse(const char *text, size_t len, const char *bundle_dir, struct rt_config *c,
		    struct mc_err *err)
{
	json_error_t jerr;
	json_t *root;

	memset(c, 0, sizeof(*c));
	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		return mc_err_setx(err, MC_EPARSE, "line %d column %d: %s", jerr.line, jerr.column,
				   jerr.text);
	return rt_config_parse_json(root, bundle_dir, c, err);
}

int rt_config_parse_json(json_t *root, const char *bundle_dir, struct rt_config *c,
			 struct mc_err *err)
{
	memset(c, 0, sizeof(*c));
	c->json = root;
	if (!json_is_object(root))
		return mc_err_setx(err, MC_EPARSE, "expected a JSON object");
	if (parse_process(root, c, err) < 0 || parse_mounts(root, c, err) < 0 ||
	    parse_linux(root, c, err) < 0 || parse_annotations(root, c, err) < 0 ||
	    get_str(root, "hostname", "config", false, &c->hostname, err) < 0)
		return -err->code;
	{
		json_t *r = json_object_get(root, "root");
		char *path = NULL;

		if (!json_is_object(r))
			return mc_err_setx(err, MC_EPARSE, "root: missing or not an object");
		if (get_str(r, "path", "root", true, &path, err) < 0 ||
		    get_bool(r, "readonly", "root", &c->root_readonly, err) < 0) {
			free(path);
			return -err->code;
		}
		if (path[0] == '/' || !bundle_dir) {
			c->root_path = path;
		} else {
			if (asprintf(&c->root_path, "%s/%s", bundle_dir, path) < 0)
				c->root_path = NULL;
			free(path);
			if (!c->root_path)
				return mc_err_set(err, ENOMEM, "root.path");
		}
	}
	if (c->hostname && c->hostname[0] && !c->ns[RT_NS_UTS])
		return mc_err_setx(err, MC_EPARSE, "hostname: set without a uts namespace");
	return 0;
}

int rt_config_load(const char *path, const char *bundle_dir, struct rt_config *c,
		   struct mc_err *err)
{
	mc_autofree char *text = NULL;
	size_t len;

	memset(c, 0, sizeof(*c));
	if (mc_fs_read_file(path, &text, &len, 16 << 20, err) < 0)
		return -err->code;
	if (rt_config_parse(text, len, bundle_dir, c, err) < 0)
		return mc_err_wrap(err, "%s", path);
	return 0;
}

void rt_config_release(struct rt_config *c)
{
	strv_free(c->args);
	strv_free(c->env);
	free(c->cwd);
	free(c->groups);
	free(c->rlimits);
	free(c->root_path);
	free(c->hostname);
	for (size_t i = 0; c->mounts && i < c->n_mounts; i++) {
		free(c->mounts[i].destination);
		free(c->mounts[i].type);
		free(c->mounts[i].source);
		free(c->mounts[i].data);
	}
	free(c->mounts);
	for (int i = 0; i < RT_NS_COUNT; i++)
		free(c->ns_path[i]);
	free(c->uid_maps);
	free(c->gid_maps);
	strv_free(c->masked);
	strv_free(c->readonly);
	rt_seccomp_free(c->seccomp);
	free(c->devices);
	free(c->cgroups_path);
	free(c->image);
	free(c->lower);
	free(c->network);
	if (c->json)
		json_decref(c->json);
	memset(c, 0, sizeof(*c));
}
