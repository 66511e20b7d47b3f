#!/usr/bin/env bash
# Pass-through throughput: `airun -q -- cat FILE` against `cat FILE | cat`, 400 MB, output to /dev/null.
# Target (issue 2): airun's throughput ≥ 0.9 × the plain pipe's.
source "$(dirname "$0")/common.sh"
size_mb=${1:-400}
head -c "${size_mb}M" /dev/urandom > "$BENCH_TMP/data"
cat "$BENCH_TMP/data" > /dev/null  # warm the page cache
pipe=$(median_seconds 5 "cat '$BENCH_TMP/data' | cat > /dev/null")
ours=$(median_seconds 5 "'$AIRUN' -q --log-dir '$BENCH_TMP/logs' -- cat '$BENCH_TMP/data' > /dev/null")
awk -v p="$pipe" -v a="$ours" -v mb="$size_mb" 'BEGIN {
  printf "cat | cat:      %.3f s (%.0f MB/s)\n", p, mb / p
  printf "airun -- cat:   %.3f s (%.0f MB/s)\n", a, mb / a
  printf "throughput ratio airun/pipe: %.2f (target >= 0.90)\n", p / a
}'
