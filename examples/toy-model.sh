#!/bin/sh
# A stand-in for a local model that needs nothing installed: it logs to stderr the way llama.cpp
# does (timestamped lines, perf summary), streams "tokens" to stdout, and exits like the real thing.
#
#   airun -- examples/toy-model.sh "Why is the sky blue?"          # succeeds
#   airun -- examples/toy-model.sh --fail "Why is the sky blue?"   # fails to load its model
#   TRACE_ID / TRACEPARENT / AIRUN_* are visible to it: try `examples/toy-model.sh --show-trace`
fail=0
case "$1" in
  --fail) fail=1; shift ;;
  --show-trace) echo "TRACE_ID=$TRACE_ID"; echo "TRACEPARENT=$TRACEPARENT"; echo "AIRUN_REQUEST_ID=$AIRUN_REQUEST_ID"; exit 0 ;;
esac
prompt=${1:-"Hello"}
echo "0.00.000.512 I llama_model_loader: loaded meta data with 24 key-value pairs from toy-model.gguf" >&2
if [ "$fail" = 1 ]; then
  echo "0.00.001.030 E gguf_init_from_file: failed to open GGUF file 'toy-model.gguf' (No such file or directory)" >&2
  echo "0.00.001.041 E llama_model_load_from_file_impl: failed to load model" >&2
  exit 1
fi
echo "0.00.003.200 I main: prompt: '$prompt'" >&2
for word in The sky looks blue because air scatters short wavelengths most. ; do
  printf '%s ' "$word"
  sleep 0.05
done
printf '\n'
echo "0.00.650.100 I common_perf_print:        load time =       3.20 ms" >&2
echo "0.00.650.110 I common_perf_print: prompt eval time =       4.00 ms /     8 tokens (    0.50 ms per token,  2000.00 tokens per second)" >&2
echo "0.00.650.120 I common_perf_print:        eval time =     550.00 ms /    11 runs   (   50.00 ms per token,    20.00 tokens per second)" >&2
