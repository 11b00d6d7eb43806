#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# git under the preload: init, add and commit a copy of /usr/include, log, gc and
# fsck; the tree id equals the one git computes without the preload.
. "$MC_SRC/tests/lib/ktap.sh"
. "$MC_SRC/tests/alloc/lib.sh"
alloc_require_lib
require_tool git
# The copy is 130 MB of small files: on tmpfs when there is one, or disk I/O dominates.
[ -d /dev/shm ] && [ -w /dev/shm ] && export TMPDIR=/dev/shm
alloc_tmpdir

t_git() {
	cp -a /usr/include "$ALLOC_TMP/inc"
	cd "$ALLOC_TMP/inc"
	export GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@example.com GIT_COMMITTER_NAME=t \
		GIT_COMMITTER_EMAIL=t@example.com GIT_AUTHOR_DATE='2024-01-01T00:00:00Z' \
		GIT_COMMITTER_DATE='2024-01-01T00:00:00Z' GIT_CONFIG_NOSYSTEM=1 HOME=$ALLOC_TMP
	alloc_preload git init -q .
	alloc_preload git add -A
	alloc_preload git commit -q -m "copy of /usr/include"
	local tree want
	tree=$(alloc_preload git log -1 --format=%T)
	# The same tree computed by git on glibc malloc, in a scratch index.
	want=$(GIT_INDEX_FILE=$ALLOC_TMP/plain.idx sh -c 'git add -A && git write-tree')
	assert_eq "$want" "$tree" "tree id"
	assert_eq 1 "$(alloc_preload git log --oneline | wc -l)"
	alloc_preload git gc -q
	alloc_preload git fsck --no-progress --strict
	alloc_same_output git_log git log --stat --format='%H %T %s'
	local n
	n=$(alloc_preload git ls-files | wc -l)
	assert_eq "$(git ls-files | wc -l)" "$n"
	[ "$n" -gt 1000 ] || fail "only $n files committed"
}

ktap_run git_include_tree t_git
ktap_finish
