import AirunCore
import AirunSystem

/// What `airun stats` was asked for.
struct StatsOptions: Sendable {
    var selection = RecordSelection()
    var groupings: [StatsAggregator.Grouping] = []
    var json = false
    var watch = false
}

/// `airun stats`: the dashboard of docs/reading.md over the log directory.
enum StatsCommand {
    static var description: CommandDescription<StatsOptions> {
        CommandDescription(
            name: "stats",
            summary: "per model and command: attempts, success, durations, tokens/s, errors",
            about: """
                per model and per command (or tag): attempts, success %, p50/p95/max duration,
                tokens/s, peak RSS and GPU memory; errors by code, category and model; the error rate
                (failed attempts over attempts; attempts a person interrupted are counted apart).
                """,
            options: RecordSelection.window(\StatsOptions.selection, now: wallClockMicroseconds()) + [
                Option(["--by"], "G", "group by model, command or tag:KEY (repeatable; default model and command)",
                       kind: .choices { ["model", "command", "tag:"] }) { o, v throws(UsageError) in
                    guard let g = StatsAggregator.Grouping(v) else { throw UsageError("--by '\(v)' must be model, command or tag:KEY") }
                    o.groupings.append(g)
                },
                Option(["--json"], nil, "one JSON object (docs/reading.md)") { o, _ in o.json = true },
                Option(["--watch"], nil, """
                    keep the dashboard up to date as records arrive (redrawn in place on a terminal; appended \
                    otherwise, each block after a "-- TIME" line; Ctrl-C stops)
                    """) { o, _ in o.watch = true },
                RecordSelection.logDirectory(\StatsOptions.selection),
            ],
            examples: ["airun stats --since 24h --by model"])
    }

    static let command = Subcommand(description, values: { StatsOptions() }, run: run)

    static func run(_ options: StatsOptions) -> Int32 {
        let (groupings, since, until, json, watch) = (options.groupings, options.selection.since, options.selection.until, options.json, options.watch)
        let directory = options.selection.directory
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
        // place; into a pipe or file each new state is appended, after a line with its time (the
        // blocks were otherwise indistinguishable), and a blank line before all but the first.
        let onTerminal = FileDescriptor.standardOutput.isTerminal
        func stamp(first: Bool) {
            guard !onTerminal else { return }
            let time = json ? "" : "-- \(rfc3339(microseconds: wallClockMicroseconds()).prefix(19))Z\n"  // JSON stays JSON lines
            try? FileDescriptor.standardOutput.writeAll(Array(((first ? "" : "\n") + time).utf8))
        }
        stamp(first: true)
        draw(clear: onTerminal)
        var changed = false
        var lastDraw = monotonicNanoseconds()
        files.follow(onlyLinesWith: wanted, { record, _ in
            stats.add(record)
            changed = true
        }, idle: {
            guard changed, monotonicNanoseconds() - lastDraw >= 1_000_000_000 else { return }
            stamp(first: false)
            draw(clear: onTerminal)
            changed = false
            lastDraw = monotonicNanoseconds()
        })
    }

    /// The dashboard as aligned text.
    static func text(_ s: Stats, directory: String, skipped: Int) -> String {
        var out = "records in \(directory)"
        if let first = s.first, let last = s.last { out += ", \(rfc3339(microseconds: first).prefix(16)) to \(rfc3339(microseconds: last).prefix(16)) UTC" }
        out += "\n\(s.attempts) attempts, \(s.failures) failed"
        if s.interrupted > 0 { out += ", \(s.interrupted) interrupted by a person (not counted as failures)" }
        out += ": error rate \(percent(s.errorRate * 100))"
        if skipped > 0 { out += " (\(skipped) unreadable lines skipped)" }
        out += "\n"
        func ms(_ v: Double?) -> String { v.map { $0 >= 10_000 ? JSONLine.format($0 / 1000, decimals: 0) + "s" : $0 >= 1000 ? JSONLine.format($0 / 1000, decimals: 1) + "s" : JSONLine.format($0, decimals: 0) + "ms" } ?? "-" }
        func mb(_ v: Double?) -> String { v.map { $0 >= 1024 ? JSONLine.format($0 / 1024, decimals: 1) + "G" : JSONLine.format($0, decimals: 0) + "M" } ?? "-" }
        for table in s.tables {
            // Servers' columns only where a server ran: restarts, and the mean load time (start to ready).
            let servers = table.rows.contains { $0.restarts > 0 || $0.meanReadyMs != nil }
            out += "\n" + ([table.grouping, "attempts", "ok%", "p50", "p95", "max", "tok/s", "rss", "gpu"] + (servers ? ["restarts", "load"] : []))
                .enumerated().map { i, h in
                    i == 0 ? h.padding(to: 28) : h.leftPadded(i == 1 || i == 9 ? 9 : 7)
                }.joined() + "\n"
            for r in table.rows {
                let key = r.key.count > 27 ? String(r.key.prefix(26)) + "…" : r.key
                out += key.padding(to: 28) + String(r.attempts).leftPadded(9) + [percent(r.successPercent), ms(r.p50DurationMs), ms(r.p95DurationMs),
                                                ms(r.maxDurationMs), r.meanTokensPerSecond.map { JSONLine.format($0, decimals: 1) } ?? "-",
                                                mb(r.peakRSSMB), mb(r.peakGPUMemoryMB)].map { $0.leftPadded(7) }.joined()
                if servers { out += String(r.restarts).leftPadded(9) + ms(r.meanReadyMs).leftPadded(7) }
                out += "\n"
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
