#!/usr/bin/env python3
"""A small AI router: picks a model for a prompt, runs llama.cpp through airun, prints the answer.

    airun -- python3 ai-router.py --model big "Why is the sky blue?"

Run under airun (the `ai-router` profile is chosen by this file's name), its log lines join the
trace as child.log records, and each llama.cpp run is a nested airun run in the same trace, with
the model's id, a session tag and the model's fallback. Standard library only.

The models table: id -> GGUF file (under $MODELS_DIR, default ~/models), fallback id, context size.
"""
import argparse
import json
import logging
import os
import subprocess
import sys
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import airun_logging  # noqa: E402

MODELS = {
    "big": {"file": "big-q4_k_m.gguf", "fallback": "tiny", "context": 512},
    "tiny": {"file": "tiny.gguf", "fallback": None, "context": 256},
}

log = logging.getLogger("router")


def model_path(model_id):
    return os.path.join(os.path.expanduser(os.environ.get("MODELS_DIR", "~/models")), MODELS[model_id]["file"])


def choose(prompt, asked):
    """The model for a prompt: the one asked for, else the big one for long prompts."""
    if asked:
        return asked
    return "big" if len(prompt) > 200 else "tiny"


def run_model(model_id, prompt, session, tokens):
    """Runs llama-completion on the model through airun; returns (exit status, answer)."""
    model = MODELS[model_id]
    command = ["airun", "--model-id", model_id, "--tag", f"session={session}"]
    if model["fallback"]:
        command += ["--fallback-model", model_path(model["fallback"])]
    command += ["--", "llama-completion", "-m", model_path(model_id), "-c", str(model["context"]),
                "-n", str(tokens), "-p", prompt, "-no-cnv", "--no-warmup", "--perf"]
    log.info("running model", extra={"model": model_id, "fallback": model["fallback"], "session": session})
    # stderr (llama.cpp's log, airun's lines) passes through; stdout is the answer.
    done = subprocess.run(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True, errors="replace")
    return done.returncode, done.stdout


def answering_model(asked):
    """The model that answered: the last successful llama.cpp attempt in this trace names it (the
    fallback's id when the asked-for model failed). Without airun's records, the one asked for."""
    trace = os.environ.get("TRACE_ID")
    if not trace:
        return asked
    try:
        found = subprocess.run(["airun", "logs", "--trace", trace, "--event", "attempt.end", "--json"],
                               stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return asked
    answered = asked
    for line in found.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if record.get("exit_code") == 0 and record.get("model_id") in MODELS:
            answered = record["model_id"]
    return answered


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("prompt")
    parser.add_argument("--model", choices=sorted(MODELS), help="the model to ask (default: by prompt length)")
    parser.add_argument("--tokens", type=int, default=16, help="tokens to generate")
    parser.add_argument("--session", default=None, help="a session id for the tags (default: a new one)")
    args = parser.parse_args()
    airun_logging.setup()
    session = args.session or "s-" + uuid.uuid4().hex[:8]
    model_id = choose(args.prompt, args.model)
    log.info("request received", extra={"session": session, "prompt_chars": len(args.prompt), "model": model_id})
    upstream_key = os.environ.get("ROUTER_UPSTREAM_KEY")
    if upstream_key:
        # A careless line a real router might have: the filter (and airun) mask the key.
        log.info(f"upstream configured with key {upstream_key}")
    status, answer = run_model(model_id, args.prompt, session, args.tokens)
    if status != 0:
        log.error("model run failed", extra={"model": model_id, "exit_status": status})
        return status
    log.info("answer ready", extra={"model": answering_model(model_id), "asked": model_id, "answer_chars": len(answer)})
    print(answer.strip())
    return 0


if __name__ == "__main__":
    sys.exit(main())
