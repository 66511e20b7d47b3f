#!/usr/bin/env bash
# What acting on the diagnosis saves (issue 22), with the real llama.cpp the tests build and its
# tiny model: each scenario under airun (its shipped llama-completion profile) against a plain retry
# loop, `for i in 1 2 3; do CMD && break; done`, in the same run. Prints wall time, the peak RSS of
# the largest process (GNU time's %M), how many times a model was loaded, and whether it succeeded.
#   bench/policy.sh            (needs Tests/tools/build-llama.sh's build; AIRUN_LLAMA_DIR to point elsewhere)
source "$(dirname "$0")/common.sh"
L=${AIRUN_LLAMA_DIR:-$HOME/.cache/airun/llama.cpp-11434.0.0}
[ -x "$L/bin/llama-completion" ] || { echo "no llama.cpp build in $L (Tests/tools/build-llama.sh)"; exit 1; }
gnutime=/usr/bin/time
[ -x "$gnutime" ] || { echo "GNU time not found (apt-get install time)"; exit 1; }
command -v python3 >/dev/null || { echo "python3 needed"; exit 1; }
export AIRUN_LOG_DIR=$BENCH_TMP/logs
cp "$L/tiny.gguf" "$BENCH_TMP/tiny.gguf"
# A copy of the tiny model whose header says it was trained on 4096 tokens (the tiny one: 256).
python3 - "$BENCH_TMP/tiny.gguf" "$BENCH_TMP/wide.gguf" <<'PY'
import sys
b = bytearray(open(sys.argv[1], 'rb').read())
k = b.find(b'llama.context_length') + len('llama.context_length') + 4
b[k:k + 4] = (4096).to_bytes(4, 'little')
open(sys.argv[2], 'wb').write(b)
PY
# A GPU that holds one layer: fails as llama.cpp's CUDA build does unless -ngl is 0 or 1.
cat > "$BENCH_TMP/small-gpu.sh" <<'SH'
ngl=auto; prev=
for a in "$@"; do [ "$prev" = -ngl ] && ngl=$a; prev=$a; done
case "$ngl" in 0|1) exec "$@";; esac
echo 'ggml_backend_cuda_buffer_type_alloc_buffer: allocating 24.00 MiB on device 0: cudaMalloc failed: out of memory' >&2
exit 1
SH
count_loads() { grep -c "llama_completion: llama backend init" "$1" 2>/dev/null || true; }

# run NAME SHELL-COMMAND: wall seconds, peak RSS, model loads, exit status.
run() {
  local name=$1 cmd=$2 err=$BENCH_TMP/err.$RANDOM
  local t0=$EPOCHREALTIME
  "$gnutime" -f '%M' -o "$BENCH_TMP/rss" bash -c "$cmd" >/dev/null 2>"$err" && rc=0 || rc=$?
  local t1=$EPOCHREALTIME
  printf '  %-34s %8.2f s %8s KiB peak  %2s loads  exit %s\n' "$name" "$(awk -v a="$t0" -v b="$t1" 'BEGIN{print b-a}')" \
    "$(tail -n 1 "$BENCH_TMP/rss")" "$(count_loads "$err")" "$rc"
}
loop() { echo "for i in 1 2 3; do $1 && break; done"; }

base="$L/bin/llama-completion -p hi -n 4 -no-cnv --no-warmup -t 2"
echo "1. -c 999999999 (the context cannot be allocated; under a 3 GB address-space limit, so it fails in ms, not minutes)"
huge="prlimit --as=3000000000 $L/bin/llama-completion -m $BENCH_TMP/tiny.gguf -c 999999999 -p hi -n 4 -no-cnv"
run "plain loop (3 identical runs)" "$(loop "$huge")"
run "airun (CONTEXT_TOO_LARGE: the model's -c)" "$AIRUN --profile llama-completion -- $huge"

echo "2. a prompt of 600+ tokens for a model that holds 256, a fallback model that holds 4096"
prompt=$(python3 -c "print('hello world ' * 300)")
printf '%s' "$prompt" > "$BENCH_TMP/prompt.txt"
run "plain fallback loop (each model once)" "for m in tiny wide; do $base -f $BENCH_TMP/prompt.txt -m $BENCH_TMP/\$m.gguf && break; done"
run "airun --fallback-model (pre-flight)" "$AIRUN --fallback-model $BENCH_TMP/wide.gguf -- $base -f $BENCH_TMP/prompt.txt -m $BENCH_TMP/tiny.gguf"

echo "3. a GPU that holds one layer; the second run of the same model"
gpu="sh $BENCH_TMP/small-gpu.sh $base -m $BENCH_TMP/tiny.gguf"
run "plain loop, run 1 (never succeeds)" "$(loop "$gpu")"
run "airun, run 1 (GPU_OOM: -ngl halved)" "$AIRUN --profile llama-completion -- $gpu"
run "airun, run 2 (starts from -ngl 1)" "$AIRUN --profile llama-completion -- $gpu"
