#!/usr/bin/env bash
# Per-run overhead of `airun -q -- /bin/true` against bare `/bin/true` and against GNU time's own
# overhead (`/usr/bin/time -o /dev/null /bin/true`). Usage: bench/overhead.sh [RUNS]
# Target (issue 25, the brief): airun's extra time ≤ 1.5 × GNU time's extra time.
source "$(dirname "$0")/common.sh"
runs=${1:-500}
gnutime=/usr/bin/time
[ -x "$gnutime" ] || { echo "GNU time not found (apt-get install time)"; exit 1; }

# Median of 5 batches of $runs runs, in microseconds per run; one bash loop, so only the command's
# own fork/exec/wait is measured.
measure() {
  local samples=()
  for batch in 1 2 3 4 5; do
    local t0=$EPOCHREALTIME
    for ((i = 0; i < runs; i++)); do "$@" >/dev/null; done
    local t1=$EPOCHREALTIME
    samples+=("$(( (${t1/./} - ${t0/./}) / runs ))")
  done
  printf '%s\n' "${samples[@]}" | sort -n | sed -n 3p
}

bare=$(measure /bin/true)
gnu=$(measure "$gnutime" -o /dev/null /bin/true)
ours=$(measure "$AIRUN" -q --log-dir "$BENCH_TMP/logs" -- /bin/true)
gnu_extra=$((gnu - bare)); ours_extra=$((ours - bare))
echo "bare true:            ${bare} us/run"
echo "GNU time:             ${gnu} us/run (+${gnu_extra} us)"
echo "airun -q:             ${ours} us/run (+${ours_extra} us, 4 records each)"
awk -v a="$ours_extra" -v g="$gnu_extra" 'BEGIN { printf "overhead ratio airun/GNU time: %.2f (target <= 1.50)\n", a / g }'
