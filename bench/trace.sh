#!/usr/bin/env bash
# airun trace on the shapes issue 25 measured, against airun stats over the same files, in one run:
#  1. one long router session: a real run whose command writes LINES JSON log lines (default
#     300,000 child.log records in one trace): trace's time / stats' time (target <= 3, linear);
#  2. one small trace among SIZE_MB (default 145) of other runs' records: trace's peak RSS
#     (target: bounded by the trace shown, <= 64 MB plus its records, not the file).
#
#   bench/trace.sh [LINES] [SIZE_MB]
source "$(dirname "$0")/common.sh"
lines=${1:-300000}
size_mb=${2:-145}
gnutime=/usr/bin/time
[ -x "$gnutime" ] || { echo "GNU time not found (apt-get install time)"; exit 1; }
long=$BENCH_TMP/long
printf '[child_logs]\nformat = "json"\n' > "$BENCH_TMP/router.toml"
"$AIRUN" -q --log-dir "$long" --trace-id 4bf92f3577b34da6a3ce929d0e0e4736 --profile "$BENCH_TMP/router.toml" -- \
  python3 -c "
import sys
for i in range($lines):
    sys.stderr.write('{\"level\":\"info\",\"message\":\"routing request %d\",\"model\":\"qwen3-8b\",\"session\":\"s-1\"}\n' % i)
" 2>/dev/null
echo "long session: $(grep -c '"child.log"' "$long"/*.jsonl | awk -F: '{ s += $NF } END { print s }') child.log records, $(du -sm "$long" | cut -f1) MB"
cat "$long"/*.jsonl >/dev/null
t_trace=$(median_seconds 3 "'$AIRUN' trace 4bf92f3577b34da6a3ce929d0e0e4736 --log-dir '$long' >/dev/null")
t_stats=$(median_seconds 3 "'$AIRUN' stats --log-dir '$long' >/dev/null")
echo "trace: ${t_trace} s   stats: ${t_stats} s"
awk -v t="$t_trace" -v s="$t_stats" 'BEGIN { printf "trace of the long session takes %.1fx the time of stats (target <= 3)\n", t / s }'

# One small trace among many: the records of real runs repeated under new trace ids.
wide=$BENCH_TMP/wide
"$AIRUN" -q --log-dir "$BENCH_TMP/seed" --retries 2 -- sh -c 'head -c 20000 /dev/zero | tr "\0" y >&2; exit 3' 2>/dev/null || true
"$AIRUN" -q --log-dir "$BENCH_TMP/seed" -- sh -c 'head -c 3000 /dev/zero | tr "\0" x' >/dev/null
mkdir -p "$wide"
python3 - "$BENCH_TMP/seed" "$wide" "$size_mb" <<'PY'
import glob, json, os, sys, uuid
seed = [json.loads(l) for f in sorted(glob.glob(sys.argv[1] + "/*.jsonl")) for l in open(f)]
target, written = int(sys.argv[3]) << 20, 0
with open(os.path.join(sys.argv[2], "airun-20261127.jsonl"), "w") as out:
    while written < target:
        trace = uuid.uuid4().hex
        for r in seed:
            line = json.dumps(dict(r, trace_id=trace), separators=(",", ":")) + "\n"
            out.write(line)
            written += len(line)
    # The trace asked for: the same runs once more, last in the file.
    for r in seed:
        out.write(json.dumps(dict(r, trace_id="0af7651916cd43dd8448eb211c80319c"), separators=(",", ":")) + "\n")
PY
size=$(du -sm "$wide" | cut -f1)
rss_kb=$("$gnutime" -f %M "$AIRUN" trace 0af7651916cd43dd8448eb211c80319c --log-dir "$wide" 2>&1 >/dev/null | tail -1)
base_kb=$("$gnutime" -f %M "$AIRUN" --version 2>&1 >/dev/null | tail -1)
echo "one small trace among ${size} MB of records: peak RSS $((rss_kb / 1024)) MB (airun --version: $((base_kb / 1024)) MB)"
awk -v r="$rss_kb" -v s="$size" 'BEGIN { printf "trace RSS / file size: %.2f (target: bounded, <= 64 MB)\n", r / 1024 / s }'
