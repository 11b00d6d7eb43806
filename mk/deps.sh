#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Installs the Debian packages mycontainer needs, by name, idempotently.
# Every component lists its own packages in <dir>/deps.txt (build, test and bench
# needs, one package a line, '#' comments); this script gathers them all.
# Usage: mk/deps.sh [--check] [--build-only]
#   --check       exit 0 if everything is installed, 1 (listing what is missing) otherwise
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
mode=install
[ "${1:-}" = "--check" ] && mode=check

# Gather package names from every deps.txt in the tree (stable order, unique).
mapfile -t pkgs < <(find "$top" -name deps.txt -not -path '*/build*/*' -not -path '*/node_modules/*' \
	-exec sed -e 's/#.*//' -e 's/[[:space:]]\+$//' {} + | grep -v '^[[:space:]]*$' | sort -u)

missing=()
for p in "${pkgs[@]}"; do
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	[ "$st" = "install ok installed" ] || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
	echo "deps: all ${#pkgs[@]} packages are installed"
	exit 0
fi
if [ "$mode" = check ]; then
	echo "deps: missing: ${missing[*]}"
	exit 1
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing packages (${missing[*]}); run 'sudo make deps'" >&2
	exit 1
fi
echo "deps: installing ${#missing[@]} package(s): ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# Services in peer packages (nginx, redis, haproxy, etcd) must not start on install:
# tests and benchmarks start their own instances on loopback.
policy=/usr/sbin/policy-rc.d
made_policy=0
if [ ! -e "$policy" ]; then
	printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && made_policy=1
fi
trap '[ $made_policy = 1 ] && rm -f "$policy"' EXIT
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "deps: done"
