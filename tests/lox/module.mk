# SPDX-License-Identifier: MIT
# tests/lox: GC unit tests, the conformance suite (../shared/lox-tests, plain and under
# GC stress), our own golden files, the CLI contract and the benchmark programs.
COLLECTIONS += lox
TESTS_lox_PROGS := gc
TESTS_lox_LIBS := mclox
TESTS_lox_SCRIPTS := suite.sh golden.sh cli.sh benchmarks.sh
TESTS_lox_DEPS := $(O)/bin/lox
