/* SPDX-License-Identifier: MIT */
/*
 * tree.c: tree objects. Parsing is strict and allocation-free (trees come from disk and
 * may be hostile); building sorts entries in git's order, where a directory compares
 * as if its name ended in '/'.
 */
#include "internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool mc_git_tree_name_ok(const char *name, size_t len)
{
	if (len == 0 || memchr(name, '/', len) || memchr(name, '\0', len))
		return false;
	if ((len == 1 && name[0] == '.') || (len == 2 && name[0] == '.' && name[1] == '.'))
		return false;
	return true;
}

static bool mode_ok(uint32_t m)
{
	/* 100664 is what git before 2005 wrote for group-writable files; fsck tolerates it. */
	return m == MC_GIT_MODE_FILE || m == MC_GIT_MODE_EXEC || m == MC_GIT_MODE_LINK ||
	       m == MC_GIT_MODE_TREE || m == MC_GIT_MODE_GITLINK || m == 0100664;
}

int mc_git_tree_next(const void *buf, size_t len, size_t *pos, struct mc_git_tree_entry *e)
{
	const char *b = buf, *p = b + *pos, *end = b + len;
	uint32_t mode = 0;
	int digits = 0;

	if (*pos >= len)
		return 0;
	while (p < end && *p != ' ') {
		if (*p < '0' || *p > '7' || ++digits > 7)
			return -MC_ECORRUPT;
		mode = mode << 3 | (uint32_t)(*p - '0');
		p++;
	}
	if (p == end || digits == 0 || !mode_ok(mode))
		return -MC_ECORRUPT;
	const char *name = ++p;
	const char *nul = memchr(name, '\0', (size_t)(end - name));

	if (!nul || (size_t)(end - nul - 1) < MC_GIT_OID_RAWSZ)
		return -MC_ECORRUPT;
	if (!mc_git_tree_name_ok(name, (size_t)(nul - name)))
		return -MC_ECORRUPT;
	e->mode = mode;
	e->name = name;
	e->name_len = (size_t)(nul - name);
	memcpy(e->oid.id, nul + 1, MC_GIT_OID_RAWSZ);
	*pos = (size_t)(nul + 1 + MC_GIT_OID_RAWSZ - b);
	return 1;
}

static int item_cmp(const void *pa, const void *pb)
{
	const struct mc_git_tree_item *a = pa, *b = pb;
	size_t la = strlen(a->name), lb = strlen(b->name), n = MC_MIN(la, lb);
	int c = memcmp(a->name, b->name, n);
	unsigned char ca, cb;

	if (c)
		return c;
	ca = la > n ? (unsigned char)a->name[n] : (a->mode == MC_GIT_MODE_TREE ? '/' : 0);
	cb = lb > n ? (unsigned char)b->name[n] : (b->mode == MC_GIT_MODE_TREE ? '/' : 0);
	return (int)ca - (int)cb;
}

int mc_git_tree_write(struct mc_git_repo *repo, struct mc_git_tree_item *items, size_t n,
		      struct mc_git_oid *out, struct mc_err *err)
{
	struct mc_buf b = MC_BUF_INIT;
	int r = 0;

	if (n > 1)
		qsort(items, n, sizeof(*items), item_cmp);
	for (size_t i = 0; i < n; i++) {
		size_t nl = strlen(items[i].name);

		if (!mc_git_tree_name_ok(items[i].name, nl)) {
			r = mc_err_setx(err, EINVAL, "invalid tree entry name `%s`", items[i].name);
			goto out;
		}
		if (!mode_ok(items[i].mode)) {
			r = mc_err_setx(err, EINVAL, "invalid mode %o for tree entry `%s`",
					items[i].mode, items[i].name);
			goto out;
		}
		if (i > 0 && strcmp(items[i - 1].name, items[i].name) == 0) {
			r = mc_err_setx(err, EINVAL, "duplicate tree entry `%s`", items[i].name);
			goto out;
		}
		if (mc_buf_printf(&b, "%o %s", items[i].mode, items[i].name) < 0 ||
		    mc_buf_append(&b, "", 1) < 0 ||
		    mc_buf_append(&b, items[i].oid.id, MC_GIT_OID_RAWSZ) < 0) {
			r = mc_err_set(err, ENOMEM, "build tree");
			goto out;
		}
	}
	r = mc_git_odb_write(repo, MC_GIT_TREE, b.data ? b.data : "", b.len, out, err);
out:
	mc_buf_release(&b);
	return r;
}
