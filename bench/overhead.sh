#!/usr/bin/env bash
# Per-run overhead of `airun -q -- true` against bare `true` and against GNU time's own overhead.
# Usage: bench/overhead.sh [RUNS]   (builds the static release binary first)
# Target (issue 2): airun's extra time ≤ 2 × GNU time's extra time.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-500}
swift build -c release --static-swift-stdlib >/dev/null
airun=$PWD/.build/release/airun
logdir=$(mktemp -d)
trap 'rm -rf "$logdir"' EXIT
gnutime=$(command -v /usr/bin/time || true)
[ -x "$gnutime" ] || { echo "GNU time not found (apt-get install time)"; exit 1; }

# Median of 5 batches of $runs runs, in microseconds per run.
measure() {
  local batch samples=()
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
ours=$(measure "$airun" -q --log-dir "$logdir" -- /bin/true)
gnu_extra=$((gnu - bare)); ours_extra=$((ours - bare))
echo "bare true:            ${bare} us/run"
echo "GNU time:             ${gnu} us/run (+${gnu_extra} us)"
echo "airun -q:             ${ours} us/run (+${ours_extra} us, 4 records each)"
awk -v a="$ours_extra" -v g="$gnu_extra" 'BEGIN { printf "overhead ratio airun/GNU time: %.2f (target <= 2.00)\n", a / g }'
