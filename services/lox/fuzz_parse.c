/* SPDX-License-Identifier: MIT */
/*
 * fuzz_parse.c: libFuzzer target for the scanner, parser and resolver: arbitrary
 * bytes must give MC_LOX_OK or MC_LOX_COMPILE_ERROR, never a crash, hang or leak.
 */
#include <stdio.h>
#include <stdlib.h>

#include <mc/lox.h>

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	static FILE *sink;

	if (!sink) {
		sink = fopen("/dev/null", "w");
		if (!sink)
			abort();
	}
	int r = mc_lox_check((const char *)data, size, sink);
	if (r != MC_LOX_OK && r != MC_LOX_COMPILE_ERROR)
		abort();
	return 0;
}
