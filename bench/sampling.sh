#!/usr/bin/env bash
# airun's own CPU time while it wraps `sleep N` (default 30 s) and samples at 1 s and at 100 ms,
# without a GPU and with a fake nvidia-smi (its own CPU is not counted: only airun's), against the
# CPU time of the same `sleep` without airun, measured in the same run.
# Target (issue 5): at most 0.2 % of one core at the 1 s interval.
source "$(dirname "$0")/common.sh"
seconds=${1:-30}
mkdir -p "$BENCH_TMP/bin"
cat > "$BENCH_TMP/bin/nvidia-smi" <<'SMI'
#!/bin/sh
case "$*" in *compute-apps*) echo "1, python3, 100, GPU-0"; exit 0;; esac
while :; do echo "2026/11/26 10:47:01.141, 0, 98, 24, 25677, 143771, 690.00"; sleep 0.1; done
SMI
chmod +x "$BENCH_TMP/bin/nvidia-smi"

# CPU seconds (user+system) of one process, from GNU time; for airun this excludes its children
# only if we subtract them, so we read airun's own usage from /proc at the end instead.
own_cpu() {  # own_cpu INTERVAL PATH -> airun's own CPU seconds
  local interval=$1 path=$2
  PATH="$path" "$AIRUN" -q --log-dir "$BENCH_TMP/logs" --sample-interval "$interval" -- \
    sh -c "sleep $seconds; awk '{ print (\$14 + \$15) / $(getconf CLK_TCK) }' /proc/\$PPID/stat" 2>/dev/null
}
bare=$( { /usr/bin/time -f '%U %S' sleep "$seconds" ; } 2>&1 | awk '{ print $1 + $2 }')
echo "sleep $seconds alone: ${bare} s CPU"
for interval in 1s 100ms; do
  nogpu=$(own_cpu "$interval" "/usr/bin:/bin")
  gpu=$(own_cpu "$interval" "$BENCH_TMP/bin:/usr/bin:/bin")
  awk -v i="$interval" -v a="$nogpu" -v b="$gpu" -v s="$seconds" 'BEGIN {
    printf "interval %-5s  airun CPU: no GPU %.3f s (%.3f %% of a core), fake GPU %.3f s (%.3f %%)\n", i, a, 100 * a / s, b, 100 * b / s
  }'
done
echo "target: <= 0.2 % of one core at 1s"
