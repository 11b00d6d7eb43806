/* SPDX-License-Identifier: MIT */
/*
 * seccomp_cache.c: the compiled seccomp filter of a profile, kept on disk.
 *
 * Compiling the default profile with libseccomp (three arches, ~60 rules) costs
 * ~0.7 ms of CPU in the container's child, on the critical path of every `run`. The
 * BPF program only depends on the profile, the native arch, libseccomp's version and
 * the kernel API level it detected,
 * so the parent looks it up in DATA_ROOT/seccomp/ before clone (one small read) and
 * the child hands it to the kernel with one seccomp(2) call.
 *
 * A cache file is trusted only if it verifies: it holds the exact key it was made
 * from (a canonical serialization of the profile, arch and library version; compared
 * byte for byte, so a hash collision cannot hand a container the wrong filter), the
 * program length, and an FNV-1a checksum over both. Anything else (torn write, other
 * format, bit rot) is ignored and rewritten. Files are written to a temporary name and
 * renamed, without fsync: a file lost or torn by a crash only costs one compile. The
 * directory is root-only, like the image store next to it; whoever can write there
 * can replace the images anyway.
 */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define CACHE_MAGIC "MCSCBPF1"
#define CACHE_MAX_KEY (1U << 20)

struct cache_hdr {
	char magic[8];
	uint32_t key_len;
	uint32_t n_insns;
	uint64_t sum;
};

static uint64_t fnv1a(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < n; i++) {
		h ^= b[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

#define FNV_INIT 0xcbf29ce484222325ULL

static int put(struct mc_buf *b, const void *p, size_t n)
{
	return mc_buf_append(b, p, n);
}

static int put_u64(struct mc_buf *b, uint64_t v)
{
	return put(b, &v, sizeof(v));
}

/* The key: everything the compiled program depends on, in a fixed layout. */
static int make_key(const struct rt_seccomp *s, struct mc_buf *b)
{
	const struct scmp_version *v = seccomp_version();
	int r = put(b, CACHE_MAGIC, 8);

	r = r ?: put_u64(b, v ? ((uint64_t)v->major << 32 | v->minor << 16 | v->micro) : 0);
	r = r ?: put_u64(b, seccomp_arch_native());
	/* The API level libseccomp detected in the kernel changes what it emits. */
	r = r ?: put_u64(b, seccomp_api_get());
	r = r ?: put_u64(b, s->default_action);
	r = r ?: put_u64(b, s->n_rules);
	for (size_t i = 0; i < s->n_rules && !r; i++) {
		const struct rt_seccomp_rule *rule = &s->rules[i];

		r = put_u64(b, rule->action);
		r = r ?: put_u64(b, rule->n_args);
		for (size_t a = 0; a < rule->n_args && !r; a++) {
			r = put_u64(b, rule->args[a].index);
			r = r ?: put_u64(b, (uint64_t)rule->args[a].op);
			r = r ?: put_u64(b, rule->args[a].value);
			r = r ?: put_u64(b, rule->args[a].value_two);
		}
		r = r ?: put_u64(b, rule->n_names);
		for (size_t k = 0; k < rule->n_names && !r; k++) {
			size_t len = strlen(rule->names[k]);

			r = put_u64(b, len);
			r = r ?: put(b, rule->names[k], len);
		}
	}
	return r;
}

/* libseccomp's own compile, exported as raw BPF through a memfd. */
static int compile(const struct rt_seccomp *s, struct rt_bpf *out, struct mc_err *err)
{
	scmp_filter_ctx ctx;
	struct stat st;
	int fd, r;

	r = rt_seccomp_build(s, &ctx, err);
	if (r < 0)
		return r;
	fd = (int)syscall(SYS_memfd_create, "seccomp-bpf", MFD_CLOEXEC);
	if (fd < 0) {
		seccomp_release(ctx);
		return mc_err_set(err, errno, "memfd_create");
	}
	r = seccomp_export_bpf(ctx, fd);
	seccomp_release(ctx);
	if (r < 0) {
		close(fd);
		return mc_err_set(err, -r, "export the seccomp filter");
	}
	if (fstat(fd, &st) < 0 || st.st_size <= 0 || st.st_size % sizeof(struct sock_filter) ||
	    st.st_size / sizeof(struct sock_filter) > BPF_MAXINSNS) {
		close(fd);
		return mc_err_setx(err, EINVAL, "the exported seccomp filter has a bad size");
	}
	out->n = (size_t)st.st_size / sizeof(struct sock_filter);
	out->insns = malloc((size_t)st.st_size);
	if (!out->insns || pread(fd, out->insns, (size_t)st.st_size, 0) != st.st_size) {
		free(out->insns);
		out->insns = NULL;
		out->n = 0;
		close(fd);
		return mc_err_setx(err, EIO, "read the exported seccomp filter");
	}
	close(fd);
	return 0;
}

static uint64_t checksum(const struct mc_buf *key, const struct rt_bpf *p)
{
	return fnv1a(fnv1a(FNV_INIT, key->data, key->len), p->insns, p->n * sizeof(*p->insns));
}

/* Returns 0 with *out filled when @path holds a valid program for @key. */
static int cache_read(const char *path, const struct mc_buf *key, struct rt_bpf *out)
{
	struct cache_hdr h;
	char *data = NULL;
	size_t len = 0, want;
	struct rt_bpf p = { 0 };
	int r = -EINVAL;

	if (mc_fs_read_file(path, &data, &len,
			    sizeof(h) + CACHE_MAX_KEY + BPF_MAXINSNS * sizeof(struct sock_filter),
			    NULL) < 0)
		return -ENOENT;
	if (len < sizeof(h))
		goto out;
	memcpy(&h, data, sizeof(h));
	want = sizeof(h) + (size_t)h.key_len + (size_t)h.n_insns * sizeof(struct sock_filter);
	if (memcmp(h.magic, CACHE_MAGIC, 8) || h.key_len != key->len || !h.n_insns ||
	    h.n_insns > BPF_MAXINSNS || len != want ||
	    memcmp(data + sizeof(h), key->data, key->len))
		goto out;
	p.n = h.n_insns;
	p.insns = malloc(p.n * sizeof(*p.insns));
	if (!p.insns) {
		r = -ENOMEM;
		goto out;
	}
	memcpy(p.insns, data + sizeof(h) + key->len, p.n * sizeof(*p.insns));
	if (checksum(key, &p) != h.sum) {
		free(p.insns);
		goto out;
	}
	*out = p;
	r = 0;
out:
	free(data);
	return r;
}

/* Best-effort: a cache that cannot be written only means compiling next time too. */
static void cache_write(const char *dir, const char *path, const struct mc_buf *key,
			const struct rt_bpf *p)
{
	struct cache_hdr h = { .key_len = (uint32_t)key->len, .n_insns = (uint32_t)p->n };
	char tmp[PATH_MAX];
	int fd, ok;

	memcpy(h.magic, CACHE_MAGIC, 8);
	h.sum = checksum(key, p);
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return;
	if (snprintf(tmp, sizeof(tmp), "%s/.tmp-%d", dir, (int)getpid()) >= (int)sizeof(tmp))
		return;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	ok = mc_write_all(fd, &h, sizeof(h)) == 0 && mc_write_all(fd, key->data, key->len) == 0 &&
	     mc_write_all(fd, p->insns, p->n * sizeof(*p->insns)) == 0;
	ok = close(fd) == 0 && ok;
	if (!ok || rename(tmp, path) < 0)
		unlink(tmp);
}

int rt_seccomp_prepare(const char *data_root, const struct rt_seccomp *s, struct rt_bpf *out,
		       struct mc_err *err)
{
	struct mc_buf key = MC_BUF_INIT;
	char dir[PATH_MAX], path[PATH_MAX + 32];
	int r;

	*out = (struct rt_bpf){ 0 };
	if (!s)
		return 0;
	if (make_key(s, &key) < 0) {
		mc_buf_release(&key);
		return mc_err_set(err, ENOMEM, "seccomp cache key");
	}
	if (!data_root || snprintf(dir, sizeof(dir), "%s/seccomp", data_root) >= (int)sizeof(dir)) {
		r = compile(s, out, err);
		goto out;
	}
	snprintf(path, sizeof(path), "%s/%016llx.bpf", dir,
		 (unsigned long long)fnv1a(FNV_INIT, key.data, key.len));
	if (cache_read(path, &key, out) == 0) {
		r = 0;
		goto out;
	}
	r = compile(s, out, err);
	if (r == 0)
		cache_write(dir, path, &key, out);
out:
	mc_buf_release(&key);
	return r;
}

int rt_bpf_load(const struct rt_bpf *p, struct mc_err *err)
{
	struct sock_fprog prog = { .len = (unsigned short)p->n, .filter = p->insns };

	/* No flags: the same as libseccomp's seccomp_load with TSYNC and LOG off. */
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) < 0)
		return mc_err_set(err, errno, "load seccomp filter");
	return 0;
}

void rt_bpf_release(struct rt_bpf *p)
{
	free(p->insns);
	*p = (struct rt_bpf){ 0 };
}
