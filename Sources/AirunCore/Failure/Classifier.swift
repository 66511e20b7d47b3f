/// What is known about a finished attempt, as the classifier needs it.
public struct AttemptFacts: Sendable {
    /// The child's exit code; nil if it died of a signal or never started.
    public var exitCode: Int32?
    /// The signal that killed it, if any.
    public var signal: Signal?
    public var timedOut: Bool
    /// A termination signal (INT, TERM, HUP, QUIT) airun received and passed on during the attempt.
    public var receivedSignal: Signal?
    /// `notFound` or `notExecutable` when the command could not be started.
    public var spawnFailure: AttemptStatus?
    public var stdout: String
    public var stderr: String
    /// The attempt's peak resident memory and the memory it could have had, for telling the OOM
    /// killer's SIGKILL from anyone else's.
    public var maxRSSMegabytes: Double?
    public var memoryLimitMegabytes: Double?
    /// What a look at the model file named by `-m` found, if the command names one.
    public var modelFile: GGUFCheck?
    /// Why airun could not pass the command's output on (`stdout: No space left on device`), if
    /// it could not: the command then "succeeded" into the void.
    public var outputLost: String?
    /// The program that ran (`argv[0]`), when known: a llama.cpp program's log has its own rules.
    public var program = ""
    /// airun stopped it: a server not ready in time, or over its memory limit.
    public var stoppedBy: SupervisorStop?

    public init(exitCode: Int32?, signal: Signal? = nil, timedOut: Bool = false, receivedSignal: Signal? = nil,
                spawnFailure: AttemptStatus? = nil, stdout: String = "", stderr: String = "",
                maxRSSMegabytes: Double? = nil, memoryLimitMegabytes: Double? = nil, modelFile: GGUFCheck? = nil,
                outputLost: String? = nil) {
        self.modelFile = modelFile
        self.outputLost = outputLost
        self.exitCode = exitCode
        self.signal = signal
        self.timedOut = timedOut
        self.receivedSignal = receivedSignal
        self.spawnFailure = spawnFailure
        self.stdout = stdout
        self.stderr = stderr
        self.maxRSSMegabytes = maxRSSMegabytes
        self.memoryLimitMegabytes = memoryLimitMegabytes
    }

    /// Exit 0 without a signal or a timeout: nothing to classify, whatever the logs say (llama.cpp
    /// prints allocation errors in runs that then recover).
    public var succeeded: Bool {
        exitCode == 0 && signal == nil && !timedOut && spawnFailure == nil && outputLost == nil && stoppedBy == nil
    }
}

/// The classifier's answer for a failed attempt.
public struct Verdict: Equatable, Sendable {
    public var code: ErrorCode
    public var retryable: Bool
    /// The line that decided it (log prefix stripped), or a description of the status that did.
    public var evidence: String
    /// Which rule decided: a rule name, `python`, `signal`, `timeout`, `exit-status`.
    public var rule: String
    /// The profile rule whose patterns spent the classification's budget for patterns, after
    /// which no more patterns were tried (the caller warns, naming it); nil when none did.
    public var patternBudgetSpentBy: String?
    /// llama.cpp's log stopped before its error line (its logger thread lost the race with exit).
    public var evidenceLost = false
    /// The deciding rule's own advice, where the code's would mislead (`ClassificationRule.hint`).
    public var ruleHint: String?
    public var category: ErrorCategory { code.category }
    /// What to do, in one line: the rule's advice, else the code's.
    public var hint: String { ruleHint ?? code.hint }

    public init(code: ErrorCode, retryable: Bool, evidence: String, rule: String, evidenceLost: Bool = false) {
        self.code = code
        self.retryable = retryable
        self.evidence = evidence
        self.rule = rule
        self.evidenceLost = evidenceLost
    }
}

/// Classifies failures by ordered rules over exit status, signal, timeout and captured output.
public struct Classifier: Sendable {
    public let rules: [ClassificationRule]
    /// Every phrase of every rule, and for each rule's groups the phrase indices they need.
    private let matcher: PhraseMatcher
    private let groups: [[[Int]]]

    private static let builtIn = Classifier(rules: ClassificationRule.builtIn)

    /// `extraRules` (from profiles) are tried before the built-in ones.
    public init(extraRules: [ClassificationRule] = []) {
        self = extraRules.isEmpty ? Self.builtIn : Classifier(rules: extraRules + ClassificationRule.builtIn)
    }

    private init(rules: [ClassificationRule]) {
        self.rules = rules
        var phrases: [String] = []
        var index: [String: Int] = [:]
        groups = rules.map { rule in
            rule.phrases.map { group in
                group.map { phrase in
                    if let i = index[phrase] { return i }
                    index[phrase] = phrases.count
                    phrases.append(phrase)
                    return phrases.count - 1
                }
            }
        }
        matcher = PhraseMatcher(phrases)
    }

    /// The verdict for a failed attempt; nil when the attempt succeeded. In order: what the
    /// attempt's status alone says, the rules over its output, then what is left (the model file,
    /// a Python exception, the signal, the exit status). Output of a nested airun whose failure
    /// the command handled is not its cause (`AttemptFacts.ownFacts`).
    public func classify(_ facts: AttemptFacts) -> Verdict? {
        if facts.succeeded { return nil }
        if let v = Self.statusVerdict(facts) { return v }
        let facts = facts.ownFacts
        var budget = PatternBudget()
        var v = ruleVerdict(facts, budget: &budget) ?? Self.lastResortVerdict(facts)
        v.patternBudgetSpentBy = budget.spentBy
        return v
    }

    private static func verdict(_ code: ErrorCode, _ evidence: String, _ rule: String, retryable: Bool? = nil, hint: String? = nil) -> Verdict {
        var v = Verdict(code: code, retryable: retryable ?? code.retryableByDefault, evidence: evidence, rule: rule)
        v.ruleHint = hint
        return v
    }

    /// A command that never started, airun's timeout, output that could not be delivered, and
    /// airun's own INT/TERM/HUP/QUIT passed on: decided by the status, whatever the output says.
    private static func statusVerdict(_ facts: AttemptFacts) -> Verdict? {
        switch facts.spawnFailure {
        case .notFound?: return verdict(.commandNotFound, "command not found", "spawn")
        case .notExecutable?: return verdict(.permissionDenied, "command not executable", "spawn")
        default: break
        }
        if facts.timedOut { return verdict(.timeout, "airun's --timeout expired", "timeout") }
        switch facts.stoppedBy {
        case .readyTimeout(let limit)?:
            let last = lastLine(facts.stderr) ?? lastLine(facts.stdout)
            return verdict(.readyTimeout, "not ready within \(limit)" + (last.map { "; its last line: \($0)" } ?? "; it printed nothing"), "ready")
        case .memoryLimit(let limit, let rss)?:
            return verdict(.memoryLimit, "its processes' resident memory \(JSONLine.format(rss, decimals: 0)) MiB passed --max-memory "
                           + "\(JSONLine.format(Double(limit) / 1_048_576, decimals: 0)) MiB", "memory-limit")
        case nil: break
        }
        if facts.exitCode == 0, facts.signal == nil, let lost = facts.outputLost {
            return verdict(.outputLost, "cannot write the command's \(lost)", "output")
        }
        if let s = facts.receivedSignal, s.isTermination {
            return verdict(.interrupted, "airun received \(s.name) and passed it on", "signal")
        }
        return nil
    }

    /// The first rule (the profile's, then the built-in ones) with a line in the output.
    private func ruleVerdict(_ facts: AttemptFacts, budget: inout PatternBudget) -> Verdict? {
        let stderr = CapturedText(facts.stderr, matcher)
        let stdout = CapturedText(facts.stdout, matcher)
        for (r, rule) in rules.enumerated() {
            if let codes = rule.exitCodes, !codes.contains(facts.exitCode ?? -1) { continue }
            let streams: [CapturedText] = switch rule.stream {
            case .stderr: [stderr]
            case .stdout: [stdout]
            case .any: [stderr, stdout]
            }
            for text in streams {
                if let line = text.firstLine(matching: groups[r], patterns: rule.patterns, rule: rule.name, budget: &budget) {
                    return Self.verdict(rule.code, evidenceLine(line), rule.name, retryable: rule.retryable, hint: rule.hint)
                }
            }
        }
        return nil
    }

    /// No line said why: the model file, a Python exception, the signal, or the exit status.
    private static func lastResortVerdict(_ facts: AttemptFacts) -> Verdict {
        // The model file itself shows what is wrong with it.
        if let file = facts.modelFile, let code = file.suggestedCode, facts.signal == nil {
            var v = verdict(code, "model file: \(file.problem!)", "model-file")
            v.evidenceLost = llamaLogCut(facts)
            return v
        }
        if let exception = PythonException.parse(facts.stderr) {
            if exception.type.hasSuffix("FileNotFoundError"), looksLikeModelPath(exception.message) {
                return verdict(.modelNotFound, exception.line, "python")
            }
            return verdict(.pythonException, exception.line, "python")
        }
        if let signal = facts.signal {
            if signal == .kill {
                if let rss = facts.maxRSSMegabytes, let limit = facts.memoryLimitMegabytes, limit > 0, rss >= 0.5 * limit {
                    return verdict(.oomKilled, "SIGKILL at \(Int(saturating: rss)) MB of \(Int(saturating: limit)) MB available", "signal")
                }
                return verdict(.killedBySignal, "killed by SIGKILL", "signal")
            }
            if signal.isCrash { return verdict(.aborted, "killed by \(signal.name)", "signal") }
            if signal == .interrupt { return verdict(.interrupted, "killed by SIGINT", "signal") }
            return verdict(.killedBySignal, "killed by \(signal.name)", "signal")
        }
        let code = facts.exitCode ?? -1
        if llamaLogCut(facts) {
            var v = verdict(.nonzeroExit, "exit status \(code); llama.cpp's log stopped before its error line", "exit-status")
            v.evidenceLost = true
            return v
        }
        return verdict(.nonzeroExit, "exit status \(code)", "exit-status")
    }

    /// A llama.cpp program failed and its stderr holds no error line: llama.cpp logs through a
    /// worker thread that the process's exit can overtake (upstream issue 22142), and every
    /// failure it exits with is logged as an `E` line first. So the line was written, then lost.
    static func llamaLogCut(_ facts: AttemptFacts) -> Bool {
        let program = facts.program.split(separator: "/").last ?? ""
        guard program.hasPrefix("llama-") || utf8Contains(facts.stderr, " I llama_") else { return false }
        return !facts.stderr.utf8.split(separator: 0x0A).contains { line in isLlamaLogLine(line, level: UInt8(ascii: "E")) }
    }
}

/// What the profile patterns of one classification may spend together: about 0.2 s in a release
/// build (measured: 30 million steps took 0.8 s). Past it, no more patterns are tried (phrases
/// and the built-in rules still are).
struct PatternBudget {
    var steps = 8_000_000
    var spentBy: String?
}

/// One captured stream, split into lines once, with the lines each rule phrase occurs on.
private struct CapturedText {
    let lines: [Substring]
    let hits: [Int: [Int]]

    init(_ text: String, _ matcher: PhraseMatcher) {
        // Split on the newline byte, as the phrase matcher counts lines: split on Characters,
        // "\r\n" is one Character and the two counts disagree (found by fuzzing: a crash).
        lines = text.utf8.split(separator: 0x0A, omittingEmptySubsequences: false).map { Substring($0) }
        hits = matcher.lines(in: Array(text.utf8))
    }

    /// The first line where every phrase of some group occurs, or that a pattern matches.
    func firstLine(matching groups: [[Int]], patterns: [String], rule: String, budget: inout PatternBudget) -> Substring? {
        var best: Int?
        for group in groups {
            guard var candidates = hits[group[0]] else { continue }
            for phrase in group.dropFirst() {
                let other = Set(hits[phrase] ?? [])
                candidates = candidates.filter { other.contains($0) }
            }
            if let first = candidates.first, first < (best ?? Int.max) { best = first }
        }
        if !patterns.isEmpty && budget.spentBy == nil {
            // Linear-time matching: these patterns come from profiles, the lines from the child;
            // all of them share one budget, so many large patterns cannot stall the run.
            let regexes = patterns.compactMap { try? LinearRegex($0) }
            search: for (n, line) in lines.enumerated() where n < (best ?? Int.max) {
                let scalars = Array(line.unicodeScalars)  // once per line, not once per pattern
                for regex in regexes {
                    let found = regex.firstMatch(in: scalars, from: 0, budget: &budget.steps) != nil
                    if budget.steps < 0 { budget.spentBy = rule; break search }
                    if found { best = n; break search }
                }
            }
        }
        return best.flatMap { $0 < lines.count ? lines[$0] : nil }
    }
}

/// Whether `line` is a llama.cpp log line of `level` (`0.00.007.652 E llama_completion: …`).
/// Colour codes (on a terminal) are skipped.
func isLlamaLogLine(_ raw: ArraySlice<UInt8>, level: UInt8) -> Bool {
    var line: [UInt8] = []
    var inEscape = false
    for byte in raw.prefix(48) {
        if byte == 0x1B { inEscape = true } else if inEscape { inEscape = !(0x40...0x7E).contains(byte) || byte == 0x5B } else { line.append(byte) }
    }
    guard let space = line.firstIndex(of: 0x20), space > line.startIndex else { return false }
    let stamp = line[line.startIndex..<space]
    guard stamp.allSatisfy({ $0 == 0x2E || (0x30...0x39).contains($0) }), stamp.filter({ $0 == 0x2E }).count == 3 else { return false }
    let after = line.index(after: space)
    return after < line.endIndex && line[after] == level && (line.index(after: after) == line.endIndex || line[line.index(after: after)] == 0x20)
}

/// A captured line without llama.cpp's `0.00.002.704 E ` prefix or colour codes, at most 300 characters.
public func evidenceLine(_ line: Substring) -> String {
    var s = Substring(line.filter { $0 != "\u{1B}" })
    // ANSI remnants like "[0m" after dropping ESC.
    while s.hasPrefix("["), let m = s.firstIndex(of: "m"), s.distance(from: s.startIndex, to: m) < 8 {
        s = s[s.index(after: m)...]
    }
    let parts = s.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
    if parts.count == 3, parts[0].split(separator: ".").count == 4, parts[0].allSatisfy({ $0.isNumber || $0 == "." }),
       parts[1].count == 1, "IWED".contains(parts[1]) {
        s = parts[2]
    }
    let trimmed = String(s).trimmingSpaces()
    return trimmed.count > 300 ? String(trimmed.prefix(300)) + "…" : trimmed
}

/// Whether a path from an error message looks like a model file rather than any file.
func looksLikeModelPath(_ text: String) -> Bool {
    // The path Python quotes (`No such file or directory: '/m/x.gguf'`), else the whole message.
    let quoted = text.split(separator: "'", omittingEmptySubsequences: false)
    let path = (quoted.count >= 3 ? String(quoted[quoted.count - 2]) : text).lowercased()
    let name = path.split(separator: "/").last.map(String.init) ?? path
    // A model's own file: its weights' formats. A settings file that merely mentions models
    // (`models.json`, `/models/config.yaml`) is not one.
    if [".gguf", ".ggml", ".safetensors", ".bin", ".pt", ".pth", ".onnx"].contains(where: { name.hasSuffix($0) }) { return true }
    // A model directory (`/models/qwen3-8b`, as Hugging Face loaders take): under models/, no extension.
    return (path.hasPrefix("models/") || path.contains("/models/")) && !name.contains(".")
}

/// The last line of `text` that is not blank, as evidence (`evidenceLine`): a stopped server's.
func lastLine(_ text: String) -> String? {
    text.split(whereSeparator: { $0 == "\n" || $0 == "\r" }).last(where: { !$0.allSatisfy(\.isWhitespace) }).map(evidenceLine)
}
