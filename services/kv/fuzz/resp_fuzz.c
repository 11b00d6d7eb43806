/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the RESP request parser: parse every command in the input;
 * each must lie inside the input, re-serialise to multibulk and parse back to the
 * same arguments; and a prefix of a complete command must never parse as complete
 * differently (incremental parsing agrees with one-shot parsing).
 */
#include <mc/kv_resp.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define MAXA 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	struct mc_kv_resp_arg argv[MAXA], argv2[MAXA];
	size_t off = 0;

	while (off < size) {
		size_t argc = 0, argc2 = 0;
		ssize_t n = mc_kv_resp_parse(buf + off, size - off, argv, MAXA, &argc, NULL);

		if (n <= 0)
			break;
		if ((size_t)n > size - off)
			abort();
		for (size_t i = 0; i < argc; i++)
			if (argv[i].p < buf + off || argv[i].p + argv[i].len > buf + off + n)
				abort();
		/* Every shorter prefix is either incomplete or the same kind of error. */
		if (n > 1) {
			size_t argc3;
			ssize_t m = mc_kv_resp_parse(buf + off, (size_t)n - 1, argv2, MAXA, &argc3,
						     NULL);

			if (m > 0 && buf[off] == '*')
				abort();
		}
		struct mc_buf out = MC_BUF_INIT;

		if (mc_kv_resp_command(&out, argv, argc) < 0)
			abort();
		ssize_t m = mc_kv_resp_parse(out.data, out.len, argv2, MAXA, &argc2, NULL);

		if (argc > 0 && (m != (ssize_t)out.len || argc2 != argc))
			abort();
		for (size_t i = 0; i < argc && argc > 0; i++)
			if (argv2[i].len != argv[i].len ||
			    memcmp(argv2[i].p, argv[i].p, argv[i].len))
				abort();
		mc_buf_release(&out);
		off += (size_t)n;
	}
	return 0;
}
