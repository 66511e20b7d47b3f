/// The last uncaught exception in a Python traceback: `Type: message`, and the traceback text.
public struct PythonException: Equatable, Sendable {
    /// The exception's qualified type as Python printed it (`FileNotFoundError`, `torch.OutOfMemoryError`).
    public var type: String
    public var message: String
    /// The exception line itself, `Type: message`.
    public var line: String
    /// From the last `Traceback (most recent call last):` to the exception line.
    public var stackTrace: String

    /// Finds the last traceback in `text` (a stderr tail). Chained tracebacks ("During handling of
    /// the above exception…") report the final one, which is what ended the program.
    public static func parse(_ text: String) -> PythonException? {
        // Every failed run's 64 KiB tail comes here: split into lines only when a traceback is in it.
        guard utf8Contains(text, "Traceback (most recent call last):") else { return nil }
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        guard let start = lines.lastIndex(where: { $0.hasPrefix("Traceback (most recent call last):") }) else { return nil }
        // The exception line is the first after the header that does not start with whitespace.
        guard let end = lines[(start + 1)...].firstIndex(where: { !$0.isEmpty && !$0.hasPrefix(" ") && !$0.hasPrefix("\t") })
        else { return nil }
        let exceptionLine = String(lines[end])
        let type: String
        let message: String
        if let colon = exceptionLine.firstIndex(of: ":") {
            type = String(exceptionLine[..<colon])
            message = String(exceptionLine[exceptionLine.index(after: colon)...]).trimmingSpaces()
        } else {
            type = exceptionLine.trimmingSpaces()
            message = ""
        }
        guard !type.isEmpty, !type.contains(" ") else { return nil }
        return PythonException(type: type, message: message, line: exceptionLine,
                               stackTrace: lines[start...end].joined(separator: "\n"))
    }
}
