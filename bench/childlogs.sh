#!/usr/bin/env bash
# [child_logs] format = "json": a command printing N JSON log lines (a router's shape: timestamp,
# level, logger, message, two fields) on stderr, under airun with the profile that records each as a
# child.log record, against the same run without it, in the same run. Target (issue 25): within 3x
# of the run without child logs.
#
#   bench/childlogs.sh [LINES]   # default 1,000,000
source "$(dirname "$0")/common.sh"
lines=${1:-1000000}
# A router's lines as Python's logging writes them: a time that moves, a level and logger from a
# few, a message and fields that differ on every line.
python3 - "$BENCH_TMP/lines" "$lines" <<'PY'
import json, random, sys
random.seed(25)
models = ["qwen3-8b", "llama-3.2-1b", "mistral-7b-instruct"]
with open(sys.argv[1], "w") as f:
    for i in range(int(sys.argv[2])):
        ms = 36_000_000 + i * 7
        stamp = f"2026-12-02T{ms // 3_600_000 % 24:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d}.{ms % 1000:03d}Z"
        level = "warning" if i % 50 == 0 else "info"
        f.write(json.dumps({"timestamp": stamp, "level": level, "logger": "router" if i % 3 else "router.fallback",
                            "message": f"routing request {i} to model {models[i % 3]}", "request": i,
                            "latency_ms": round(random.uniform(1, 900), 2)}) + "\n")
PY
printf '[child_logs]\nformat = "json"\n' > "$BENCH_TMP/json.toml"
cat "$BENCH_TMP/lines" > /dev/null
t_plain=$(median_seconds 3 "'$AIRUN' -q --log-dir '$BENCH_TMP/plain' -- sh -c 'cat $BENCH_TMP/lines >&2' 2>/dev/null")
t_json=$(median_seconds 3 "rm -rf '$BENCH_TMP/json'; '$AIRUN' -q --log-dir '$BENCH_TMP/json' --profile '$BENCH_TMP/json.toml' -- sh -c 'cat $BENCH_TMP/lines >&2' 2>/dev/null")
echo "$lines JSON lines on stderr: without child logs ${t_plain} s, with [child_logs] json ${t_json} s ($(du -sm "$BENCH_TMP/json" | cut -f1) MB of records)"
awk -v p="$t_plain" -v j="$t_json" 'BEGIN { printf "child logs take %.1fx the run without them (target <= 3)\n", j / p }'
