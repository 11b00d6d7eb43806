#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# gcc under the preload (the driver, cc1, as and ld all inherit it): the assembly it
# emits is identical, and the program it builds runs.
. "$MC_SRC/tests/lib/ktap.sh"
. "$MC_SRC/tests/alloc/lib.sh"
alloc_require_lib
require_tool gcc
alloc_tmpdir

t_gcc() {
	cd "$ALLOC_TMP"
	# A real translation unit of our own: the harness, plus a program to run.
	alloc_same_output gcc_S gcc -O2 -std=gnu11 -D_GNU_SOURCE -I"$MC_SRC/tests/lib" -S \
		-o - "$MC_SRC/tests/lib/harness.c"
	cat >p.c <<'C'
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
static int cmp(const void *a, const void *b) { return strcmp(*(char **)a, *(char **)b); }
int main(void)
{
	char *v[5000];
	for (int i = 0; i < 5000; i++) {
		v[i] = malloc(32);
		snprintf(v[i], 32, "%d", (i * 7919) % 5000);
	}
	qsort(v, 5000, sizeof(v[0]), cmp);
	printf("%s %s %s\n", v[0], v[2500], v[4999]);
	for (int i = 0; i < 5000; i++) free(v[i]);
	return 0;
}
C
	alloc_preload gcc -O2 -o p p.c
	alloc_same_output prog ./p
}

ktap_run gcc_compiles t_gcc
ktap_finish
