/* SPDX-License-Identifier: MIT */
/*
 * loose.c: loose objects, objects/xx/yyyy... holding zlib("TYPE SIZE\0DATA"). Reading
 * checks the header, the size and the trailing bytes; writing goes temp -> fsync ->
 * rename (or is deferred to the end of a batch, see mc_git_batch_end).
 */
#include "internal.h"

#include <mc/cleanup.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static void loose_path(const struct mc_git_oid *oid, char *buf)
{
	char hex[MC_GIT_OID_HEXSZ + 1];

	mc_git_oid_fmt(oid, hex);
	memcpy(buf, hex, 2);
	buf[2] = '/';
	memcpy(buf + 3, hex + 2, MC_GIT_OID_HEXSZ - 2 + 1);
}

/*
 * Parses "TYPE SIZE" (the NUL already stripped): a known type, one space, a decimal
 * size without leading zeros. Git accepts nothing looser when reading strictly.
 */
static int parse_header(const char *h, size_t hl, enum mc_git_type *type, size_t *size)
{
	const char *sp = memchr(h, ' ', hl);
	size_t v = 0;

	if (!sp)
		return -1;
	*type = mc_git_type_parse(h, (size_t)(sp - h));
	if (*type == MC_GIT_BAD)
		return -1;
	const char *d = sp + 1, *end = h + hl;

	if (d == end || (*d == '0' && end - d > 1))
		return -1;
	for (; d < end; d++) {
		if (*d < '0' || *d > '9' || v > (SIZE_MAX - 9) / 10)
			return -1;
		v = v * 10 + (size_t)(*d - '0');
	}
	*size = v;
	return 0;
}

int git_loose_parse(const void *file, size_t flen, size_t max, enum mc_git_type *type, void **data,
		    size_t *len, char *why, size_t whysz)
{
	z_stream z = { 0 };
	char hdr[64];
	size_t got = 0, size, have;
	enum mc_git_type t;
	char *nul = NULL, *buf = NULL;
	int zr = Z_OK;

	if (inflateInit(&z) != Z_OK)
		return snprintf(why, whysz, "zlib init failed"), -ENOMEM;
	z.next_in = (Bytef *)file;
	z.avail_in = (uInt)MC_MIN(flen, (size_t)UINT32_MAX);
	/* The header is at most 64 bytes: inflate just that much first. */
	while (!nul && got < sizeof(hdr) && zr == Z_OK) {
		z.next_out = (Bytef *)hdr + got;
		z.avail_out = (uInt)(sizeof(hdr) - got);
		zr = inflate(&z, Z_NO_FLUSH);
		got = sizeof(hdr) - z.avail_out;
		nul = memchr(hdr, '\0', got);
		if (zr == Z_BUF_ERROR && z.avail_in == 0)
			break;
	}
	if (zr != Z_OK && zr != Z_STREAM_END) {
		snprintf(why, whysz, "zlib: %s", z.msg ? z.msg : "truncated stream");
		goto fail;
	}
	if (!nul || parse_header(hdr, (size_t)(nul - hdr), &t, &size) < 0) {
		snprintf(why, whysz, "bad object header");
		goto fail;
	}
	if (size > max) {
		snprintf(why, whysz, "object too large (%zu bytes)", size);
		goto fail;
	}
	have = got - (size_t)(nul + 1 - hdr);
	if (have > size) {
		snprintf(why, whysz, "size mismatch: header says %zu, data is longer", size);
		goto fail;
	}
	buf = malloc(size + 1);
	if (!buf) {
		snprintf(why, whysz, "out of memory for %zu bytes", size);
		goto fail;
	}
	memcpy(buf, nul + 1, have);
	while (zr == Z_OK) {
		uint8_t extra;

		if (have < size) {
			z.next_out = (Bytef *)buf + have;
			z.avail_out = (uInt)MC_MIN(size - have, (size_t)UINT32_MAX);
		} else {
			/* Full: one more byte of output would mean the data is too long. */
			z.next_out = &extra;
			z.avail_out = 1;
		}
		uInt before = z.avail_out;

		zr = inflate(&z, Z_NO_FLUSH);
		if (have >= size && z.avail_out != before) {
			snprintf(why, whysz, "size mismatch: header says %zu, data is longer",
				 size);
			goto fail;
		}
		if (have < size)
			have += before - z.avail_out;
		if (zr == Z_BUF_ERROR && z.avail_in == 0)
			break;
	}
	if (zr != Z_STREAM_END) {
		if (zr == Z_OK || zr == Z_BUF_ERROR)
			snprintf(why, whysz, "zlib: truncated stream");
		else
			snprintf(why, whysz, "zlib: %s", z.msg ? z.msg : "stream error");
		goto fail;
	}
	if (have != size) {
		snprintf(why, whysz, "size mismatch: header says %zu, data has %zu", size, have);
		goto fail;
	}
	if (z.avail_in != 0) {
		snprintf(why, whysz, "garbage after the zlib stream");
		goto fail;
	}
	inflateEnd(&z);
	buf[size] = '\0';
	*type = t;
	*len = size;
	*data = buf;
	return 0;
fail:
	inflateEnd(&z);
	free(buf);
	return -MC_ECORRUPT;
}

int git_loose_read(struct mc_git_repo *repo, const struct mc_git_oid *oid, enum mc_git_type *type,
		   void **data, size_t *len, struct mc_err *err)
{
	char path[MC_GIT_OID_HEXSZ + 2], hex[MC_GIT_OID_HEXSZ + 1], why[160];
	mc_autoclose int fd = -1;
	struct stat st;
	void *map;
	int r;

	loose_path(oid, path);
	fd = openat(repo->objfd, path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		return mc_err_set(err, errno, "object %s", mc_git_oid_fmt(oid, hex));
	if (!S_ISREG(st.st_mode) || st.st_size == 0)
		return mc_err_setx(err, MC_ECORRUPT, "object %s: not a valid loose object file",
				   mc_git_oid_fmt(oid, hex));
	map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (map == MAP_FAILED)
		return mc_err_set(err, errno, "object %s: mmap", mc_git_oid_fmt(oid, hex));
	r = git_loose_parse(map, (size_t)st.st_size, repo->max_object, type, data, len, why,
			    sizeof(why));
	munmap(map, (size_t)st.st_size);
	if (r < 0)
		return mc_err_setx(err, -r, "object %s: %s", mc_git_oid_fmt(oid, hex), why);
	return 0;
}

bool git_loose_exists(struct mc_git_repo *repo, const struct mc_git_oid *oid)
{
	char path[MC_GIT_OID_HEXSZ + 2];

	loose_path(oid, path);
	return faccessat(repo->objfd, path, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
}

int git_loose_foreach_prefix(struct mc_git_repo *repo, const char *hex,
			     int (*cb)(const struct mc_git_oid *oid, void *arg), void *arg)
{
	char dir[3] = { hex[0], hex[1], 0 }, full[MC_GIT_OID_HEXSZ + 1];
	size_t hl = strlen(hex);
	struct dirent *de;
	int fd, r = 0;

	fd = openat(repo->objfd, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return 0;
	mc_autoclosedir DIR *d = fdopendir(fd);

	if (!d) {
		close(fd);
		return -errno;
	}
	while ((de = readdir(d))) {
		struct mc_git_oid oid;

		if (strlen(de->d_name) != MC_GIT_OID_HEXSZ - 2)
			continue;
		memcpy(full, dir, 2);
		memcpy(full + 2, de->d_name, MC_GIT_OID_HEXSZ - 2 + 1);
		if (strncasecmp(full, hex, hl) != 0 || mc_git_oid_parse(full, &oid) < 0)
			continue;
		r = cb(&oid, arg);
		if (r)
			break;
	}
	return r;
}

/* ---- writing ---- */

static int ensure_fanout(struct mc_git_repo *repo, const char *path)
{
	unsigned b = (unsigned)(git_hex_val(path[0]) << 4 | git_hex_val(path[1]));
	char dir[3] = { path[0], path[1], 0 };

	if (repo->made_fanout[b / 8] & (1u << (b % 8)))
		return 0;
	if (mkdirat(repo->objfd, dir, 0755) < 0 && errno != EEXIST)
		return -errno;
	repo->made_fanout[b / 8] |= (uint8_t)(1u << (b % 8));
	return 0;
}

static bool pending_has(struct mc_git_repo *repo, const char *final)
{
	/*
	 * Only the tail is searched: a duplicate missed here costs one more identical temp
	 * file, renamed over the same name at batch end, never a wrong object.
	 */
	for (size_t i = repo->npending, k = 0; i > 0 && k < 64; i--, k++)
		if (strcmp(repo->pending[i - 1].final, final) == 0)
			return true;
	return false;
}

static int deflate_object(struct mc_git_repo *repo, const char *hdr, size_t hlen, const void *data,
			  size_t len, uint8_t **out, size_t *olen)
{
	z_stream *z = &repo->zdef;
	size_t cap;
	uint8_t *buf;

	if (!repo->zdef_ok) {
		/* Level 1, like git's core.looseCompression default (Z_BEST_SPEED). */
		if (deflateInit(z, Z_BEST_SPEED) != Z_OK)
			return -ENOMEM;
		repo->zdef_ok = true;
	} else if (deflateReset(z) != Z_OK) {
		return -EIO;
	}
	cap = deflateBound(z, (uLong)(hlen + len)) + 64;
	buf = malloc(cap);
	if (!buf)
		return -ENOMEM;
	z->next_out = buf;
	z->avail_out = (uInt)cap;
	z->next_in = (Bytef *)hdr;
	z->avail_in = (uInt)hlen;
	if (deflate(z, Z_NO_FLUSH) != Z_OK)
		goto fail;
	z->next_in = (Bytef *)data;
	z->avail_in = (uInt)len;
	if (deflate(z, Z_FINISH) != Z_STREAM_END)
		goto fail;
	*out = buf;
	*olen = cap - z->avail_out;
	return 0;
fail:
	free(buf);
	return -EIO;
}

static int loose_write(struct mc_git_repo *repo, const struct mc_git_oid *oid, const char *hdr,
		       size_t hlen, const void *data, size_t len, struct mc_err *err)
{
	char final[MC_GIT_OID_HEXSZ + 2], tmp[64];
	mc_autofree uint8_t *z = NULL;
	size_t zlen;
	int fd, r;

	loose_path(oid, final);
	if (repo->batch && pending_has(repo, final))
		return 0;
	r = ensure_fanout(repo, final);
	if (r < 0)
		return mc_err_set(err, -r, "create object directory for %s", final);
	r = deflate_object(repo, hdr, hlen, data, len, &z, &zlen);
	if (r < 0)
		return mc_err_set(err, -r, "compress object %.2s%s", final, final + 3);
	snprintf(tmp, sizeof(tmp), "%.2s/tmp_obj_%d_%u", final, (int)getpid(), repo->tmp_seq++);
	fd = openat(repo->objfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0444);
	if (fd < 0)
		return mc_err_set(err, errno, "create temporary object file `%s`", tmp);
	r = mc_write_all(fd, z, zlen);
	if (r == 0 && !repo->batch && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r < 0) {
		unlinkat(repo->objfd, tmp, 0);
		return mc_err_set(err, -r, "write object %.2s%s", final, final + 3);
	}
	if (repo->batch) {
		if (repo->npending == repo->cap_pending) {
			size_t nc = repo->cap_pending ? repo->cap_pending * 2 : 256;
			struct git_pending *np = realloc(repo->pending, nc * sizeof(*np));

			if (!np) {
				unlinkat(repo->objfd, tmp, 0);
				return mc_err_set(err, ENOMEM, "write object");
			}
			repo->pending = np;
			repo->cap_pending = nc;
		}
		mc_strlcpy(repo->pending[repo->npending].tmp, tmp, sizeof(tmp));
		mc_strlcpy(repo->pending[repo->npending].final, final, sizeof(final));
		repo->npending++;
		return 0;
	}
	if (renameat(repo->objfd, tmp, repo->objfd, final) < 0) {
		r = mc_err_set(err, errno, "rename object %.2s%s", final, final + 3);
		unlinkat(repo->objfd, tmp, 0);
		return r;
	}
	/* The rename is made durable with the directory, before any ref can name it. */
	char dir[3] = { final[0], final[1], 0 };
	mc_autoclose int dfd = openat(repo->objfd, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (dfd < 0 || fsync(dfd) < 0)
		return mc_err_set(err, errno, "sync object directory `%s`", dir);
	return 0;
}

int mc_git_odb_write(struct mc_git_repo *repo, enum mc_git_type type, const void *data, size_t len,
		     struct mc_git_oid *out, struct mc_err *err)
{
	char hdr[64];
	struct mc_git_oid oid;
	int hlen, r;

	if (type < MC_GIT_COMMIT || type > MC_GIT_TAG)
		return mc_err_setx(err, EINVAL, "write object: bad type %d", (int)type);
	hlen = git_hash_header(type, len, hdr, sizeof(hdr));
	mc_git_hash(type, data, len, &oid);
	if (!mc_git_odb_exists(repo, &oid)) {
		r = loose_write(repo, &oid, hdr, (size_t)hlen, data, len, err);
		if (r < 0)
			return r;
	}
	*out = oid;
	return 0;
}
