#!/usr/bin/env python3
"""Runs the command examples of README.md and docs/*.md, and checks that --help is documented.

    doc_examples.py --airun PATH [--llama DIR] [--only plain|llama] [--pages FILE] [--help-coverage]

Every ```console and ```sh block is run in a sandbox of its own: HOME, the working directory and
/tmp/ paths point into a fresh temporary directory, `airun` is the build under test, and the
llama.cpp tools of DIR (with its tiny model as $LLAMA_MODEL) are on PATH. A ```console block's
`$ ` lines are the commands (a trailing backslash continues one); the lines under a command are its
expected output (stdout and stderr together), compared line by line in order: a line `...` or `…`
may stand for any lines, `…` inside a line for any text (` … ` for nothing, too); ids, dates, times, pids and measurements
(a number with a decimal point or a unit) for any of their kind, llama.cpp's `N tok R tok/s` for
those figures or none, and runs of spaces for any (table
alignment). Exit statuses, counts and argument values are compared as written. A ```sh
block runs as a script and must exit 0.

HTML comments on the lines just above a block direct it; readers never see them:
    <!-- example-setup: SHELL -->          run first (hidden), e.g. to make ~/models/big.gguf
    <!-- example-output: unchecked (WHY) --> run the commands, do not compare what they print
    <!-- example: not run (WHY) -->          e.g. the test command itself; CI runs that anyway

Whatever the directives, an example never may print `unknown option`, `unknown command` or
`command not found`: an option a page shows must exist. A block that names a llama.cpp program
needs --llama (else it is reported as skipped). Prints one JSON line per block; exits 1 if any
block failed.
"""
import json, os, re, shutil, subprocess, sys, tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PAGES = ["README.md"] + sorted("docs/" + f for f in os.listdir(os.path.join(ROOT, "docs")) if f.endswith(".md"))
FORBIDDEN = ["unknown option", "unknown command", "command not found", ": not found"]
DIRECTIVE = re.compile(r"^<!-- example(-setup|-output)?: (.*) -->$")


def blocks(pages):
    for page in pages:
        lines = open(os.path.join(ROOT, page), encoding="utf-8").read().split("\n")
        i = 0
        while i < len(lines):
            m = re.match(r"^```(console|sh)$", lines[i])
            if not m:
                i += 1
                continue
            directives, j = [], i - 1
            while j >= 0 and DIRECTIVE.match(lines[j]):
                directives.insert(0, DIRECTIVE.match(lines[j]).groups())
                j -= 1
            end = lines.index("```", i + 1)
            yield {"page": page, "line": i + 1, "kind": m.group(1), "body": lines[i + 1:end], "directives": directives}
            i = end + 1


def commands(body):
    """[(command, [expected lines])] of a console block."""
    out, current = [], None
    for line in body:
        if current is not None and current[0].endswith("\\") and not current[1]:
            current[0] = current[0][:-1] + "\n" + line
        elif line.startswith("$ "):
            current = [line[2:], []]
            out.append(current)
        elif current is not None:
            current[1].append(line)
    return out


# What differs between two runs of one example, and what each may be instead. Exit statuses,
# counts, attempts and argument values are compared as written.
VARYING = [
    (" … ", "(?: .*)? "),
    ("…", ".*"),
    (r"\d{4}-\d\d-\d\d(?:[T ]\d\d:\d\d(?::\d\d(?:\.\d+)?)?Z?)?", r"\d{4}-\d\d-\d\d(?:[T ]\d\d:\d\d(?::\d\d(?:\.\d+)?)?Z?)?"),  # dates
    (r"\d\d:\d\d(?::\d\d(?:\.\d+)?)?", r"\d\d:\d\d(?::\d\d(?:\.\d+)?)?"),  # times of day
    (r"(?<![0-9A-Za-z])[0-9a-f]{8,}(?![0-9A-Za-z])", r"[0-9a-f]{8,}"),  # trace, span and request ids
    (r"pid \d+", r"pid \d+"),
    # Measurements: a number with a point or a unit. llama.cpp's figures are lost with its log's
    # last lines now and then, so one shown may be absent (`-`) in another run, and the reverse.
    (r"\d+(?:\.\d+)*(?:ms|s)\b", r"(?:-|\d+(?:\.\d+)*(?:ms|s))"),  # a duration, in either unit
    (r"\d+(?:\.\d+)*[MG]\b", r"(?:-|\d+(?:\.\d+)*[MG])"),
    (r"\d+(?:\.\d+)*%", r"\d+(?:\.\d+)*%"),
    (r"\d+(?:\.\d+)+", r"(?:-|\d+(?:\.\d+)*)"),
    (r"(?<= )-(?= |$)", r"(?:-|\d+(?:\.\d+)*[A-Za-z%]*)"),
    # llama.cpp's token figures on a summary, which its log loses now and then with the rest.
    (r" \d+ tok \d+(?:\.\d+)? tok/s", r"(?: \d+ tok(?: \d+(?:\.\d+)? tok/s)?)?"),
    (r" +", r" +"),
]
TOKEN = re.compile("|".join(f"({p})" for p, _ in VARYING))


def pattern(expected):
    """The regular expression an expected line stands for."""
    out, pos = "", 0
    for m in TOKEN.finditer(expected):
        out += re.escape(expected[pos:m.start()]) + VARYING[m.lastindex - 1][1]
        pos = m.end()
    return re.compile(out + re.escape(expected[pos:]) + r"\s*$")


def compare(expected, actual):
    """None when `expected` matches `actual` in order, else what did not."""
    lines, at = actual.split("\n"), 0
    for e in expected:
        if e.strip() in ("...", "…") or not e.strip():
            continue
        p = pattern(e.rstrip())
        while at < len(lines) and not p.match(lines[at]):
            at += 1
        if at == len(lines):
            return "expected line not found (in order): " + e
        at += 1
    return None


def run_block(block, airun, llama):
    sandbox = tempfile.mkdtemp(prefix="airun-doc-")
    try:
        return run_in(block, airun, llama, sandbox)
    finally:
        shutil.rmtree(sandbox, ignore_errors=True)


def run_in(block, airun, llama, sandbox):
    home, work, tmp, bin_ = (os.path.join(sandbox, d) for d in ("home", "work", "tmp", "bin"))
    for d in (home, work, tmp, bin_):
        os.makedirs(d)
    os.symlink(airun, os.path.join(bin_, "airun"))
    os.symlink(os.path.join(ROOT, "examples"), os.path.join(work, "examples"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRUN_", "OTEL_", "TRACE", "XDG_", "LLAMA_ARG"))}
    env.pop("TERM", None)
    env.update(HOME=home, TMPDIR=tmp, LC_ALL="C.UTF-8", PATH=bin_ + (":" + llama + "/bin" if llama else "") + ":" + env.get("PATH", "/usr/bin:/bin"))
    if llama:
        env["LLAMA_MODEL"] = os.path.join(llama, "tiny.gguf")
    fix = lambda text: text.replace("/tmp/", tmp + "/").replace("/var/lib/", tmp + "/var/lib/")
    setup = "\n".join(fix(v) for k, v in block["directives"] if k == "-setup")
    unchecked = any(k == "-output" and v.startswith("unchecked") for k, v in block["directives"])
    if block["kind"] == "sh":
        script, expected = setup + "\n" + fix("\n".join(block["body"])), []
    else:
        steps = commands(block["body"])
        # `$?` is restored before each command: a page may show `echo $?`.
        script = setup + "\n__rc=0\n"
        for i, (command, _) in enumerate(steps):
            command = fix(command)
            if "--follow" in command or "--watch" in command:
                # TERM, not INT: a test runner may start us with SIGINT ignored, which children inherit.
                command = "timeout -k 1 2 " + command
            script += f"echo '@@command {i}@@'; (exit $__rc)\n{{ {command}\n}} 2>&1; __rc=$?\n"
        expected = [e for _, e in steps]
    try:
        p = subprocess.run(["bash", "-c", script], cwd=work, env=env, stdin=subprocess.DEVNULL, capture_output=True, timeout=180)
    except subprocess.TimeoutExpired:
        return "timed out after 180 s"
    text = (p.stdout + p.stderr).decode("utf-8", "replace").replace(tmp + "/var/lib/", "/var/lib/").replace(tmp + "/", "/tmp/").replace(home, "/home/ana")
    for word in FORBIDDEN:
        if word in text.lower():
            return f"printed '{word}':\n{text[-1500:]}"
    if block["kind"] == "sh":
        return None if p.returncode == 0 else f"exit {p.returncode}:\n{text[-1500:]}"
    outputs = re.split(r"@@command \d+@@\n", text)[1:]
    for i, (out, want) in enumerate(zip(outputs, expected)):
        problem = None if unchecked else compare(want, out)
        if problem:
            return f"command {i + 1}: {problem}\n--- got:\n{out[-1500:]}"
    return None


def help_coverage(airun):
    """Options and variables that --help shows and no page mentions."""
    docs = "\n".join(open(os.path.join(ROOT, p), encoding="utf-8").read() for p in PAGES)
    helps = [["--help"]]
    top = subprocess.run([airun, "--help"], capture_output=True, text=True).stdout
    section = top.split("commands:")[-1] if "commands:" in top else top
    for name in re.findall(r"^  airun ([a-z][a-z-]+)", section, re.M):
        helps.append([name, "--help"])
    missing = []
    for args in helps:
        text = subprocess.run([airun] + args, capture_output=True, text=True).stdout
        for option in set(re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]+)", text)):
            if option not in docs:
                missing.append(f"{' '.join(args)}: {option}")
        for variable in set(re.findall(r"\b((?:AIRUN|OTEL)_[A-Z0-9_]+)\b", text)):
            if variable not in docs:
                missing.append(f"{' '.join(args)}: {variable}")
    return sorted(set(missing))


def main():
    args = sys.argv[1:]
    get = lambda flag: args[args.index(flag) + 1] if flag in args else None
    airun, llama, only = os.path.abspath(get("--airun")), get("--llama"), get("--only")
    if "--help-coverage" in args:
        missing = help_coverage(airun)
        for m in missing:
            print(json.dumps({"undocumented": m}))
        return 1 if missing else 0
    failed = 0
    pages = [get("--pages")] if get("--pages") else PAGES
    for block in blocks(pages):
        where = f"{block['page']}:{block['line']}"
        skip = next((v for k, v in block["directives"] if k is None and v.startswith("not run")), None)
        needs_llama = any("llama-" in line for line in block["body"]) or any("LLAMA_MODEL" in v for _, v in block["directives"])
        if only and (only == "llama") != needs_llama:
            continue
        if skip:
            print(json.dumps({"block": where, "result": "not run", "why": skip}))
            continue
        if needs_llama and not llama:
            print(json.dumps({"block": where, "result": "skipped", "why": "needs llama.cpp (--llama)"}))
            continue
        problem = run_block(block, airun, llama)
        failed += problem is not None
        print(json.dumps({"block": where, "result": "failed" if problem else "ok", **({"problem": problem} if problem else {})}))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
