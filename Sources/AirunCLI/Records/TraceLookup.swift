import AirunCore
import AirunSystem

/// What a person typed to name a trace, resolved against the records: the full 32-hex id, a
/// request or attempt id (`<run span>`, `<run span>-N`), a unique prefix of 6 or more hex digits
/// (what `airun logs` and the report show), `last` (or nothing) for the latest trace, or the
/// caller's own id (`session-abc`), from which the trace is derived as a run derives it.
enum TraceLookup {
    enum Failure: Error {
        case noRecords
        /// The prefix names several traces: each with its first command, newest last.
        case ambiguous([(TraceID, String)])
    }

    static func resolve(_ text: String?, in files: RecordFiles) -> Result<TraceID, Failure> {
        guard let text, text != "last" else { return latest(in: files).map { .success($0) } ?? .failure(.noRecords) }
        if let id = TraceID(text) { return .success(id) }
        if case .request? = TraceSelector(text) {
            var found: TraceID?
            files.forEachRecord(onlyLinesWith: [text]) { r in
                if found == nil, TraceSelector.request(text).matches(r) { found = r.identity.traceID }
            }
            return found.map { .success($0) } ?? .failure(.noRecords)
        }
        if text.count >= 6, text.count < 32, text.utf8.allSatisfy({ isHexDigit($0) }) {
            let prefix = text.lowercased()
            var matches: [(TraceID, String)] = []
            files.forEachRecord(onlyLinesWith: [prefix]) { r in
                guard r.identity.traceID.hex.hasPrefix(prefix), !matches.contains(where: { $0.0 == r.identity.traceID }) else { return }
                let command: String = if case .runStart(let s) = r.event { s.command.joined(separator: " ") } else { "" }
                matches.append((r.identity.traceID, String(command.prefix(60))))
            }
            if matches.count == 1 { return .success(matches[0].0) }
            if matches.count > 1 { return .failure(.ambiguous(matches)) }
        }
        return TraceID(callerID: text).map { .success($0) } ?? .failure(.noRecords)
    }

    /// The trace of the latest run.start in the files.
    static func latest(in files: RecordFiles) -> TraceID? {
        var last: TraceID?
        files.forEachRecord(onlyLinesWith: [#""event":"run.start""#]) { r in
            if case .runStart = r.event { last = r.identity.traceID }
        }
        return last
    }

    /// "4bf92f names 2 traces: …; type more of it", for an ambiguous prefix.
    static func ambiguity(_ text: String, _ matches: [(TraceID, String)]) -> String {
        "\(text) names \(matches.count) traces; type more of one:\n" + matches.prefix(20).map { "  \($0.0.hex)  \($0.1)" }.joined(separator: "\n")
    }
}

private func isHexDigit(_ b: UInt8) -> Bool {
    (0x30...0x39).contains(b) || (0x61...0x66).contains(b) || (0x41...0x46).contains(b)
}
