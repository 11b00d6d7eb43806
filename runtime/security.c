/* SPDX-License-Identifier: MIT */
/*
 * security.c: the last steps before exec: user and groups, capability sets
 * (libcap), rlimits, no_new_privs and the seccomp filter (libseccomp).
 */
#include "internal.h"

#include <errno.h>
#include <grp.h>
#include <seccomp.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

int rt_user_apply(const struct rt_config *c, struct mc_err *err)
{
	/* Keep the permitted set across the uid change; caps are set right after. */
	if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
		return mc_err_set(err, errno, "prctl(PR_SET_KEEPCAPS)");
	if (setgroups(c->n_groups, c->groups) < 0 && !(errno == EPERM && c->ns[RT_NS_USER]))
		return mc_err_set(err, errno, "setgroups");
	if (setresgid(c->gid, c->gid, c->gid) < 0)
		return mc_err_set(err, errno, "setgid %u", (unsigned)c->gid);
	if (setresuid(c->uid, c->uid, c->uid) < 0)
		return mc_err_set(err, errno, "setuid %u", (unsigned)c->uid);
	return 0;
}

static int last_cap(void)
{
	int last = 0;

	/* Highest capability this kernel knows: PR_CAPBSET_READ fails past it. */
	while (last < 63 && prctl(PR_CAPBSET_READ, last + 1, 0, 0, 0) >= 0)
		last++;
	return last;
}

int rt_caps_bound(const struct rt_config *c, struct mc_err *err)
{
	int last = last_cap();

	/* Security: the bounding set first, while we still hold CAP_SETPCAP as root. */
	for (int i = 0; i <= last; i++)
		if (!(c->caps[RT_CAP_BOUNDING] & (1ULL << i)) &&
		    prctl(PR_CAPBSET_DROP, i, 0, 0, 0) < 0)
			return mc_err_set(err, errno, "drop capability %d from the bounding set",
					  i);
	return 0;
}

int rt_caps_apply(const struct rt_config *c, struct mc_err *err)
{
	static const cap_flag_t flags[] = { [RT_CAP_EFFECTIVE] = CAP_EFFECTIVE,
					    [RT_CAP_PERMITTED] = CAP_PERMITTED,
					    [RT_CAP_INHERITABLE] = CAP_INHERITABLE };
	int last = last_cap();
	cap_t caps;

	caps = cap_init();
	if (!caps)
		return mc_err_set(err, errno, "cap_init");
	for (int s = RT_CAP_EFFECTIVE; s <= RT_CAP_PERMITTED; s++) {
		for (int i = 0; i <= last; i++) {
			cap_value_t v = i;

			if ((c->caps[s] & (1ULL << i)) &&
			    cap_set_flag(caps, flags[s], 1, &v, CAP_SET) < 0) {
				cap_free(caps);
				return mc_err_set(err, errno, "cap_set_flag");
			}
		}
	}
	if (cap_set_proc(caps) < 0) {
		int e = errno;

		cap_free(caps);
		return mc_err_set(err, e, "set capabilities");
	}
	cap_free(caps);
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return mc_err_set(err, errno, "clear ambient capabilities");
	for (int i = 0; i <= last; i++) {
		if (!(c->caps[RT_CAP_AMBIENT] & (1ULL << i)))
			continue;
		/*
		 * Best-effort, as runc and crun do: the kernel only raises an ambient cap
		 * that is permitted and inheritable, and configs like `crun spec`'s list
		 * ambient caps without inheritable ones.
		 */
		if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, i, 0, 0) < 0)
			mc_log_debug("ambient capability %s not raised: %s", rt_cap_name(i),
				     strerror(errno));
	}
	return 0;
}

int rt_rlimits_apply(const struct rt_config *c, struct mc_err *err)
{
	for (size_t i = 0; i < c->n_rlimits; i++) {
		struct rlimit cur, rl = { c->rlimits[i].soft, c->rlimits[i].hard };

		if (setrlimit(c->rlimits[i].resource, &rl) == 0)
			continue;
		/*
		 * Without CAP_SYS_RESOURCE (seen on hosts where root lacks it) a hard limit
		 * can only be lowered: clamp to what we have instead of failing the run.
		 */
		if (errno != EPERM || getrlimit(c->rlimits[i].resource, &cur) < 0)
			return mc_err_set(err, errno, "setrlimit %d", c->rlimits[i].resource);
		rl.rlim_max = MC_MIN(rl.rlim_max, cur.rlim_max);
		rl.rlim_cur = MC_MIN(rl.rlim_cur, rl.rlim_max);
		if (setrlimit(c->rlimits[i].resource, &rl) < 0)
			return mc_err_set(err, errno, "setrlimit %d", c->rlimits[i].resource);
	}
	return 0;
}

int rt_seccomp_build(const struct rt_seccomp *s, scmp_filter_ctx *out, struct mc_err *err)
{
	scmp_filter_ctx ctx;
	int r;

	ctx = seccomp_init(s->default_action);
	if (!ctx)
		return mc_err_setx(err, EINVAL, "seccomp_init failed");
	/*
	 * Security: on x86_64 the 32-bit entry points (int 0x80, x32) reach the same
	 * kernel; without their arches a deny list could be bypassed through them.
	 */
	if (seccomp_arch_native() == SCMP_ARCH_X86_64) {
		seccomp_arch_add(ctx, SCMP_ARCH_X86);
		seccomp_arch_add(ctx, SCMP_ARCH_X32);
	}
	/* The filter itself is loaded below; no_new_privs is set by the caller. */
	seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
	for (size_t i = 0; i < s->n_rules; i++) {
		const struct rt_seccomp_rule *rule = &s->rules[i];
		struct scmp_arg_cmp cmp[6];

		if (rule->action == s->default_action)
			continue;
		for (size_t a = 0; a < rule->n_args; a++)
			cmp[a] = (struct scmp_arg_cmp){ rule->args[a].index,
							(enum scmp_compare)rule->args[a].op,
							rule->args[a].value,
							rule->args[a].value_two };
		for (size_t k = 0; k < rule->n_names; k++) {
			int nr = seccomp_syscall_resolve_name(rule->names[k]);

			if (nr == __NR_SCMP_ERROR) {
				mc_log_debug("seccomp: unknown syscall %s skipped", rule->names[k]);
				continue;
			}
			r = seccomp_rule_add_array(ctx, rule->action, nr, (unsigned)rule->n_args,
						   cmp);
			if (r < 0 && nr < 0) {
				/* A syscall of another arch only (e.g. vm86): nothing to filter. */
				mc_log_debug("seccomp: %s not on this arch", rule->names[k]);
				continue;
			}
			if (r < 0) {
				seccomp_release(ctx);
				return mc_err_set(err, -r, "seccomp rule for %s", rule->names[k]);
			}
		}
	}
	*out = ctx;
	return 0;
}

int rt_seccomp_apply(const struct rt_seccomp *s, struct mc_err *err)
{
	scmp_filter_ctx ctx;
	int r;

	if (!s)
		return 0;
	r = rt_seccomp_build(s, &ctx, err);
	if (r < 0)
		return r;
	r = seccomp_load(ctx);
	seccomp_release(ctx);
	if (r < 0)
		return mc_err_set(err, -r, "load seccomp filter");
	return 0;
}

int rt_seccomp_load_file(const char *path, json_t **out, struct mc_err *err)
{
	mc_autofree char *text = NULL;
	struct rt_seccomp *s = NULL;
	json_error_t jerr;
	size_t len;
	json_t *j;

	if (mc_fs_read_file(path, &text, &len, 4 << 20, err) < 0)
		return mc_err_wrap(err, "seccomp profile");
	j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!j)
		return mc_err_setx(err, MC_EPARSE, "seccomp profile `%s`: line %d: %s", path,
				   jerr.line, jerr.text);
	if (rt_seccomp_parse(j, &s, err) < 0) {
		json_decref(j);
		return mc_err_wrap(err, "seccomp profile `%s`", path);
	}
	rt_seccomp_free(s);
	*out = j;
	return 0;
}
