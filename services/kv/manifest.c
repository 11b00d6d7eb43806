/* SPDX-License-Identifier: MIT */
/*
 * manifest.c: DIR/MANIFEST names the live tables (oldest first, with their tier),
 * the next file number, the newest sequence number in the tables and the oldest
 * WAL still needed. It is small text, replaced whole and atomically (temp file,
 * fsync, rename, fsync of the directory), and ends with a CRC32C line:
 *
 *   mckv-manifest 1
 *   next_file 42
 *   last_seq 100234
 *   log_num 41
 *   table 17 2
 *   table 40 0
 *   crc 1a2b3c4d
 */
#include "internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include <mc/cleanup.h>

void kv_manifest_release(struct kv_manifest *m)
{
	free(m->t);
	m->t = NULL;
	m->n = 0;
}

int kv_manifest_write(const char *dir, const struct kv_manifest *m, struct mc_err *err)
{
	struct mc_buf b = MC_BUF_INIT;
	char path[4200];
	int r = 0;

	r |= mc_buf_printf(&b,
			   "mckv-manifest 1\nnext_file %" PRIu64 "\nlast_seq %" PRIu64
			   "\nlog_num %" PRIu64 "\n",
			   m->next_file, m->last_seq, m->log_num);
	for (uint32_t i = 0; i < m->n; i++)
		r |= mc_buf_printf(&b, "table %" PRIu64 " %u\n", m->t[i].num, m->t[i].tier);
	if (r < 0) {
		mc_buf_release(&b);
		return mc_err_set(err, ENOMEM, "write manifest");
	}
	uint32_t crc = kv_crc32c(0, b.data, b.len);

	if (mc_buf_printf(&b, "crc %08x\n", crc) < 0) {
		mc_buf_release(&b);
		return mc_err_set(err, ENOMEM, "write manifest");
	}
	snprintf(path, sizeof(path), "%s/MANIFEST", dir);
	r = mc_fs_write_atomic(path, b.data, b.len, 0644, err);
	mc_buf_release(&b);
	return r;
}

int kv_manifest_read(const char *dir, struct kv_manifest *m, struct mc_err *err)
{
	mc_autofree char *data = NULL;
	char path[4200];
	size_t len;
	int r;

	memset(m, 0, sizeof(*m));
	snprintf(path, sizeof(path), "%s/MANIFEST", dir);
	r = mc_fs_read_file(path, &data, &len, 16u << 20, err);
	if (r < 0)
		return r;
	/* The last line is exactly "crc XXXXXXXX\n" (13 bytes). */
	char *crcline = len >= 13 ? data + len - 13 : NULL;

	if (crcline && (memcmp(crcline, "crc ", 4) != 0 || data[len - 1] != '\n'))
		crcline = NULL;
	unsigned int want;

	if (!crcline || sscanf(crcline, "crc %8x", &want) != 1 ||
	    kv_crc32c(0, data, (size_t)(crcline - data)) != want)
		return mc_err_setx(err, MC_ECORRUPT, "manifest `%s`: checksum mismatch", path);
	*crcline = '\0';

	char *save = NULL;
	uint32_t cap = 0;
	bool header = false;

	for (char *line = strtok_r(data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		uint64_t a;
		unsigned int tier;

		if (strcmp(line, "mckv-manifest 1") == 0) {
			header = true;
		} else if (sscanf(line, "next_file %" SCNu64, &a) == 1) {
			m->next_file = a;
		} else if (sscanf(line, "last_seq %" SCNu64, &a) == 1) {
			m->last_seq = a;
		} else if (sscanf(line, "log_num %" SCNu64, &a) == 1) {
			m->log_num = a;
		} else if (sscanf(line, "table %" SCNu64 " %u", &a, &tier) == 2) {
			if (m->n == cap) {
				cap = cap ? cap * 2 : 16;
				struct kv_manifest_table *t = realloc(m->t, cap * sizeof(*t));

				if (!t) {
					kv_manifest_release(m);
					return mc_err_set(err, ENOMEM, "read manifest");
				}
				m->t = t;
			}
			m->t[m->n++] = (struct kv_manifest_table){ a, tier };
		} else {
			kv_manifest_release(m);
			return mc_err_setx(err, MC_ECORRUPT, "manifest `%s`: unknown line `%.40s`",
					   path, line);
		}
	}
	if (!header) {
		kv_manifest_release(m);
		return mc_err_setx(err, MC_ECORRUPT, "manifest `%s`: missing header", path);
	}
	return 0;
}
