import AirunCore
import AirunSystem

/// airun's own lines on stderr, each prefixed `airun:`, redacted like everything airun writes.
/// `-q` silences everything but errors.
final class Console {
    let quiet: Bool
    var redactor: Redactor
    private var warned: Set<String> = []
    /// Called before airun writes a line, so a live status line (or the child's pty) is not torn.
    var beforeWrite: (() -> Void)?

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

    /// Errors are printed even with -q: they replace what the shell would have said.
    func error(_ text: String) { emit(text) }

    private func emit(_ text: String) {
        beforeWrite?()
        try? FileDescriptor.standardError.writeAll("airun: " + redactor.redact(text) + "\n")
    }
}
