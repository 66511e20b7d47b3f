import AirunCore
import AirunSystem

/// `airun metrics`: the Prometheus exposition of docs/metrics.md on stdout.
enum MetricsCommand {
    static let usage = "usage: airun metrics [--from-records] [--log-dir DIR]"
    static let help = """
        airun metrics: the runs' Prometheus metrics (text format 0.0.4), as the textfile exporter
        writes them to $AIRUN_TEXTFILE_DIR/airun.prom (docs/metrics.md lists each metric).

        \(usage)

          --from-records          count the records in the log directory, not the exporter's state
          --log-dir DIR           the log directory (its airun-metrics.state, or its records)

        Without a state file (no textfile exporter has run), the metrics are counted from the records.

        example:
          airun metrics | promtool check metrics
        """

    static func run(_ arguments: [String]) -> Int32 {
        let options: ReadOptions
        do { options = try ReadOptions(arguments, command: "metrics", valueOptions: [], switches: ["--from-records"]) } catch {
            printError("airun: \(error.message)\n\(usage)")
            return ExitCode.airunFailure
        }
        guard options.positional.isEmpty, !options.json, options.since == nil, options.until == nil else {
            printError("airun: metrics takes no arguments but --from-records and --log-dir\n\(usage)")
            return ExitCode.airunFailure
        }
        let directory = options.directory
        let stored = options.flags.contains("--from-records") ? nil : MetricsStore(logDirectory: directory).load()
        let state = stored ?? {
            var accumulator = MetricsAccumulator()
            RecordFiles(directory: directory).forEachRecord { accumulator.add($0) }
            return accumulator.state
        }()
        try? FileDescriptor.standardOutput.writeAll(state.exposition())
        return 0
    }
}

/// `airun export --flush`: sends the spooled OTLP payloads now.
enum ExportCommand {
    static let usage = "usage: airun export --flush [--otlp URL] [--log-dir DIR]"
    static let help = """
        airun export: what the OpenTelemetry exporter could not deliver (a collector down or slow)
        waits in the spool beside the records; the next run resends it, or this command does.

        \(usage)

          --flush                 send every spooled payload to the configured collector
          --otlp URL              the collector (default: $OTEL_EXPORTER_OTLP_ENDPOINT or config.toml)
          --log-dir DIR           the log directory whose spool/ to send

        Each payload is sent once: it leaves the spool when the collector takes it (HTTP 2xx) or
        refuses it for good (4xx other than 429); otherwise it stays for the next try.
        Exit status: 0 when the spool is empty, 1 when payloads remain, 125 on a usage error.
        """

    static func run(_ arguments: [String]) -> Int32 {
        func fail(_ message: String) -> Int32 {
            printError("airun: export: \(message)\n\(usage)")
            return ExitCode.airunFailure
        }
        let options: ReadOptions
        do { options = try ReadOptions(arguments, command: "export", valueOptions: ["--otlp"], switches: ["--flush"]) } catch {
            return fail(error.message)
        }
        guard options.flags.contains("--flush"), options.positional.isEmpty else { return fail("nothing to do: say --flush") }
        let environment = Environment.current().values
        var settings = GlobalConfig.load(environment).config.export
        if let url = options.values["--otlp"]?.last {
            do throws(EndpointError) { try settings.applyFlag(otlp: url) } catch { return fail("--otlp '\(error.url)': \(error.reason)") }
        }
        guard settings.otlpEnabled else {
            return fail("no collector: set OTEL_EXPORTER_OTLP_ENDPOINT, [export] otlp_endpoint in config.toml, or --otlp URL")
        }
        let spool = Spool(logDirectory: options.directory, maxBytes: settings.spoolMaxBytes)
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
        if dropped > 0 { line += ", \(dropped) dropped earlier to keep the spool under \(ConfigCommand.byteCountText(spool.maxBytes))" }
        if let problem = total.lastProblem, total.remaining > 0 || total.refused > 0 { line += " (\(problem))" }
        try? FileDescriptor.standardOutput.writeAll("airun: export: \(line)\n")
        return total.remaining == 0 ? 0 : 1
    }
}
