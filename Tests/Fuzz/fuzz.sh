#!/usr/bin/env bash
# Builds the fuzz harness (Sources/AirunCore plus Tests/Fuzz/Harness.swift, with libFuzzer and
# AddressSanitizer) once, then fuzzes each target for SECONDS from its seed corpus in
# Tests/Fuzz/corpus/TARGET. Fails on the first crash, trap, leak or timeout, leaving the input in
# .build/fuzz/crash-*. New corpus entries go to .build/fuzz/corpus, never into the repository.
#
#   Tests/Fuzz/fuzz.sh                 # every target, 60 s each (what CI runs)
#   Tests/Fuzz/fuzz.sh 3600 regex      # one target for an hour
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(toml classifier redactor capture llamaperf regex gguf records export promptcheck readers proc state server)

out=.build/fuzz
mkdir -p "$out"
binary=$out/airun-fuzz
sources=$(find Sources/AirunCore -name '*.swift' | sort)
if [ ! -x "$binary" ] || [ -n "$(find Sources/AirunCore Tests/Fuzz/Harness.swift -newer "$binary" -name '*.swift' | head -1)" ]; then
  echo "fuzz: building the harness with -sanitize=fuzzer,address"
  # shellcheck disable=SC2086
  swiftc -sanitize=fuzzer,address -parse-as-library -O -swift-version 6 -module-name AirunCore \
    -enable-upcoming-feature InternalImportsByDefault -enable-upcoming-feature ExistentialAny \
    $sources Tests/Fuzz/Harness.swift -o "$binary" 2>&1 | grep -v "Cannot export local symbol" || true
  # A harness that no longer compiles (an API it calls changed) fails here, not as 127s below.
  [ -x "$binary" ] && [ -z "$(find Sources/AirunCore Tests/Fuzz/Harness.swift -newer "$binary" -name '*.swift' | head -1)" ] \
    || { echo "fuzz: the harness did not build (see the errors above)"; exit 1; }
fi

export SWIFT_BACKTRACE=enable=no  # the backtracer would spend 30 s on every crash
failed=0
for target in "${targets[@]}"; do
  corpus=$out/corpus/$target
  mkdir -p "$corpus"
  log=$out/$target.log
  set +e
  FUZZ_TARGET=$target "$binary" "$corpus" "Tests/Fuzz/corpus/$target" -max_total_time="$seconds" -timeout=10 \
    -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 -artifact_prefix="$out/$target-" >"$log" 2>&1
  status=$?
  set -e
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
  if [ $status -eq 0 ]; then
    echo "fuzz $target: $runs executions in ${seconds} s, no crash"
  else
    echo "fuzz $target: FAILED (exit $status) after $runs executions; input in $out/$target-*"
    grep -E "ERROR|Fatal error|==[0-9]+==|SUMMARY" "$log" | head -20
    failed=1
  fi
done
exit $failed
