/* SPDX-License-Identifier: MIT */
/*
 * commit.c: commit objects and the identities and dates inside them, formatted exactly
 * as git does so that the same inputs give the same commit id.
 */
#include "internal.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ---- dates ---- */

static int parse_tz(const char *s, int *tz, const char **end)
{
	int sign, hh, mm;

	if (*s == 'Z' || *s == 'z') {
		*tz = 0;
		*end = s + 1;
		return 0;
	}
	if (*s != '+' && *s != '-')
		return -1;
	sign = *s == '-' ? -1 : 1;
	s++;
	if (!isdigit((unsigned char)s[0]) || !isdigit((unsigned char)s[1]))
		return -1;
	hh = (s[0] - '0') * 10 + (s[1] - '0');
	s += 2;
	if (*s == ':')
		s++;
	if (isdigit((unsigned char)s[0]) && isdigit((unsigned char)s[1])) {
		mm = (s[0] - '0') * 10 + (s[1] - '0');
		s += 2;
	} else {
		mm = 0;
	}
	if (hh > 14 || mm > 59)
		return -1;
	*tz = sign * (hh * 60 + mm);
	*end = s;
	return 0;
}

static int local_tz(int64_t when)
{
	time_t t = (time_t)when;
	struct tm tm;

	if (!localtime_r(&t, &tm))
		return 0;
	return (int)(tm.tm_gmtoff / 60);
}

/* Seconds since the epoch for a broken-down time at offset @tz (minutes), or local. */
static int64_t to_epoch(struct tm *tm, bool have_tz, int *tz)
{
	if (have_tz)
		return (int64_t)timegm(tm) - (int64_t)*tz * 60;
	tm->tm_isdst = -1;
	int64_t t = (int64_t)mktime(tm);

	*tz = local_tz(t);
	return t;
}

static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
				      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
static const char *const wdays[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };

static const char *skip_sp(const char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	return s;
}

int mc_git_date_parse(const char *s, int64_t *when, int *tz_minutes)
{
	struct tm tm = { 0 };
	const char *e;
	int tz = 0;
	bool have_tz = false;

	s = skip_sp(s);
	/* Raw: "[@]SECONDS [+-]HHMM", what git itself stores. */
	{
		const char *p = s + (*s == '@');
		char *end;

		if (isdigit((unsigned char)*p)) {
			errno = 0;
			long long v = strtoll(p, &end, 10);

			if (!errno && (*end == '\0' || *end == ' ') &&
			    (*s == '@' || end - p >= 9)) {
				const char *t = skip_sp(end);

				if (*t == '\0') {
					*when = v;
					*tz_minutes = 0;
					return 0;
				}
				if (parse_tz(t, &tz, &e) == 0 && *skip_sp(e) == '\0') {
					*when = v;
					*tz_minutes = tz;
					return 0;
				}
				return -EINVAL;
			}
		}
	}
	/* ISO 8601: YYYY-MM-DD[T ]HH:MM[:SS][.frac][ ][Z|+-HH[:]MM] */
	e = strptime(s, "%Y-%m-%d", &tm);
	if (e && (*e == 'T' || *e == ' ')) {
		const char *t = strptime(e + 1, "%H:%M", &tm);

		if (!t)
			return -EINVAL;
		if (*t == ':') {
			t = strptime(t + 1, "%S", &tm);
			if (!t)
				return -EINVAL;
		}
		if (*t == '.' || *t == ',')
			for (t++; isdigit((unsigned char)*t); t++)
				;
		t = skip_sp(t);
		if (*t) {
			if (parse_tz(t, &tz, &t) < 0 || *skip_sp(t))
				return -EINVAL;
			have_tz = true;
		}
		*when = to_epoch(&tm, have_tz, &tz);
		*tz_minutes = tz;
		return 0;
	}
	/* RFC 2822: [Day, ]DD Mon YYYY HH:MM[:SS] [+-]HHMM */
	memset(&tm, 0, sizeof(tm));
	const char *p = s;

	for (int i = 0; i < 7; i++)
		if (strncasecmp(p, wdays[i], 3) == 0) {
			p = skip_sp(p + 3 + (p[3] == ','));
			break;
		}
	char *end;
	long day = strtol(p, &end, 10);

	if (end == p || day < 1 || day > 31)
		return -EINVAL;
	tm.tm_mday = (int)day;
	p = skip_sp(end);
	tm.tm_mon = -1;
	for (int i = 0; i < 12; i++)
		if (strncasecmp(p, months[i], 3) == 0)
			tm.tm_mon = i;
	if (tm.tm_mon < 0)
		return -EINVAL;
	p = skip_sp(p + 3);
	long year = strtol(p, &end, 10);

	if (end == p || year < 1970 || year > 9999)
		return -EINVAL;
	tm.tm_year = (int)year - 1900;
	p = skip_sp(end);
	e = strptime(p, "%H:%M", &tm);
	if (!e)
		return -EINVAL;
	if (*e == ':' && !(e = strptime(e + 1, "%S", &tm)))
		return -EINVAL;
	e = skip_sp(e);
	if (*e) {
		if (parse_tz(e, &tz, &e) < 0 || *skip_sp(e))
			return -EINVAL;
		have_tz = true;
	}
	*when = to_epoch(&tm, have_tz, &tz);
	*tz_minutes = tz;
	return 0;
}

void mc_git_date_format(int64_t when, int tz_minutes, char *buf, size_t size)
{
	time_t t = (time_t)(when + (int64_t)tz_minutes * 60);
	struct tm tm;
	int a = tz_minutes < 0 ? -tz_minutes : tz_minutes;

	if (!gmtime_r(&t, &tm)) {
		snprintf(buf, size, "%lld", (long long)when);
		return;
	}
	snprintf(buf, size, "%s %s %d %02d:%02d:%02d %d %c%02d%02d", wdays[tm.tm_wday],
		 months[tm.tm_mon], tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, tm.tm_year + 1900,
		 tz_minutes < 0 ? '-' : '+', a / 60, a % 60);
}

/* ---- identities ---- */

/* Git strips these "crud" characters from both ends of names and emails. */
static bool crud(unsigned char c)
{
	return c <= 32 || c == '.' || c == ',' || c == ':' || c == ';' || c == '<' || c == '>' ||
	       c == '"' || c == '\\' || c == '\'';
}

static int set_ident_field(char *dst, size_t size, const char *src)
{
	size_t n = strlen(src), o = 0;

	while (n && crud((unsigned char)src[0])) {
		src++;
		n--;
	}
	while (n && crud((unsigned char)src[n - 1]))
		n--;
	/* Angle brackets and newlines inside would break the object's line format. */
	for (size_t i = 0; i < n && o + 1 < size; i++)
		if (src[i] != '<' && src[i] != '>' && src[i] != '\n')
			dst[o++] = src[i];
	dst[o] = '\0';
	return o ? 0 : -EINVAL;
}

int mc_git_ident_from_env(struct mc_git_repo *repo, const char *who, struct mc_git_ident *out,
			  struct mc_err *err)
{
	char var[64], cfg[PATH_MAX], name[256] = "", email[256] = "";
	struct mc_git_ident id = { 0 };
	const char *v;

	snprintf(var, sizeof(var), "GIT_%s_NAME", who);
	if ((v = getenv(var)))
		mc_strlcpy(name, v, sizeof(name));
	snprintf(var, sizeof(var), "GIT_%s_EMAIL", who);
	if ((v = getenv(var)))
		mc_strlcpy(email, v, sizeof(email));
	/* Then the repository's config, then the user's, like git (system config aside). */
	const char *home = getenv("HOME");

	for (int i = 0; i < 2 && (!name[0] || !email[0]); i++) {
		if (i == 0 && repo)
			snprintf(cfg, sizeof(cfg), "%s/config", mc_git_repo_gitdir(repo));
		else if (i == 1 && home)
			snprintf(cfg, sizeof(cfg), "%s/.gitconfig", home);
		else
			continue;
		if (!name[0])
			git_config_get(cfg, "user", "name", name, sizeof(name));
		if (!email[0])
			git_config_get(cfg, "user", "email", email, sizeof(email));
	}
	if (!name[0] || !email[0]) {
		struct passwd *pw = getpwuid(getuid());
		char host[128] = "localhost";

		gethostname(host, sizeof(host) - 1);
		if (!name[0] && pw)
			mc_strlcpy(name, pw->pw_name, sizeof(name));
		if (!email[0] && pw)
			snprintf(email, sizeof(email), "%s@%s", pw->pw_name, host);
	}
	if (set_ident_field(id.name, sizeof(id.name), name) < 0)
		return mc_err_setx(err, EINVAL, "empty ident name (for <%s>) not allowed", email);
	set_ident_field(id.email, sizeof(id.email), email);
	snprintf(var, sizeof(var), "GIT_%s_DATE", who);
	if ((v = getenv(var)) && *v) {
		if (mc_git_date_parse(v, &id.when, &id.tz_minutes) < 0)
			return mc_err_setx(err, EINVAL, "invalid date format: %s", v);
	} else {
		id.when = (int64_t)time(NULL);
		id.tz_minutes = local_tz(id.when);
	}
	*out = id;
	return 0;
}

static int format_ident(struct mc_buf *b, const char *what, const struct mc_git_ident *id)
{
	int a = id->tz_minutes < 0 ? -id->tz_minutes : id->tz_minutes;

	return mc_buf_printf(b, "%s %s <%s> %lld %c%02d%02d\n", what, id->name, id->email,
			     (long long)id->when, id->tz_minutes < 0 ? '-' : '+', a / 60, a % 60);
}

/* "Name <email> 1234 +0100" -> @id; strict enough that hostile bytes cannot overflow. */
static int parse_ident(const char *s, size_t len, struct mc_git_ident *id)
{
	const char *end = s + len, *lt = memchr(s, '<', len), *gt, *p;
	size_t nl;
	char *e;

	if (!lt)
		return -1;
	gt = memchr(lt, '>', (size_t)(end - lt));
	if (!gt)
		return -1;
	nl = (size_t)(lt - s);
	if (nl && s[nl - 1] == ' ')
		nl--;
	if (nl >= sizeof(id->name) || (size_t)(gt - lt - 1) >= sizeof(id->email))
		return -1;
	memcpy(id->name, s, nl);
	id->name[nl] = '\0';
	memcpy(id->email, lt + 1, (size_t)(gt - lt - 1));
	id->email[gt - lt - 1] = '\0';
	p = gt + 1;
	if (p >= end || *p != ' ')
		return -1;
	p++;
	char num[24];
	size_t k = 0;

	while (p < end && isdigit((unsigned char)*p) && k < sizeof(num) - 1)
		num[k++] = *p++;
	num[k] = '\0';
	if (k == 0 || p >= end || *p != ' ')
		return -1;
	id->when = strtoll(num, &e, 10);
	p++;
	if (end - p != 5 || (*p != '+' && *p != '-'))
		return -1;
	for (int i = 1; i < 5; i++)
		if (!isdigit((unsigned char)p[i]))
			return -1;
	int v = ((p[1] - '0') * 10 + (p[2] - '0')) * 60 + (p[3] - '0') * 10 + (p[4] - '0');

	id->tz_minutes = *p == '-' ? -v : v;
	return 0;
}

/* ---- commits ---- */

int mc_git_commit_write(struct mc_git_repo *repo, const struct mc_git_oid *tree,
			const struct mc_git_oid *parents, size_t nparents,
			const struct mc_git_ident *author, const struct mc_git_ident *committer,
			const char *message, struct mc_git_oid *out, struct mc_err *err)
{
	struct mc_buf b = MC_BUF_INIT;
	char hex[MC_GIT_OID_HEXSZ + 1];
	int r = 0;

	r |= mc_buf_printf(&b, "tree %s\n", mc_git_oid_fmt(tree, hex));
	for (size_t i = 0; i < nparents; i++)
		r |= mc_buf_printf(&b, "parent %s\n", mc_git_oid_fmt(&parents[i], hex));
	r |= format_ident(&b, "author", author);
	r |= format_ident(&b, "committer", committer);
	r |= mc_buf_printf(&b, "\n%s", message);
	if (r < 0) {
		mc_buf_release(&b);
		return mc_err_set(err, ENOMEM, "build commit");
	}
	r = mc_git_odb_write(repo, MC_GIT_COMMIT, b.data, b.len, out, err);
	mc_buf_release(&b);
	return r;
}

void mc_git_commit_release(struct mc_git_commit *c)
{
	free(c->parents);
	free(c->message);
	c->parents = NULL;
	c->message = NULL;
	c->nparents = 0;
}

int mc_git_commit_parse(const void *buf, size_t len, struct mc_git_commit *out)
{
	const char *p = buf, *end = p + len;
	struct mc_git_commit c = { 0 };
	bool have_tree = false, have_author = false, have_committer = false;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t ll;
		char hex[MC_GIT_OID_HEXSZ + 1];

		if (!nl)
			goto bad;
		ll = (size_t)(nl - p);
		if (ll == 0) {
			p = nl + 1;
			break;
		}
		if (ll == 45 && memcmp(p, "tree ", 5) == 0 && !have_tree && !c.nparents) {
			memcpy(hex, p + 5, 40);
			hex[40] = '\0';
			if (mc_git_oid_parse(hex, &c.tree) < 0)
				goto bad;
			have_tree = true;
		} else if (ll == 47 && memcmp(p, "parent ", 7) == 0 && have_tree && !have_author) {
			struct mc_git_oid *np = realloc(c.parents, (c.nparents + 1) * sizeof(*np));

			if (!np)
				goto bad;
			c.parents = np;
			memcpy(hex, p + 7, 40);
			hex[40] = '\0';
			if (mc_git_oid_parse(hex, &c.parents[c.nparents]) < 0)
				goto bad;
			c.nparents++;
		} else if (ll > 7 && memcmp(p, "author ", 7) == 0 && have_tree && !have_author) {
			if (parse_ident(p + 7, ll - 7, &c.author) < 0)
				goto bad;
			have_author = true;
		} else if (ll > 10 && memcmp(p, "committer ", 10) == 0 && have_author &&
			   !have_committer) {
			if (parse_ident(p + 10, ll - 10, &c.committer) < 0)
				goto bad;
			have_committer = true;
		} else if (!have_committer) {
			goto bad;
		}
		/* Other headers after committer (encoding, gpgsig, mergetag) are kept opaque. */
		p = nl + 1;
	}
	if (!have_tree || !have_author || !have_committer)
		goto bad;
	c.message = strndup(p, (size_t)(end - p));
	if (!c.message)
		goto bad;
	*out = c;
	return 0;
bad:
	free(c.parents);
	return -MC_ECORRUPT;
}

int mc_git_commit_read(struct mc_git_repo *repo, const struct mc_git_oid *oid,
		       struct mc_git_commit *out, struct mc_err *err)
{
	void *d;
	size_t l;
	char hex[MC_GIT_OID_HEXSZ + 1];
	int r = mc_git_odb_read_typed(repo, oid, MC_GIT_COMMIT, &d, &l, err);

	if (r < 0)
		return r;
	r = mc_git_commit_parse(d, l, out);
	free(d);
	if (r < 0)
		return mc_err_setx(err, MC_ECORRUPT, "object %s: malformed commit",
				   mc_git_oid_fmt(oid, hex));
	return 0;
}
