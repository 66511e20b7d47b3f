#!/usr/bin/env bash
# airun's own peak memory (VmHWM) while its child prints 2 GB, read by the child from /proc/$PPID at
# the end, against the same figure for `cat` relaying the same stream (the baseline).
# Target (issue 2): airun's max RSS ≤ 30 MB, whatever the child prints.
source "$(dirname "$0")/common.sh"
gb=${1:-2}
child="head -c ${gb}G /dev/zero; grep VmHWM /proc/\$PPID/status >&2"
ours=$("$AIRUN" -q --log-dir "$BENCH_TMP/logs" -- sh -c "$child" 2>&1 >/dev/null | awk '/VmHWM/ { print $2 }')
base=$(sh -c "head -c ${gb}G /dev/zero | cat >/dev/null; grep VmHWM /proc/\$\$/status" | awk '{ print $2 }')
awk -v o="$ours" -v b="$base" -v gb="$gb" 'BEGIN {
  printf "child printed %d GB\n", gb
  printf "airun max RSS: %.1f MB (target <= 30)\n", o / 1024
  printf "a shell for comparison: %.1f MB; ratio %.1f\n", b / 1024, o / b
}'
