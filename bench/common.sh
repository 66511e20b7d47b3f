# Shared by the bench scripts: build the release binary once and time commands.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# AIRUN=/path/to/airun bench/X.sh measures another build (an earlier commit's, for a before/after).
if [ -z "${AIRUN:-}" ]; then
  swift build -c release --static-swift-stdlib >/dev/null 2>&1
  AIRUN=$PWD/.build/release/airun
fi
# BENCH_KEEP=DIR keeps the data a script made there (to profile a run against it afterwards).
if [ -n "${BENCH_KEEP:-}" ]; then
  BENCH_TMP=$BENCH_KEEP
  mkdir -p "$BENCH_TMP"
else
  BENCH_TMP=$(mktemp -d)
  trap 'rm -rf "$BENCH_TMP"' EXIT
fi

# median_seconds N CMD...: the median wall time of N runs of CMD (a shell string), in seconds.
median_seconds() {
  local n=$1; shift
  local samples=()
  for ((k = 0; k < n; k++)); do
    local t0=$EPOCHREALTIME
    bash -c "$*"
    local t1=$EPOCHREALTIME
    samples+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f", b - a }')")
  done
  printf '%s\n' "${samples[@]}" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}
