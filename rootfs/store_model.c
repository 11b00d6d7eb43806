/* SPDX-License-Identifier: MIT */
/*
 * store_model.c: the in-memory filesystem both importers fill (a node per path with
 * everything a tar header or lstat says), its checks against hostile layouts, the
 * manifest codec, and writing the model as git trees plus the manifest blob.
 */
#include "store_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ull;
	return h;
}

static int table_grow(struct img_model *m)
{
	size_t nc = m->tcap ? m->tcap * 2 : 1024;
	size_t *nt = calloc(nc, sizeof(*nt));

	if (!nt)
		return -ENOMEM;
	for (size_t i = 0; i < m->n; i++) {
		size_t k = hash_str(m->nodes[i].path) & (nc - 1);

		while (nt[k])
			k = (k + 1) & (nc - 1);
		nt[k] = i + 1;
	}
	free(m->table);
	m->table = nt;
	m->tcap = nc;
	return 0;
}

ssize_t img_model_find(const struct img_model *m, const char *path)
{
	if (!m->tcap)
		return -1;
	for (size_t k = hash_str(path) & (m->tcap - 1); m->table[k]; k = (k + 1) & (m->tcap - 1))
		if (strcmp(m->nodes[m->table[k] - 1].path, path) == 0)
			return (ssize_t)(m->table[k] - 1);
	return -1;
}

static int kid_add(struct img_node *d, size_t idx)
{
	if (d->nkids == d->capkids) {
		size_t nc = d->capkids ? d->capkids * 2 : 8;
		size_t *nk = realloc(d->kids, nc * sizeof(*nk));

		if (!nk)
			return -ENOMEM;
		d->kids = nk;
		d->capkids = nc;
	}
	d->kids[d->nkids++] = idx;
	return 0;
}

/* Appends a node (taking a copy of its strings) and links it under its parent. */
static ssize_t node_append(struct img_model *m, const struct img_node *src, ssize_t parent)
{
	struct img_node n = *src;

	if ((m->n + 1) * 2 > m->tcap && table_grow(m) < 0)
		return -ENOMEM;
	if (m->n == m->cap) {
		size_t nc = m->cap ? m->cap * 2 : 256;
		struct img_node *nn = realloc(m->nodes, nc * sizeof(*nn));

		if (!nn)
			return -ENOMEM;
		m->nodes = nn;
		m->cap = nc;
	}
	n.path = strdup(src->path);
	n.link = src->link ? strdup(src->link) : NULL;
	n.kids = NULL;
	n.nkids = n.capkids = 0;
	if (!n.path || (src->link && !n.link)) {
		free(n.path);
		free(n.link);
		return -ENOMEM;
	}
	size_t idx = m->n++;

	m->nodes[idx] = n;
	size_t k = hash_str(n.path) & (m->tcap - 1);

	while (m->table[k])
		k = (k + 1) & (m->tcap - 1);
	m->table[k] = idx + 1;
	if (parent >= 0 && kid_add(&m->nodes[parent], idx) < 0)
		return -ENOMEM;
	return (ssize_t)idx;
}

int img_model_init(struct img_model *m)
{
	struct img_node root = { .path = "", .type = 'd', .mode = 0755 };

	memset(m, 0, sizeof(*m));
	return node_append(m, &root, -1) < 0 ? -ENOMEM : 0;
}

void img_model_release(struct img_model *m)
{
	for (size_t i = 0; i < m->n; i++) {
		free(m->nodes[i].path);
		free(m->nodes[i].link);
		free(m->nodes[i].kids);
	}
	free(m->nodes);
	free(m->table);
	memset(m, 0, sizeof(*m));
}

bool img_symlink_escapes(const char *path, const char *target)
{
	long depth = 0;

	if (target[0] == '/')
		return false; /* absolute: resolved against the image root, never the host */
	for (const char *p = path; *p; p++)
		depth += *p == '/';
	for (const char *p = target; *p;) {
		size_t l = strcspn(p, "/");

		if (l == 2 && p[0] == '.' && p[1] == '.') {
			if (--depth < 0)
				return true;
		} else if (l && !(l == 1 && p[0] == '.')) {
			depth++;
		}
		p += l + (p[l] == '/');
	}
	return false;
}

/* The directory index holding @path, creating missing ancestors as plain directories. */
static ssize_t parent_of(struct img_model *m, const char *path, struct mc_err *err)
{
	const char *slash = strrchr(path, '/');
	char pp[PATH_MAX];

	if (!slash)
		return 0;
	if ((size_t)(slash - path) >= sizeof(pp))
		return mc_err_setx(err, ENAMETOOLONG, "path `%.100s...` too long", path);
	memcpy(pp, path, (size_t)(slash - path));
	pp[slash - path] = '\0';
	ssize_t at = img_model_find(m, pp);

	if (at >= 0) {
		/* Security: an entry "below" a symlink would be written through it. */
		if (m->nodes[at].type != 'd')
			return mc_err_setx(err, EPERM,
					   "`%s` is below `%s`, which is not a directory", path,
					   pp);
		return at;
	}
	ssize_t up = parent_of(m, pp, err);

	if (up < 0)
		return up;
	struct img_node d = { .path = pp, .type = 'd', .mode = 0755 };
	ssize_t r = node_append(m, &d, up);

	return r < 0 ? mc_err_set(err, ENOMEM, "import") : r;
}

int img_model_add(struct img_model *m, const struct img_node *node, struct mc_err *err)
{
	struct img_node n = *node;
	ssize_t at, parent;

	if (n.type == 'l' && img_symlink_escapes(n.path, n.link))
		return mc_err_setx(err, EPERM, "symlink `%s` -> `%s` escapes the image root",
				   n.path, n.link);
	if (n.type == 'h') {
		ssize_t t = img_model_find(m, n.link);

		if (t >= 0 && m->nodes[t].type == 'h')
			t = img_model_find(m, m->nodes[t].link);
		if (t < 0 || m->nodes[t].type != 'f')
			return mc_err_setx(err, EPERM,
					   "hard link `%s` -> `%s`: target is not a regular file "
					   "seen before",
					   n.path, n.link);
		if (strcmp(m->nodes[t].path, n.path) == 0)
			return mc_err_setx(err, EPERM, "hard link `%s` points at itself", n.path);
		n.link = m->nodes[t].path;
		n.oid = m->nodes[t].oid;
	}
	at = img_model_find(m, n.path);
	if (at >= 0) {
		struct img_node *o = &m->nodes[at];

		if (o->type == 'd' && n.type != 'd' && o->nkids)
			return mc_err_setx(err, EPERM, "`%s` is both a directory and a %c entry",
					   n.path, n.type);
		if (at == 0 && n.type != 'd')
			return mc_err_setx(err, EPERM, "the image root must be a directory");
		/* A later entry wins, as when tar extracts over an earlier one. */
		char *link = n.link ? strdup(n.link) : NULL;

		if (n.link && !link)
			return mc_err_set(err, ENOMEM, "import");
		free(o->link);
		o->link = link;
		o->type = n.type;
		o->mode = n.mode;
		o->uid = n.uid;
		o->gid = n.gid;
		o->mtime = n.mtime;
		o->devmajor = n.devmajor;
		o->devminor = n.devminor;
		o->oid = n.oid;
		return 0;
	}
	parent = parent_of(m, n.path, err);
	if (parent < 0)
		return (int)parent;
	if (node_append(m, &n, parent) < 0)
		return mc_err_set(err, ENOMEM, "import");
	return 0;
}

/* ---- writing trees ---- */

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

static int write_dir(struct img_model *m, struct mc_git_repo *repo, size_t idx,
		     struct mc_git_oid *out, size_t *count, struct mc_err *err)
{
	struct img_node *d = &m->nodes[idx];
	struct mc_git_tree_item *items = calloc(d->nkids ? d->nkids : 1, sizeof(*items));
	size_t n = 0;
	int r = 0;

	if (!items)
		return mc_err_set(err, ENOMEM, "write image tree");
	for (size_t i = 0; i < d->nkids && r == 0; i++) {
		struct img_node *k = &m->nodes[d->kids[i]];
		struct mc_git_tree_item *it = &items[n];

		it->name = base_name(k->path);
		switch (k->type) {
		case 'f':
			it->mode = k->mode & 0100 ? MC_GIT_MODE_EXEC : MC_GIT_MODE_FILE;
			it->oid = k->oid;
			n++;
			break;
		case 'h': {
			ssize_t t = img_model_find(m, k->link);

			it->mode = t >= 0 && (m->nodes[t].mode & 0100) ? MC_GIT_MODE_EXEC
								       : MC_GIT_MODE_FILE;
			it->oid = k->oid;
			n++;
			break;
		}
		case 'l':
			it->mode = MC_GIT_MODE_LINK;
			it->oid = k->oid;
			n++;
			break;
		case 'd': {
			size_t sub = 0;

			r = write_dir(m, repo, d->kids[i], &it->oid, &sub, err);
			d = &m->nodes[idx];
			/* Empty directories live in the manifest only: git trees cannot hold them. */
			if (r == 0 && sub) {
				it->mode = MC_GIT_MODE_TREE;
				n++;
			}
			break;
		}
		default:
			break; /* devices and fifos: manifest only */
		}
	}
	/* An empty subtree is not written: nothing would reference it (git fsck: dangling). */
	if (r == 0 && (n > 0 || idx == 0))
		r = mc_git_tree_write(repo, items, n, out, err);
	if (r == 0)
		*count = n;
	free(items);
	return r;
}

static void put_escaped(struct mc_buf *b, const char *s)
{
	/* Bytes that would break the line format (space, control, '%') become %XX. */
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c <= 0x20 || c == 0x7f || c == '%')
			mc_buf_printf(b, "%%%02X", c);
		else
			mc_buf_append(b, s, 1);
	}
}

static int path_cmp(const void *a, const void *b)
{
	return strcmp((*(struct img_node *const *)a)->path, (*(struct img_node *const *)b)->path);
}

int img_manifest_format(const struct img_model *m, struct mc_buf *b)
{
	struct img_node **v = malloc((m->n ? m->n : 1) * sizeof(*v));

	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < m->n; i++)
		v[i] = &m->nodes[i];
	qsort(v, m->n, sizeof(*v), path_cmp);
	mc_buf_puts(b, "# mycontainer image manifest v1\n"
		       "# type mode uid gid mtime extra path\n");
	for (size_t i = 0; i < m->n; i++) {
		const struct img_node *n = v[i];

		mc_buf_printf(b, "%c %04o %u %u %lld ", n->type, n->mode, n->uid, n->gid,
			      (long long)n->mtime);
		if (n->type == 'c' || n->type == 'b')
			mc_buf_printf(b, "%u,%u", n->devmajor, n->devminor);
		else if (n->type == 'h')
			put_escaped(b, n->link);
		else
			mc_buf_puts(b, "-");
		mc_buf_puts(b, " ");
		if (n->path[0])
			put_escaped(b, n->path);
		else
			mc_buf_puts(b, ".");
		if (mc_buf_puts(b, "\n") < 0) {
			free(v);
			return -ENOMEM;
		}
	}
	free(v);
	return 0;
}

int img_model_write(struct img_model *m, struct mc_git_repo *repo, struct mc_git_oid *top,
		    struct mc_err *err)
{
	struct mc_git_tree_item items[2] = { { .mode = MC_GIT_MODE_FILE, .name = "manifest" },
					     { .mode = MC_GIT_MODE_TREE, .name = "rootfs" } };
	struct mc_buf b = MC_BUF_INIT;
	size_t count;
	int r;

	r = write_dir(m, repo, 0, &items[1].oid, &count, err);
	if (r < 0)
		return r;
	if (img_manifest_format(m, &b) < 0) {
		mc_buf_release(&b);
		return mc_err_set(err, ENOMEM, "write manifest");
	}
	r = mc_git_odb_write(repo, MC_GIT_BLOB, b.data, b.len, &items[0].oid, err);
	mc_buf_release(&b);
	if (r < 0)
		return r;
	return mc_git_tree_write(repo, items, 2, top, err);
}

/* ---- parsing the manifest ---- */

static int unescape(const char *s, size_t len, char *out, size_t size)
{
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		int c = (unsigned char)s[i];

		if (c == '%') {
			if (i + 2 >= len)
				return -1;
			char hx[3] = { s[i + 1], s[i + 2], 0 };
			char *e;

			c = (int)strtol(hx, &e, 16);
			if (*e || c == 0)
				return -1;
			i += 2;
		}
		if (o + 1 >= size)
			return -1;
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return 0;
}

/* One manifest line into @n (path/link point into @pbuf/@lbuf). */
static int parse_line(char *line, struct img_node *n, char *pbuf, char *lbuf, size_t size)
{
	char *f[7], *save = NULL;
	int k = 0;
	char *e;
	const char *why;

	for (char *t = strtok_r(line, " ", &save); t && k < 7; t = strtok_r(NULL, " ", &save))
		f[k++] = t;
	if (k != 7 || strtok_r(NULL, " ", &save) || strlen(f[0]) != 1 ||
	    !strchr("fdlhcbp", f[0][0]))
		return -1;
	memset(n, 0, sizeof(*n));
	n->type = f[0][0];
	unsigned long mode = strtoul(f[1], &e, 8);

	if (*e || mode > 07777)
		return -1;
	n->mode = (uint32_t)mode;
	unsigned long long uid = strtoull(f[2], &e, 10);

	if (*e || uid >= UINT32_MAX)
		return -1;
	unsigned long long gid = strtoull(f[3], &e, 10);

	if (*e || gid >= UINT32_MAX)
		return -1;
	n->uid = (uint32_t)uid;
	n->gid = (uint32_t)gid;
	n->mtime = strtoll(f[4], &e, 10);
	if (*e)
		return -1;
	char raw[PATH_MAX];

	if (unescape(f[6], strlen(f[6]), raw, sizeof(raw)) < 0)
		return -1;
	/* The path must already be in normal form: anything else was not written by us. */
	if (img_path_normalize(raw, strlen(raw), pbuf, size, &why) < 0 ||
	    (strcmp(raw, ".") != 0 && strcmp(raw, pbuf) != 0) ||
	    (strcmp(raw, ".") == 0 && n->type != 'd'))
		return -1;
	n->path = pbuf;
	if (n->type == 'c' || n->type == 'b') {
		unsigned long maj = strtoul(f[5], &e, 10), min;

		if (*e != ',' || maj > UINT32_MAX)
			return -1;
		min = strtoul(e + 1, &e, 10);
		if (*e || min > UINT32_MAX)
			return -1;
		n->devmajor = (uint32_t)maj;
		n->devminor = (uint32_t)min;
	} else if (n->type == 'h') {
		if (unescape(f[5], strlen(f[5]), raw, sizeof(raw)) < 0 ||
		    img_path_normalize(raw, strlen(raw), lbuf, size, &why) < 0 || !lbuf[0] ||
		    strcmp(raw, lbuf) != 0)
			return -1;
		n->link = lbuf;
	} else if (strcmp(f[5], "-") != 0) {
		return -1;
	}
	return 0;
}

int img_manifest_parse(const char *text, size_t len, struct img_model *m, struct mc_err *err)
{
	char pbuf[PATH_MAX], lbuf[PATH_MAX];
	int r = 0;

	/* Two passes: hard links last, since their target may sort after them. */
	for (int pass = 0; pass < 2 && r == 0; pass++) {
		size_t p = 0, lineno = 0;

		while (p < len && r == 0) {
			const char *nl = memchr(text + p, '\n', len - p);
			size_t ll = nl ? (size_t)(nl - text - p) : len - p;
			char line[2 * PATH_MAX];
			struct img_node n;

			lineno++;
			if (ll >= sizeof(line) || memchr(text + p, '\0', ll))
				return mc_err_setx(err, MC_ECORRUPT, "manifest line %zu: malformed",
						   lineno);
			memcpy(line, text + p, ll);
			line[ll] = '\0';
			p += ll + 1;
			if (ll == 0 || line[0] == '#')
				continue;
			if (parse_line(line, &n, pbuf, lbuf, sizeof(pbuf)) < 0)
				return mc_err_setx(err, MC_ECORRUPT, "manifest line %zu: malformed",
						   lineno);
			if ((n.type == 'h') != (pass == 1))
				continue;
			if (n.type == 'l')
				n.link = "."; /* the target is in the tree's blob, checked there */
			r = img_model_add(m, &n, err);
		}
	}
	return r < 0 ? mc_err_wrap(err, "manifest") : 0;
}

/* ---- scanning a directory ---- */

struct ino_map {
	struct {
		dev_t dev;
		ino_t ino;
		size_t node; /* +1; 0 = empty */
	} * v;
	size_t cap, n;
};

static ssize_t ino_find_or_add(struct ino_map *im, dev_t dev, ino_t ino, size_t node)
{
	if ((im->n + 1) * 2 > im->cap) {
		size_t nc = im->cap ? im->cap * 2 : 256;
		__typeof__(im->v) nv = calloc(nc, sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		for (size_t i = 0; i < im->cap; i++) {
			if (!im->v[i].node)
				continue;
			size_t k = (size_t)(im->v[i].ino * 2654435761u) & (nc - 1);

			while (nv[k].node)
				k = (k + 1) & (nc - 1);
			nv[k] = im->v[i];
		}
		free(im->v);
		im->v = nv;
		im->cap = nc;
	}
	size_t k = (size_t)(ino * 2654435761u) & (im->cap - 1);

	for (; im->v[k].node; k = (k + 1) & (im->cap - 1))
		if (im->v[k].dev == dev && im->v[k].ino == ino)
			return (ssize_t)(im->v[k].node - 1);
	im->v[k].dev = dev;
	im->v[k].ino = ino;
	im->v[k].node = node + 1;
	im->n++;
	return -1;
}

struct scan_ctx {
	struct img_model *m;
	struct mc_git_repo *repo;
	struct mc_err *err;
	struct ino_map inos;
	struct mc_buf data;
	char path[PATH_MAX]; /* relative to the import root */
	const char *root;
};

static int read_blob(struct scan_ctx *c, int dfd, const char *name, size_t size,
		     struct mc_git_oid *oid)
{
	int fd = openat(dfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	ssize_t n;

	if (fd < 0)
		return mc_err_set(c->err, errno, "open `%s/%s`", c->root, c->path);
	c->data.len = 0;
	if (mc_buf_reserve(&c->data, size + 1) < 0) {
		close(fd);
		return mc_err_set(c->err, ENOMEM, "read `%s/%s`", c->root, c->path);
	}
	n = mc_read_all(fd, c->data.data, size + 1);
	close(fd);
	if (n < 0)
		return mc_err_set(c->err, (int)-n, "read `%s/%s`", c->root, c->path);
	if ((size_t)n != size)
		return mc_err_setx(c->err, EAGAIN, "`%s/%s` changed while being read", c->root,
				   c->path);
	return mc_git_odb_write(c->repo, MC_GIT_BLOB, c->data.data, size, oid, c->err);
}

static void node_from_stat(struct img_node *n, const struct stat *st)
{
	n->mode = st->st_mode & 07777;
	n->uid = st->st_uid;
	n->gid = st->st_gid;
	n->mtime = st->st_mtim.tv_sec;
}

static int scan(struct scan_ctx *c, int dfd, int depth)
{
	size_t plen = strlen(c->path);
	struct dirent *de;
	int r = 0, dup_fd;
	DIR *d;

	if (depth > 256)
		return mc_err_setx(c->err, ELOOP, "`%s`: directories nest too deeply", c->path);
	dup_fd = dup(dfd);
	if (dup_fd < 0 || !(d = fdopendir(dup_fd))) {
		if (dup_fd >= 0)
			close(dup_fd);
		return mc_err_set(c->err, errno, "read directory `%s/%s`", c->root, c->path);
	}
	while ((de = readdir(d)) && r == 0) {
		const char *nm = de->d_name, *why;
		struct img_node n = { 0 };
		struct stat st;
		char norm[PATH_MAX];

		if (strcmp(nm, ".") == 0 || strcmp(nm, "..") == 0)
			continue;
		if (snprintf(c->path + plen, sizeof(c->path) - plen, "%s%s", plen ? "/" : "", nm) >=
		    (int)(sizeof(c->path) - plen)) {
			r = mc_err_setx(c->err, ENAMETOOLONG, "path too long below `%s`", c->root);
			break;
		}
		if (img_path_normalize(c->path, strlen(c->path), norm, sizeof(norm), &why) < 0) {
			r = mc_err_setx(c->err, EPERM, "`%s`: %s", c->path, why);
			break;
		}
		if (fstatat(dfd, nm, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			r = mc_err_set(c->err, errno, "stat `%s/%s`", c->root, c->path);
			break;
		}
		n.path = c->path;
		node_from_stat(&n, &st);
		char target[PATH_MAX];

		if (S_ISREG(st.st_mode)) {
			ssize_t first = -1;

			if (st.st_nlink > 1) {
				first = ino_find_or_add(&c->inos, st.st_dev, st.st_ino, c->m->n);
				if (first == -ENOMEM) {
					r = mc_err_set(c->err, ENOMEM, "import");
					break;
				}
			}
			if (first >= 0) {
				n.type = 'h';
				n.link = c->m->nodes[first].path;
			} else {
				n.type = 'f';
				r = read_blob(c, dfd, nm, (size_t)st.st_size, &n.oid);
			}
		} else if (S_ISLNK(st.st_mode)) {
			ssize_t tl = readlinkat(dfd, nm, target, sizeof(target) - 1);

			if (tl < 0) {
				r = mc_err_set(c->err, errno, "readlink `%s/%s`", c->root, c->path);
				break;
			}
			target[tl] = '\0';
			n.type = 'l';
			n.link = target;
			r = mc_git_odb_write(c->repo, MC_GIT_BLOB, target, (size_t)tl, &n.oid,
					     c->err);
		} else if (S_ISDIR(st.st_mode)) {
			n.type = 'd';
		} else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
			n.type = S_ISCHR(st.st_mode) ? 'c' : 'b';
			n.devmajor = major(st.st_rdev);
			n.devminor = minor(st.st_rdev);
		} else if (S_ISFIFO(st.st_mode)) {
			n.type = 'p';
		} else {
			continue; /* sockets cannot be stored (tar cannot either) */
		}
		if (r == 0)
			r = img_model_add(c->m, &n, c->err);
		if (r == 0 && n.type == 'd') {
			int sfd = openat(dfd, nm, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);

			if (sfd < 0) {
				r = mc_err_set(c->err, errno, "open `%s/%s`", c->root, c->path);
				break;
			}
			r = scan(c, sfd, depth + 1);
			close(sfd);
		}
		c->path[plen] = '\0';
	}
	c->path[plen] = '\0';
	closedir(d);
	return r;
}

int img_scan_dir(struct img_model *m, struct mc_git_repo *repo, const char *dir, struct mc_err *err)
{
	struct scan_ctx c = { .m = m, .repo = repo, .err = err, .root = dir };
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct stat st;
	int r;

	if (dfd < 0)
		return mc_err_set(err, errno, "open `%s`", dir);
	if (fstat(dfd, &st) < 0) {
		r = mc_err_set(err, errno, "stat `%s`", dir);
		close(dfd);
		return r;
	}
	node_from_stat(&m->nodes[0], &st);
	r = scan(&c, dfd, 0);
	close(dfd);
	free(c.inos.v);
	mc_buf_release(&c.data);
	return r;
}
