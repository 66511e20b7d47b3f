import AirunCore
import AirunSystem

/// What an attempt needs from its run, and nothing else: the settings, the environment, where
/// records and console lines go, and the labels its records carry.
struct AttemptContext {
    let options: RunOptions
    let settings: RunSettings
    let environment: Environment
    let console: Console
    let redaction: SharedRedactor
    let inherited: Inherited
    let labels: RunLabels
    let sink: any RecordSink
    let trace: TraceResolution
    let runSpan: SpanID
    let maxAttempts: Int
    /// `--max-time`'s end of the run (monotonic nanoseconds): no attempt runs past it.
    var deadline: Int64?
}

/// One attempt: its span, its environment, its records, and the supervisor that runs it.
struct AttemptRunner {
    let context: AttemptContext
    /// This attempt's command line (a fallback may have changed it).
    let command: [String]
    let number: Int
    let span: SpanID
    /// The model is cooling down and a fallback is left: the attempt is not started, for this.
    var cooldown: Verdict?
    /// The run whose edit this attempt's command starts from (`[memory]`).
    var learntFrom: String?

    /// Runs the attempt, writes attempt.start and attempt.end, and returns it diagnosed. The
    /// error record is the run's to write (`writeError`): its level depends on what follows.
    func execute() -> AttemptOutcome {
        let identity = RecordIdentity(traceID: context.trace.traceID, spanID: span, parentSpanID: context.runSpan,
                                      requestID: "\(context.runSpan.hex)-\(number)")
        let outcome: AttemptOutcome
        let diagnosis = Diagnosis(rules: context.settings.profile.rules, environment: context.environment.values)
        if let simulated = context.options.simulate.last(where: { $0.attempt == number }) {
            outcome = simulate(simulated, identity: identity)
        } else if let cooldown {
            outcome = notStarted(cooldown, kind: .cooldown, modelFile: nil, identity: identity)
        } else if !context.options.noPreflight, let (verdict, file) = diagnosis.preflight(command) {
            outcome = notStarted(verdict, kind: .preflight, modelFile: file, identity: identity)
        } else {
            let measurement = runAttempt(identity: identity)
            var findings = diagnosis.findings(for: measurement)
            // The run's own deadline, not the attempt's, stopped it: say which limit to raise.
            if findings.verdict?.code == .timeout, limitedByRun { findings.verdict?.evidence = "airun's --max-time expired (the whole run's limit)" }
            outcome = AttemptOutcome(measurement, findings)
        }
        let measurement = outcome.measurement
        if let rule = outcome.verdict?.patternBudgetSpentBy { context.console.warn(patternBudgetWarning(rule), once: "pattern-budget") }
        // Goes out with the record that follows it (the run's end, or the error and the retry).
        let end = Record(.attemptEnd(AttemptEnd(outcome, labels: context.labels)), level: outcome.exitCode == 0 ? .info : .warning,
                         message: measurement.message, identity: identity, timestampMicroseconds: measurement.endedWall)
        context.sink.writeBeforeNext { end }
        return outcome
    }

    /// The error record of a failed attempt: `.warning` when another attempt follows, `.error`
    /// when this failure ends the run.
    func writeError(_ outcome: AttemptOutcome, level: RecordLevel) {
        guard let event = AttemptError(outcome, labels: context.labels, context: failureContext()) else { return }
        context.sink.write(Record(.error(event), level: level, message: outcome.errorMessage(context.labels),
                                  identity: outcome.identity, timestampMicroseconds: wallClockMicroseconds()))
    }

    /// The variables the child gets on top of airun's environment.
    private func exports(identity: RecordIdentity) -> [(String, String)] {
        let trace = context.trace
        let profile = context.settings.profile.name
        return [
            // The caller's own id stays as the caller wrote it; the W3C id is in the others.
            ("TRACE_ID", trace.exportedTraceID),
            ("TRACEPARENT", TraceParent(traceID: trace.traceID, parentID: span, flags: trace.flags).header),
            ("AIRUN_TRACE_ID", trace.traceID.hex),
            ("AIRUN_SPAN_ID", span.hex),
            ("AIRUN_REQUEST_ID", identity.requestID),
            ("AIRUN_ATTEMPT", String(number)),
            ("AIRUN_MAX_ATTEMPTS", String(context.maxAttempts)),
            ("AIRUN_PROFILE", profile),
            // Marks AIRUN_PROFILE as airun's export, not a choice for a nested airun.
            ("AIRUN_PROFILE_EXPORTED", profile),
            // A nested airun prefixes its lines with its depth: `airun[1]:`.
            ("AIRUN_DEPTH", String(min(context.console.depth + 1, 99))),
        ]
    }

    /// `--simulate`: the attempt ends as its code typically does, without starting anything;
    /// its records say so.
    private func simulate(_ failure: SimulatedFailure, identity: RecordIdentity) -> AttemptOutcome {
        let now = wallClockMicroseconds()
        var start = AttemptStart()
        start.attempt = Int64(number)
        start.command = command
        start.simulated = true
        context.sink.write(Record(.attemptStart(start), level: .info, message: "attempt \(number) simulated as \(failure.code.rawValue)",
                                  identity: identity, timestampMicroseconds: now))
        context.console.info("attempt \(number) simulated as \(failure.code.rawValue) (--simulate): nothing was run")
        var measurement = AttemptMeasurement(number: number, command: command, identity: identity, startedWall: now,
                                             endedWall: now, process: failure.process)
        measurement.simulated = true
        return AttemptOutcome(measurement, AttemptFindings(verdict: failure.verdict))
    }

    /// The pre-flight check found the failure, or the model is cooling down: the attempt is not
    /// started, and says why.
    private func notStarted(_ verdict: Verdict, kind: StartFailure.Kind, modelFile: GGUFCheck?, identity: RecordIdentity) -> AttemptOutcome {
        let now = wallClockMicroseconds()
        var start = AttemptStart()
        start.attempt = Int64(number)
        start.command = command
        start.preflight = kind == .preflight
        start.cooldown = kind == .cooldown
        let reason = kind == .cooldown ? "the model is \(verdict.evidence)"
            : "\(verdict.code.rawValue) before the model loaded (pre-flight): \(verdict.evidence)"
        context.sink.write(Record(.attemptStart(start), level: .info, message: "attempt \(number) not started: \(reason)",
                                  identity: identity, timestampMicroseconds: now))
        context.console.info("attempt \(number) not started: \(reason)")
        let measurement = AttemptMeasurement(number: number, command: command, identity: identity, startedWall: now,
                                             endedWall: wallClockMicroseconds(), process: .notStarted(StartFailure(kind, reason: reason)))
        return AttemptOutcome(measurement, AttemptFindings(verdict: verdict, modelFile: modelFile))
    }

    /// Starts the child and watches it to the end; or, if it cannot be started, says why as a
    /// shell would and returns an attempt that never ran.
    private func runAttempt(identity: RecordIdentity) -> AttemptMeasurement {
        let exports = exports(identity: identity)
        let name = command[0]
        let startWall = wallClockMicroseconds()
        func measurement(_ process: AttemptMeasurement.Process) -> AttemptMeasurement {
            AttemptMeasurement(number: number, command: command, identity: identity, startedWall: startWall,
                               endedWall: wallClockMicroseconds(), process: process)
        }
        func startRecord(pid: ProcessID?, executable: String?) {
            var start = AttemptStart()
            start.attempt = Int64(number)
            start.pid = pid.map(Int64.init)
            start.executable = executable
            start.command = command
            start.learntFrom = learntFrom
            context.sink.write(Record(.attemptStart(start), level: .info, message: "attempt \(number) started" + (pid.map { " (pid \($0))" } ?? ""),
                                      identity: identity, timestampMicroseconds: startWall))
        }
        func notStarted(_ executable: String?, _ failure: StartFailure) -> AttemptMeasurement {
            context.console.error(failure.reason)
            startRecord(pid: nil, executable: executable)
            return measurement(.notStarted(failure))
        }

        let executable: String
        switch resolveExecutable(name, path: context.environment["PATH"]) {
        case .found(let path): executable = path
        case .notFound:
            return notStarted(nil, StartFailure(.notFound, reason: "\(name): command not found"))
        case .notExecutable(let path, let err):
            return notStarted(path, StartFailure(.notExecutable, reason: "\(path): \(err)"))
        }

        var plan = makePlan(executable: executable, exports: exports, identity: identity)
        let capture = openCaptureFiles(&plan, requestID: identity.requestID)
        defer { for fd in capture.descriptors { fd.close() } }

        let run: ProcessRun
        do {
            let supervisor = try Supervisor(console: context.console, inherited: context.inherited)
            run = try supervisor.run(plan, started: { pid in startRecord(pid: pid, executable: executable) },
                                        sampler: { pid, start in makeSampler(pid: pid, start: start, identity: identity) })
        } catch {
            return notStarted(executable, startFailure(error, exports: exports))
        }

        var ended = measurement(.ran(run))
        ended.captureFiles = capture.names
        return ended
    }

    /// What to start and how to watch it; with `[child_logs] format = "json"`, the feed that
    /// turns the child's JSON log lines into child.log records.
    private func makePlan(executable: String, exports: [(String, String)], identity: RecordIdentity) -> AttemptPlan {
        var plan = AttemptPlan(executable: executable, arguments: command, environment: context.environment.exporting(exports, removing: context.trace.inheritedTraceStateDropped),
                               tty: context.options.tty, captureBytes: context.settings.captureBytes,
                               timeout: timeout(), killAfter: context.settings.killAfter)
        if context.settings.profile.childLogs == .json {
            plan.childLogs = ChildLogFeed(sink: context.sink, worker: plan.sharedWorker(), attempt: Int64(number), identity: identity)
        }
        plan.service = makeServiceWatch(identity: identity)
        plan.reloadsOnHangup = context.settings.service.restart.restarts
        return plan
    }

    /// For a server (docs/servers.md): its readiness check, heartbeats and memory limit, each
    /// writing its record; nil for an ordinary command, which pays nothing for them.
    private func makeServiceWatch(identity: RecordIdentity) -> ServiceWatch? {
        let service = context.settings.service
        guard service.isActive else { return nil }
        let environment = context.environment.values
        var s = ServiceWatch.Settings()
        s.readyURL = service.readyEndpoint(command: command, environment: environment)
        s.readyLine = service.ready.line.flatMap { try? LinearRegex($0) }
        s.readyTimeout = service.ready.timeout
        s.readyInterval = service.ready.interval
        s.heartbeat = service.heartbeat
        s.maxMemoryBytes = service.maxMemoryBytes
        s.metricsURL = service.metricsURL(command: command, environment: environment)
        let (sink, console, number, model) = (context.sink, context.console, Int64(number), context.labels.modelID(for: command))
        return ServiceWatch(s, onReady: { after, via, evidence in
            var e = Ready()
            e.attempt = number
            e.readyMs = Double(after.nanoseconds) / 1e6
            e.via = via
            e.evidence = String(evidence.prefix(240))
            e.modelID = model
            let seconds = formatSeconds(milliseconds: e.readyMs)
            sink.write(Record(.ready(e), level: .info, message: "attempt \(number) ready after \(seconds)" + (model.map { " (\($0) loaded)" } ?? ""),
                              identity: identity, timestampMicroseconds: wallClockMicroseconds()))
            console.info("ready after \(seconds)" + (model.map { " model=\($0)" } ?? "") + " (\(via == "url" ? evidence : "--ready-line matched"))")
        }, onHeartbeat: { beat in
            var e = Heartbeat()
            e.attempt = number
            e.uptimeSeconds = Double(beat.uptime.nanoseconds) / 1e9
            e.ready = beat.ready
            e.modelID = model
            e.samples = Int64(beat.resources.sampleCount)
            e.peakRSSMB = beat.resources.peakRSSMB
            e.meanRSSMB = beat.resources.meanRSSMB
            e.meanCPUPercent = beat.resources.meanCPUPercent
            e.peakGPUMemoryUsedMB = beat.resources.peakGPUMemoryUsedMB
            e.meanGPUUtilizationPercent = beat.resources.meanGPUUtilizationPercent
            e.server = beat.server
            sink.write(Record(.heartbeat(e), level: .info, message: "attempt \(number) up \(formatSeconds(milliseconds: e.uptimeSeconds * 1000))",
                              identity: identity, timestampMicroseconds: wallClockMicroseconds()))
        })
    }

    /// Whether the run's `--max-time` has passed: an attempt stopped now was stopped by it (its
    /// own `--timeout` ends an attempt before the run's deadline).
    private var limitedByRun: Bool { context.deadline.map { monotonicNanoseconds() >= $0 } ?? false }

    /// The attempt's time limit: its own (`--timeout`), cut to what `--max-time` leaves of the run.
    private func timeout() -> TimeSpan? {
        guard let deadline = context.deadline else { return context.settings.timeout }
        let left = TimeSpan(nanoseconds: max(1_000_000, deadline - monotonicNanoseconds()))
        guard let own = context.settings.timeout else { return left }
        return own.nanoseconds < left.nanoseconds ? own : left
    }

    /// Why the spawn failed, as a shell would say it, with the exit code that implies.
    private func startFailure(_ error: SystemError, exports: [(String, String)]) -> StartFailure {
        let name = command[0]
        let kind: StartFailure.Kind = switch error.errno {
        case .notFound: .notFound
        case .permissionDenied, .execFormat, .isDirectory, .argumentListTooLong, Errno(1), Errno(26), Errno(40): .notExecutable
        default: .airunError
        }
        var reason = error.operation == "spawn" ? "\(name): \(error.errno)" : "cannot start \(name): \(error)"
        if error.errno == .argumentListTooLong {
            // Say whose bytes tipped it over: ours may be what made a long command line too long.
            let addedBytes = exports.reduce(0) { $0 + $1.0.utf8.count + $1.1.utf8.count + 2 }
            reason += " (the arguments and environment exceed the kernel's limit; airun's trace variables add \(addedBytes) bytes)"
        }
        return StartFailure(kind, reason: reason)
    }

    /// With `--capture-dir`, full copies of stdout and stderr (redacted unless `--capture-raw`).
    /// Returns the files' names and the descriptors to close after the attempt; a directory that
    /// cannot be written skips capture with one warning.
    private func openCaptureFiles(_ plan: inout AttemptPlan, requestID: String)
        -> (names: (stdout: String, stderr: String)?, descriptors: [FileDescriptor]) {
        guard let dir = context.options.captureDirectory else { return (nil, []) }
        do {
            try makeDirectories(dir, mode: 0o700)
            let names = ("\(dir)/\(requestID).stdout", "\(dir)/\(requestID).stderr")
            let files = (try FileDescriptor.create(names.0), try FileDescriptor.create(names.1))
            let redactor = context.options.captureRaw ? nil : context.redaction.redactor
            let worker = redactor == nil ? nil : plan.sharedWorker()
            plan.captureStdout = CaptureFile(file: files.0, redactor: redactor, worker: worker)
            plan.captureStderr = CaptureFile(file: files.1, redactor: redactor, worker: worker)
            return (names, [files.0, files.1])
        } catch {
            context.console.lost("cannot write capture files in \(dir) (\(error)); capture skipped", once: "capture")
            return (nil, [])
        }
    }

    /// The sampler for this attempt: /proc always, the GPU through NVML or nvidia-smi unless --no-gpu.
    private func makeSampler(pid: ProcessID, start: Int64, identity: RecordIdentity) -> ResourceSampler? {
        let interval = context.settings.sampleInterval
        let (environment, console, options) = (context.environment, context.console, context.options)
        let gpu = options.noGPU ? nil : GPUSamplerStart(path: environment["PATH"], console: console, interval: interval, backend: options.gpuBackend)
        let onSample: ((ResourceSample) -> Void)? = options.samples ? { [context, number] sample in
            let now = wallClockMicroseconds()
            var e = Sample()
            e.attempt = Int64(number)
            e.elapsedSeconds = sample.elapsed
            e.rssMB = sample.treeRSSMB
            e.cpuPercent = sample.cpuPercent
            e.threads = sample.threads
            e.processes = Int64(sample.processes)
            e.systemMemoryAvailableMB = sample.system.availableMB
            e.swapUsedMB = sample.system.swapUsedMB
            e.load1 = sample.load1
            if !sample.gpus.isEmpty {
                e.gpuUtilizationPercent = sample.gpus.compactMap(\.utilizationPercent).reduce(0, +) / Double(sample.gpus.count)
                e.gpuMemoryUsedMB = sample.gpus.compactMap(\.memoryUsedMB).reduce(0, +)
                e.gpuPowerW = sample.gpus.compactMap(\.powerW).reduce(0, +)
            }
            e.childGPUMemoryMB = sample.treeGPUMemoryMB
            context.sink.write(Record(.sample(e), level: .info, message: "sample at \(JSONLine.format(sample.elapsed, decimals: 1))s",
                                      identity: identity, timestampMicroseconds: now))
        } : nil
        return ResourceSampler(root: pid, started: start, interval: interval, gpu: gpu, onSample: onSample)
    }

    /// Where the failure happened: the machine and its free memory (the model file and the GPU's
    /// free memory come from the attempt).
    private func failureContext() -> FailureContext {
        var c = FailureContext()
        c.platform = platformName()
        c.wslAvailable = wslInteropAvailable()
        c.systemMemoryAvailableMB = systemMemory()?.availableMB
        c.hostname = hostName()
        c.user = userName(context.environment.values)
        c.cwd = currentDirectory()
        return c
    }
}

/// The layers and trained context in the header of the model `command` names, for edits of
/// arguments the command leaves to llama.cpp; nil without a readable model.
func modelShape(of command: [String]) -> ModelShape? {
    guard let model = ModelArgument.find(in: command), let header = try? readFileHeader(model.path, count: 1 << 20) else { return nil }
    return ModelShape.read(header: header.bytes)
}

/// Reads a model file's GGUF header (1 MiB, or 16 MiB when a large vocabulary needs it) and judges it.
func inspectModelFile(_ path: String) -> GGUFCheck {
    do {
        guard var (bytes, size) = try readFileHeader(path, count: 1 << 20) else {
            return GGUFCheck(exists: false, problem: "no such file")
        }
        if size > Int64(bytes.count), bytes.starts(with: Array("GGUF".utf8)), dataExtent(bytes) == nil,
           let more = try readFileHeader(path, count: 16 << 20) {
            (bytes, size) = more
        }
        return GGUFCheck.inspect(header: bytes, size: size)
    } catch {
        return GGUFCheck(exists: true, problem: "\(error.errno)")
    }
}
