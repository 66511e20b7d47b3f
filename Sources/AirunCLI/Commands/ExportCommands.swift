import AirunCore
import AirunSystem

struct MetricsOptions: Sendable {
    var selection = RecordSelection()
    var fromRecords = false
}

/// `airun metrics`: the Prometheus exposition of docs/metrics.md on stdout.
enum MetricsCommand {
    static var description: CommandDescription<MetricsOptions> {
        CommandDescription(
            name: "metrics",
            summary: "the Prometheus metrics of the runs (as the textfile exporter writes them)",
            about: """
                the runs' Prometheus metrics (text format 0.0.4), as the textfile exporter
                writes them to $AIRUN_TEXTFILE_DIR/airun.prom (docs/metrics.md lists each metric).
                """,
            options: [
                Option(["--from-records"], nil, "count the records in the log directory, not the exporter's state") { o, _ in o.fromRecords = true },
                Option(["--log-dir"], "DIR", "the log directory (its airun-metrics.state, or its records)", kind: .directory) { o, v in o.selection.logDir = v },
            ],
            notes: "Without a state file (no textfile exporter has run), the metrics are counted from the records.",
            examples: ["airun metrics | promtool check metrics"])
    }

    static let command = Subcommand(description, values: { MetricsOptions() }, run: run)

    static func run(_ options: MetricsOptions) -> Int32 {
        let directory = options.selection.directory
        let store = MetricsStore(logDirectory: directory)
        let stored = options.fromRecords ? nil : store.load()
        let state = stored ?? {
            var accumulator = MetricsAccumulator()
            RecordFiles(directory: directory).forEachRecord { accumulator.add($0) }
            return accumulator.state
        }()
        // The two sources can differ (records rotated away, a state file reset): say which this is.
        let source = stored != nil
            ? "# airun metrics: the textfile exporter's totals in \(store.statePath) (--from-records counts the records instead)\n"
            : "# airun metrics: counted from the records in \(directory)\(options.fromRecords ? "" : " (no textfile exporter state there)")\n"
        try? FileDescriptor.standardOutput.writeAll(source + state.exposition())
        return 0
    }
}

struct ExportOptions: Sendable {
    var selection = RecordSelection()
    var flush = false
    var otlp: String?
}

/// `airun export --flush`: sends the spooled OTLP payloads now.
enum ExportCommand {
    static var description: CommandDescription<ExportOptions> {
        CommandDescription(
            name: "export",
            summary: "resend what a collector could not take (--flush)",
            about: """
                what the OpenTelemetry exporter could not deliver (a collector down or slow)
                waits in the spool beside the records; the next run resends it, or this command does.
                """,
            options: [
                Option(["--flush"], nil, "send every spooled payload to the configured collector") { o, _ in o.flush = true },
                Option(["--otlp"], "URL", "the collector (default: $OTEL_EXPORTER_OTLP_ENDPOINT or config.toml)") { o, v in o.otlp = v },
                Option(["--log-dir"], "DIR", "the log directory whose spool/ to send", kind: .directory) { o, v in o.selection.logDir = v },
            ],
            notes: """
                Each payload is sent once: it leaves the spool when the collector takes it (HTTP 2xx) or
                refuses it for good (4xx other than 429); otherwise it stays for the next try.
                Exit status: 0 when the spool is empty, 1 when payloads remain, 125 on a usage error.
                """,
            examples: ["airun export --flush --otlp http://localhost:4318"])
    }

    static let command = Subcommand(description, values: { ExportOptions() }, run: run)

    static func run(_ options: ExportOptions) throws(UsageError) -> Int32 {
        guard options.flush else { throw UsageError("nothing to do: say --flush") }
        let environment = Environment.current().values
        var settings = GlobalConfig.load(environment).config.export
        if let url = options.otlp {
            do throws(EndpointError) { try settings.applyFlag(otlp: url) } catch { throw UsageError("--otlp '\(error.url)': \(error.reason)") }
        }
        guard settings.otlpEnabled else {
            throw UsageError("no collector: set OTEL_EXPORTER_OTLP_ENDPOINT, [export] otlp_endpoint in config.toml, or --otlp URL")
        }
        let spool = Spool(logDirectory: options.selection.directory, maxBytes: settings.spoolMaxBytes)
        var total = FlushResult()
        while true {
            let batch = flushSpool(spool, settings: settings, timeoutNanoseconds: 10_000_000_000, limit: 16)
            total.sent += batch.sent
            total.refused += batch.refused
            total.lastProblem = batch.lastProblem ?? total.lastProblem
            if batch.sent + batch.refused == 0 || batch.remaining > 0 {
                total.remaining = spool.pending().count
                break
            }
        }
        let dropped = spool.takeDropped()
        var line = "sent \(total.sent), \(total.remaining) remaining"
        if total.refused > 0 { line += ", \(total.refused) refused by the collector" }
        if dropped > 0 { line += ", \(dropped) dropped earlier to keep the spool under \(byteCountText(spool.maxBytes))" }
        if let problem = total.lastProblem, total.remaining > 0 || total.refused > 0 { line += " (\(problem))" }
        try? FileDescriptor.standardOutput.writeAll("airun: export: \(line)\n")
        return total.remaining == 0 ? 0 : 1
    }
}
