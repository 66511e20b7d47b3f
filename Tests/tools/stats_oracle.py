#!/usr/bin/env python3
"""An independent computation of `airun stats --json` over a log directory, from the definitions
in docs/reading.md, with Python's json module: the test compares the two figure by figure.

    stats_oracle.py LOGDIR [--by model|command|tag:KEY]... [--since US] [--until US]
"""
import json, math, os, re, sys
from datetime import datetime, timezone

def micros(stamp):
    dt = datetime.strptime(stamp[:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=timezone.utc)
    frac = stamp[20:-1] if len(stamp) > 20 else ""
    return int(dt.timestamp()) * 1_000_000 + int((frac + "000000")[:6] or 0)

def files(directory):
    names = []
    for name in os.listdir(directory):
        m = re.fullmatch(r"airun-(\d{8})(?:\.([1-9]\d*))?\.jsonl", name)
        if m:
            names.append(((m.group(1), int(m.group(2) or 0)), name))
    return [os.path.join(directory, n) for _, n in sorted(names)]

def main():
    args = sys.argv[1:]
    directory, groupings, since, until = args[0], [], None, None
    i = 1
    while i < len(args):
        if args[i] == "--by": groupings.append(args[i + 1])
        if args[i] == "--since": since = int(args[i + 1])
        if args[i] == "--until": until = int(args[i + 1])
        i += 2
    groupings = groupings or ["model", "command"]
    window = lambda t: (since is None or t >= since) and (until is None or t < until)
    commands, groups = {}, {g: {} for g in groupings}
    by_code, by_category, by_model = {}, {}, {}
    attempts = failures = 0
    first = last = None
    for path in files(directory):
        with open(path, "rb") as f:
            for raw in f:
                try:
                    r = json.loads(raw)
                except ValueError:
                    continue
                if not isinstance(r, dict) or r.get("logger") != "airun": continue
                event, t = r.get("event"), micros(r["timestamp"])
                if event == "attempt.start":
                    argv = r.get("command_args") or [""]
                    commands[r["request_id"]] = argv[0].split("/")[-1]
                elif event == "attempt.end":
                    command = commands.pop(r["request_id"], "(unknown)")
                    if not window(t): continue
                    first = t if first is None else min(first, t)
                    last = t if last is None else max(last, t)
                    attempts += 1
                    ok = r.get("status") == "succeeded"
                    failures += 0 if ok else 1
                    for g in groupings:
                        key = {"model": r.get("model_id") or "(none)", "command": command}.get(g)
                        if g.startswith("tag:"): key = (r.get("tags") or {}).get(g[4:], "(none)")
                        a = groups[g].setdefault(key, {"n": 0, "ok": 0, "d": [], "tps": [], "rss": None, "gpu": None})
                        a["n"] += 1; a["ok"] += 1 if ok else 0; a["d"].append(r["duration_ms"])
                        if r.get("tokens_per_second") is not None: a["tps"].append(r["tokens_per_second"])
                        rss = r.get("peak_rss_mb") if r.get("peak_rss_mb") is not None else r.get("max_rss_mb")
                        if rss is not None: a["rss"] = rss if a["rss"] is None else max(a["rss"], rss)
                        gpu = r.get("peak_gpu_memory_used_mb")
                        if gpu is not None: a["gpu"] = gpu if a["gpu"] is None else max(a["gpu"], gpu)
                elif event == "error" and window(t):
                    for d, k in ((by_code, r["error_code"]), (by_category, r["error_category"]), (by_model, r.get("model_id") or "(none)")):
                        d[k] = d.get(k, 0) + 1
    def pct(values, p):
        s = sorted(values)
        return s[max(0, min(len(s) - 1, math.ceil(p / 100 * len(s)) - 1))] if s else None
    # A person's interruptions (errors of category user) are neither successes nor failures.
    interrupted = min(by_category.get("user", 0), failures)
    failures -= interrupted
    out = {"attempts": attempts, "failures": failures, "interrupted": interrupted,
           "error_rate": failures / (attempts - interrupted) if attempts > interrupted else 0}
    for g in groupings:
        out["by_" + g] = {k: {"attempts": a["n"], "succeeded": a["ok"], "success_percent": a["ok"] * 100 / a["n"],
                              "p50_duration_ms": pct(a["d"], 50), "p95_duration_ms": pct(a["d"], 95), "max_duration_ms": max(a["d"]),
                              "mean_tokens_per_second": sum(a["tps"]) / len(a["tps"]) if a["tps"] else None,
                              "peak_rss_mb": a["rss"], "peak_gpu_memory_mb": a["gpu"]} for k, a in groups[g].items()}
    out["errors_by_code"], out["errors_by_category"], out["errors_by_model"] = by_code, by_category, by_model
    json.dump(out, sys.stdout)

main()
