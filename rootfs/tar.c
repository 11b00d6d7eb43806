/* SPDX-License-Identifier: MIT */
/*
 * tar.c: a streaming tar reader for image import: ustar, pax extended headers
 * (path, linkpath, size, uid, gid, mtime) and GNU long names ('L', 'K'). Every member
 * is checked (header checksum, numeric fields, path normalisation) before the caller
 * sees it; anything unexpected is an error naming the archive offset.
 *
 *   offset  size  field              offset  size  field
 *        0   100  name                  257     6  magic "ustar\0" / "ustar "
 *      100     8  mode (octal)          263     2  version
 *      108     8  uid                   265    32  uname
 *      116     8  gid                   297    32  gname
 *      124    12  size (octal/base256)  329     8  devmajor
 *      136    12  mtime                 337     8  devminor
 *      148     8  checksum              345   155  prefix (ustar)
 *      156     1  typeflag              157   100  linkname
 */
#include "store_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define BLOCK 512
/* pax and GNU long-name records beyond this are refused (real ones are < 4 KiB). */
#define META_MAX (1u << 20)

void tar_reader_init(struct tar_reader *tr, tar_read_fn fn, void *arg)
{
	memset(tr, 0, sizeof(*tr));
	tr->read = fn;
	tr->arg = arg;
}

static void clear_meta(struct tar_reader *tr)
{
	free(tr->pax_path);
	free(tr->pax_link);
	free(tr->gnu_path);
	free(tr->gnu_link);
	tr->pax_path = tr->pax_link = tr->gnu_path = tr->gnu_link = NULL;
	tr->pax_size_set = tr->pax_uid_set = tr->pax_gid_set = tr->pax_mtime_set = false;
}

void tar_reader_release(struct tar_reader *tr)
{
	clear_meta(tr);
	free(tr->path);
	free(tr->link);
	tr->path = tr->link = NULL;
}

static int read_exact(struct tar_reader *tr, void *buf, size_t len, struct mc_err *err)
{
	ssize_t n = tr->read(tr->arg, buf, len);

	if (n < 0)
		return mc_err_set(err, (int)-n, "read tar at offset %llu",
				  (unsigned long long)tr->offset);
	if ((size_t)n != len)
		return mc_err_setx(err, MC_EPARSE, "tar truncated at offset %llu",
				   (unsigned long long)(tr->offset + (uint64_t)n));
	tr->offset += len;
	return 0;
}

static int skip(struct tar_reader *tr, uint64_t n, struct mc_err *err)
{
	char buf[BLOCK * 8];

	while (n > 0) {
		size_t k = n > sizeof(buf) ? sizeof(buf) : (size_t)n;
		int r = read_exact(tr, buf, k, err);

		if (r < 0)
			return r;
		n -= k;
	}
	return 0;
}

/* Octal (space/NUL padded) or GNU base-256 (high bit of the first byte). */
static int parse_num(const char *f, size_t len, uint64_t *out)
{
	uint64_t v = 0;
	size_t i = 0;

	if ((unsigned char)f[0] & 0x80) {
		if ((unsigned char)f[0] != 0x80)
			return -1; /* negative or too large */
		for (i = 1; i < len; i++) {
			if (v >> 56)
				return -1;
			v = v << 8 | (unsigned char)f[i];
		}
		*out = v;
		return 0;
	}
	while (i < len && f[i] == ' ')
		i++;
	size_t start = i;

	for (; i < len && f[i] >= '0' && f[i] <= '7'; i++) {
		if (v >> 60)
			return -1;
		v = v << 3 | (uint64_t)(f[i] - '0');
	}
	if (i == start && i < len && f[i] != '\0' && f[i] != ' ')
		return -1;
	for (; i < len; i++)
		if (f[i] != ' ' && f[i] != '\0')
			return -1;
	*out = v;
	return 0;
}

static bool checksum_ok(const unsigned char *h)
{
	uint64_t want;
	unsigned long usum = 0;
	long ssum = 0;

	if (parse_num((const char *)h + 148, 8, &want) < 0)
		return false;
	for (int i = 0; i < BLOCK; i++) {
		unsigned char c = i >= 148 && i < 156 ? ' ' : h[i];

		usum += c;
		ssum += (signed char)c;
	}
	/* Some old tars summed signed chars; accept either, as GNU tar does. */
	return want == usum || (int64_t)want == ssum;
}

static bool all_zero(const unsigned char *b)
{
	for (int i = 0; i < BLOCK; i++)
		if (b[i])
			return false;
	return true;
}

int img_path_normalize(const char *in, size_t len, char *out, size_t size, const char **why)
{
	size_t o = 0, i = 0;

	if (memchr(in, '\0', len))
		return *why = "NUL byte in path", -EINVAL;
	if (len && in[0] == '/')
		return *why = "absolute path", -EINVAL;
	while (i < len) {
		size_t s = i;

		while (i < len && in[i] != '/')
			i++;
		size_t cl = i - s;

		if (i < len)
			i++; /* the slash */
		if (cl == 0 || (cl == 1 && in[s] == '.'))
			continue;
		if (cl == 2 && in[s] == '.' && in[s + 1] == '.')
			return *why = "path contains `..`", -EINVAL;
		/* A ".git" component would make git itself refuse the tree. */
		if (cl == 4 && strncasecmp(in + s, ".git", 4) == 0)
			return *why = "path contains a `.git` component", -EINVAL;
		if (o + cl + 2 > size)
			return *why = "path too long", -ENAMETOOLONG;
		if (o)
			out[o++] = '/';
		memcpy(out + o, in + s, cl);
		o += cl;
	}
	out[o] = '\0';
	return 0;
}

/* Reads a meta member's data (pax record block or GNU long name) into a new string. */
static int read_meta(struct tar_reader *tr, uint64_t size, char **out, size_t *outlen,
		     struct mc_err *err)
{
	char *buf;
	int r;

	if (size > META_MAX)
		return mc_err_setx(err, MC_EPARSE, "tar metadata record at offset %llu too large",
				   (unsigned long long)tr->offset);
	buf = malloc((size_t)size + 1);
	if (!buf)
		return mc_err_set(err, ENOMEM, "read tar");
	r = read_exact(tr, buf, (size_t)size, err);
	if (r == 0)
		r = skip(tr, (BLOCK - size % BLOCK) % BLOCK, err);
	if (r < 0) {
		free(buf);
		return r;
	}
	buf[size] = '\0';
	*out = buf;
	*outlen = (size_t)size;
	return 0;
}

static int pax_num(const char *v, size_t vl, uint64_t max, uint64_t *out)
{
	uint64_t x = 0;
	size_t i = 0;

	if (vl == 0)
		return -1;
	for (; i < vl && v[i] >= '0' && v[i] <= '9'; i++) {
		if (x > (UINT64_MAX - 9) / 10)
			return -1;
		x = x * 10 + (uint64_t)(v[i] - '0');
	}
	/* mtime may carry a fraction: ignored (the manifest keeps seconds). */
	if (i == 0 || (i < vl && v[i] != '.') || x > max)
		return -1;
	*out = x;
	return 0;
}

/* Applies "LEN key=value\n" records of a pax 'x' header to the next member. */
static int parse_pax(struct tar_reader *tr, const char *d, size_t len, struct mc_err *err)
{
	size_t p = 0;

	while (p < len) {
		size_t rl = 0, q = p;

		while (q < len && d[q] >= '0' && d[q] <= '9' && rl < META_MAX)
			rl = rl * 10 + (size_t)(d[q++] - '0');
		if (q == p || q >= len || d[q] != ' ' || rl <= q - p + 1 || rl > len - p ||
		    d[p + rl - 1] != '\n')
			goto bad;
		const char *kv = d + q + 1, *end = d + p + rl - 1;
		const char *eq = memchr(kv, '=', (size_t)(end - kv));

		if (!eq)
			goto bad;
		size_t kl = (size_t)(eq - kv), vl = (size_t)(end - eq - 1);
		const char *v = eq + 1;
		uint64_t x;

		if (kl == 4 && memcmp(kv, "path", 4) == 0) {
			free(tr->pax_path);
			tr->pax_path = strndup(v, vl);
			if (!tr->pax_path || strlen(tr->pax_path) != vl)
				goto bad;
		} else if (kl == 8 && memcmp(kv, "linkpath", 8) == 0) {
			free(tr->pax_link);
			tr->pax_link = strndup(v, vl);
			if (!tr->pax_link || strlen(tr->pax_link) != vl)
				goto bad;
		} else if (kl == 4 && memcmp(kv, "size", 4) == 0) {
			if (pax_num(v, vl, INT64_MAX, &x) < 0)
				goto bad;
			tr->pax_size = x;
			tr->pax_size_set = true;
		} else if (kl == 3 && memcmp(kv, "uid", 3) == 0) {
			if (pax_num(v, vl, UINT32_MAX - 1, &x) < 0)
				goto bad;
			tr->pax_uid = (uint32_t)x;
			tr->pax_uid_set = true;
		} else if (kl == 3 && memcmp(kv, "gid", 3) == 0) {
			if (pax_num(v, vl, UINT32_MAX - 1, &x) < 0)
				goto bad;
			tr->pax_gid = (uint32_t)x;
			tr->pax_gid_set = true;
		} else if (kl == 5 && memcmp(kv, "mtime", 5) == 0) {
			if (pax_num(v, vl, INT64_MAX, &x) < 0)
				goto bad;
			tr->pax_mtime = (int64_t)x;
			tr->pax_mtime_set = true;
		}
		/* Other keys (atime, ctime, uname, gname, SCHILY.xattr.*) are not kept. */
		p += rl;
	}
	return 0;
bad:
	return mc_err_setx(err, MC_EPARSE, "malformed pax header before offset %llu",
			   (unsigned long long)tr->offset);
}

int tar_next(struct tar_reader *tr, struct tar_entry *e, struct mc_err *err)
{
	unsigned char h[BLOCK];
	int r;

	if (tr->done)
		return 0;
	/* Whatever the caller left of the previous member is skipped. */
	r = skip(tr, tr->left + tr->pad, err);
	if (r < 0)
		return r;
	tr->left = tr->pad = 0;
	for (;;) {
		uint64_t hdr_off = tr->offset, size, mode, uid, gid, mtime, maj = 0, min = 0;
		ssize_t n = tr->read(tr->arg, h, BLOCK);

		if (n < 0)
			return mc_err_set(err, (int)-n, "read tar at offset %llu",
					  (unsigned long long)tr->offset);
		if (n == 0 || (n == BLOCK && all_zero(h))) {
			/* End: the zero blocks (a missing second one is tolerated, like tar). */
			if (tr->pax_path || tr->gnu_path || tr->pax_link || tr->gnu_link)
				return mc_err_setx(err, MC_EPARSE,
						   "tar ends after an extended header");
			tr->done = true;
			return 0;
		}
		if (n != BLOCK)
			return mc_err_setx(err, MC_EPARSE, "tar truncated at offset %llu",
					   (unsigned long long)hdr_off);
		tr->offset += BLOCK;
		if (!checksum_ok(h))
			return mc_err_setx(err, MC_EPARSE,
					   "tar header at offset %llu: bad checksum",
					   (unsigned long long)hdr_off);
		if (parse_num((char *)h + 124, 12, &size) < 0 ||
		    parse_num((char *)h + 100, 8, &mode) < 0 ||
		    parse_num((char *)h + 108, 8, &uid) < 0 ||
		    parse_num((char *)h + 116, 8, &gid) < 0 ||
		    parse_num((char *)h + 136, 12, &mtime) < 0 || size > INT64_MAX ||
		    uid > UINT32_MAX - 1 || gid > UINT32_MAX - 1)
			return mc_err_setx(err, MC_EPARSE,
					   "tar header at offset %llu: bad numeric field",
					   (unsigned long long)hdr_off);
		bool ustar = memcmp(h + 257, "ustar", 5) == 0;
		char tf = (char)h[156];

		if (tf == 'x' || tf == 'g' || tf == 'L' || tf == 'K') {
			char *d = NULL;
			size_t dl = 0;

			r = read_meta(tr, size, &d, &dl, err);
			if (r < 0)
				return r;
			if (tf == 'x') {
				r = parse_pax(tr, d, dl, err);
				free(d);
				if (r < 0)
					return r;
			} else if (tf == 'g') {
				free(d); /* global defaults: nothing we keep is set there in practice */
			} else {
				/* GNU long names are NUL-terminated inside their data. */
				d[strnlen(d, dl)] = '\0';
				char **slot = tf == 'L' ? &tr->gnu_path : &tr->gnu_link;

				free(*slot);
				*slot = d;
			}
			continue;
		}
		if (ustar && (parse_num((char *)h + 329, 8, &maj) < 0 ||
			      parse_num((char *)h + 337, 8, &min) < 0 || maj > UINT32_MAX ||
			      min > UINT32_MAX))
			return mc_err_setx(err, MC_EPARSE,
					   "tar header at offset %llu: bad device number",
					   (unsigned long long)hdr_off);
		/* The member's name: pax path, GNU long name, or prefix "/" name. */
		char raw[256 + 2];
		const char *name;
		size_t nl;

		if (tr->pax_path) {
			name = tr->pax_path;
			nl = strlen(name);
		} else if (tr->gnu_path) {
			name = tr->gnu_path;
			nl = strlen(name);
		} else {
			size_t pl = ustar && h[263] == '0' ? strnlen((char *)h + 345, 155) : 0;
			size_t bl = strnlen((char *)h, 100);

			nl = 0;
			if (pl) {
				memcpy(raw, h + 345, pl);
				raw[pl] = '/';
				nl = pl + 1;
			}
			memcpy(raw + nl, h, bl);
			nl += bl;
			raw[nl] = '\0';
			name = raw;
		}
		const char *lname = tr->pax_link ? tr->pax_link : tr->gnu_link;
		char lraw[101];

		if (!lname) {
			size_t ll = strnlen((char *)h + 157, 100);

			memcpy(lraw, h + 157, ll);
			lraw[ll] = '\0';
			lname = lraw;
		}
		free(tr->path);
		free(tr->link);
		tr->link = NULL;
		tr->path = malloc(nl + 2);
		if (!tr->path)
			return mc_err_set(err, ENOMEM, "read tar");
		const char *why = NULL;
		bool trailing_slash = nl && name[nl - 1] == '/';

		if (img_path_normalize(name, nl, tr->path, nl + 2, &why) < 0)
			return mc_err_setx(err, EPERM, "tar member `%.200s` at offset %llu: %s",
					   name, (unsigned long long)hdr_off, why);
		memset(e, 0, sizeof(*e));
		e->path = tr->path;
		e->mode = (uint32_t)(mode & 07777);
		e->uid = tr->pax_uid_set ? tr->pax_uid : (uint32_t)uid;
		e->gid = tr->pax_gid_set ? tr->pax_gid : (uint32_t)gid;
		e->mtime = tr->pax_mtime_set ? tr->pax_mtime : (int64_t)mtime;
		if (tr->pax_size_set)
			size = tr->pax_size;
		switch (tf) {
		case '0':
		case '\0':
		case '7':
			e->type = trailing_slash && tf == '\0' ? 'd' : 'f';
			break;
		case '1':
			e->type = 'h';
			break;
		case '2':
			e->type = 'l';
			break;
		case '3':
			e->type = 'c';
			break;
		case '4':
			e->type = 'b';
			break;
		case '5':
			e->type = 'd';
			break;
		case '6':
			e->type = 'p';
			break;
		default:
			return mc_err_setx(err, MC_EPARSE,
					   "tar member `%s` at offset %llu: unsupported type `%c`",
					   e->path, (unsigned long long)hdr_off,
					   tf >= 32 && tf < 127 ? tf : '?');
		}
		if (e->type == 'c' || e->type == 'b') {
			e->devmajor = (uint32_t)maj;
			e->devminor = (uint32_t)min;
		}
		if (e->type == 'h') {
			size_t ll = strlen(lname);

			tr->link = malloc(ll + 2);
			if (!tr->link)
				return mc_err_set(err, ENOMEM, "read tar");
			if (img_path_normalize(lname, ll, tr->link, ll + 2, &why) < 0 ||
			    !tr->link[0])
				return mc_err_setx(err, EPERM, "tar hard link `%s` -> `%.200s`: %s",
						   e->path, lname, why ? why : "empty target");
		} else if (e->type == 'l') {
			if (!lname[0])
				return mc_err_setx(err, MC_EPARSE, "tar symlink `%s` has no target",
						   e->path);
			tr->link = strdup(lname);
			if (!tr->link)
				return mc_err_set(err, ENOMEM, "read tar");
		}
		e->link = tr->link;
		/* Only regular files carry data; anything else with a size is skipped. */
		e->size = e->type == 'f' ? size : 0;
		tr->left = size;
		tr->pad = (BLOCK - size % BLOCK) % BLOCK;
		clear_meta(tr);
		return 1;
	}
}

ssize_t tar_read_data(struct tar_reader *tr, void *buf, size_t len, struct mc_err *err)
{
	if (tr->left == 0)
		return 0;
	if (len > tr->left)
		len = (size_t)tr->left;
	int r = read_exact(tr, buf, len, err);

	if (r < 0)
		return r;
	tr->left -= len;
	return (ssize_t)len;
}
