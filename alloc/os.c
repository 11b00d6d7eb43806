/* SPDX-License-Identifier: MIT */
/*
 * The bottom layer: memory from the kernel, futex locks, reporting bad MCMALLOC_*
 * options (options.c parses them) and a write(2)-based formatter. Nothing here may allocate or touch stdio: it runs inside
 * malloc, possibly before libc has finished starting up.
 */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <sched.h>
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

struct mcm_options mcm_opt = MCM_OPTIONS_DEFAULT;

static long futex(int *uaddr, int op, int val)
{
	return syscall(SYS_futex, uaddr, op, val, NULL, NULL, 0);
}

void mcm_lock_slow(struct mcm_lock *l)
{
	int c;

	for (int i = 0; i < 64; i++) {
		__builtin_ia32_pause();
		c = 0;
		if (__atomic_load_n(&l->v, __ATOMIC_RELAXED) == 0 &&
		    __atomic_compare_exchange_n(&l->v, &c, 1, false, __ATOMIC_ACQUIRE,
						__ATOMIC_RELAXED))
			return;
	}
	/* Acquire pairs with the release exchange in mcm_unlock. */
	while (__atomic_exchange_n(&l->v, 2, __ATOMIC_ACQUIRE) != 0)
		futex(&l->v, FUTEX_WAIT_PRIVATE, 2);
}

void mcm_unlock_wake(struct mcm_lock *l)
{
	futex(&l->v, FUTEX_WAKE_PRIVATE, 1);
}

void *mcm_os_map(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

void *mcm_os_reserve(size_t len)
{
	/* PROT_NONE + NORESERVE: address space only, no commit charge until mcm_os_commit. */
	void *p = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

int mcm_os_commit(void *p, size_t len)
{
	return mprotect(p, len, PROT_READ | PROT_WRITE) ? -errno : 0;
}

void mcm_os_unmap(void *p, size_t len)
{
	int saved = errno;

	/* Best-effort: munmap of our own mapping fails only on bad arguments. */
	munmap(p, len);
	errno = saved;
}

void mcm_os_decommit(void *p, size_t len)
{
	int saved = errno;

	/*
	 * MADV_DONTNEED rather than MADV_FREE: the pages leave RSS now, which is what a
	 * container's memory limit and the user's `ps` see. Best-effort on failure.
	 */
	madvise(p, len, MADV_DONTNEED);
	errno = saved;
}

#ifndef SYS_process_madvise
#define SYS_process_madvise 440
#endif
/* PIDFD_SELF (Linux 6.14): the calling thread, whose mm is the whole process's. */
#define MCM_PIDFD_SELF (-10000)

_Static_assert(sizeof(((struct mcm_decommit *)0)->r[0]) == sizeof(struct iovec) &&
		       offsetof(struct iovec, iov_len) == sizeof(void *),
	       "mcm_decommit ranges are iovecs");

/* 0 untried, 1 process_madvise(MADV_DONTNEED) on ourselves works, -1 it does not. */
static int vector_ok;

void mcm_os_decommit_add(struct mcm_decommit *d, void *p, size_t len)
{
	if (d->n && (char *)d->r[d->n - 1].base + d->r[d->n - 1].len == (char *)p) {
		d->r[d->n - 1].len += len;
		return;
	}
	if (d->n == MCM_DECOMMIT_BATCH)
		mcm_os_decommit_flush(d);
	d->r[d->n].base = p;
	d->r[d->n].len = len;
	d->n++;
}

void mcm_os_decommit_flush(struct mcm_decommit *d)
{
	int saved = errno;
	unsigned i = 0;

	if (d->n > 1 && __atomic_load_n(&vector_ok, __ATOMIC_RELAXED) >= 0) {
		size_t total = 0;
		for (unsigned k = 0; k < d->n; k++)
			total += d->r[k].len;
		long r = syscall(SYS_process_madvise, MCM_PIDFD_SELF, (struct iovec *)d->r,
				 (size_t)d->n, MADV_DONTNEED, 0u);
		if (r >= 0) {
			__atomic_store_n(&vector_ok, 1, __ATOMIC_RELAXED);
			/* A short count: the ranges not wholly done go through madvise below. */
			for (size_t done = (size_t)r; i < d->n && done >= d->r[i].len; i++)
				done -= d->r[i].len;
			if ((size_t)r == total)
				i = d->n;
		} else if (errno == ENOSYS || errno == EINVAL || errno == EBADF || errno == EPERM ||
			   errno == ESRCH) {
			/* No such call, no MADV_DONTNEED there, no PIDFD_SELF, or seccomp: never again. */
			__atomic_store_n(&vector_ok, -1, __ATOMIC_RELAXED);
		}
	}
	for (; i < d->n; i++)
		madvise(d->r[i].base, d->r[i].len, MADV_DONTNEED);
	d->n = 0;
	errno = saved;
}

uint64_t mcm_os_now_ms(void)
{
	struct timespec ts;

	/* The vDSO's coarse clock: no syscall, a few ms of resolution is plenty here. */
	if (clock_gettime(CLOCK_MONOTONIC_COARSE, &ts))
		return 0;
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int mcm_os_ncpu(void)
{
	cpu_set_t set;

	/* The raw syscall: sched_getaffinity(3) and sysconf may allocate in some libcs. */
	memset(&set, 0, sizeof(set));
	if (syscall(SYS_sched_getaffinity, 0, sizeof(set), &set) <= 0)
		return 1;
	int n = CPU_COUNT(&set);
	return n > 0 ? n : 1;
}

/* ---- options ---- */

extern char **environ;

void mcm_options_read(void)
{
	struct mcm_opt_error e;

	/* environ may be NULL when ld.so allocates before libc is initialised. */
	if (mcm_options_parse(&mcm_opt, (const char *const *)environ, &e) == 0)
		return;
	struct mcm_out o;
	mcm_out_init(&o, 2);
	mcm_out_str(&o, "mcmalloc: ");
	mcm_out_str(&o, e.name);
	mcm_out_str(&o, ": invalid value `");
	mcm_out_str(&o, e.value);
	mcm_out_str(&o, "`: ");
	mcm_out_str(&o, e.why);
	mcm_out_str(&o, "\n");
	mcm_out_flush(&o);
	_exit(127);
}

/* ---- output ---- */

void mcm_out_init(struct mcm_out *o, int fd)
{
	o->fd = fd;
	o->err = 0;
	o->len = 0;
}

int mcm_out_flush(struct mcm_out *o)
{
	size_t off = 0;

	while (off < o->len && !o->err) {
		ssize_t n = write(o->fd, o->buf + off, o->len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			o->err = n < 0 ? -errno : -EIO;
		else
			off += (size_t)n;
	}
	o->len = 0;
	return o->err;
}

void mcm_out_str(struct mcm_out *o, const char *s)
{
	while (*s) {
		if (o->len == sizeof(o->buf))
			mcm_out_flush(o);
		o->buf[o->len++] = *s++;
	}
}

void mcm_out_u64(struct mcm_out *o, uint64_t v)
{
	char tmp[24];
	int i = sizeof(tmp) - 1;

	tmp[i] = 0;
	do {
		tmp[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	mcm_out_str(o, tmp + i);
}

void mcm_out_hex(struct mcm_out *o, uint64_t v)
{
	char tmp[24];
	int i = sizeof(tmp) - 1;

	tmp[i] = 0;
	do {
		tmp[--i] = "0123456789abcdef"[v & 15];
		v >>= 4;
	} while (v);
	tmp[--i] = 'x';
	tmp[--i] = '0';
	mcm_out_str(o, tmp + i);
}

void mcm_out_size(struct mcm_out *o, uint64_t v)
{
	static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	unsigned u = 0;
	uint64_t tenths = v * 10;

	while (tenths >= 10240 && u < 4) {
		tenths /= 1024;
		u++;
	}
	mcm_out_u64(o, tenths / 10);
	if (u) {
		char d[3] = { '.', (char)('0' + tenths % 10), 0 };
		mcm_out_str(o, d);
	}
	mcm_out_str(o, " ");
	mcm_out_str(o, unit[u]);
}

void mcm_die(const char *what, const void *ptr, const char *why)
{
	struct mcm_out o;

	mcm_out_init(&o, 2);
	mcm_out_str(&o, "mcmalloc: ");
	mcm_out_str(&o, what);
	mcm_out_str(&o, " ");
	mcm_out_hex(&o, (uintptr_t)ptr);
	mcm_out_str(&o, ": ");
	mcm_out_str(&o, why);
	mcm_out_str(&o, "\n");
	mcm_out_flush(&o);
	abort();
}
