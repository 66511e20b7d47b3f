#!/usr/bin/env bash
# What the exporters cost a run. Usage: bench/export.sh [RUNS]
#  1. `airun -q -- /bin/true` without an exporter, and with the Prometheus textfile exporter
#     (AIRUN_TEXTFILE_DIR): the added time per run (state read, merged, written; airun.prom
#     rewritten, all under the lock). Baseline: the same loop without an exporter.
#  2. With OTLP to a collector that accepts connections and never answers (a hung collector),
#     and to a port nothing listens on: the time added to the end of a run (target < 200 ms).
source "$(dirname "$0")/common.sh"
runs=${1:-200}

per_run_us() {  # median of 3 batches of $runs runs, microseconds per run
  local samples=()
  for batch in 1 2 3; do
    local t0=$EPOCHREALTIME
    for ((i = 0; i < runs; i++)); do "$@" >/dev/null 2>&1; done
    local t1=$EPOCHREALTIME
    samples+=("$(( (${t1/./} - ${t0/./}) / runs ))")
  done
  printf '%s\n' "${samples[@]}" | sort -n | sed -n 2p
}

plain=$(per_run_us "$AIRUN" -q --log-dir "$BENCH_TMP/logs" -- /bin/true)
textfile=$(per_run_us env AIRUN_TEXTFILE_DIR="$BENCH_TMP/textfile" "$AIRUN" -q --log-dir "$BENCH_TMP/logs" -- /bin/true)
echo "airun -q -- true:                 ${plain} us/run"
echo "  with the textfile exporter:     ${textfile} us/run (+$((textfile - plain)) us per run)"

# A listener that never accepts into an answer: connections complete, requests go unanswered.
port_file=$BENCH_TMP/port
python3 - "$port_file" <<'PY' &
import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(512)
open(sys.argv[1], "w").write(str(s.getsockname()[1]))
time.sleep(600)
PY
listener=$!
trap 'kill $listener 2>/dev/null; rm -rf "$BENCH_TMP"' EXIT
for _ in $(seq 50); do [ -s "$port_file" ] && break; sleep 0.1; done
hung=$(cat "$port_file")
closed=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')

runs=10
base=$(per_run_us "$AIRUN" -q --log-dir "$BENCH_TMP/logs2" -- /bin/true)
with_hung=$(per_run_us "$AIRUN" -q --log-dir "$BENCH_TMP/logs2" --otlp "http://127.0.0.1:$hung" -- /bin/true)
with_closed=$(per_run_us "$AIRUN" -q --log-dir "$BENCH_TMP/logs2" --otlp "http://127.0.0.1:$closed" -- /bin/true)
echo "OTLP collector hung (never answers): +$(( (with_hung - base) / 1000 )) ms per run (target < 200)"
echo "OTLP collector down (refused):       +$(( (with_closed - base) / 1000 )) ms per run (spooled; $(ls "$BENCH_TMP/logs2/spool" | grep -c json) payloads, bounded)"
