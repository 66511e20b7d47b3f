#!/usr/bin/env bash
# On a machine with an NVIDIA GPU and PyTorch: does airun's GPU sampling see what nvidia-smi sees?
# Runs a PyTorch job that holds ~20 GiB of GPU memory and computes for 10 s under airun, while a
# separate `nvidia-smi --query-compute-apps` loop records the job's own figure; then compares
# airun's peak_child_gpu_memory_mb with it (target: within 5 %).
#
#   [BACKENDS="nvml nvidia-smi"] bench/gpu-check.sh [AIRUN]      # AIRUN defaults to .build/release/airun (build it static first:
#                                   # swift build -c release --static-swift-stdlib)
set -euo pipefail
cd "$(dirname "$0")/.."
airun=${1:-.build/release/airun}
command -v nvidia-smi >/dev/null || { echo "skipped: no nvidia-smi on this machine"; exit 0; }
python3 -c 'import torch; assert torch.cuda.is_available()' 2>/dev/null || { echo "skipped: no PyTorch with CUDA"; exit 0; }
logs=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$logs"' EXIT
job='import torch, time
x = torch.empty(20 * 1024**3, dtype=torch.uint8, device="cuda")
a = torch.randn(8192, 8192, device="cuda", dtype=torch.bfloat16)
t = time.time()
while time.time() - t < 10:
    a = (a @ a).clamp_(-1, 1)
torch.cuda.synchronize()
print("done")'

status=0
for backend in ${BACKENDS:-nvml nvidia-smi}; do
echo "== backend $backend"
rm -f "$logs"/*
# The watcher's stderr goes to the file too: on the caller's pipe it would hold that open forever.
nvidia-smi --query-compute-apps=pid,used_memory --format=csv,noheader,nounits -lms 500 > "$logs/apps.csv" 2>&1 &
watcher=$!
# A static airun loads NVML only when asked (AIRUN_NVML_STATIC=1): see docs/records.md.
AIRUN_NVML_STATIC=1 "$airun" --log-dir "$logs" --sample-interval 500ms --gpu-backend "$backend" -- python3 -c "$job" \
  || { echo "airun exited with $?"; status=1; }
kill "$watcher" 2>/dev/null || true
python3 - "$logs" <<'PY' || status=1
import glob, json, sys
logs = sys.argv[1]
records = [json.loads(l) for f in glob.glob(logs + "/airun-*.jsonl") for l in open(f)]
end = [r for r in records if r["event"] == "attempt.end"][-1]
pid = end["pid"]
seen = [float(l.split(",")[1]) for l in open(logs + "/apps.csv") if l.split(",")[0].strip() == str(pid)]
truth = max(seen) if seen else None
ours = end.get("peak_child_gpu_memory_mb")
print(f"nvidia-smi (separate loop): {truth} MiB for pid {pid}")
print(f"airun peak_child_gpu_memory_mb: {ours}; peak_gpu_memory_used_mb: {end.get('peak_gpu_memory_used_mb')}; "
      f"mean_gpu_utilization_percent: {end.get('mean_gpu_utilization_percent')}; gpu_energy_joules: {end.get('gpu_energy_joules')}")
ok = truth and ours and abs(ours - truth) <= 0.05 * truth
print("within 5 %:", "yes" if ok else "NO")
sys.exit(0 if ok else 1)
PY
done
exit $status
