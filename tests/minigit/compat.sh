#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Compatibility of minigit with real git: the same ids, repositories git's fsck accepts,
# and minigit reading what git wrote (loose and packed, OFS_DELTA and REF_DELTA).
. "$MC_SRC/tests/lib/ktap.sh"
require_tool git

MG=$MC_BIN/minigit
tmp=$(mktemp -d /tmp/mc-minigit.XXXXXX)
ktap_cleanup "rm -rf '$tmp'"
# A fixed identity and clock make commit ids comparable; no user config leaks in.
export GIT_AUTHOR_NAME="A U Thor" GIT_AUTHOR_EMAIL="author@example.com"
export GIT_COMMITTER_NAME="C O Mitter" GIT_COMMITTER_EMAIL="committer@example.com"
export GIT_AUTHOR_DATE="1700000000 +0100" GIT_COMMITTER_DATE="1700000100 -0530"
export GIT_CONFIG_NOSYSTEM=1 HOME=$tmp TZ=UTC
unset GIT_DIR GIT_WORK_TREE

# A work tree with the cases git's tree ordering and modes care about.
make_tree() {
	local d=$1
	mkdir -p "$d/a/b" "$d/a-b" "$d/empty" "$d/sp ace" "$d/x"
	printf 'hello\n' >"$d/a.txt"
	: >"$d/empty.txt"
	printf 'nested\n' >"$d/a/b/c"
	printf 'dash\n' >"$d/a-b/f"
	printf 'dot\n' >"$d/a.b"
	printf 'tab\tin\n' >"$d/sp ace/file with spaces"
	printf '#!/bin/sh\necho hi\n' >"$d/x/run.sh"
	chmod 755 "$d/x/run.sh"
	ln -s a.txt "$d/link"
	ln -s ../a/b/c "$d/x/rel-link"
	head -c 300000 /dev/urandom >"$d/x/random.bin"
	printf 'caf\xc3\xa9\n' >"$d/unicod$(printf '\xc3\xa9')"
}

t_hash_object() {
	cd "$tmp" && rm -rf h && mkdir h && cd h
	$MG init -q
	make_tree .
	local f
	for f in a.txt empty.txt x/run.sh x/random.bin "sp ace/file with spaces"; do
		assert_eq "$(git hash-object "$f")" "$($MG hash-object "$f")" "$f"
	done
	assert_eq "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391" "$($MG hash-object -w empty.txt)"
	assert_eq "" "$(git cat-file -p e69de29b)"
	assert_eq "$(printf 'abc' | git hash-object --stdin)" "$(printf 'abc' | $MG hash-object --stdin)"
	printf 'object %s\ntype blob\ntag v1\ntagger T <t@x> 1700000000 +0000\n\nmsg\n' \
		e69de29bb2d1d6434b8b29ae775ad8c2e48c5391 >tg
	assert_eq "$(git hash-object -t tag tg)" "$($MG hash-object -t tag tg)"
	id=$($MG hash-object -w x/random.bin)
	cmp <(git cat-file -p "$id") x/random.bin
	assert_eq blob "$(git cat-file -t "$id")"
	# Several files at once, and --stdin-paths, print one id per file in order.
	assert_eq "$(git hash-object a.txt a.b)" "$($MG hash-object -w a.txt a.b)"
	assert_eq "$(printf 'a.txt\nx/run.sh\n' | git hash-object --stdin-paths)" \
		"$(printf 'a.txt\nx/run.sh\n' | $MG hash-object -w --stdin-paths)"
	# -t commit validates the content like git does.
	assert_status 128 $MG hash-object -t commit a.txt
}

t_write_tree_fsck_log() {
	cd "$tmp" && rm -rf w && mkdir w && cd w
	$MG init -q
	make_tree .
	tree=$($MG write-tree)
	git add -A
	assert_eq "$(git write-tree)" "$tree" "write-tree id"
	c1=$($MG commit-tree "$tree" -m "Initial commit")
	assert_eq "$(git commit-tree "$tree" -m "Initial commit")" "$c1" "commit id"
	$MG update-ref HEAD "$c1"
	printf 'more\n' >>a.txt
	tree2=$($MG write-tree)
	c2=$($MG commit-tree "$tree2" -p HEAD -m "Second" -m "With a body paragraph.")
	assert_eq "$(git commit-tree "$tree2" -p "$c1" -m "Second" -m "With a body paragraph.")" "$c2"
	$MG update-ref refs/heads/master "$c2" "$c1"
	assert_eq "${c2:0:7} Second" "$(git log --oneline | head -1)"
	assert_contains "$(git log --oneline)" "${c1:0:7} Initial commit"
	out=$(git fsck --full --strict 2>&1)
	assert_eq "" "$out" "git fsck --full --strict is silent"
	diff <(git log) <($MG log)
	diff <(git log --oneline) <($MG log --oneline)
	assert_eq "$(git rev-parse HEAD~1 HEAD^{tree} master ${c2:0:9})" \
		"$($MG rev-parse HEAD~1 HEAD^{tree} master ${c2:0:9})"
	# A stale expected old value is refused and leaves the ref alone.
	assert_status 128 $MG update-ref refs/heads/master "$c1" "$tree"
	assert_eq "$c2" "$(git rev-parse master)"
}

t_dates_and_idents() {
	cd "$tmp" && rm -rf d && mkdir d && cd d
	$MG init -q
	tree=$($MG write-tree)
	local date
	for date in "2005-04-07T22:13:13+02:00" "Thu, 07 Apr 2005 22:13:13 +0200" \
		"@1112911993 -0700" "2005-04-07 22:13:13 -0230" "2020-02-29T12:00:00Z"; do
		a=$(GIT_AUTHOR_DATE="$date" GIT_COMMITTER_DATE="$date" git commit-tree "$tree" -m d)
		b=$(GIT_AUTHOR_DATE="$date" GIT_COMMITTER_DATE="$date" $MG commit-tree "$tree" -m d)
		assert_eq "$a" "$b" "date $date"
	done
	assert_status 128 env GIT_AUTHOR_DATE="not a date" $MG commit-tree "$tree" -m x
}

# A git-made history with branches, a merge, a tag, then gc'ed: minigit must agree.
make_git_repo() {
	local d=$1 i
	git init -q "$d" && cd "$d"
	for i in $(seq 1 25); do
		seq 1 $((i * 40)) >big.txt
		printf 'v%s\n' "$i" >>big.txt
		cp big.txt "copy$((i % 4)).txt"
		mkdir -p "dir$((i % 3))" && printf '%s\n' "$i" >"dir$((i % 3))/f"
		git add -A && git commit -qm "commit $i"
	done
	git checkout -qb side HEAD~5
	printf 'side\n' >side.txt && git add side.txt && git commit -qm "side work"
	git checkout -q master
	git merge -q --no-edit side
	git tag -a -m "release" v1.0
}

compare_all_objects() {
	local o n=0
	for o in $(git cat-file --batch-all-objects --batch-check='%(objectname)'); do
		[ "$(git cat-file -t "$o")" = "$($MG cat-file -t "$o")" ] || fail "type of $o"
		[ "$(git cat-file -s "$o")" = "$($MG cat-file -s "$o")" ] || fail "size of $o"
		cmp -s <(git cat-file -p "$o") <($MG cat-file -p "$o") || fail "content of $o"
		n=$((n + 1))
	done
	[ "$n" -gt 50 ] || fail "only $n objects compared"
	diff <(git ls-tree -r HEAD) <($MG ls-tree -r HEAD)
	diff <(git ls-tree -r -t HEAD~3) <($MG ls-tree -r -t HEAD~3)
	diff <(git log) <($MG log)
	assert_eq "$(git rev-parse v1.0 v1.0^{} HEAD^2 side~2)" "$($MG rev-parse v1.0 v1.0^{} HEAD^2 side~2)"
}

t_read_git_loose() {
	cd "$tmp" && rm -rf gl && make_git_repo gl
	compare_all_objects
}

t_read_git_packed_ofs_delta() {
	cd "$tmp" && rm -rf gp && make_git_repo gp
	git gc -q --aggressive
	assert_eq 0 "$(find .git/objects -type f -path '*/objects/??/*' | wc -l)" "all packed"
	vp=$(git verify-pack -v .git/objects/pack/*.idx)
	assert_contains "$vp" "chain length" 
	compare_all_objects
	# Abbreviated ids are looked up in the pack index too.
	id=$(git rev-parse HEAD)
	assert_eq "$id" "$($MG rev-parse "${id:0:8}")"
}

t_read_git_packed_ref_delta() {
	cd "$tmp" && rm -rf gr && make_git_repo gr
	git -c repack.usedeltabaseoffset=false repack -q -a -d -f
	git -c repack.usedeltabaseoffset=false gc -q
	compare_all_objects
	# minigit writes new loose objects next to the pack and git reads them.
	printf 'new\n' >new.txt
	id=$($MG hash-object -w new.txt)
	assert_eq "new" "$(git cat-file -p "$id")"
}

t_mktree_ls_tree() {
	cd "$tmp/w" || fail "needs the write-tree test's repository"
	tree=$(git rev-parse HEAD^{tree})
	assert_eq "$tree" "$(git ls-tree HEAD | $MG mktree)"
	assert_eq "$(git ls-tree HEAD | git mktree)" "$(git ls-tree HEAD | $MG mktree)"
	diff <(git ls-tree HEAD) <($MG cat-file -p "$tree")
	diff <(git ls-tree --name-only -r HEAD) <($MG ls-tree --name-only -r HEAD)
	# An entry naming a missing object is refused.
	assert_status 128 sh -c "printf '100644 blob 1111111111111111111111111111111111111111\tx\n' | $MG mktree"
}

t_checkout_tree() {
	cd "$tmp/w" || fail "needs the write-tree test's repository"
	rm -rf "$tmp/co" && $MG checkout-tree HEAD "$tmp/co"
	diff <(cd "$tmp/co" && find . -printf '%p %y %m\n' | sort) \
		<(cd "$tmp/w" && find . -path ./.git -prune -o -path ./empty -prune -o -printf '%p %y %m\n' | sort)
	cmp "$tmp/co/x/random.bin" x/random.bin
	assert_eq "a.txt" "$(readlink "$tmp/co/link")"
	# A symlink planted in the target is never followed.
	rm -rf "$tmp/co2" "$tmp/outside" && mkdir -p "$tmp/co2" "$tmp/outside"
	ln -s "$tmp/outside" "$tmp/co2/a"
	assert_status 128 $MG checkout-tree HEAD "$tmp/co2"
	assert_eq "" "$(ls "$tmp/outside")"
}

t_corruption() {
	cd "$tmp" && rm -rf bad && mkdir bad && cd bad
	$MG init -q
	printf 'precious data\n' >f
	id=$($MG hash-object -w f)
	p=.git/objects/${id:0:2}/${id:2}
	chmod u+w "$p"
	# Flip one byte inside the zlib stream: a clear error naming the object, no crash.
	printf '\x55' | dd of="$p" bs=1 seek=10 conv=notrunc status=none
	out=$($MG cat-file -p "$id" 2>&1) && fail "corrupt object was read"
	assert_contains "$out" "$id"
	# Size and hash mismatches are covered byte-exactly in parsers.c.
	# Truncated packs are refused with a message, not a crash.
	cd "$tmp" && rm -rf badpack && make_git_repo badpack >/dev/null && git gc -q
	pack=$(ls .git/objects/pack/*.pack)
	truncate -s 2000 "$pack"
	out=$($MG cat-file -p HEAD 2>&1) && fail "truncated pack read"
	assert_contains "$out" "pack"
	cd "$tmp/bad" && assert_status 1 $MG cat-file -e 0123456789012345678901234567890123456789
}

t_bad_input() {
	cd "$tmp/w" || fail "needs the write-tree test's repository"
	assert_status 129 $MG
	assert_status 129 $MG no-such-verb
	assert_status 129 $MG cat-file -p
	out=$($MG cat-file -p nosuchrev 2>&1) || true
	assert_contains "$out" "minigit: unknown revision"
	assert_status 128 $MG update-ref "refs/heads/bad..name" HEAD
	assert_status 128 $MG hash-object -t bogus a.txt
	out=$(cd / && $MG cat-file -t HEAD 2>&1) || true
	assert_contains "$out" "not a git repository"
}

ktap_run hash_object t_hash_object
ktap_run write_tree_fsck_log t_write_tree_fsck_log
ktap_run dates_and_idents t_dates_and_idents
ktap_run read_git_loose t_read_git_loose
ktap_run read_git_packed_ofs_delta t_read_git_packed_ofs_delta
ktap_run read_git_packed_ref_delta t_read_git_packed_ref_delta
ktap_run mktree_ls_tree t_mktree_ls_tree
ktap_run checkout_tree t_checkout_tree
ktap_run corruption t_corruption
ktap_run bad_input t_bad_input
ktap_finish
