import AirunCore
import AirunSystem

/// `airun classify`: the classifier's verdict for captured output, for people writing rules and
/// for tests. Reads files, runs nothing.
struct ClassifyCommand: Sendable {
    static var description: CommandDescription<ClassifyCommand> {
        CommandDescription(
            name: "classify",
            summary: "the verdict for saved output",
            about: """
                the verdict a run would give, for output saved from a command.

                Reads files, runs nothing. The same diagnosis as a run: with the command after --, its
                model file is looked at (MODEL_INVALID for a git-lfs pointer), its profile's [[classify]]
                rules come first, and a llama.cpp log cut before its error line gets the prompt check.
                """,
            options: [
                Option(["--stderr"], "FILE", "the saved stderr (the last 64 KiB are read)", kind: .file) { c, v in c.stderrPath = v },
                Option(["--stdout"], "FILE", "the saved stdout", kind: .file) { c, v in c.stdoutPath = v },
                Option(["--exit-code"], "N", "the command's exit status (0 to 255)") { c, v throws(UsageError) in
                    guard let n = Int32(v), (0...255).contains(n) else { throw UsageError("--exit-code '\(v)' must be 0 to 255") }
                    c.exitCode = n
                },
                Option(["--signal"], "NAME", "or the signal that killed it (KILL, SIGTERM, 9)",
                       kind: .choices { ["KILL", "TERM", "INT", "HUP", "QUIT", "ABRT", "SEGV", "BUS", "PIPE"] }) { c, v throws(UsageError) in
                    guard let s = Signal(name: v) else { throw UsageError("--signal '\(v)' is not a signal name (e.g. KILL, SIGTERM, 9)") }
                    c.signal = s
                },
                Option(["--timed-out"], nil, "airun's --timeout stopped it") { c, _ in c.timedOut = true },
                Option(["--profile"], "NAME|PATH", "use this profile's rules (default: the command's own profile)") { c, v in c.profile = v },
                Option(["--json"], nil, "one JSON object instead of lines") { c, _ in c.json = true },
            ],
            afterDashes: (synopsis: "COMMAND...", help: "the command that ran", apply: { c, command in c.command = command }),
            examples: ["airun classify --stderr err.txt --exit-code 1 -- llama-completion -m model.gguf -p hi"])
    }

    static let command = Subcommand(description, values: { ClassifyCommand() }) { c throws(UsageError) in
        try c.validate()
        return c.run()
    }

    var stderrPath: String?
    var stdoutPath: String?
    var exitCode: Int32?
    var signal: Signal?
    var timedOut = false
    var json = false
    var profile: String?
    /// The command that produced the output, after `--`: its model file and its profile are
    /// looked at as in a run.
    var command: [String]?

    func validate() throws(UsageError) {
        if command?.isEmpty == true { throw UsageError("no command after --") }
        guard stderrPath != nil || stdoutPath != nil else { throw UsageError("classify needs --stderr FILE or --stdout FILE") }
        guard (exitCode == nil) != (signal == nil) else { throw UsageError("classify needs exactly one of --exit-code N and --signal NAME") }
    }

    /// Prints the verdict; returns the exit code (0, or 125 when a file or profile cannot be read).
    func run() -> Int32 {
        let command = self.command ?? []
        let environment = Environment.current().values
        // The profile a run of the command would use: its [[classify]] rules come first.
        var rules: [ClassificationRule] = []
        if profile != nil || !command.isEmpty {
            do {
                rules = try ProfileLocator(environment: environment).resolve(explicit: profile, command: command.isEmpty ? ["classify"] : command).rules
            } catch {
                printError("airun: classify: \(error.description)")
                return ExitCode.airunFailure
            }
        }
        var texts: [String] = []
        for path in [stderrPath, stdoutPath] {
            guard let path else { texts.append(""); continue }
            // The tail a run keeps (64 KiB), not the whole file: a 50 MB log took 20 s.
            guard let bytes = readFileTail(path, count: 64 * 1024) else {
                printError("airun: classify: cannot read \(path)")
                return ExitCode.airunFailure
            }
            texts.append(String(decoding: bytes, as: UTF8.self))
        }
        let facts = AttemptFacts(exitCode: exitCode, signal: signal, timedOut: timedOut, stdout: texts[1], stderr: texts[0])
        let verdict = Diagnosis(rules: rules, environment: environment).findings(for: facts, command: command.isEmpty ? nil : command).verdict
        if let rule = verdict?.patternBudgetSpentBy { printError("airun: warning: " + patternBudgetWarning(rule)) }
        let perf = LlamaPerformance.parse(stderr: texts[0], stdout: texts[1])
        var out = ""
        // The environment's secrets too: the saved output may echo them.
        let redactor = Redactor(environment: environment)
        if json {
            var j = JSONLine(redacting: redactor)
            j.add("failed", verdict != nil)
            j.add("error_code", verdict?.code.rawValue)
            j.add("error_category", verdict?.category.rawValue)
            j.add("retryable", verdict?.retryable)
            j.add("evidence", verdict?.evidence)
            j.add("classified_by", verdict?.rule)
            j.add("evidence_lost", verdict?.evidenceLost)
            j.add("hint", verdict?.hint)
            if !perf.isEmpty { j.add(performance: perf) }
            out = String(decoding: j.line(), as: UTF8.self)
        } else if let verdict {
            out = """
                error_code: \(verdict.code.rawValue)
                category:   \(verdict.category.rawValue)
                retryable:  \(verdict.retryable)
                evidence:   \(redactor.redact(verdict.evidence))
                rule:       \(verdict.rule)\(verdict.evidenceLost ? "\nlost:       llama.cpp's log stopped before its error line" : "")
                hint:       \(verdict.hint)

                """
        } else {
            out = "no failure: exit status 0\n"
            if let t = perf.tokensPerSecond { out += "tokens_per_second: \(JSONLine.format(t, decimals: 2))\n" }
        }
        try? FileDescriptor.standardOutput.writeAll(out)
        return 0
    }
}
