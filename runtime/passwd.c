/* SPDX-License-Identifier: MIT */
/*
 * passwd.c: `-u USER[:GROUP]` against a container's own /etc/passwd and /etc/group
 * (never the host's: names mean what the image or the running container says).
 *
 * The files come from the container's root through openat2(RESOLVE_IN_ROOT), so an
 * image's or a container's symlinks resolve inside that root and cannot make us read
 * a host file; only regular files of at most 1 MiB are read. The parser is our own
 * (glibc's fgetpwent would follow NSS and the host's configuration): fields split on
 * every ':' (empty fields count: "name::0:0"), ids are plain decimal below 2^32-1,
 * malformed lines, NIS "+"/"-" lines and comments are skipped, nothing is truncated.
 * Semantics follow docker: a numeric user not in passwd gets gid 0; supplementary
 * groups are the groups listing the user's name as a member.
 */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define ID_FILE_MAX (1U << 20)
#define FIELDS_MAX 7

/* A field is [p, p + n). */
struct field {
	const char *p;
	size_t n;
};

/* split: @line (without '\n') into at most FIELDS_MAX fields; returns the count. */
static size_t split(const char *line, size_t len, struct field *f)
{
	size_t n = 0, start = 0;

	for (size_t i = 0; i <= len && n < FIELDS_MAX; i++) {
		if (i == len || line[i] == ':') {
			f[n++] = (struct field){ line + start, i - start };
			start = i + 1;
		}
	}
	return n;
}

static bool field_eq(const struct field *f, const char *s)
{
	return f->n == strlen(s) && !memcmp(f->p, s, f->n);
}

/* A decimal id: 1-10 digits, no sign or space, below 2^32-1 (which is "no id"). */
static bool field_id(const struct field *f, uint32_t *out)
{
	uint64_t v = 0;

	if (f->n == 0 || f->n > 10)
		return false;
	for (size_t i = 0; i < f->n; i++) {
		if (f->p[i] < '0' || f->p[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(f->p[i] - '0');
	}
	if (v >= UINT32_MAX)
		return false;
	*out = (uint32_t)v;
	return true;
}

/*
 * next_line: the line at *pos of @text as fields; false at the end. Lines holding a
 * NUL byte, comments and NIS entries come back with *nf = 0 (skipped by callers).
 */
static bool next_line(const char *text, size_t len, size_t *pos, struct field *f, size_t *nf)
{
	const char *line, *nl;
	size_t n;

	if (*pos >= len)
		return false;
	line = text + *pos;
	nl = memchr(line, '\n', len - *pos);
	n = nl ? (size_t)(nl - line) : len - *pos;
	*pos += n + 1;
	if (n == 0 || memchr(line, '\0', n) || line[0] == '#' || line[0] == '+' || line[0] == '-')
		*nf = 0;
	else
		*nf = split(line, n, f);
	return true;
}

int rt_idfile_find(const char *text, size_t len, bool passwd, const char *name, uint32_t id,
		   struct rt_ident *out)
{
	struct field f[FIELDS_MAX];
	size_t pos = 0, nf;

	if (!text)
		return -ENOENT;
	while (next_line(text, len, &pos, f, &nf)) {
		uint32_t v, g = 0;

		/* passwd: name:pw:uid:gid:...; group: name:pw:gid:members. */
		if (nf < (passwd ? 4U : 3U) || f[0].n == 0 || !field_id(&f[2], &v) ||
		    (passwd && !field_id(&f[3], &g)))
			continue;
		if (name ? !field_eq(&f[0], name) : v != id)
			continue;
		out->id = v;
		out->gid = g;
		/* A name too long to keep is no name: it then matches no group member. */
		out->name[0] = '\0';
		if (f[0].n < sizeof(out->name)) {
			memcpy(out->name, f[0].p, f[0].n);
			out->name[f[0].n] = '\0';
		}
		return 0;
	}
	return -ENOENT;
}

size_t rt_group_members(const char *text, size_t len, const char *user, uint32_t *out, size_t max)
{
	struct field f[FIELDS_MAX];
	size_t pos = 0, nf, n = 0;

	if (!text || !*user)
		return 0;
	while (n < max && next_line(text, len, &pos, f, &nf)) {
		const char *p, *end;
		uint32_t gid;

		if (nf < 4 || !field_id(&f[2], &gid))
			continue;
		for (p = f[3].p, end = f[3].p + f[3].n; p < end;) {
			const char *comma = memchr(p, ',', (size_t)(end - p));
			struct field m = { p, (size_t)((comma ? comma : end) - p) };
			bool dup = false;

			if (field_eq(&m, user)) {
				for (size_t k = 0; k < n; k++)
					dup = dup || out[k] == gid;
				if (!dup)
					out[n++] = gid;
				break;
			}
			p = comma ? comma + 1 : end;
		}
	}
	return n;
}

static bool all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

int rt_user_resolve(const char *spec, const char *passwd, size_t plen, const char *group,
		    size_t glen, struct rt_user *out, struct mc_err *err)
{
	char buf[256], *colon;
	struct rt_ident pw = { 0 }, gr;
	bool known;
	struct field num;

	memset(out, 0, sizeof(*out));
	if (mc_strlcpy(buf, spec, sizeof(buf)) >= sizeof(buf) || !buf[0] || buf[0] == ':')
		return mc_err_setx(err, EINVAL, "invalid user `%s`", spec);
	colon = strchr(buf, ':');
	if (colon)
		*colon++ = '\0';
	if (colon && (!*colon || strchr(colon, ':')))
		return mc_err_setx(err, EINVAL, "invalid user `%s` (want USER[:GROUP])", spec);
	if (all_digits(buf)) {
		num = (struct field){ buf, strlen(buf) };
		if (!field_id(&num, &out->uid))
			return mc_err_setx(err, EINVAL, "invalid uid `%s`", buf);
		known = rt_idfile_find(passwd, plen, true, NULL, out->uid, &pw) == 0;
		/* docker: a uid without a passwd entry runs with gid 0. */
		out->gid = known ? pw.gid : 0;
	} else {
		if (rt_idfile_find(passwd, plen, true, buf, 0, &pw) < 0)
			return mc_err_setx(
				err, ENOENT,
				"unable to find user `%s`: no matching entries in passwd file",
				buf);
		known = true;
		out->uid = pw.id;
		out->gid = pw.gid;
	}
	if (colon && all_digits(colon)) {
		num = (struct field){ colon, strlen(colon) };
		if (!field_id(&num, &out->gid))
			return mc_err_setx(err, EINVAL, "invalid gid `%s`", colon);
	} else if (colon) {
		if (rt_idfile_find(group, glen, false, colon, 0, &gr) < 0)
			return mc_err_setx(
				err, ENOENT,
				"unable to find group `%s`: no matching entries in group file",
				colon);
		out->gid = gr.id;
	}
	if (known)
		out->n_groups = rt_group_members(group, glen, pw.name, out->groups,
						 MC_ARRAY_SIZE(out->groups));
	return 0;
}

int rt_root_file_read(int rootfd, const char *rel, char **out, size_t *len)
{
	struct open_how how = { .flags = O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC,
				.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };
	struct stat st;
	char *buf;
	ssize_t n;
	int fd;

	*out = NULL;
	*len = 0;
	fd = (int)syscall(SYS_openat2, rootfd, rel, &how, sizeof(how));
	if (fd < 0)
		return -errno;
	/* Only a regular file: a fifo or device there must not block or feed us. */
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > ID_FILE_MAX) {
		close(fd);
		return -EINVAL;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	n = mc_read_all(fd, buf, (size_t)st.st_size);
	close(fd);
	if (n < 0) {
		free(buf);
		return (int)n;
	}
	buf[n] = '\0';
	*out = buf;
	*len = (size_t)n;
	return 0;
}

int rt_user_resolve_in_root(int rootfd, const char *spec, struct rt_user *out, struct mc_err *err)
{
	char *pw = NULL, *gr = NULL;
	size_t plen = 0, glen = 0;
	int r;

	/* Missing or unreadable files are like empty ones: only numeric ids resolve. */
	rt_root_file_read(rootfd, "etc/passwd", &pw, &plen);
	rt_root_file_read(rootfd, "etc/group", &gr, &glen);
	r = rt_user_resolve(spec, pw, plen, gr, glen, out, err);
	free(pw);
	free(gr);
	return r;
}
