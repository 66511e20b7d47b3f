#!/usr/bin/env bash
# Writes Sources/airun/startup.order: the functions a short run executes, which the release link
# places together at the start of the binary's code (lld --symbol-ordering-file, Package.swift).
# Spread over 7 MB of code, they were ~80 page faults of each `airun -- /bin/true`; together, ~35.
# Run it after changes to the run path, then bench/overhead.sh; a name that no longer exists is
# skipped by the linker, so a stale list only costs speed, never correctness.
#
#   bench/startup-order.sh      # needs valgrind; builds the release binary (AIRUN=... uses another)
source "$(dirname "$0")/common.sh"
command -v valgrind >/dev/null || { echo "needs valgrind (apt-get install valgrind)"; exit 1; }
# callgrind reads symbols, not debug info: a copy without it starts faster under valgrind.
strip --strip-debug -o "$BENCH_TMP/airun" "$AIRUN"
runs=(
  "-q -- /bin/true"
  "-q -- sh -c 'echo out; echo err >&2; exit 3'"
  "-q --retries 1 -- sh -c 'head -c 70000 /dev/zero | tr \"\\\\0\" x >&2; exit 1'"
)
for k in "${!runs[@]}"; do
  eval "valgrind --tool=callgrind --demangle=no --callgrind-out-file='$BENCH_TMP/cg.$k' '$BENCH_TMP/airun' --log-dir '$BENCH_TMP/logs' ${runs[k]}" \
    >/dev/null 2>&1 || true
done
# The standard library's main code section is one 1.6 MB input section (the rest of it is one
# section per function): ordering by one of its names would pull all of it in front, so its
# names are left out and it stays where the linker puts it. Sorted: the order within the group
# does not matter for the page faults, and a sorted list changes only where the functions do.
core=$(dirname "$(readlink -f "$(command -v swiftc)")")/../lib/swift_static/linux/libswiftCore.a
(cd "$BENCH_TMP" && ar x "$core" Swift.o)
readelf -sW "$BENCH_TMP/Swift.o" | awk '$4 == "FUNC" && $7 == "2" { print $8 }' | sort -u > "$BENCH_TMP/one-section"
grep -hoE '^c?fn=\([0-9]+\) .+' "$BENCH_TMP"/cg.* | sed -E 's/^c?fn=\([0-9]+\) //; s/'"'"'[0-9]+$//' \
  | grep -v '^0x' | grep -vxFf "$BENCH_TMP/one-section" | LC_ALL=C sort -u > Sources/airun/startup.order
echo "Sources/airun/startup.order: $(wc -l < Sources/airun/startup.order) functions"
