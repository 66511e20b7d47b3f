#!/usr/bin/env bash
# Per-run overhead of `airun -q -- /bin/true` against bare `/bin/true` and against GNU time's own
# overhead (`/usr/bin/time -o /dev/null /bin/true`). Usage: bench/overhead.sh [RUNS]
# Target (issue 25, the brief): airun's extra time ≤ 1.5 × GNU time's extra time.
source "$(dirname "$0")/common.sh"
runs=${1:-500}
gnutime=/usr/bin/time
[ -x "$gnutime" ] || { echo "GNU time not found (apt-get install time)"; exit 1; }

# Median of 7 batches of $runs runs each, in microseconds per run; one bash loop, so only the
# command's own fork/exec/wait is measured. The three commands take turns batch by batch, so a
# change in the machine's load during the run falls on all three alike.
batch() {
  local t0=$EPOCHREALTIME
  for ((i = 0; i < runs; i++)); do "$@" >/dev/null; done
  local t1=$EPOCHREALTIME
  echo $(( (${t1/./} - ${t0/./}) / runs ))
}
median() { printf '%s\n' "$@" | sort -n | sed -n "$(( ($# + 1) / 2 ))p"; }
bares=() gnus=() ourss=()
for round in 1 2 3 4 5 6 7; do
  bares+=("$(batch /bin/true)")
  gnus+=("$(batch "$gnutime" -o /dev/null /bin/true)")
  ourss+=("$(batch "$AIRUN" -q --log-dir "$BENCH_TMP/logs" -- /bin/true)")
done
bare=$(median "${bares[@]}") gnu=$(median "${gnus[@]}") ours=$(median "${ourss[@]}")
gnu_extra=$((gnu - bare)); ours_extra=$((ours - bare))
echo "bare true:            ${bare} us/run"
echo "GNU time:             ${gnu} us/run (+${gnu_extra} us)"
echo "airun -q:             ${ours} us/run (+${ours_extra} us, 4 records each)"
# The ratio of each round's own batches (taken a moment apart), then the median of the seven.
ratios=()
for k in 0 1 2 3 4 5 6; do
  ratios+=("$(awk -v b="${bares[k]}" -v g="${gnus[k]}" -v a="${ourss[k]}" 'BEGIN { printf "%.2f", (a - b) / (g - b) }')")
done
echo "overhead ratio airun/GNU time: $(median "${ratios[@]}") (target <= 1.50; rounds: ${ratios[*]})"

# The end of a chatty failing run: 300 KB on stderr, exit 3, so full 64 KiB tails are classified
# and read for llama.cpp's figures. Its extra time against the same command bare (no target: it
# shows what reading the tails costs; a String search over them once cost ~30 ms a run).
head -c 300000 /dev/urandom | base64 > "$BENCH_TMP/chatty"
chatty="cat '$BENCH_TMP/chatty' >&2; exit 3"
runs=$((runs / 10 > 5 ? runs / 10 : 5))
bare_chatty=$(batch sh -c "$chatty" 2>/dev/null)
ours_chatty=$(batch "$AIRUN" -q --log-dir "$BENCH_TMP/logs" -- sh -c "$chatty" 2>/dev/null)
echo "a chatty failing run: bare ${bare_chatty} us, airun -q ${ours_chatty} us (+$((ours_chatty - bare_chatty)) us)"

# Where airun's own time goes (issue 25): with perf(1), `PHASES=1 bench/overhead.sh` samples 200
# runs and prints each phase's share of the samples taken in airun's process (its kernel time
# included: exec, page faults, the vfork'd child until it execs /bin/true, exit). Shares overlap
# where one phase calls another (spawn is inside the attempt); the generic-metadata line is
# Swift's runtime instantiating generic types on first use, wherever that happens.
if [ "${PHASES:-0}" = 1 ]; then
  command -v perf >/dev/null || { echo "phases need perf (apt-get install linux-perf)"; exit 0; }
  perf record -q -F 20000 -g -o "$BENCH_TMP/perf.data" -- bash -c \
    "for i in \$(seq 200); do '$AIRUN' -q --log-dir '$BENCH_TMP/logs' -- /bin/true >/dev/null; done" 2>/dev/null
  # The process's name is the binary's file name, cut to 15 characters by the kernel.
  perf report -i "$BENCH_TMP/perf.data" --comm "$(basename "$AIRUN" | cut -c1-15)" --children --stdio -g none --percent-limit 0 2>/dev/null \
    | python3 -c '
import re, sys
rows = [(float(m.group(1)), float(m.group(2)), m.group(3), m.group(4)) for m in
        (re.match(r"\s*([\d.]+)%\s+([\d.]+)%\s+(?:\S+\s+){1,2}\[(.)\]\s+(.*)", l) for l in sys.stdin) if m]
total = sum(self for _, self, _, _ in rows) or 1
def share(*patterns):
    return max([c for c, _, _, sym in rows if any(p in sym for p in patterns)] or [0]) / total * 100
kernel = sum(s for _, s, k, _ in rows if k == "k") / total * 100
main = share("AirunCLI9airunMain")
phases = [
    ("exec, libc and Swift runtime start-up, exit (outside airunMain)", 100 - main),
    ("airunMain, all of it (its system calls included)", main),
    ("  what airun was started with (closed fds, ignored signals)", share("9InheritedV4take", "takeIgnoredSignals")),
    ("  options parsed", share("15parseInvocation")),
    ("  Run.init: environment, redactor, console", share("3RunC7options9inherited")),
    ("  trace id and profile lookup, parse, adopt", share("TraceResolutionV7resolve") + share("ProfileLocatorV7resolve")),
    ("  config and record file opened", share("9openSinks")),
    ("  records encoded and appended", share("LogFileSinkC5writeyy") + share("LogFileSinkC5write5batch")),
    ("  the attempt: supervisor (spawn, poll, reap)", share("10SupervisorC3run")),
    ("    of which spawn (vfork, exec of the child)", share("11AirunSystem5spawn")),
    ("  diagnosis of the outcome", share("9DiagnosisV8findings")),
    ("kernel time, anywhere (exec, page faults, system calls, the child until it execs)", kernel),
    ("generic types made at run time, anywhere (Swift metadata on first use)", share("__swift_instantiateConcreteTypeFromMangledName")),
]
print("where airun'"'"'s own time goes (perf samples in its process, 200 runs):")
for name, pct in phases: print(f"  {name:<82} {pct:5.1f} %")
'
fi
