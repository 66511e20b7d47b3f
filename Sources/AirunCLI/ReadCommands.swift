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
    func forEachRecord(_ body: (Record) -> Void) -> (skipped: Int, unknown: Int) {
        var skipped = 0, unknown = 0
        for file in files {
            var stream = RecordStream()
            forEachChunk(ofFile: "\(directory)/\(file.name)") { stream.feed($0, body) }
            stream.finish(body)
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
    static let usage = "usage: airun stats [--since T] [--until T] [--by model|command|tag:KEY]... [--json] [--log-dir DIR]"
    static let help = """
        airun stats: per model and per command (or tag): executions, success %, p50/p95/max duration,
        tokens/s, peak RSS and GPU memory; errors by code, category and model; the error rate.

        \\(usage)

          --since T, --until T    only records in [T, T'): 2026-11-01, 2026-11-01T12:00:00Z, or 1h, 7d back
          --by G                  group by model, command or tag:KEY (repeatable; default model and command)
          --json                  one JSON object (docs/reading.md)
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
            default:
                return fail("unknown option '\(a)'" + (nearestOption(a, among: ["--since", "--until", "--by", "--json", "--log-dir"]).map { " (did you mean \($0)?)" } ?? ""))
            }
            i += needsValue ? 2 : 1
        }
        let (settings, _, _) = GlobalConfig.logSettings(environment.values)
        let directory = resolveLogDirectory(flag: logDir, settings: settings, environment: environment.values)
        var stats = StatsAggregator(groupings: groupings.isEmpty ? [.model, .command] : groupings, since: since, until: until)
        let (skipped, _) = RecordFiles(directory: directory).forEachRecord { stats.add($0) }
        let result = stats.result()
        if json {
            try? FileDescriptor.standardOutput.writeAll(result.json())
        } else {
            try? FileDescriptor.standardOutput.writeAll(text(result, directory: directory, skipped: skipped))
        }
        return 0
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
