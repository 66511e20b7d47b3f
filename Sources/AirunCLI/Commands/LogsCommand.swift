import AirunCore
import AirunSystem

/// `airun logs`: the records, filtered, one line each or as JSON lines.
enum LogsCommand {
    static var description: CommandDescription<RecordFilter> {
        CommandDescription(
            name: "logs",
            summary: "the records, filtered by trace, level, event, code, model, tag, time",
            about: "the records of the log directory, oldest first, filtered.",
            options: [
                Option(["--trace"], "ID", "one trace: its id or 6+ of its first hex digits, last, a request id (that request's records), or the caller's own id") { f, v throws(UsageError) in
                    guard TraceSelector(v) != nil || v == "last" else { throw UsageError("--trace '\(v)' is not a trace id, request id or caller id") }
                    f.traceText = v
                },
                Option(["-n"], "N", "only the last N records that pass the filters") { f, v throws(UsageError) in
                    guard let n = Int(v), n >= 1, n <= 10_000_000 else { throw UsageError("-n '\(v)' must be a number of records from 1") }
                    f.last = n
                },
                Option(["--level"], "L", "INFO, WARN or ERROR and above", kind: .choices { ["INFO", "WARN", "ERROR"] }) { f, v throws(UsageError) in
                    guard let level = RecordLevel(rawValue: v.uppercased()) else { throw UsageError("--level '\(v)' must be INFO, WARN or ERROR") }
                    f.level = level
                },
                Option(["--event"], "E", "\(Self.events.joined(separator: ", ")) (repeatable)", kind: .choices { Self.events }) { f, v in
                    f.events.append(v)
                },
                Option(["--code"], "C", "records with this error_code (error, retry, run.end); any case",
                       kind: .choices { ErrorCode.allCases.map(\.rawValue) }) { f, v throws(UsageError) in
                    guard let code = ErrorCode(rawValue: v.uppercased()) else {
                        throw UsageError("--code '\(v)' is not an error code; the codes: \(ErrorCode.allCases.map(\.rawValue).joined(separator: ", "))")
                    }
                    f.code = code.rawValue
                },
                Option(["--model"], "M", "records naming this model id") { f, v in f.model = v },
                Option(["--command"], "C", "records naming this program") { f, v in f.command = v },
                Option(["--tag"], "K=V", "records carrying this tag (repeatable: all must match)") { f, v throws(UsageError) in
                    guard let (key, value) = Tags.split(v) else { throw UsageError("--tag '\(v)' must be KEY=VALUE") }
                    f.tags.append((key, value))
                },
            ] + RecordSelection.window(\RecordFilter.selection, now: wallClockMicroseconds()) + [
                Option(["--json"], nil, "the records themselves, one per line") { f, _ in f.json = true },
                Option(["--follow"], nil, "keep printing records as they are written (Ctrl-C stops)") { f, _ in f.follow = true },
                RecordSelection.logDirectory(\RecordFilter.selection),
            ],
            examples: ["airun logs --level WARN --since 1h", "airun logs --trace session-abc --json"])
    }

    static let command = Subcommand(description, values: { RecordFilter() }, run: run)

    /// The events a record can be, in the order a run writes them (docs/records.md lists them).
    static let events = ["run.start", "attempt.start", "sample", "child.log", "ready", "heartbeat", "attempt.end", "error", "retry", "run.end"]

    static func run(_ options: RecordFilter) -> Int32 {
        var filter = options
        let files = RecordFiles(directory: filter.selection.directory)
        // A request id filters to that request; any other name is resolved to its trace first.
        if let text = filter.traceText {
            if case .request? = TraceSelector(text) {
                filter.trace = TraceSelector(text)
            } else {
                switch TraceLookup.resolve(text, in: files) {
                case .success(let id): filter.trace = .trace(id)
                case .failure(.ambiguous(let matches)):
                    printError("airun: logs: --trace " + TraceLookup.ambiguity(text, matches))
                    return 1
                case .failure(.noRecords): return 0
                }
            }
        }
        // --json prints each line as it was written (masked then), fields this version does not know included.
        func write(_ record: Record, _ line: UnsafeBufferPointer<UInt8>) {
            let out = filter.json ? Array(line) + [0x0A] : Array((humanLine(record) + "\n").utf8)
            try? FileDescriptor.standardOutput.writeAll(out)
        }
        if let last = filter.last {
            // The last N, kept in a ring of N while the files are read.
            var ring: [(Record, [UInt8])] = []
            var next = 0
            files.forEachRecordLine { r, line in
                guard filter.matches(r) else { return }
                let kept = (r, filter.json ? Array(line) : [])
                if ring.count < last { ring.append(kept) } else { ring[next] = kept; next = (next + 1) % last }
            }
            for i in 0..<ring.count {
                let (r, line) = ring[(next + i) % ring.count]
                line.withUnsafeBufferPointer { write(r, $0) }
            }
        } else {
            files.forEachRecordLine { r, line in if filter.matches(r) { write(r, line) } }
        }
        if filter.follow { files.follow { r, line in if filter.matches(r) { write(r, line) } } }
        return 0
    }

    /// `2026-11-27 01:14:52.459 WARN  error        4bf92f35 sh: NONZERO_EXIT (exit status 3)`
    static func humanLine(_ r: Record) -> String {
        let time = rfc3339(microseconds: r.timestampMicroseconds)
        let stamp = time.prefix(10) + " " + time.dropFirst(11).prefix(12)
        var detail = r.message
        if case .error(let e) = r.event { detail = "\(e.errorCode) \(e.evidence)" + (e.modelID.map { " [\($0)]" } ?? "") }
        return "\(stamp) \(r.level.rawValue.padding(to: 6))\(r.event.name.padding(to: 14))\(r.identity.traceID.hex.prefix(8)) "
            + escapingControlCharacters(detail)
    }
}

/// The filters of `airun logs`, and how it shows what passes them.
struct RecordFilter: Sendable {
    var selection = RecordSelection()
    /// `--trace` as typed; resolved against the records before filtering.
    var traceText: String?
    var trace: TraceSelector?
    /// `-n N`: only the last N.
    var last: Int?
    var level: RecordLevel?
    var events: [String] = []
    var code: String?
    var model: String?
    var command: String?
    var tags: [(key: String, value: String)] = []
    var json = false
    var follow = false

    func matches(_ r: Record) -> Bool {
        guard selection.inWindow(r) else { return false }
        if let trace, !trace.matches(r) { return false }
        if let level, rank(r.level) < rank(level) { return false }
        if !events.isEmpty, !events.contains(r.event.name) { return false }
        if let code, fields(r).code != code { return false }
        if let model, fields(r).model != model { return false }
        if let command, fields(r).command.map(fileName) != command { return false }
        for (key, value) in tags where fields(r).tags?.values[key] != value { return false }
        return true
    }

    private func rank(_ l: RecordLevel) -> Int { l == .info ? 0 : l == .warning ? 1 : 2 }

    /// The fields a filter looks at, where the record has them.
    private func fields(_ r: Record) -> (code: String?, model: String?, command: String?, tags: Tags?) {
        switch r.event {
        case .runStart(let e): (nil, e.modelID, e.command.first, e.tags)
        case .attemptStart(let e): (nil, nil, e.command.first, nil)
        case .attemptEnd(let e): (nil, e.modelID, nil, e.tags)
        case .error(let e): (e.errorCode, e.modelID, e.command.first, e.tags)
        case .retry(let e): (e.errorCode, nil, e.command.first, nil)
        case .runEnd(let e): (e.errorCode, nil, nil, e.tags)
        case .ready(let e): (nil, e.modelID, nil, nil)
        case .heartbeat(let e): (nil, e.modelID, nil, nil)
        case .sample, .childLog: (nil, nil, nil, nil)
        }
    }
}

