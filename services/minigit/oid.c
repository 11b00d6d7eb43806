/* SPDX-License-Identifier: MIT */
/* oid.c: object ids (hex in and out), type names and the object hash (SHA-1, OpenSSL). */
#include "internal.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

static const char *const type_names[] = {
	[MC_GIT_COMMIT] = "commit",
	[MC_GIT_TREE] = "tree",
	[MC_GIT_BLOB] = "blob",
	[MC_GIT_TAG] = "tag",
};

const char *mc_git_type_name(enum mc_git_type t)
{
	if (t >= MC_GIT_COMMIT && t <= MC_GIT_TAG)
		return type_names[t];
	return "bad";
}

enum mc_git_type mc_git_type_parse(const char *s, size_t len)
{
	for (int t = MC_GIT_COMMIT; t <= MC_GIT_TAG; t++)
		if (strlen(type_names[t]) == len && memcmp(type_names[t], s, len) == 0)
			return (enum mc_git_type)t;
	return MC_GIT_BAD;
}

int git_hex_val(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

char *mc_git_oid_fmt(const struct mc_git_oid *oid, char *hex)
{
	static const char digits[] = "0123456789abcdef";

	for (int i = 0; i < MC_GIT_OID_RAWSZ; i++) {
		hex[2 * i] = digits[oid->id[i] >> 4];
		hex[2 * i + 1] = digits[oid->id[i] & 15];
	}
	hex[MC_GIT_OID_HEXSZ] = '\0';
	return hex;
}

int mc_git_oid_parse(const char *hex, struct mc_git_oid *oid)
{
	struct mc_git_oid o;

	for (int i = 0; i < MC_GIT_OID_RAWSZ; i++) {
		int hi = git_hex_val((unsigned char)hex[2 * i]);
		int lo = hi < 0 ? -1 : git_hex_val((unsigned char)hex[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -EINVAL;
		o.id[i] = (uint8_t)(hi << 4 | lo);
	}
	if (hex[MC_GIT_OID_HEXSZ] != '\0')
		return -EINVAL;
	*oid = o;
	return 0;
}

int mc_git_oid_cmp(const struct mc_git_oid *a, const struct mc_git_oid *b)
{
	return memcmp(a->id, b->id, MC_GIT_OID_RAWSZ);
}

bool mc_git_oid_is_zero(const struct mc_git_oid *oid)
{
	for (int i = 0; i < MC_GIT_OID_RAWSZ; i++)
		if (oid->id[i])
			return false;
	return true;
}

int git_hash_header(enum mc_git_type type, size_t len, char *hdr, size_t size)
{
	int n = snprintf(hdr, size, "%s %zu", mc_git_type_name(type), len);

	return n + 1;
}

/*
 * The digest is fetched once: EVP_get_digestbyname-style lookups per object cost more
 * than hashing a small blob. Only the EVP_MD is shared; each call has its own context.
 */
static const EVP_MD *sha1_md(void)
{
	static const EVP_MD *md;

	if (!md)
		md = EVP_sha1();
	return md;
}

void mc_git_hash(enum mc_git_type type, const void *data, size_t len, struct mc_git_oid *out)
{
	char hdr[64];
	int hlen = git_hash_header(type, len, hdr, sizeof(hdr));
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned int n = 0;

	/* Allocation failure of a 200-byte context is treated as fatal, like malloc in git. */
	if (!ctx || !EVP_DigestInit_ex(ctx, sha1_md(), NULL) ||
	    !EVP_DigestUpdate(ctx, hdr, (size_t)hlen) || !EVP_DigestUpdate(ctx, data, len) ||
	    !EVP_DigestFinal_ex(ctx, out->id, &n))
		abort();
	EVP_MD_CTX_free(ctx);
}
