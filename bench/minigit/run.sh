#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/minigit: minigit vs git, side by side in one run, alternating per repetition.
#   1. hash-object -w of 10,000 files   (git hash-object -w --stdin-paths)
#   2. write-tree of a large directory  (a copy of /usr/include and /usr/share/doc;
#                                        git add -A && git write-tree)
# Every repetition starts from an empty repository. Prints a Markdown table with the
# median of each and the ratio git/minigit (> 1 means minigit is faster).
# Environment: REPS (default 3), NFILES (default 10000), MC_BUILD, BENCH_DIR (default
# /dev/shm when it has 2 GiB free: the machine's shared disk is too noisy to compare
# CPU-bound work; BENCH_DIR=/tmp measures on disk).
set -euo pipefail

: "${MC_BUILD:=$(cd "$(dirname "$0")/../.." && pwd)/build}"
MG=$MC_BUILD/bin/minigit
REPS=${REPS:-3}
NFILES=${NFILES:-10000}
[ -x "$MG" ] || { echo "bench/minigit: build minigit first ($MG)" >&2; exit 1; }
command -v git >/dev/null || { echo "bench/minigit: git not installed" >&2; exit 1; }

if [ -z "${BENCH_DIR:-}" ]; then
	BENCH_DIR=/tmp
	free_kb=$(df -Pk /dev/shm 2>/dev/null | awk 'NR==2 {print $4}')
	[ "${free_kb:-0}" -gt 2097152 ] && BENCH_DIR=/dev/shm
fi
work=$(mktemp -d "$BENCH_DIR/mc-bench-minigit.XXXXXX")
trap 'rm -rf "$work"' EXIT
export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@localhost
export GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@localhost

now() { date +%s%N; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# 1. 10,000 distinct files of 100..4,000 bytes.
mkdir -p "$work/files"
awk -v n="$NFILES" -v dir="$work/files" 'BEGIN {
	srand(42);
	for (i = 0; i < n; i++) {
		f = sprintf("%s/f%05d.txt", dir, i);
		len = 100 + int(rand() * 3900);
		s = sprintf("file %d\n", i);
		while (length(s) < len) s = s sprintf("%d ", int(rand() * 1e9));
		print s > f; close(f);
	}
}'
(cd "$work/files" && ls) | sed "s|^|$work/files/|" >"$work/list"

t_git_hash=() t_mg_hash=()
for r in $(seq 1 "$REPS"); do
	rm -rf "$work/rg" "$work/rm" && git init -q "$work/rg" && "$MG" init -q "$work/rm"
	s=$(now); (cd "$work/rg" && git hash-object -w --stdin-paths <"$work/list" >"$work/ids.git"); e=$(now)
	t_git_hash+=($(((e - s) / 1000000)))
	s=$(now); (cd "$work/rm" && "$MG" hash-object -w --stdin-paths <"$work/list" >"$work/ids.mg"); e=$(now)
	t_mg_hash+=($(((e - s) / 1000000)))
	cmp -s "$work/ids.git" "$work/ids.mg" || { echo "bench/minigit: ids differ" >&2; exit 1; }
done

# 2. A copy of /usr/include and /usr/share/doc (symlinks kept, as git stores them).
mkdir -p "$work/big"
cp -a /usr/include "$work/big/include"
cp -a /usr/share/doc "$work/big/doc" 2>/dev/null || true
nbig=$(find "$work/big" -type f -o -type l | wc -l)
sbig=$(du -sm "$work/big" | cut -f1)
t_git_tree=() t_mg_tree=()
for r in $(seq 1 "$REPS"); do
	rm -rf "$work/big/.git"
	s=$(now); tg=$(cd "$work/big" && git init -q && git add -A && git write-tree); e=$(now)
	t_git_tree+=($(((e - s) / 1000000)))
	rm -rf "$work/big/.git"
	s=$(now); tm=$(cd "$work/big" && "$MG" init -q && "$MG" write-tree); e=$(now)
	t_mg_tree+=($(((e - s) / 1000000)))
	[ "$tg" = "$tm" ] || { echo "bench/minigit: tree ids differ: $tg vs $tm" >&2; exit 1; }
done

mg1=$(printf '%s\n' "${t_mg_hash[@]}" | median); g1=$(printf '%s\n' "${t_git_hash[@]}" | median)
mg2=$(printf '%s\n' "${t_mg_tree[@]}" | median); g2=$(printf '%s\n' "${t_git_tree[@]}" | median)
ratio() { awk -v g="$1" -v m="$2" 'BEGIN { printf "%.2f", g / (m ? m : 1) }'; }

echo "| workload | git (ms) | minigit (ms) | git/minigit |"
echo "|---|---:|---:|---:|"
echo "| hash-object -w, $NFILES files | $g1 | $mg1 | $(ratio "$g1" "$mg1") |"
echo "| write-tree, $nbig files, $sbig MiB | $g2 | $mg2 | $(ratio "$g2" "$mg2") |"
echo
echo "runs (ms): git hash ${t_git_hash[*]}; minigit hash ${t_mg_hash[*]};" \
	"git tree ${t_git_tree[*]}; minigit tree ${t_mg_tree[*]}"
echo "same ids: yes (checked every repetition); dir $BENCH_DIR; $(git --version);" \
	"$(nproc) cores; $(date -u +%F)"
