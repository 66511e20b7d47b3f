#!/usr/bin/env bash
# Runs the whole suite (Tests/test.sh, with its arguments) on a busy machine: one CPU hog per core
# plus one, and a disk writer that writes and syncs 64 MB over and over, as on a machine that is
# also compiling. A test that blocks the Swift concurrency pool, types into a terminal before the
# last output appeared, or times itself by the wall clock fails here first. .ci/run runs it once
# after the normal run.
#
#   Tests/tools/load-check.sh --skip-build
set -euo pipefail
cd "$(dirname "$0")/../.."

hogs=$(( $(nproc) + 1 ))
scratch=$(mktemp -d)
pids=()
stop_load() {
  for pid in "${pids[@]}"; do pkill -P "$pid" 2>/dev/null || true; kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$scratch"
}
trap stop_load EXIT
for _ in $(seq "$hogs"); do
  ( while :; do :; done ) &
  pids+=($!)
done
( while :; do dd if=/dev/zero of="$scratch/disk" bs=1M count=64 conv=fsync status=none; done ) &
pids+=($!)
echo "load-check: $hogs CPU hogs and a disk writer on $(nproc) cores; the suite runs under them" >&2
start=$(date +%s)
status=0
Tests/test.sh "$@" || status=$?
echo "load-check: the suite took $(( $(date +%s) - start )) s under load, exit $status" >&2
exit "$status"
