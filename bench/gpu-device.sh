#!/usr/bin/env bash
# Everything airun does with a real NVIDIA GPU, in one run, for a session lent a GPU machine:
# AIRUN is the static release binary; DYNAMIC, optional, a build linked to the machine's glibc
# (swift build --static-swift-stdlib: a debug build, Swift's runtime static, glibc dynamic), which
# loads the real libnvidia-ml where a static airun cannot.
#   1. the machine, and nvidia-smi's raw answers to the exact queries airun sends (kept as fixtures)
#   2. `airun gpu` and `airun gpu --json`, idle and while a PyTorch job holds 20 GiB
#   3. bench/gpu-check.sh: peak_child_gpu_memory_mb against a separate nvidia-smi loop (both backends)
#   4. a real PyTorch CUDA out-of-memory under airun: must be classified GPU_OOM, exit status kept
#   5. airun's own CPU while sampling a real GPU at 1 s and 100 ms (both backends), against `sleep`
# Each step's output goes to $OUT (the device tool's folder) or ./gpu-out.
#
#   bench/gpu-device.sh [AIRUN [DYNAMIC]]     # AIRUN: swift build -c release --static-swift-stdlib
set -uo pipefail
cd "$(dirname "$0")/.."
airun=$(realpath "${1:-.build/release/airun}")
dynamic=${2:+$(realpath "$2")}
out=${OUT:-$PWD/gpu-out}
mkdir -p "$out"
command -v nvidia-smi >/dev/null || { echo "skipped: no nvidia-smi on this machine"; exit 0; }
export AIRUN_NVML_STATIC=1 PYTHONUNBUFFERED=1
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$work"' EXIT
step() { echo; echo "===== $*"; }

step "1. machine"
{ uname -a; ldd --version | head -1; nvidia-smi -L; nvidia-smi --version; "$airun" --version; } 2>&1
gpu_fields=$(sed -n 's/.*gpuFields = "\(.*\)"/\1/p' Sources/AirunCore/Sampling/GPUReadings.swift)
app_fields=$(sed -n 's/.*appFields = "\(.*\)"/\1/p' Sources/AirunCore/Sampling/GPUReadings.swift)
snap_fields=$(sed -n '/static let fields = /,/clocks.mem"/p' Sources/AirunCLI/Commands/GPUCommand.swift | grep -o '"[^"]*"' | tr -d '"\n')
nvidia-smi > "$out/nvidia-smi.txt" 2>&1
timeout 2 nvidia-smi --query-gpu="$gpu_fields" --format=csv,noheader,nounits -lms 250 > "$out/nvidia-smi-query-gpu-loop.txt" 2>&1
echo "query-gpu loop (sampling fields):"; cat "$out/nvidia-smi-query-gpu-loop.txt"

hold='import torch, time, sys
x = torch.empty(20 * 1024**3, dtype=torch.uint8, device="cuda")
torch.cuda.synchronize(); print("holding", flush=True)
time.sleep(float(sys.argv[1]))'

step "2. airun gpu, idle"
"$airun" gpu; "$airun" gpu --json
python3 -c "$hold" 20 > "$work/hold.out" 2>&1 &
holder=$!
for _ in $(seq 60); do grep -q holding "$work/hold.out" && break; sleep 0.5; done
step "2. airun gpu, while pid $holder holds 20 GiB"
"$airun" gpu; "$airun" gpu --json
nvidia-smi --query-gpu="$snap_fields" --format=csv,noheader,nounits > "$out/nvidia-smi-query-gpu-snapshot.txt" 2>&1
nvidia-smi --query-compute-apps="$app_fields" --format=csv,noheader,nounits > "$out/nvidia-smi-query-compute-apps.txt" 2>&1
echo "compute apps:"; cat "$out/nvidia-smi-query-compute-apps.txt"
kill "$holder" 2>/dev/null; wait "$holder" 2>/dev/null

step "3. bench/gpu-check.sh, static airun"
bench/gpu-check.sh "$airun"; echo "gpu-check exit $?"
if [ -n "$dynamic" ]; then
  step "3. bench/gpu-check.sh, NVML from the dynamic build"
  BACKENDS=nvml bench/gpu-check.sh "$dynamic"; echo "gpu-check exit $?"
fi

step "4. a real CUDA out-of-memory under airun"
oom='import torch
torch.empty(4096 * 1024**3, dtype=torch.uint8, device="cuda")'
"$airun" --log-dir "$work/oom" -- python3 -c "$oom" 2> "$work/oom.err"
echo "airun exit $? (python alone exits 1)"
tail -n 3 "$work/oom.err"
python3 - "$work/oom" <<'PY'
import glob, json, sys
records = [json.loads(l) for f in glob.glob(sys.argv[1] + "/airun-*.jsonl") for l in open(f)]
end = [r for r in records if r["event"] == "run.end"][-1]
print("run.end:", {k: end.get(k) for k in ("exit_code", "error_code", "status")})
print("GPU_OOM classified:", "yes" if end.get("error_code") == "GPU_OOM" else "NO")
PY
"$airun" logs --log-dir "$work/oom" 2>&1 | tail -n 5

step "5. airun's own CPU while sampling a real GPU (sleep 20)"
for backend in ${SAMPLING_BACKENDS:-nvml nvidia-smi}; do
  bin=$airun
  [ "$backend" = nvml ] && { [ -n "$dynamic" ] || continue; bin=$dynamic; }
  for interval in 1s 100ms; do
    rm -rf "$work/s"
    cpu=$("$bin" -q --log-dir "$work/s" --gpu-backend "$backend" --sample-interval "$interval" -- \
      sh -c "sleep 20; awk '{ print (\$14 + \$15) / $(getconf CLK_TCK) }' /proc/\$PPID/stat")
    seen=$(python3 -c 'import glob, json, sys
end = [json.loads(l) for f in glob.glob(sys.argv[1] + "/airun-*.jsonl") for l in open(f) if "attempt.end" in l][-1]
print(end.get("sample_count"), "samples, peak GPU memory", end.get("peak_gpu_memory_used_mb"), "MiB")' "$work/s")
    awk -v b="$backend" -v i="$interval" -v c="$cpu" -v s="$seen" \
      'BEGIN { printf "%-10s %-5s airun CPU %.3f s = %.3f %% of a core (%s)\n", b, i, c, c * 5, s }'
  done
done
echo "target: <= 0.2 % of one core at 1s (the nvml rows are the debug build's)"
