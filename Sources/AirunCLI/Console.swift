import AirunCore
import AirunSystem

/// airun's own lines on stderr, each prefixed `airun:`, redacted like everything airun writes.
/// `-q` silences everything but errors.
final class Console {
    let quiet: Bool
    var redactor: Redactor
    private var warned: Set<String> = []

    init(quiet: Bool, redactor: Redactor = Redactor()) {
        self.quiet = quiet
        self.redactor = redactor
    }

    func info(_ text: String) { if !quiet { emit(text) } }

    /// A warning, printed at most once per `key` (fail-open paths warn once, not per record).
    func warn(_ text: String, once key: String? = nil) {
        if let key {
            guard !warned.contains(key) else { return }
            warned.insert(key)
        }
        if !quiet { emit("warning: " + text) }
    }

    /// The live status line is drawn only on a terminal and without -q.
    lazy var statusEnabled: Bool = !quiet && FileDescriptor.standardError.isTerminal
    private var statusVisible = false
    private var statusDrawn: Int64 = 0

    /// Redraws the status line in place, at most once a second.
    func status(_ text: String) {
        guard statusEnabled else { return }
        let now = monotonicNanoseconds()
        guard statusDrawn == 0 || now - statusDrawn >= 1_000_000_000 else { return }
        statusDrawn = now
        statusVisible = true
        try? FileDescriptor.standardError.writeAll("\r\u{1B}[2Kairun: " + redactor.redact(text))
    }

    /// Erases the status line (before the child's output, airun's own lines, and at exit).
    func clearStatus() {
        guard statusVisible else { return }
        statusVisible = false
        try? FileDescriptor.standardError.writeAll("\r\u{1B}[2K")
    }

    /// Errors are printed even with -q: they replace what the shell would have said.
    func error(_ text: String) { emit(text) }

    private func emit(_ text: String) {
        clearStatus()
        try? FileDescriptor.standardError.writeAll("airun: " + redactor.redact(text) + "\n")
    }
}
