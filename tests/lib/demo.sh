#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The fallback `make demo` (the runtime's module.mk replaces it with the container
# demo): shows the test harness at work on its own self-test collection.
set -euo pipefail
: "${MC_SRC:?}" "${MC_BUILD:?}"
echo "demo: the kselftest-style harness running its own self-tests"
make -s -C "$MC_SRC" O="$MC_BUILD" check C=harness,common
