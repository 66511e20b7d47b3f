#!/usr/bin/env bash
# The router end to end: the router asks for the `big` model, whose file is missing; the nested
# airun falls back to `tiny`; the answer comes out; the trace id is printed last.
# Builds nothing. Needs airun on PATH (or a build in .build/), and llama.cpp's llama-completion and
# a GGUF model: by default the ones the tests use (Tests/tools/build-llama.sh, .ci/run), found in
# $AIRUN_LLAMA_DIR or ~/.cache/airun/llama.cpp-*.
#
#   examples/router/run-demo.sh ["a prompt"]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
# An airun on PATH, else this checkout's newest build.
if ! command -v airun >/dev/null; then
  built=$(ls -t "$root"/.build/release/airun "$root"/.build/debug/airun 2>/dev/null | head -1 || true)
  [ -n "$built" ] && PATH="$(dirname "$built"):$PATH"
fi
command -v airun >/dev/null || { echo "run-demo: no airun on PATH (swift build first)" >&2; exit 1; }
# llama.cpp and the tiny model: $AIRUN_LLAMA_DIR, else the newest build the tests left in the cache.
llama=${AIRUN_LLAMA_DIR:-}
if [ -z "$llama" ]; then
  for dir in "$HOME"/.cache/airun/llama.cpp-*; do [ -d "$dir" ] && llama=$dir; done
fi
if [ -z "$llama" ] || [ ! -x "$llama/bin/llama-completion" ] || [ ! -f "$llama/tiny.gguf" ]; then
  {
    echo "run-demo: no llama.cpp build with tiny.gguf in ${llama:-\$AIRUN_LLAMA_DIR or ~/.cache/airun/llama.cpp-*}."
    echo "run-demo: build llama-completion and the tiny model once (about 7 minutes on 2 cores; needs"
    echo "run-demo: cmake, g++, curl and pip install gguf numpy), then run this again:"
    echo "    $root/Tests/tools/build-llama.sh"
  } >&2
  exit 1
fi
PATH="$llama/bin:$PATH"
export MODELS_DIR=$llama   # holds tiny.gguf; big-q4_k_m.gguf is missing on purpose
export AIRUN_PROFILE_PATH="$root/profiles${AIRUN_PROFILE_PATH:+:$AIRUN_PROFILE_PATH}"
log_dir=${AIRUN_LOG_DIR:-$(mktemp -d)}
export AIRUN_LOG_DIR=$log_dir
trace=$(python3 -c 'import uuid; print(uuid.uuid4().hex)')

echo "== the router, under airun (profile ai-router), asking for the big model"
airun --trace-id "$trace" --tag demo=router -- python3 "$here/ai-router.py" --model big --session demo "${1:-Hello}"
echo
echo "== the trace: the router's run, its log lines, the nested llama-completion run and its attempts"
airun trace "$trace"
echo "records in $log_dir; trace id:"
echo "$trace"
