import AirunCore
import AirunSystem

/// The entry point with the process's own arguments, their bytes kept (`OSBytes`).
public func airunMain() -> Never { airunMain(commandLineArguments()) }

/// The entry point: parses `arguments` (without argv[0]), runs the command, and exits with its
/// status (or re-raises the signal that killed it).
public func airunMain(_ arguments: [String]) -> Never {
    let inherited = Inherited.take()
    ignoreFileSizeLimitSignal()  // after take(): the child must get what airun was started with
    // Subcommands are reserved first words; `airun -- classify` runs a program called classify.
    if let code = runSubcommand(arguments) { exitProcess(code) }
    let invocation: Invocation
    do {
        invocation = try parseInvocation(arguments)
    } catch {
        printError("airun: \(error.message)\n\(usageLine)")
        exitProcess(ExitCode.airunFailure)
    }
    switch invocation {
    case .help:
        try? FileDescriptor.standardOutput.writeAll(helpText + "\n")
        exitProcess(0)
    case .version:
        try? FileDescriptor.standardOutput.writeAll("airun \(airunVersion) (commit \(airunBuildCommit))\n")
        exitProcess(0)
    case .run(let options):
        switch Run(options: options, inherited: inherited).execute() {
        case .code(let code): exitProcess(code)
        case .signal(let s):
            reraise(s)
            exitProcess(ExitCode.signaled(s))
        }
    }
}

/// What airun was started with that its child must get too, exactly as it would have without airun
/// in between: standard descriptors that were closed, signals that were ignored.
struct Inherited {
    var closedStreams: Set<FileDescriptor> = []
    /// Of the signals airun takes over or changes, those that were ignored (any other signal's
    /// disposition reaches the child untouched).
    var ignoredSignals: SignalSet = []

    /// Called first thing: a closed 0, 1 or 2 must be occupied before anything is opened (or it
    /// would become the record log), and the ignored signals read before airun changes any.
    static func take() -> Inherited {
        Inherited(closedStreams: FileDescriptor.occupyClosedStandardStreams(),
                  ignoredSignals: takeIgnoredSignals(among: Supervisor.takenSignals.union(signalsAirunChanges)))
    }
}

/// One `airun -- CMD` invocation: trace identity, profile, records, and the attempts.
final class Run {
    let options: RunOptions
    let console: Console
    let environment: Environment
    let environmentValues: [String: String]
    /// The one redactor every byte airun writes goes through: records, console, capture files.
    let redaction: SharedRedactor
    var redactor: Redactor { redaction.redactor }
    private(set) var settings: RunSettings
    var rng = BatchedRandomNumberGenerator()
    /// What airun was started with that the child must get too.
    let inherited: Inherited
    /// How the records label the run: the caller's trace id, the tags (the profile's `[tags]`,
    /// `AIRUN_TAGS`, `--tag`) and the caller's name for the model. One value, given to the attempts.
    private(set) var labels = RunLabels()
    /// Cool-downs and remembered edits, when the profile uses them and the command names a model.
    private var memory: RunMemory?
    private var contextWarnings: [String] = []

    init(options: RunOptions, inherited: Inherited = Inherited()) {
        self.options = options
        self.inherited = inherited
        environment = Environment.current()
        let values = environment.values
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
        redaction = SharedRedactor(redactor)
        settings = RunSettings(profile: Profile(), options: options)
        console = Console(quiet: options.quiet, statusLine: !options.noStatus && statusLineAllowed(environment: values),
                          redaction: redaction, depth: nestingDepth(values))
    }

    /// Adopts the profile: its settings under the command line's, and its redaction rules.
    private func adopt(_ profile: Profile) {
        settings = RunSettings(profile: profile, options: options)
        // Profiles are shared between users and machines: `~/` in a model path means this user's home.
        if let home = environmentValues["HOME"], !home.isEmpty {
            func expand(_ path: String) -> String { path.hasPrefix("~/") ? home + path.dropFirst(1) : path }
            settings.fallback.models = settings.fallback.models.map(expand)
            settings.fallback.command = settings.fallback.command.map { $0.map(expand) }
        }
        redaction.redactor.extraPatterns = profile.redactionPatterns
        redaction.redactor.allowList = Set(profile.redactionAllowList)
        if let pii = profile.maskPersonalData { redaction.redactor.maskPersonalData = pii }
        labels.tags = profile.tags
        contextWarnings = labels.tags.add(environmentValue: environmentValues[Setting.tags.variable] ?? "")
        for (key, value) in options.tags {
            if let problem = labels.tags.set(key, value) { contextWarnings.append("ignoring --tag \(key): \(problem)") }
        }
        labels.callerModelID = options.modelID
        labels.askedModelPath = ModelArgument.find(in: options.command)?.path
        if labels.callerModelID == nil, let id = environmentValues[Setting.modelID.variable], !id.isEmpty {
            if id.utf8.count <= 256, !id.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F }) {
                labels.callerModelID = id
            } else {
                contextWarnings.append("ignoring AIRUN_MODEL_ID: it must be 1 to 256 characters without control characters")
            }
        }
    }

    /// The run: the trace and profile, the sinks, run.start, the attempts and their retries,
    /// run.end and the summary line. Returns how airun exits.
    func execute() -> ExitDisposition {
        let trace: TraceResolution
        do {
            trace = try TraceResolution.resolve(flag: options.traceID, environment: environmentValues, rng: &rng)
        } catch {
            console.error("\(error.message)\n\(usageLine)")
            return .code(ExitCode.airunFailure)
        }
        do {
            adopt(try ProfileLocator(environment: environmentValues).resolve(explicit: options.profile, command: options.command))
        } catch {
            console.error(error.description)
            return .code(ExitCode.airunFailure)
        }
        if options.dryRun {
            var plan = settings.describe(command: options.command)
            // The same checks a run makes before starting a llama.cpp attempt.
            if !options.noPreflight, let (verdict, _) = Diagnosis(rules: settings.profile.rules, environment: environmentValues).preflight(options.command) {
                plan += "pre-flight:".padding(to: 14) + "\(verdict.code.rawValue): \(verdict.evidence): attempt 1 would not be started\n"
            }
            try? FileDescriptor.standardOutput.writeAll(redactor.redact(plan))
            return .code(0)
        }
        labels.callerTraceID = trace.callerID
        for w in trace.warnings + contextWarnings { console.warn(w) }
        let (sink, exporter, logDirectory) = openSinks()
        if (settings.cooldown != nil || settings.memory.enabled), ModelArgument.find(in: options.command) != nil {
            memory = RunMemory(file: ModelStateFile(logDirectory: logDirectory, console: console), settings: settings, console: console,
                               traceID: trace.traceID.hex, learns: options.simulate.isEmpty)
        }
        let run = RunIdentity(trace: trace, span: SpanID.random(using: &rng), startWall: wallClockMicroseconds(),
                              startMonotonic: monotonicNanoseconds())
        // Made and written with the first attempt's start, once its command is on its way.
        sink.writeBeforeNext { self.runStartRecord(run) }
        let context = AttemptContext(options: options, settings: settings, environment: environment, console: console,
                                     redaction: redaction, inherited: inherited, labels: labels, sink: sink, trace: trace,
                                     runSpan: run.span, maxAttempts: settings.policy.attempts,
                                     deadline: options.maxTime.map { run.startMonotonic + $0.nanoseconds })
        // A server's starts (docs/servers.md), or the attempts of a command that finishes.
        let last: AttemptOutcome, attempts: Int, interruptedBy: Signal?, gaveUp: String?
        if settings.service.restart.restarts {
            (last, attempts, interruptedBy, gaveUp) = runStarts(context, run: run, restarting: { exporter?.sendFinishedStarts() })
        } else {
            (last, attempts, interruptedBy) = runAttempts(context, run: run)
            gaveUp = nil
        }
        finish(run, last: last, attempts: attempts, interruptedBy: interruptedBy, gaveUp: gaveUp, sink: sink)
        exporter?.finish()
        if gaveUp != nil { return .code(ExitCode.startLimit) }
        return interruptedBy.map { ExitDisposition.signal($0) } ?? last.disposition
    }

    /// The run's span and start, as its records need them.
    struct RunIdentity {
        let trace: TraceResolution
        let span: SpanID
        let startWall: Int64
        let startMonotonic: Int64
        var record: RecordIdentity {
            RecordIdentity(traceID: trace.traceID, spanID: span, parentSpanID: trace.parentSpanID, requestID: span.hex)
        }
    }

    /// Every record goes to each sink: the log file, and the exporters when one is set (a run
    /// without them pays nothing for them); each fails open alone. A broken configuration file
    /// degrades the records' settings, never the run.
    private func openSinks() -> (RecordFanOut, RunExporter?, String) {
        let (config, configWarnings, configError) = GlobalConfig.load(environmentValues)
        if let configError { console.warn(configError.description + "; using the default settings") }
        for w in configWarnings { console.warn(w) }
        let file = LogFileSink(directory: resolveLogDirectory(flag: options.logDirectory, settings: config.log, environment: environmentValues),
                               console: console, redaction: redaction, settings: config.log)
        let sink = RecordFanOut([file])
        var exportSettings = config.export
        if let url = options.otlp { try? exportSettings.applyFlag(otlp: url) }
        let exporter = exportSettings.isEmpty ? nil
            : RunExporter(settings: exportSettings, logDirectory: file.directory, console: console, redaction: redaction,
                          environment: environmentValues)
        if let exporter { sink.add(exporter) }
        return (sink, exporter, file.directory)
    }

    private func runStartRecord(_ run: RunIdentity) -> Record {
        var start = RunStart()
        start.command = options.command
        start.traceSource = run.trace.source
        start.callerTraceID = labels.callerTraceID
        start.tags = labels.tags
        start.modelID = labels.modelID(for: options.command)
        start.profile = settings.profile.name
        start.profileSource = settings.profile.source
        start.maxAttempts = Int64(settings.policy.attempts)
        start.timeoutMs = settings.timeout.map { $0.nanoseconds / 1_000_000 }
        start.cwd = currentDirectory()
        start.hostname = hostName()
        start.user = userName(environmentValues)
        start.pid = Int64(processID())
        // Joined by hand: the generic `joined(separator:)` scans every protocol conformance in the
        // binary at its first use (~75,000 instructions of a run's start).
        var line = "", first = true
        for word in options.command {
            if !first { line += " " }
            line += word
            first = false
        }
        return Record(.runStart(start), level: .info, message: "run started: \(line.prefix(200))",
                      identity: run.record, timestampMicroseconds: run.startWall)
    }

    /// Attempts until one succeeds or the planner stops; between them the retry record and the
    /// backoff wait, which a signal may end. Returns the last attempt, how many ran, and the
    /// signal that ended a wait.
    private func runAttempts(_ context: AttemptContext, run: RunIdentity) -> (AttemptOutcome, Int, Signal?) {
        var planner = RetryPlanner(policy: settings.policy, fallback: settings.fallback)
        var command = options.command
        var number = 1
        while true {
            // Passing a cooling model over takes an attempt: only when one is left for the fallback.
            let before = memory?.before(attempt: number, command: command,
                                        fallbackLeft: planner.hasModelLeft && number < settings.policy.attempts)
                ?? RunMemory.Before(command: command)
            command = before.command
            let runner = AttemptRunner(context: context, command: command, number: number, span: SpanID.random(using: &rng),
                                       cooldown: before.cooldown, learntFrom: before.learntFrom)
            let attempt = runner.execute()
            memory?.after(attempt, original: options.command)
            guard attempt.failed else { return (attempt, number, nil) }
            let elapsed = TimeSpan(nanoseconds: monotonicNanoseconds() - run.startMonotonic)
            if settings.fallback.edits.contains(where: { $0.implied != nil }) { planner.modelShape = modelShape(of: command) }
            let decision = planner.decide(after: number, ending: attempt.ending, command: command, elapsed: elapsed,
                                          immediately: [.preflight, .cooldown].contains(attempt.measurement.startFailure?.kind), using: &rng)
            // The error record's level says whether the run goes on: WARN when another attempt follows.
            guard case .retry(let delay, let next, let change, let reason) = decision else {
                runner.writeError(attempt, level: .error)
                if case .stop(let why) = decision, settings.policy.attempts > 1 { console.info("not retrying: \(why)") }
                return (attempt, number, nil)
            }
            runner.writeError(attempt, level: .warning)
            announceRetry(after: attempt, delay: delay, next: next, change: change, reason: reason, run: run, sink: context.sink)
            if let s = waitForTermination(nanoseconds: delay.nanoseconds, ignoring: inherited.ignoredSignals) {
                return (attempt, number, s)
            }
            command = next
            number += 1
        }
    }

    /// The retry record and its console line: "retrying in 2.0 s with … after GPU_OOM (attempt 2 of 3)".
    private func announceRetry(after attempt: AttemptOutcome, delay: TimeSpan, next: [String], change: String, reason: String,
                               run: RunIdentity, sink: any RecordSink) {
        let seconds = JSONLine.format(Double(delay.nanoseconds) / 1e9, decimals: 1)
        let sentence = "retrying in \(seconds) s with \(change) after \(reason) (attempt \(attempt.number + 1) of \(settings.policy.attempts))"
        var retry = Retry(after: attempt, delay: delay, reason: reason, change: change, command: next)
        if let model = ModelArgument.find(in: next), ModelArgument.find(in: attempt.command)?.path != model.path {
            retry.fallbackModel = model.path
        }
        sink.write(Record(.retry(retry), level: .warning, message: sentence, identity: run.record, timestampMicroseconds: wallClockMicroseconds()))
        console.info(sentence)
    }

    /// run.end and the summary line.
    private func finish(_ run: RunIdentity, last: AttemptOutcome, attempts: Int, interruptedBy: Signal?, gaveUp: String? = nil,
                        sink: any RecordSink) {
        let durationMs = Double(monotonicNanoseconds() - run.startMonotonic) / 1e6
        let exitCode = gaveUp != nil ? ExitCode.startLimit : interruptedBy.map(ExitCode.signaled) ?? last.exitCode
        var summary = interruptedBy.map { "exit=\(exitCode) (\($0.name) during backoff)" } ?? last.summary
        if let gaveUp { summary = "exit=\(exitCode) gave up: \(gaveUp); the last start: \(last.summary)" }
        var end = RunEnd()
        end.exitCode = Int64(exitCode)
        end.status = interruptedBy == nil ? last.status : .interrupted
        end.errorCode = last.verdict?.code.rawValue
        end.attempts = Int64(attempts)
        end.durationMs = durationMs
        end.callerTraceID = labels.callerTraceID
        end.tags = labels.tags
        sink.write(Record(.runEnd(end), level: exitCode == 0 ? .info : .error,
                          message: "run finished: \(summary) after \(formatSeconds(milliseconds: durationMs))",
                          identity: run.record, timestampMicroseconds: wallClockMicroseconds()))
        var line = "trace=\(run.trace.traceID.hex) \(summary)"
        if let model = labels.modelID(for: last.command) { line += " model=\(model)" }
        line += " \(formatSeconds(milliseconds: durationMs))" + (attempts > 1 ? " after \(attempts) \(settings.service.restart.restarts ? "starts" : "attempts")" : "")
        // A failure answers which model, why (the line that proves it) and what to do.
        let details = interruptedBy == nil ? last.verdict.map { [("evidence", $0.evidence), ("hint", $0.hint)] } ?? [] : []
        console.summary(line, details: details)
    }

}

/// How many airun runs this one is nested in: `AIRUN_DEPTH`, exported by each run to its child
/// (0 when unset or not a number from 0 to 99).
func nestingDepth(_ environment: [String: String]) -> Int {
    guard let text = environment["AIRUN_DEPTH"], text.utf8.count <= 2, let depth = Int(text), depth >= 0 else { return 0 }
    return depth
}
