# SPDX-License-Identifier: MIT
# services/lox: libmclox (scanner, parser, resolver, tree-walking evaluator, GC) and
# the `lox` command.
LIBS += mclox
mclox_SRCS := services/lox/scanner.c services/lox/parser.c services/lox/resolver.c \
	services/lox/object.c services/lox/gc.c services/lox/interp.c services/lox/vm.c

PROGS += lox
lox_SRCS := services/lox/main.c
lox_LIBS := mclox mccommon

FUZZERS += lox_parse
lox_parse_FUZZ_SRCS := services/lox/fuzz_parse.c $(mclox_SRCS)
# Seeds: our golden files and, when present, the shared conformance programs.
lox_parse_FUZZ_CORPUS := tests/lox/golden $(wildcard $(TOP)/../shared/lox-tests/test)

BENCHES += lox
lox_BENCH := bench/lox/run.sh
lox_BENCH_DEPS := $(O)/bin/lox
