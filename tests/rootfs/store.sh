#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# store.sh: images in the git-object store through the mycontainer CLI: import of a
# tar with special files and a container run from it, ls/history/rm, containers
# sharing one checked-out tree, concurrent first runs, git fsck, bad input, and the
# migration of an old plain-directory image. Relocated roots in a temporary directory.
. "$MC_SRC/tests/lib/ktap.sh"

M=$MC_BIN/mycontainer
[ -x "$M" ] || ktap_skip_all "mycontainer is not built ($M)"
require_root
require_tool git
require_tool jq
[ -x /bin/busybox ] || ktap_skip_all "busybox-static is not installed"
T=$(mktemp -d /tmp/mc-img-test.XXXXXX)
chmod 0755 "$T"
export MC_ROOT=$T/state MC_DATA_ROOT=$T/data
ktap_cleanup 'img_cleanup'
img_cleanup() {
	local id
	for id in $("$M" ps -aq 2>/dev/null); do "$M" rm -f "$id" >/dev/null 2>&1; done
	rm -rf "$T"
}
G=(git --git-dir="$MC_DATA_ROOT/images.git")

# stage DIR: a small root filesystem with busybox and every kind of special file,
# made as root so that owners, devices and setuid bits are real.
stage() {
	local d=$1 a
	mkdir -p "$d"/{bin,etc,proc,sys,dev,tmp,special/empty,special/deep/er}
	cp /bin/busybox "$d/bin/busybox"
	for a in sh stat cat ls echo touch find id readlink; do ln -s busybox "$d/bin/$a"; done
	chmod 1777 "$d/tmp"
	echo "root:x:0:0:root:/root:/bin/sh" >"$d/etc/passwd"
	mknod -m 0666 "$d/special/null" c 1 3
	mknod -m 0660 "$d/special/sda1" b 8 1
	chown 0:6 "$d/special/sda1"
	mkfifo -m 0620 "$d/special/fifo"
	printf 'suid\n' >"$d/special/suid"
	chmod 4755 "$d/special/suid"
	printf 'sgid\n' >"$d/special/sgid"
	chown 0:50 "$d/special/sgid"
	chmod 2750 "$d/special/sgid"
	printf 'owned\n' >"$d/special/owned"
	chown 1234:5678 "$d/special/owned"
	chmod 0640 "$d/special/owned"
	ln "$d/special/owned" "$d/special/deep/er/hardlink"
	chown 42:43 "$d/special/empty"
	chmod 0700 "$d/special/empty"
	ln -s ../special/owned "$d/etc/rel-link"
	touch -h -d '2001-02-03 04:05:06' "$d/special/owned" "$d/etc/rel-link"
}

# listing DIR: one line per path with type, owner, mode, device numbers, link count
# (hard links) and symlink target; sorted. Comparable across two trees.
listing() {
	(cd "$1" && find . -path ./proc -prune -o -path ./sys -prune -o \
		-printf '%p %y %U:%G %m %n %l\n' | sort)
	(cd "$1" && find . -type c -o -type b | sort | xargs -r stat -c '%n %t,%T')
}

t_import_tar_special_files_and_run() {
	local tar=$T/special.tar out dir id
	stage "$T/stage"
	tar -C "$T/stage" --numeric-owner -cf "$tar" .
	"$M" image import special "$tar" >"$T/commit"
	assert_eq 40 "$(tr -d '\n' <"$T/commit" | wc -c)" "commit id length"
	dir=$("$M" image path special)
	assert_eq "$MC_DATA_ROOT/rootfs/$("${G[@]}" rev-parse 'refs/images/special^{tree}')" "$dir"
	# The check-out round-trips exactly: owners, modes, devices, fifos, hard links.
	assert_eq "$(listing "$T/stage")" "$(listing "$dir")"
	assert_eq "$(stat -c %Y "$T/stage/special/owned")" "$(stat -c %Y "$dir/special/owned")"
	# ...and so does the container's view of it (through its overlay).
	out=$("$M" run --rm special /bin/sh -c '
		cd /special
		stat -c "%n %u:%g %a %F" null sda1 fifo suid sgid owned empty deep/er/hardlink
		stat -c "%n %t,%T" null sda1
		stat -c "%n %h %i" owned deep/er/hardlink
		readlink /etc/rel-link; cat /etc/rel-link')
	assert_contains "$out" "null 0:0 666 character special file"
	assert_contains "$out" "sda1 0:6 660 block special file"
	assert_contains "$out" "fifo 0:0 620 fifo"
	assert_contains "$out" "suid 0:0 4755 regular file"
	assert_contains "$out" "sgid 0:50 2750 regular file"
	assert_contains "$out" "owned 1234:5678 640 regular file"
	assert_contains "$out" "empty 42:43 700 directory"
	assert_contains "$out" "null 1,3"
	assert_contains "$out" "sda1 8,1"
	assert_contains "$out" "owned 2 "
	assert_eq "$(echo "$out" | grep '^owned 2 ' | cut -d' ' -f3)" \
		"$(echo "$out" | grep '^deep/er/hardlink 2 ' | cut -d' ' -f3)" "hard link inode"
	assert_contains "$out" "../special/owned"
	assert_contains "$out" "owned"
	# A gzip'ed tar of the same tree is the same image tree.
	gzip -c "$tar" >"$T/special.tar.gz"
	"$M" image import special-gz "$T/special.tar.gz" >/dev/null
	assert_eq "$("${G[@]}" rev-parse 'refs/images/special^{tree}')" \
		"$("${G[@]}" rev-parse 'refs/images/special-gz^{tree}')"
	# So is the directory itself, and a tar on stdin.
	"$M" image import special-dir "$T/stage" >/dev/null
	"$M" image import special-stdin - <"$tar" >/dev/null
	assert_eq "$("${G[@]}" rev-parse 'refs/images/special^{tree}')" \
		"$("${G[@]}" rev-parse 'refs/images/special-dir^{tree}')"
	assert_eq "$("${G[@]}" rev-parse 'refs/images/special^{tree}')" \
		"$("${G[@]}" rev-parse 'refs/images/special-stdin^{tree}')"
	"$M" image rm special-gz special-dir special-stdin >/dev/null
}

t_build_ls_history_rm() {
	local tree commit line n first
	"$M" image build busybox >/dev/null
	"$M" image build busybox >/dev/null
	mkdir -p "$T/v"
	cp -a "$("$M" image path busybox)/." "$T/v/"
	# Its own file: a tree equal to busybox's would be busybox's check-out.
	echo one >"$T/v/etc/one"
	"$M" image import hist "$T/v" -m "first version" >/dev/null
	first=$("${G[@]}" rev-parse 'refs/images/hist^{tree}')
	[ -d "$MC_DATA_ROOT/rootfs/$first" ] || fail "first version not checked out"
	echo two >"$T/v/etc/two"
	"$M" image import hist "$T/v" -m "second version" >/dev/null
	# git itself sees the history, newest first.
	assert_eq "second version,first version," \
		"$("${G[@]}" log --format=%s refs/images/hist | tr '\n' ,)"
	assert_contains "$("${G[@]}" log --format=%s refs/images/busybox)" "build busybox image: BusyBox"
	# image history: one line per commit, newest first.
	n=$("$M" image history hist | wc -l)
	assert_eq 2 "$n" "history lines"
	assert_contains "$("$M" image history hist | head -1)" "second version"
	assert_contains "$("$M" image history hist | tail -1)" "first version"
	assert_eq "$("${G[@]}" rev-parse --short=12 refs/images/hist)" \
		"$("$M" image history hist | head -1 | cut -d' ' -f1)"
	# image ls: a header, one row per image with the short commit and the tree id.
	commit=$("${G[@]}" rev-parse refs/images/hist)
	tree=$("${G[@]}" rev-parse 'refs/images/hist^{tree}')
	line=$("$M" image ls | grep '^hist ')
	assert_contains "$("$M" image ls | head -1)" "IMAGE"
	assert_contains "$("$M" image ls | head -1)" "SIZE"
	assert_contains "$line" "${commit:0:12}"
	assert_contains "$line" "$tree"
	assert_contains "$line" "ago"
	assert_contains "$line" "MB"
	assert_eq "busybox hist" "$("$M" image ls -q | grep -E '^(busybox|hist)$' | tr '\n' ' ' | sed 's/ $//')"
	# The old version's tree was pruned when the new one came; the new one is there.
	[ -d "$MC_DATA_ROOT/rootfs/$tree" ] || fail "tree $tree not checked out"
	[ ! -e "$MC_DATA_ROOT/rootfs/$first" ] || fail "the first version's tree was not pruned"
	# rm: the ref, the check-out and the link go; the objects stay for git gc.
	"$M" image rm hist >/dev/null
	assert_not_contains "$("$M" image ls -q)" "hist"
	[ ! -e "$MC_DATA_ROOT/rootfs/$tree" ] || fail "the check-out of a removed image remains"
	[ ! -e "$MC_DATA_ROOT/images/hist" ] || fail "the link of a removed image remains"
	assert_status 1 "${G[@]}" rev-parse --verify -q refs/images/hist
	"${G[@]}" cat-file -e "$commit"
}

t_rm_refused_while_in_use() {
	local id tree err
	"$M" image build busybox >/dev/null
	mkdir -p "$T/u"
	cp -a "$("$M" image path busybox)/." "$T/u/"
	echo used >"$T/u/etc/used"
	"$M" image import used "$T/u" >/dev/null
	tree=$("${G[@]}" rev-parse 'refs/images/used^{tree}')
	id=$("$M" run -d --name user1 used sleep 30)
	err=$("$M" image rm used 2>&1 >/dev/null) && fail "rm of an image in use succeeded"
	assert_eq 1 "$(echo "$err" | wc -l)" "error lines"
	assert_contains "$err" "used by container \`user1\`"
	"${G[@]}" rev-parse --verify -q refs/images/used >/dev/null
	# -f removes the image; the container keeps its tree while it exists.
	"$M" image rm -f used >/dev/null
	assert_status 1 "${G[@]}" rev-parse --verify -q refs/images/used
	[ -d "$MC_DATA_ROOT/rootfs/$tree" ] || fail "the tree of a running container was pruned"
	assert_eq "alive" "$("$M" exec user1 echo alive)"
	"$M" rm -f "$id" >/dev/null
	"$M" image prune >/dev/null
	[ ! -e "$MC_DATA_ROOT/rootfs/$tree" ] || fail "prune kept an unused tree"
}

t_containers_share_one_tree() {
	local a b la lb dir
	"$M" image build busybox >/dev/null
	dir=$("$M" image path busybox)
	a=$("$M" run -d --name share-a busybox sleep 30)
	b=$("$M" run -d --name share-b busybox sleep 30)
	la=$("$M" inspect "$a" | jq -r '.[0].Config.annotations["org.mycontainer.overlay.lower"]')
	lb=$("$M" inspect "$b" | jq -r '.[0].Config.annotations["org.mycontainer.overlay.lower"]')
	assert_eq "$dir" "$la" "lower of a"
	assert_eq "$la" "$lb" "lower of b"
	"$M" exec share-a sh -c 'echo from-a > /etc/only-a; rm /bin/ls'
	assert_eq "from-a" "$("$M" exec share-a cat /etc/only-a)"
	assert_status 1 "$M" exec share-b test -e /etc/only-a
	"$M" exec share-b test -L /bin/ls
	[ ! -e "$dir/etc/only-a" ] || fail "a container wrote into the shared tree"
	[ -L "$dir/bin/ls" ] || fail "a container deleted from the shared tree"
	"$M" rm -f "$a" "$b" >/dev/null
}

t_concurrent_first_runs_check_out_once() {
	local dir i pids=() st=0
	"$M" image build busybox >/dev/null
	dir=$("$M" image path busybox)
	rm -rf "$dir"
	for i in 1 2 3 4 5 6; do
		"$M" run --rm busybox cat /etc/passwd >"$T/race.$i" 2>&1 & pids+=($!)
	done
	for i in "${pids[@]}"; do wait "$i" || st=1; done
	cat "$T"/race.* | grep -v '^root:\|^nobody:' || true
	assert_eq 0 "$st" "every concurrent run succeeded"
	for i in 1 2 3 4 5 6; do assert_contains "$(cat "$T/race.$i")" "root:x:0:0"; done
	[ -d "$dir" ] || fail "not checked out"
	assert_eq "" "$(ls -A "$MC_DATA_ROOT/rootfs" | grep tmp- || true)" "temporary check-outs"
}

# What git fsck says about a broken store (its message ids: badDate, badTree, ...).
FSCK_BAD='error|warning|missing|broken|bad[a-z]*'

t_git_fsck_clean() {
	local out
	"$M" image build busybox >/dev/null
	mkdir -p "$T/f"
	echo x >"$T/f/x"
	"$M" image build dist --from "$T/f" >/dev/null
	"$M" image import fsck1 "$T/f" >/dev/null
	"$M" image import fsck2 "$T/f" >/dev/null
	"$M" image rm fsck1 >/dev/null
	out=$("${G[@]}" fsck --full --strict 2>&1) || fail "git fsck failed: $out"
	# Whole words only: object ids are hex, and one like 0bb4...2bad1f... is fine.
	assert_eq "" "$(echo "$out" | grep -Eiw "$FSCK_BAD" || true)"
	# After removing every image too.
	"$M" image rm fsck2 >/dev/null
	out=$("${G[@]}" fsck --full --strict 2>&1) || fail "git fsck failed: $out"
	assert_eq "" "$(echo "$out" | grep -Eiw "$FSCK_BAD" || true)"
}

# snapshot: what the data root holds outside the object store (refs, trees, links).
# Container layers are left out: cleaners of earlier `run --rm`s may still be at work.
snapshot() {
	(cd "$MC_DATA_ROOT" && find . -path ./images.git/objects -prune -o -path ./containers \
		-prune -o -print | sort)
}

# one_line_error STATUS CMD...: CMD fails with STATUS and one line on stderr, which
# is left in $err.
one_line_error() {
	local want=$1 st=0
	shift
	err=$("$@" 2>&1 >/dev/null) || st=$?
	assert_eq "$want" "$st" "exit status of $*"
	assert_eq 1 "$(printf '%s\n' "$err" | wc -l)" "stderr lines of $*: $err"
	assert_contains "$err" "mycontainer: "
}

t_bad_input_leaves_nothing() {
	local before err=
	"$M" image build busybox >/dev/null
	before=$(snapshot)
	one_line_error 125 "$M" run --rm nosuchimage true
	assert_contains "$err" "unknown image \`nosuchimage\`"
	one_line_error 1 "$M" image history nosuchimage
	assert_contains "$err" "unknown image"
	one_line_error 1 "$M" image rm nosuchimage
	assert_contains "$err" "unknown image \`nosuchimage\`"
	one_line_error 1 "$M" image import 'Bad/Name' "$T"
	assert_contains "$err" "invalid image name"
	one_line_error 1 "$M" image import ok "$T/does-not-exist.tar"
	assert_contains "$err" "does-not-exist.tar"
	# A corrupt tar: a valid header, then garbage and a truncated member.
	mkdir -p "$T/c"
	head -c 100000 /bin/busybox >"$T/c/big"
	tar -C "$T/c" -cf "$T/corrupt.tar" big
	truncate -s 30000 "$T/corrupt.tar"
	one_line_error 1 "$M" image import corrupt "$T/corrupt.tar"
	assert_contains "$err" "corrupt.tar"
	head -c 4096 /dev/urandom >"$T/random.tar"
	one_line_error 1 "$M" image import corrupt "$T/random.tar"
	# Hostile tars: `..`, an absolute path, a symlink climbing out, a path below a symlink.
	mkdir -p "$T/h/x"
	echo evil >"$T/h/x/evil"
	tar -C "$T/h" -cf "$T/dotdot.tar" --transform 's,^x/evil,../../evil,' x/evil
	one_line_error 1 "$M" image import hostile "$T/dotdot.tar"
	assert_contains "$err" "hostile"
	tar -C "$T/h" -cPf "$T/abs.tar" --transform 's,^x/evil,/tmp/mc-img-evil,' x/evil
	one_line_error 1 "$M" image import hostile "$T/abs.tar"
	assert_contains "$err" "abs.tar"
	ln -s ../../../../etc "$T/h/esc"
	tar -C "$T/h" -cf "$T/esc.tar" esc
	one_line_error 1 "$M" image import hostile "$T/esc.tar"
	assert_contains "$err" "esc.tar"
	rm "$T/h/esc"
	ln -s /etc "$T/h/lnk"
	tar -C "$T/h" -cf "$T/below.tar" lnk --transform 's,^x/evil,lnk/evil,' x/evil
	one_line_error 1 "$M" image import hostile "$T/below.tar"
	assert_contains "$err" "below.tar"
	[ ! -e /tmp/mc-img-evil ] || fail "a hostile tar wrote outside"
	[ ! -e "$MC_DATA_ROOT/../evil" ] || fail "a hostile tar wrote outside"
	# Nothing of any of this remains: no ref, no tree, no link, no temporary file.
	assert_eq "$before" "$(snapshot)" "data root after bad input"
	assert_not_contains "$("$M" image ls -q)" "hostile"
	assert_not_contains "$("$M" image ls -q)" "corrupt"
}

t_migrates_plain_directory_image() {
	local old=$MC_DATA_ROOT/images/legacy/rootfs out
	"$M" image build busybox >/dev/null
	mkdir -p "$old"
	cp -a "$("$M" image path busybox)/." "$old/"
	echo legacy >"$old/etc/legacy"
	out=$("$M" run --rm legacy cat /etc/legacy)
	assert_eq "legacy" "$out"
	[ -L "$old" ] || fail "the plain directory was not replaced by the link"
	assert_contains "$("${G[@]}" log --format=%s refs/images/legacy)" "migrate plain-directory image"
	assert_eq 1 "$("$M" image history legacy | wc -l)" "history lines"
	"$M" image rm legacy >/dev/null
}

ktap_run import_tar_special_files_and_run t_import_tar_special_files_and_run
ktap_run build_ls_history_rm t_build_ls_history_rm
ktap_run rm_refused_while_in_use t_rm_refused_while_in_use
ktap_run containers_share_one_tree t_containers_share_one_tree
ktap_run concurrent_first_runs_check_out_once t_concurrent_first_runs_check_out_once
ktap_run git_fsck_clean t_git_fsck_clean
ktap_run bad_input_leaves_nothing t_bad_input_leaves_nothing
ktap_run migrates_plain_directory_image t_migrates_plain_directory_image
ktap_finish
