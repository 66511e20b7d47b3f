import AirunCore
import AirunSystem

/// The record files of a log directory, oldest first (by day, then rotation index), read as one
/// stream of records in constant memory.
struct RecordFiles {
    let directory: String

    var files: [LogFileName] { directoryEntries(directory).compactMap(LogFileName.init).sorted() }

    /// Calls `body` with every record of every file, in order; returns the reader's counts of
    /// lines it skipped (torn, foreign) and events it did not know.
    @discardableResult
    func forEachRecord(onlyLinesWith needles: [String] = [], _ body: (Record) -> Void) -> (skipped: Int, unknown: Int) {
        forEachLine(onlyLinesWith: needles) { RecordStream.decode($0, body) }
    }
}

extension RecordFiles {
    /// Reads what is appended from now on, across rotation and new days: polls every 200 ms,
    /// reading the current file from where it stopped; when a later file exists, the current one
    /// is read to its end and the next in order (not the newest: two rotations may have happened
    /// in between) becomes current. Calls `idle` after each poll. Runs until the process ends.
    func follow(onlyLinesWith needles: [String] = [], _ body: (Record) -> Void, idle: () -> Void = {}) -> Never {
        let bytes = needles.map { Array($0.utf8) }
        func newStream() -> RecordStream { RecordStream(lineFilter: bytes.isEmpty ? nil : { lineContains($0, anyOf: bytes) }) }
        var current = files.last
        var offset = current.map { fileSize("\(directory)/\($0.name)") } ?? 0
        var stream = newStream()
        func readCurrent() {
            guard let file = current else { return }
            let path = "\(directory)/\(file.name)"
            let size = fileSize(path)
            guard size > offset else { return }
            forEachChunk(ofFile: path, from: offset) { stream.feed($0, body) }
            offset = size
        }
        while true {
            readCurrent()
            let list = files
            if let next = current.map({ c in list.first { $0 > c } }) ?? list.first {
                readCurrent()
                stream.finish(body)
                stream = newStream()
                current = next
                offset = 0
                continue
            }
            idle()
            sleepNanoseconds(200_000_000)
        }
    }
}

extension RecordFiles {
    /// Like `forEachRecord`, for a reader that parses lines itself (for the fields it needs).
    @discardableResult
    func forEachLine(onlyLinesWith needles: [String] = [], _ line: (UnsafeBufferPointer<UInt8>) -> RecordStream.LineOutcome) -> (skipped: Int, unknown: Int) {
        var skipped = 0, unknown = 0
        let bytes = needles.map { Array($0.utf8) }
        for file in files {
            var stream = RecordStream(lineFilter: bytes.isEmpty ? nil : { lineContains($0, anyOf: bytes) })
            forEachChunk(ofFile: "\(directory)/\(file.name)") { stream.feedLines($0, line) }
            stream.finishLines(line)
            skipped += stream.skippedLines
            unknown += stream.unknownEvents
        }
        return (skipped, unknown)
    }
}

/// `--since`/`--until`: a time like `2026-11-01`, `2026-11-01T12:00:00Z`, or a duration back from
/// now (`1h`, `30m`, `7d`). Unix microseconds.
func parseTimeBound(_ text: String, now: Int64) -> Int64? {
    if let d = Duration(parsing: text) { return now - d.nanoseconds / 1000 }
    if text.count == 10 { return parseRFC3339(text + "T00:00:00Z") }
    return parseRFC3339(text)
}

/// `airun stats`: the dashboard of docs/reading.md over the log directory.
enum StatsCommand {
    static let usage = "usage: airun stats [--since T] [--until T] [--by model|command|tag:KEY]... [--json] [--watch] [--log-dir DIR]"
    static let help = """
        airun stats: per model and per command (or tag): executions, success %, p50/p95/max duration,
        tokens/s, peak RSS and GPU memory; errors by code, category and model; the error rate.

        \\(usage)

          --since T, --until T    only records in [T, T'): 2026-11-01, 2026-11-01T12:00:00Z, or 1h, 7d back
          --by G                  group by model, command or tag:KEY (repeatable; default model and command)
          --json                  one JSON object (docs/reading.md)
          --watch                 keep the dashboard up to date as records arrive (redrawn in place
                                  on a terminal, appended otherwise; Ctrl-C stops)
          --log-dir DIR           read DIR instead of the log directory

        example:
          airun stats --since 24h --by model
        """

    static func run(_ arguments: [String]) -> Int32 {
        let environment = Environment.current()
        let now = wallClockMicroseconds()
        var groupings: [StatsAggregator.Grouping] = []
        var since: Int64?, until: Int64?
        var json = false
        var watch = false
        var logDir: String?
        func fail(_ message: String) -> Int32 {
            try? FileDescriptor.standardError.writeAll("airun: stats: \(message)\n\(usage)\n")
            return ExitCode.airunFailure
        }
        var i = 0
        while i < arguments.count {
            let a = arguments[i]
            let needsValue = ["--since", "--until", "--by", "--log-dir"].contains(a)
            if needsValue && i + 1 >= arguments.count { return fail("option \(a) needs a value") }
            let value = needsValue ? arguments[i + 1] : ""
            switch a {
            case "--since", "--until":
                guard let t = parseTimeBound(value, now: now) else { return fail("\(a) '\(value)' is not a time (2026-11-01, 1h, 7d)") }
                if a == "--since" { since = t } else { until = t }
            case "--by":
                guard let g = StatsAggregator.Grouping(value) else { return fail("--by '\(value)' must be model, command or tag:KEY") }
                groupings.append(g)
            case "--log-dir": logDir = value
            case "--json": json = true
            case "--watch": watch = true
            default:
                return fail("unknown option '\(a)'" + (nearestOption(a, among: ["--since", "--until", "--by", "--json", "--watch", "--log-dir"]).map { " (did you mean \($0)?)" } ?? ""))
            }
            i += needsValue ? 2 : 1
        }
        let (settings, _, _) = GlobalConfig.logSettings(environment.values)
        let directory = resolveLogDirectory(flag: logDir, settings: settings, environment: environment.values)
        var stats = StatsAggregator(groupings: groupings.isEmpty ? [.model, .command] : groupings, since: since, until: until)
        // Only the events the figures come from are parsed; the rest are passed over by a byte search.
        let wanted = [#""event":"attempt.start""#, #""event":"attempt.end""#, #""event":"error""#]
        let files = RecordFiles(directory: directory)
        // The initial pass parses each line for the few fields stats reads (no byte pre-filter:
        // the projection already passes over what it does not need, output tails included).
        let skipped = files.forEachLine { stats.add(line: $0) }.skipped
        func draw(clear: Bool) {
            let result = stats.result()
            var out = json ? result.json() : Array(text(result, directory: directory, skipped: skipped).utf8)
            if clear { out = Array("\u{1B}[H\u{1B}[2J".utf8) + out }  // home and clear: redrawn in place
            try? FileDescriptor.standardOutput.writeAll(out)
        }
        guard watch else {
            draw(clear: false)
            return 0
        }
        // A live dashboard: redrawn at most once a second when records arrived. On a terminal in
        // place; into a pipe or file, each new state is appended (a blank line between).
        let onTerminal = FileDescriptor.standardOutput.isTerminal
        draw(clear: onTerminal)
        var changed = false
        var lastDraw = monotonicNanoseconds()
        files.follow(onlyLinesWith: wanted, { record in
            stats.add(record)
            changed = true
        }, idle: {
            guard changed, monotonicNanoseconds() - lastDraw >= 1_000_000_000 else { return }
            if !onTerminal { try? FileDescriptor.standardOutput.writeAll(Array("\n".utf8)) }
            draw(clear: onTerminal)
            changed = false
            lastDraw = monotonicNanoseconds()
        })
    }

    /// The dashboard as aligned text.
    static func text(_ s: Stats, directory: String, skipped: Int) -> String {
        var out = "records in \(directory)"
        if let first = s.first, let last = s.last { out += ", \(rfc3339(microseconds: first).prefix(16)) to \(rfc3339(microseconds: last).prefix(16)) UTC" }
        out += "\n\(s.executions) executions, \(s.failures) failed: error rate \(percent(s.errorRate * 100))"
        if skipped > 0 { out += " (\(skipped) unreadable lines skipped)" }
        out += "\n"
        func ms(_ v: Double?) -> String { v.map { $0 >= 10_000 ? JSONLine.format($0 / 1000, decimals: 0) + "s" : $0 >= 1000 ? JSONLine.format($0 / 1000, decimals: 1) + "s" : JSONLine.format($0, decimals: 0) + "ms" } ?? "-" }
        func mb(_ v: Double?) -> String { v.map { $0 >= 1024 ? JSONLine.format($0 / 1024, decimals: 1) + "G" : JSONLine.format($0, decimals: 0) + "M" } ?? "-" }
        for table in s.tables {
            out += "\n" + [table.grouping, "runs", "ok%", "p50", "p95", "max", "tok/s", "rss", "gpu"].enumerated().map { i, h in
                i == 0 ? h.padding(to: 28) : h.leftPadded(7)
            }.joined() + "\n"
            for r in table.rows {
                let key = r.key.count > 27 ? String(r.key.prefix(26)) + "…" : r.key
                out += key.padding(to: 28) + [String(r.executions), percent(r.successPercent), ms(r.p50DurationMs), ms(r.p95DurationMs),
                                                ms(r.maxDurationMs), r.meanTokensPerSecond.map { JSONLine.format($0, decimals: 1) } ?? "-",
                                                mb(r.peakRSSMB), mb(r.peakGPUMemoryMB)].map { $0.leftPadded(7) }.joined() + "\n"
            }
        }
        for (title, counts) in [("errors by code", s.errorsByCode), ("errors by category", s.errorsByCategory), ("errors by model", s.errorsByModel)]
        where !counts.isEmpty {
            out += "\n\(title):\n"
            for (key, count) in counts.prefix(12) { out += "  " + key.padding(to: 28) + String(count).leftPadded(7) + "\n" }
        }
        return out
    }

    static func percent(_ v: Double) -> String { JSONLine.format(v, decimals: 1) + "%" }
}

extension String {
    func leftPadded(_ width: Int) -> String { count >= width ? " " + self : String(repeating: " ", count: width - count) + self }
}

/// Which trace an id names: 32 hex digits are the W3C id itself; a request id (`<run span>` or
/// `<run span>-N`) is matched as such; anything else is a caller's id (`session-abc`, a UUID),
/// whose trace is derived from it the same way a run derives it.
enum TraceSelector {
    case trace(TraceID)
    case request(String)

    init?(_ text: String) {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        if let id = TraceID(text) {
            self = .trace(id)
        } else if SpanID(parts[0]) != nil, parts.count == 1 || (parts.count == 2 && Int(parts[1]) != nil) {
            self = .request(text)
        } else if let id = TraceID(callerID: text) {
            self = .trace(id)
        } else {
            return nil
        }
    }

    func matches(_ record: Record) -> Bool {
        switch self {
        case .trace(let id): record.identity.traceID == id
        case .request(let r): record.identity.requestID == r || record.identity.requestID.hasPrefix(r + "-")
        }
    }
}

/// Options shared by the reading commands: `--log-dir`, `--since`, `--until`, `--json`.
struct ReadOptions {
    var logDir: String?
    var since: Int64?
    var until: Int64?
    var json = false
    var values: [String: [String]] = [:]
    var flags: Set<String> = []
    var positional: [String] = []

    /// Parses `arguments` given the command's own value options and switches.
    init(_ arguments: [String], command: String, valueOptions: [String], switches: [String]) throws(UsageError) {
        let now = wallClockMicroseconds()
        let allValues = valueOptions + ["--log-dir", "--since", "--until"]
        let allSwitches = switches + ["--json"]
        var i = 0
        while i < arguments.count {
            let a = arguments[i]
            if allSwitches.contains(a) {
                if a == "--json" { json = true } else { flags.insert(a) }
                i += 1
                continue
            }
            guard allValues.contains(a) else {
                guard !a.hasPrefix("-") else { throw unknownOption(a, names: allValues + allSwitches) }
                positional.append(a)
                i += 1
                continue
            }
            guard i + 1 < arguments.count else { throw UsageError("\(command): option \(a) needs a value") }
            let v = arguments[i + 1]
            switch a {
            case "--log-dir": logDir = v
            case "--since", "--until":
                guard let t = parseTimeBound(v, now: now) else { throw UsageError("\(command): \(a) '\(v)' is not a time (2026-11-01, 1h, 7d)") }
                if a == "--since" { since = t } else { until = t }
            default: values[a, default: []].append(v)
            }
            i += 2
        }
    }

    func inWindow(_ record: Record) -> Bool {
        (since.map { record.timestampMicroseconds >= $0 } ?? true) && (until.map { record.timestampMicroseconds < $0 } ?? true)
    }

    var directory: String {
        let environment = Environment.current().values
        let (settings, _, _) = GlobalConfig.logSettings(environment)
        return resolveLogDirectory(flag: logDir, settings: settings, environment: environment)
    }
}

/// `airun logs`: the records, filtered, one line each or as JSON lines.
enum LogsCommand {
    static let usage = "usage: airun logs [--trace ID] [--level L] [--event E]... [--code C] [--model M] [--command C] [--tag K=V] [--since T] [--until T] [--json] [--follow]"
    static let help = """
        airun logs: the records of the log directory, oldest first, filtered.

        \\(usage)

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
            try? FileDescriptor.standardError.writeAll("airun: \(error.message)\n\(usage)\n")
            return ExitCode.airunFailure
        }
        let filter: RecordFilter
        do { filter = try RecordFilter(options) } catch {
            try? FileDescriptor.standardError.writeAll("airun: logs: \(error.message)\n")
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
        if let command = options.values["--command"]?.last, fields(r).command.map(programName) != command { return false }
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
        case .sample: (nil, nil, nil, nil)
        }
    }
}

func programName(_ path: String) -> String { path.split(separator: "/").last.map(String.init) ?? path }

/// `airun trace ID`: the whole trace as a tree.
enum TraceCommand {
    static let usage = "usage: airun trace ID [--json] [--log-dir DIR]"
    static let help = """
        airun trace: a trace as a tree: runs, their attempts, retries and errors, and runs nested in
        attempts, with start offsets and durations, and the failing attempts' evidence.

        \\(usage)

          ID                      the 32-hex trace id, a request id, or the caller's own id (session-abc)
          --json                  the tree as one JSON object (docs/reading.md)
          --log-dir DIR           read DIR instead of the log directory

        example:
          airun trace 4bf92f3577b34da6a3ce929d0e0e4736
        """

    static func run(_ arguments: [String]) -> Int32 {
        let options: ReadOptions
        do { options = try ReadOptions(arguments, command: "trace", valueOptions: [], switches: []) } catch {
            try? FileDescriptor.standardError.writeAll("airun: \(error.message)\n\(usage)\n")
            return ExitCode.airunFailure
        }
        guard options.positional.count == 1, let selector = TraceSelector(options.positional[0]) else {
            try? FileDescriptor.standardError.writeAll("airun: trace: give one trace id, request id or caller id\n\(usage)\n")
            return ExitCode.airunFailure
        }
        // One pass collects the trace's records; a request id names its trace by the first match.
        var records: [Record] = []
        var traceID: TraceID?
        var needles: [String] = []
        if case .trace(let id) = selector {
            traceID = id
            needles = [id.hex]  // lines of other traces are passed over without parsing
        }
        RecordFiles(directory: options.directory).forEachRecord(onlyLinesWith: needles) { r in
            if traceID == nil, selector.matches(r) { traceID = r.identity.traceID }
            if let traceID, r.identity.traceID == traceID { records.append(r) }
        }
        guard let traceID, !records.isEmpty else {
            try? FileDescriptor.standardError.writeAll("airun: trace: no records of \(options.positional[0]) in \(options.directory)\n")
            return 1
        }
        let tree = TraceTree(traceID: traceID, records: records)
        try? FileDescriptor.standardOutput.writeAll(options.json ? json(tree) : Array(text(tree).utf8))
        return 0
    }

    static func text(_ tree: TraceTree) -> String {
        let origin = tree.startTime ?? 0
        func offset(_ t: Int64?) -> String { t.map { "+" + seconds(Double($0 - origin) / 1000) } ?? "+?" }
        var out = "trace \(tree.traceID.hex)"
        if let caller = tree.roots.first?.start?.callerTraceID { out += " (caller id \(caller))" }
        out += ", \(tree.recordCount) records\n"
        func render(_ run: TraceTree.Run, _ indent: String) {
            let command = run.start.map { $0.command.map(escapingControlCharacters).joined(separator: " ") } ?? "(run.start not found)"
            let outcome = run.end.map { "exit=\($0.exitCode)" + ($0.errorCode.map { " \($0)" } ?? "") + " " + seconds($0.durationMs) } ?? "(no run.end: running, or airun was killed)"
            out += "\(indent)run \(run.spanID.hex.prefix(8)) \(offset(run.startTime)) \(command.prefix(120))  \(outcome)\n"
            for (i, attempt) in run.attempts.enumerated() {
                let last = i == run.attempts.count - 1 && run.retries.count <= i
                let branch = indent + (last ? "└─ " : "├─ ")
                let status = attempt.end.map { "\($0.status) \(seconds($0.durationMs))" } ?? "(no attempt.end)"
                out += "\(branch)attempt \(attempt.number) \(offset(attempt.start)) \(status)"
                if let e = attempt.error { out += "  \(e.errorCode)" }
                out += "\n"
                let inner = indent + (last ? "   " : "│  ")
                if let e = attempt.error { out += "\(inner)   evidence: \(escapingControlCharacters(String(e.evidence.prefix(200))))\n" }
                for nested in attempt.runs { render(nested, inner) }
                if i < run.retries.count {
                    let r = run.retries[i].retry
                    out += "\(indent)├─ retry \(offset(run.retries[i].time)) in \(seconds(r.delayMs)) with \(r.change)\n"
                }
            }
        }
        for root in tree.roots { render(root, "") }
        return out
    }

    static func json(_ tree: TraceTree) -> [UInt8] {
        let redactor = Redactor()
        func runObject(_ run: TraceTree.Run) -> JSONLine {
            var o = JSONLine(redacting: redactor)
            o.add("span_id", run.spanID.hex)
            o.add("parent_span_id", run.parentSpanID?.hex)
            o.add("started_at", run.startTime.map(rfc3339))
            o.add("command_args", strings: run.start?.command ?? [])
            o.add("exit_code", run.end?.exitCode)
            o.add("status", run.end?.status)
            o.add("error_code", run.end?.errorCode)
            o.add("duration_ms", run.end?.durationMs)
            var attempts = JSONArrayBuilder()
            for a in run.attempts {
                var x = JSONLine(redacting: redactor)
                x.add("attempt", a.number)
                x.add("span_id", a.spanID.hex)
                x.add("started_at", a.start.map(rfc3339))
                x.add("status", a.end?.status)
                x.add("duration_ms", a.end?.durationMs)
                x.add("error_code", a.error?.errorCode)
                x.add("evidence", a.error?.evidence)
                var nested = JSONArrayBuilder()
                for r in a.runs { nested.append(runObject(r)) }
                x.add("runs", array: nested)
                attempts.append(x)
            }
            o.add("attempts", array: attempts)
            var retries = JSONArrayBuilder()
            for (time, r) in run.retries {
                var x = JSONLine(redacting: redactor)
                x.add("at", rfc3339(microseconds: time))
                x.add("attempt", r.attempt)
                x.add("change", r.change)
                x.add("delay_ms", r.delayMs)
                retries.append(x)
            }
            o.add("retries", array: retries)
            return o
        }
        var root = JSONLine(redacting: redactor)
        root.add("trace_id", tree.traceID.hex)
        root.add("records", tree.recordCount)
        var runs = JSONArrayBuilder()
        for r in tree.roots { runs.append(runObject(r)) }
        root.add("runs", array: runs)
        return root.line()
    }
}
