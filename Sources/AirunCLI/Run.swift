import AirunCore
import AirunSystem

/// The entry point: parses `arguments` (without argv[0]), runs the command, and exits with its
/// status (or re-raises the signal that killed it).
public func airunMain(_ arguments: [String]) -> Never {
    // Subcommands are reserved first words; `airun -- classify` runs a program called classify.
    if arguments.first == "classify" {
        do {
            exitProcess(try ClassifyCommand(Array(arguments.dropFirst())).run())
        } catch {
            try? FileDescriptor.standardError.writeAll("airun: \(error.message)\n\(ClassifyCommand.usage)\n")
            exitProcess(ExitCode.airunFailure)
        }
    }
    let invocation: Invocation
    do {
        invocation = try parseInvocation(arguments)
    } catch {
        try? FileDescriptor.standardError.writeAll("airun: \(Redactor().redact(error.message))\n\(usageLine)\n")
        exitProcess(ExitCode.airunFailure)
    }
    switch invocation {
    case .help:
        try? FileDescriptor.standardOutput.writeAll(helpText + "\n")
        exitProcess(0)
    case .version:
        try? FileDescriptor.standardOutput.writeAll("airun \(airunVersion)\n")
        exitProcess(0)
    case .run(let options):
        switch Run(options: options).execute() {
        case .code(let code): exitProcess(code)
        case .signal(let s):
            reraise(s)
            exitProcess(128 + s.rawValue)
        }
    }
}

/// airun's exit codes of its own (GNU timeout's conventions).
public enum ExitCode {
    public static let timedOut: Int32 = 124
    public static let airunFailure: Int32 = 125
    public static let notExecutable: Int32 = 126
    public static let notFound: Int32 = 127
}

/// How airun ends: with a code, or by the signal that ended the child.
enum ExitDisposition: Equatable {
    case code(Int32)
    case signal(Signal)
}

/// The exit status policy of docs/process-model.md: timeout wins, then the child's own status.
func exitDisposition(status: TerminationStatus, timedOut: Bool) -> ExitDisposition {
    if timedOut { return .code(ExitCode.timedOut) }
    switch status {
    case .exited(let code): return .code(code)
    case .signaled(let s, _): return .signal(s)
    }
}

/// One `airun -- CMD` invocation: trace identity, records, and the attempt.
final class Run {
    let options: RunOptions
    let console: Console
    let environment: [String]
    let environmentValues: [String: String]
    /// The one redactor every byte airun writes goes through: records, console, capture files.
    let redactor: Redactor
    var rng = SystemRandomNumberGenerator()

    init(options: RunOptions) {
        self.options = options
        environment = environmentSnapshot()
        var values: [String: String] = [:]
        for entry in environment {
            guard let eq = entry.firstIndex(of: "=") else { continue }
            values[String(entry[..<eq])] = String(entry[entry.index(after: eq)...])
        }
        environmentValues = values
        var redactor = Redactor(environment: values)
        // A secret given on the command line is masked wherever the child echoes it, too.
        for (flag, value) in zip(options.command, options.command.dropFirst()) {
            if let kind = secretOptionKind(flag) { redactor.addSecret(value, kind: kind) }
        }
        for arg in options.command where arg.hasPrefix("-") {
            if let eq = arg.firstIndex(of: "="), let kind = secretOptionKind(String(arg[..<eq])) {
                redactor.addSecret(String(arg[arg.index(after: eq)...]), kind: kind)
            }
        }
        self.redactor = redactor
        console = Console(quiet: options.quiet, redactor: redactor)
    }

    func execute() -> ExitDisposition {
        let trace: TraceResolution
        do {
            trace = try TraceResolution.resolve(flag: options.traceID, environment: environmentValues, rng: &rng)
        } catch {
            console.error("\(error.message)\n\(usageLine)")
            return .code(ExitCode.airunFailure)
        }
        for w in trace.warnings { console.warn(w) }

        let sink = LogFileSink(directory: resolveLogDirectory(flag: options.logDirectory, environment: environmentValues),
                               console: console)
        let runSpan = SpanID.random(using: &rng)
        let runIdentity = RecordIdentity(traceID: trace.traceID, spanID: runSpan, parentSpanID: trace.parentSpanID,
                                         requestID: runSpan.hex)
        let runStartWall = wallClockMicroseconds()
        let runStartMono = monotonicNanoseconds()
        let commandLine = options.command.joined(separator: " ")

        var start = recordHeader(event: "run.start", level: .info, message: "run started: \(commandLine.prefix(200))",
                                 identity: runIdentity, timestampMicroseconds: runStartWall, redactor: redactor)
        start.add("command", options.command[0])
        start.add("command_args", arguments: options.command)
        start.add("trace_source", trace.source)
        start.add("max_attempts", 1)
        start.add("timeout_ms", options.timeout.map { $0.nanoseconds / 1_000_000 })
        start.add("cwd", currentDirectory())
        start.add("hostname", hostName())
        start.add("user", userName())
        start.add("pid", processID())
        start.add("airun_version", airunVersion)
        sink.write(line: start.line(), timestampMicroseconds: runStartWall)

        let attempt = AttemptRunner(run: self, sink: sink, trace: trace, runSpan: runSpan, number: 1, maxAttempts: 1)
        let outcome = attempt.execute()

        let endWall = wallClockMicroseconds()
        let durationMs = Double(monotonicNanoseconds() - runStartMono) / 1e6
        let failed = outcome.disposition != .code(0)
        var end = recordHeader(event: "run.end", level: failed ? .error : .info,
                               message: "run finished: \(outcome.summary) after \(seconds(durationMs))",
                               identity: runIdentity, timestampMicroseconds: endWall, redactor: redactor)
        end.add("exit_code", outcome.exitCode)
        end.add("status", outcome.status)
        end.add("attempts", 1)
        end.add("retry_count", 0)
        end.add("duration_ms", durationMs)
        sink.write(line: end.line(), timestampMicroseconds: endWall)

        console.info("trace=\(trace.traceID.hex) \(outcome.summary) \(seconds(durationMs))")
        return outcome.disposition
    }

    /// The environment one attempt's child gets: airun's own, plus the trace variables.
    /// TRACESTATE and BAGGAGE pass through untouched.
    func childEnvironment(_ exports: [(String, String)]) -> [String] {
        let names = Set(exports.map(\.0))
        var env = environment.filter { entry in
            guard let eq = entry.firstIndex(of: "=") else { return true }
            return !names.contains(String(entry[..<eq]))
        }
        for (k, v) in exports { env.append("\(k)=\(v)") }
        return env
    }
}

/// "2.15s"
func seconds(_ milliseconds: Double) -> String {
    let hundredths = Int64((milliseconds / 10).rounded())
    let fraction = hundredths % 100
    return "\(hundredths / 100).\(fraction < 10 ? "0" : "")\(fraction)s"
}
