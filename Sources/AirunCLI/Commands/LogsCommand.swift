import AirunCore
import AirunSystem

/// `airun logs`: the records, filtered, one line each or as JSON lines.
enum LogsCommand {
    static let usage = "usage: airun logs [--trace ID] [--level L] [--event E]... [--code C] [--model M] [--command C] [--tag K=V] [--since T] [--until T] [--json] [--follow]"
    static let help = """
        airun logs: the records of the log directory, oldest first, filtered.

        \(usage)

          --trace ID              one trace: its 32-hex id, a request id, or the caller's own id (session-abc)
          --level L               INFO, WARN or ERROR and above
          --event E               run.start, attempt.start, sample, attempt.end, error, retry, run.end (repeatable)
          --code C                records with this error_code (error, retry, run.end)
          --model M, --command C  records naming this model id / program
          --tag K=V               records carrying this tag
          --since T, --until T    2026-11-01, 2026-11-01T12:00:00Z, or 1h, 7d back
          --json                  the records themselves, one per line
          --follow                keep printing records as they are written (Ctrl-C stops)
          --log-dir DIR           read DIR instead of the log directory

        example:
          airun logs --level WARN --since 1h
          airun logs --trace session-abc --json
        """

    static func run(_ arguments: [String]) -> Int32 {
        let options: ReadOptions
        do {
            options = try ReadOptions(arguments, command: "logs", valueOptions: ["--trace", "--level", "--event", "--code", "--model", "--command", "--tag"],
                                      switches: ["--follow"])
        } catch {
            printError("airun: \(error.message)\n\(usage)")
            return ExitCode.airunFailure
        }
        let filter: RecordFilter
        do { filter = try RecordFilter(options) } catch {
            printError("airun: logs: \(error.message)")
            return ExitCode.airunFailure
        }
        let files = RecordFiles(directory: options.directory)
        let redactor = Redactor()
        func show(_ record: Record) {
            guard filter.matches(record) else { return }
            let out = options.json ? record.line(redactor: redactor) : Array((humanLine(record) + "\n").utf8)
            try? FileDescriptor.standardOutput.writeAll(out)
        }
        files.forEachRecord(show)
        if options.flags.contains("--follow") { files.follow(show) }
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

/// The filters of `airun logs`.
struct RecordFilter {
    var options: ReadOptions
    var trace: TraceSelector?
    var level: RecordLevel?

    init(_ options: ReadOptions) throws(UsageError) {
        self.options = options
        if let t = options.values["--trace"]?.last {
            guard let selector = TraceSelector(t) else { throw UsageError("--trace '\(t)' is not a trace id, request id or caller id") }
            trace = selector
        }
        if let l = options.values["--level"]?.last {
            guard let level = RecordLevel(rawValue: l.uppercased()) else { throw UsageError("--level '\(l)' must be INFO, WARN or ERROR") }
            self.level = level
        }
        for tag in options.values["--tag"] ?? [] where Tags.split(tag) == nil { throw UsageError("--tag '\(tag)' must be KEY=VALUE") }
    }

    func matches(_ r: Record) -> Bool {
        guard options.inWindow(r) else { return false }
        if let trace, !trace.matches(r) { return false }
        if let level, rank(r.level) < rank(level) { return false }
        if let events = options.values["--event"], !events.contains(r.event.name) { return false }
        if let code = options.values["--code"]?.last, fields(r).code != code { return false }
        if let model = options.values["--model"]?.last, fields(r).model != model { return false }
        if let command = options.values["--command"]?.last, fields(r).command.map(fileName) != command { return false }
        for tag in options.values["--tag"] ?? [] {
            guard let (key, value) = Tags.split(tag), fields(r).tags?.values[key] == value else { return false }
        }
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
        case .sample, .childLog: (nil, nil, nil, nil)
        }
    }
}

