#!/usr/bin/env bash
# --capture-dir (redacted, the default) while the child prints base64 text, against `tee FILE`
# writing the same output to a file, in the same run. Target (issue 25): airun's throughput at
# least 0.5 x tee's. Base64 is the shape that costs the redactor most: every byte may start a token.
#
#   bench/capture.sh [MB]        # default 405 MB of base64 (300 MB of random bytes)
source "$(dirname "$0")/common.sh"
size_mb=${1:-405}
head -c "$((size_mb * 3 / 4))M" /dev/urandom | base64 > "$BENCH_TMP/data"
cat "$BENCH_TMP/data" > /dev/null  # warm the page cache
# Each run first removes the previous run's copy, tee's and airun's alike: capture files left to
# pile up (1.2 GB over six runs) measured the disk's write-back, not airun.
t_tee=$(median_seconds 3 "rm -f '$BENCH_TMP/tee.out'; cat '$BENCH_TMP/data' | tee '$BENCH_TMP/tee.out' > /dev/null")
t_airun=$(median_seconds 3 "rm -rf '$BENCH_TMP/capture'; '$AIRUN' -q --log-dir '$BENCH_TMP/logs' --capture-dir '$BENCH_TMP/capture' -- cat '$BENCH_TMP/data' > /dev/null")
# The same with two secrets in the environment, as most of airun's users run it (HF_TOKEN, an API
# key): their values are searched for in the capture too.
secrets="HF_TOKEN=hf_QmVuY2hUb2tlbkZvckFpcnVuQ2FwdHVyZQ OPENAI_API_KEY=sk-proj-QmVuY2hLZXlGb3JBaXJ1bkNhcHR1cmU0"
t_secrets=$(median_seconds 3 "rm -rf '$BENCH_TMP/capture'; env $secrets '$AIRUN' -q --log-dir '$BENCH_TMP/logs' --capture-dir '$BENCH_TMP/capture' -- cat '$BENCH_TMP/data' > /dev/null")
t_raw=$(median_seconds 3 "rm -rf '$BENCH_TMP/capture'; '$AIRUN' -q --log-dir '$BENCH_TMP/logs' --capture-dir '$BENCH_TMP/capture' --capture-raw -- cat '$BENCH_TMP/data' > /dev/null")
echo "$(du -m "$BENCH_TMP/data" | cut -f1) MB of base64: tee ${t_tee} s, airun --capture-dir ${t_airun} s (with two secrets in the environment ${t_secrets} s), with --capture-raw ${t_raw} s"
awk -v t="$t_tee" -v a="$t_airun" -v s="$t_secrets" -v r="$t_raw" 'BEGIN {
  printf "airun --capture-dir (redacted) runs at %.2fx tee (target >= 0.5)\n", t / a
  printf "airun --capture-dir with HF_TOKEN and OPENAI_API_KEY set runs at %.2fx tee\n", t / s
  printf "airun --capture-dir --capture-raw runs at %.2fx tee\n", t / r }'
