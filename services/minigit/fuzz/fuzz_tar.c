/* SPDX-License-Identifier: MIT */
/*
 * fuzz_tar.c: libFuzzer target for the image store's input parsers: the tar reader
 * (ustar, pax, GNU long names, path checks) fed into the filesystem model, and the
 * manifest parser.
 */
#include "../../../rootfs/store_internal.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct mem {
	const uint8_t *p;
	size_t left;
};

static ssize_t mem_read(void *arg, void *buf, size_t len)
{
	struct mem *m = arg;

	if (len > m->left)
		len = m->left;
	memcpy(buf, m->p, len);
	m->p += len;
	m->left -= len;
	return (ssize_t)len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mem m = { data, size };
	struct tar_reader tr;
	struct tar_entry e;
	struct img_model model;
	struct mc_err err = { 0 };
	char buf[4096];

	if (img_model_init(&model) < 0)
		return 0;
	tar_reader_init(&tr, mem_read, &m);
	for (int n = 0; n < 4096 && tar_next(&tr, &e, &err) > 0; n++) {
		struct img_node node = { .path = (char *)e.path,
					 .type = e.type,
					 .mode = e.mode,
					 .link = (char *)e.link };

		while (e.type == 'f' && tar_read_data(&tr, buf, sizeof(buf), &err) > 0)
			;
		if (img_model_add(&model, &node, &err) < 0)
			break;
	}
	tar_reader_release(&tr);
	img_model_release(&model);
	if (img_model_init(&model) == 0) {
		img_manifest_parse((const char *)data, size, &model, &err);
		img_model_release(&model);
	}
	return 0;
}
