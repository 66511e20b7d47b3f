#!/usr/bin/env bash
# airun stats over about 1 GB of records (SIZE_MB, default 1024), against an equivalent jq pipeline
# (group by model: count, failures, mean duration) and against `grep -c` of the attempt.end lines
# over the same files, in the same run. Target (issue 13): at least 10x faster than jq and within 3x
# of grep -c. Needs jq (apt-get install jq).
#
#   [SHAPE=samples|ordinary] bench/stats.sh [SIZE_MB]
source "$(dirname "$0")/common.sh"
size_mb=${1:-1024}
command -v jq >/dev/null || { echo "bench/stats.sh needs jq (apt-get install jq)"; exit 1; }
dir=$BENCH_TMP/logs
mkdir -p "$dir"
# Real records of real runs, repeated under new trace ids and models, rotated at 64 MB like a real
# log directory. SHAPE `samples` (the default before issue 25): a success with its `--samples`
# records and a retried failure; `ordinary`: what runs write without --samples, many short runs,
# successes with their tails, failures with retries and error records, no sample records (the
# shape stats cannot skip cheaply).
shape=${SHAPE:-samples}
if [ "$shape" = samples ]; then
  "$AIRUN" -q --log-dir "$BENCH_TMP/seed" --samples --sample-interval 20ms -- sh -c 'head -c 3000 /dev/zero | tr "\0" x; sleep 0.1' >/dev/null
  "$AIRUN" -q --log-dir "$BENCH_TMP/seed" --retries 2 -- sh -c 'head -c 20000 /dev/zero | tr "\0" y >&2; exit 3' 2>/dev/null || true
else
  for i in 1 2 3; do "$AIRUN" -q --log-dir "$BENCH_TMP/seed" -- sh -c 'echo "answer $RANDOM"; echo "0.00.001 I llama log line" >&2' >/dev/null 2>&1; done
  "$AIRUN" -q --log-dir "$BENCH_TMP/seed" --retries 2 -- sh -c 'echo "E gguf_init_from_file: failed to open GGUF file (No such file or directory)" >&2; exit 1' 2>/dev/null || true
  "$AIRUN" -q --log-dir "$BENCH_TMP/seed" --retries 3 -- sh -c 'echo "partial output"; exit 3' >/dev/null 2>&1 || true
fi
python3 - "$BENCH_TMP/seed" "$dir" "$size_mb" <<'PY'
import glob, json, os, random, sys, uuid
seed = [json.loads(l) for f in sorted(glob.glob(sys.argv[1] + "/*.jsonl")) for l in open(f)]
target, written, index = int(sys.argv[3]) << 20, 0, 0
models = ["llama33-70b", "qwen3-8b", "tiny", "mistral-7b"]
out = open(os.path.join(sys.argv[2], "airun-20261127.jsonl"), "w")
while written < target:
    trace, model = uuid.uuid4().hex, random.choice(models)
    for r in seed:
        r = dict(r, trace_id=trace)
        if "model_id" in r: r["model_id"] = model
        line = json.dumps(r, separators=(",", ":")) + "\n"
        out.write(line)
        written += len(line)
    if out.tell() > 64 << 20:
        out.close()
        index += 1
        out = open(os.path.join(sys.argv[2], f"airun-20261127.{index}.jsonl"), "w")
out.close()
PY
files=$(ls "$dir"/*.jsonl | tr "\n" " ")
echo "records ($shape shape): $(du -sm "$dir" | cut -f1) MB in $(echo $files | wc -w) files"
cat $files >/dev/null  # warm the page cache for all three
t_airun=$(median_seconds 3 "'$AIRUN' stats --log-dir '$dir' --json >/dev/null")
t_jq=$(median_seconds 1 "jq -c 'select(.event==\"attempt.end\") | [.model_id, .status, .duration_ms]' $files | jq -s -c 'group_by(.[0]) | map({model: .[0][0], n: length, failed: (map(select(.[1] != \"succeeded\")) | length), mean: (map(.[2]) | add / length)})' >/dev/null")
# Not to /dev/null: GNU grep then stops at the first match, as with -q.
t_grep=$(median_seconds 3 "grep -c '\"event\":\"attempt.end\"' $files >'$BENCH_TMP/grep.out'")
echo "airun stats: ${t_airun} s   jq: ${t_jq} s   grep -c: ${t_grep} s"
awk -v a="$t_airun" -v j="$t_jq" -v g="$t_grep" 'BEGIN {
  printf "airun is %.1fx faster than jq (target >= 10)\n", j / a
  printf "airun takes %.1fx the time of grep -c (target <= 3)\n", a / g }'
