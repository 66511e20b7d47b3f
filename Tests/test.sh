#!/usr/bin/env bash
# The project's test command (the README's, and .ci/run's): `swift test` with its arguments, then,
# as the last lines, the tests that were skipped, why, and the one command that runs them, and a
# closing count. Its exit status is swift test's; with AIRUN_FAIL_ON_SKIP=1 (CI), a skipped test
# fails it too.
#
#   Tests/test.sh                      # build and run everything this machine can run
#   Tests/test.sh --filter Redaction   # any swift test arguments
set -uo pipefail
cd "$(dirname "$0")/.."

log=$(mktemp)
trap 'rm -f "$log"' EXIT
swift test "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}

# Swift Testing's lines: ✔ Test "name" passed…, ✘ Test "name" failed…, ➜ Test "name" skipped: "why".
passed=$(grep -cE '^(✔ Test "|━ Test "[^"]*" passed)' "$log")
failed=$(grep -cE '^✘ Test "[^"]*"( with [0-9]+ arguments?.*)? failed' "$log")
skips=$(grep -E '^➜ Test "[^"]*" skipped' "$log" | sed -E 's/^➜ Test "([^"]*)" skipped(: "(.*)")?$/\3|\1/')
skipped=$(printf '%s' "$skips" | grep -c . || true)

echo
if [ "$skipped" -gt 0 ]; then
  echo "Skipped $skipped tests, for want of a tool on this machine:"
  printf '%s\n' "$skips" | sort | awk -F'|' '{ if ($1 != last) { print "  " ($1 == "" ? "(no reason given)" : $1) ":"; last = $1 } print "    - " $2 }'
  echo "To run them all: bash .ci/run   (installs the tools with apt-get and pip, builds llama.cpp once, runs this)"
fi
echo "tests: $passed passed, $failed failed, $skipped skipped"

if [ "$status" -eq 0 ] && [ "$skipped" -gt 0 ] && [ "${AIRUN_FAIL_ON_SKIP:-0}" = 1 ]; then
  echo "tests: $skipped skipped where every tool was installed to run them (AIRUN_FAIL_ON_SKIP=1)" >&2
  exit 1
fi
exit "$status"
