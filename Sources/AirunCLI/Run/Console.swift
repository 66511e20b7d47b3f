import AirunCore
import AirunSystem

/// airun's own lines on stderr, each prefixed `airun:` (`airun[N]:` in a run nested N deep in
/// other airun runs, so the lines of the runs in one terminal tell apart), redacted like
/// everything airun writes. `-q` silences the summary, the status line, retry lines and ordinary
/// warnings; errors still print, and so does, once per run, a warning that something will be
/// missing later (records, captures, exports): the sentence README, docs and `--help` all use.
final class Console {
    let quiet: Bool
    /// How many airun runs this one is nested in (`AIRUN_DEPTH`, which each run exports to its child).
    let depth: Int
    private let prefix: String
    /// The run's redactor, shared: a profile adopted after start-up changes it for every writer.
    let redaction: SharedRedactor
    private var warned: Set<String> = []
    /// A record sink's warning may come from the attempt's worker thread, while the poll loop
    /// writes its own lines: one line at a time.
    private let lock = Lock()

    /// `statusLine`: the caller's verdict on options and environment (`-q`, `--no-status`,
    /// `AIRUN_STATUS=0`, `TERM`); the console adds that stderr must be a terminal.
    init(quiet: Bool, statusLine: Bool = false, redaction: SharedRedactor = SharedRedactor(Redactor()), depth: Int = 0) {
        self.quiet = quiet
        self.depth = depth
        prefix = depth > 0 ? "airun[\(depth)]: " : "airun: "
        self.redaction = redaction
        statusEnabled = statusLine && !quiet && FileDescriptor.standardError.isTerminal
    }

    func info(_ text: String) { if !quiet { emit(text) } }

    /// A warning, printed at most once per `key` (fail-open paths warn once, not per record).
    func warn(_ text: String, once key: String? = nil) {
        if let key, !firstTime(key) { return }
        if !quiet { emit("warning: " + text) }
    }

    /// A warning that something the user will look for later is lost (records, capture files,
    /// exported metrics or traces): printed even with -q, at most once per `key`, since `-q` is
    /// what cron jobs use, and there a silent loss is found only when the records are needed.
    func lost(_ text: String, once key: String) {
        if firstTime(key) { emit("warning: " + text) }
    }

    private func firstTime(_ key: String) -> Bool { lock.withLock { warned.insert(key).inserted } }

    /// Errors are printed even with -q: they replace what the shell would have said.
    func error(_ text: String) { emit(text) }

    /// The run's summary line, then each detail on a line of its own (`  evidence: …`), cut to
    /// the terminal's width so that each stays one line; the record keeps the whole text.
    func summary(_ line: String, details: [(label: String, text: String)]) {
        guard !quiet else { return }
        emit(line)
        let width = FileDescriptor.standardError.isTerminal ? TerminalState(.standardError).map { $0.columns > 0 ? $0.columns : 80 } ?? 80 : 240
        for (label, text) in details {
            let indent = "  \(label): "
            let room = max(width - prefix.count - indent.count - 1, 20)
            let masked = redaction.redactor.redact(text)
            let scalars = masked.unicodeScalars
            let cut = scalars.count > room ? String(String.UnicodeScalarView(scalars.prefix(room - 1))) + "…" : masked
            emit(indent + cut, masked: true)
        }
    }

    /// `masked`: the text is already redacted (cutting it first could split a secret in two).
    private func emit(_ text: String, masked: Bool = false) {
        let line = prefix + (masked ? text : redaction.redactor.redact(text)) + "\n"
        lock.withLock {
            eraseStatus()
            // Our line starts on a line of its own, not glued to the child's unfinished one.
            let newline = cursorAtLineStart ? "" : "\n"
            cursorAtLineStart = true
            try? FileDescriptor.standardError.writeAll(newline + line)
        }
    }

    // MARK: The status line

    /// The status line is drawn only on a terminal, never with -q or when switched off.
    let statusEnabled: Bool
    private var statusVisible = false
    private var statusDrawn: Int64 = 0
    /// Whether the last byte the child wrote where airun's lines go (the terminal, stderr, one
    /// channel for both) ended a line: the one place where a line of our own can be drawn and
    /// erased without touching the child's text, and where our next line starts without a
    /// newline of its own (`… hi` then `airun: trace=…` would otherwise be one line).
    private(set) var cursorAtLineStart = true

    /// Called after each write of the child's output to where airun's lines go.
    func childOutput(endsLine: Bool) { lock.withLock { cursorAtLineStart = endsLine } }

    /// Redraws the status line in place, at most once a second, and only where it cannot damage
    /// what the child shows: at the start of a line, while airun is the terminal's foreground job,
    /// the terminal is in its ordinary line mode (not a full-screen program, not a password
    /// prompt with echo off) and nothing typed ahead is echoed on the line. Cut to the window's
    /// width, so it never wraps onto a second line that `\r` could not erase. `text` is made
    /// only when the line is drawn (a sample is taken every 100 ms, the line drawn once a second).
    func status(_ text: @autoclosure () -> String) {
        guard statusEnabled, lock.withLock({ cursorAtLineStart }) else { return }
        let now = monotonicNanoseconds()
        guard statusDrawn == 0 || now - statusDrawn >= 1_000_000_000 else { return }
        guard let terminal = TerminalState(.standardError), terminal.isForeground, terminal.isCooked,
              terminal.pendingInput == 0 else { return }
        // A pty nobody sized (script(1) without a terminal) reports 0 columns: assume 80.
        let width = terminal.columns > 0 ? terminal.columns : 80
        guard width > 8 else { return }
        statusDrawn = now
        let line = (prefix + redaction.redactor.redact(text())).unicodeScalars.prefix(width - 1)
        lock.withLock {
            statusVisible = true
            try? FileDescriptor.standardError.writeAll("\r\u{1B}[2K" + String(String.UnicodeScalarView(line)))
        }
    }

    /// Erases the status line (before the child's output, airun's own lines, and at exit),
    /// leaving the cursor at the start of the line, where the child's cursor was.
    func clearStatus() {
        guard statusEnabled else { return }
        lock.withLock { eraseStatus() }
    }

    private func eraseStatus() {
        guard statusVisible else { return }
        statusVisible = false
        try? FileDescriptor.standardError.writeAll("\r\u{1B}[2K")
    }
}

/// Whether the environment allows a status line: `AIRUN_STATUS=0` turns it off, and so does a
/// terminal that cannot erase a line (`TERM` unset, empty, `dumb` or `unknown`).
func statusLineAllowed(environment: [String: String]) -> Bool {
    if let s = environment[Setting.status.variable], ["0", "off", "no", "false"].contains(s.lowercased()) { return false }
    guard let term = environment["TERM"], !term.isEmpty else { return false }
    return term != "dumb" && term != "unknown"
}

/// The one redactor of a run, by reference: the console, the record file, capture files and the
/// attempts all read it, so the profile's patterns, set once adopted, apply to every byte written.
final class SharedRedactor {
    var redactor: Redactor { didSet { generation += 1 } }
    /// Counts replacements of `redactor`: what was made with an earlier one is made again.
    private(set) var generation = 0
    init(_ redactor: Redactor) { self.redactor = redactor }
}

/// Writes one of airun's own messages (an error, a usage line) to stderr, masked: a message may
/// quote what the user typed, and a key pasted into the wrong place must not be printed back.
/// Every line airun prints outside a run goes through here; a run's lines go through `Console`.
func printError(_ message: String) {
    try? FileDescriptor.standardError.writeAll(Redactor().redact(message) + "\n")
}

/// The live status line: elapsed time, the tree's memory and CPU, and the GPU.
func statusText(_ s: ResourceSample) -> String {
    func mb(_ v: Double) -> String { v >= 1024 ? "\(JSONLine.format(v / 1024, decimals: 1)) GiB" : "\(Int(saturating: v)) MiB" }
    var parts = ["\(Int(saturating: s.elapsed))s", "rss \(mb(s.treeRSSMB))"]
    if let c = s.cpuPercent { parts.append("cpu \(Int(saturating: c.rounded()))%") }
    if let g = s.gpus.first {
        if let u = g.utilizationPercent { parts.append("gpu \(Int(saturating: u))%") }
        if let m = g.memoryUsedMB { parts.append("vram \(mb(m))") }
    }
    // Joined by hand: `joined(separator:)` is generic code that looks its types up at run time.
    var line = ""
    for part in parts {
        if !line.isEmpty { line += "  " }
        line += part
    }
    return line
}
