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
}

/// One attempt: its span, its environment, its records, and the supervisor that runs it.
struct AttemptRunner {
    let context: AttemptContext
    /// This attempt's command line (a fallback may have changed it).
    let command: [String]
    let number: Int
    let span: SpanID

    /// Runs the attempt, writes attempt.start and attempt.end, and returns it diagnosed. The
    /// error record is the run's to write (`writeError`): its level depends on what follows.
    func execute() -> FinishedAttempt {
        let identity = RecordIdentity(traceID: context.trace.traceID, spanID: span, parentSpanID: context.runSpan,
                                      requestID: "\(context.runSpan.hex)-\(number)")
        var attempt = runAttempt(identity: identity)
        attempt.diagnose(Diagnosis(rules: context.settings.profile.rules, environment: context.environment.values))
        if let rule = attempt.verdict?.patternBudgetSpentBy { context.console.warn(patternBudgetWarning(rule), once: "pattern-budget") }
        context.sink.write(Record(.attemptEnd(attempt.endEvent(context.labels)), level: attempt.exitCode == 0 ? .info : .warning,
                                  message: attempt.message, identity: identity, timestampMicroseconds: attempt.endedWall))
        return attempt
    }

    /// The error record of a failed attempt: `.warning` when another attempt follows, `.error`
    /// when this failure ends the run.
    func writeError(_ attempt: FinishedAttempt, level: RecordLevel) {
        guard let event = attempt.errorEvent(context.labels, context: failureContext()) else { return }
        context.sink.write(Record(.error(event), level: level, message: attempt.errorMessage(context.labels),
                                  identity: attempt.identity, timestampMicroseconds: wallClockMicroseconds()))
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
        ]
    }

    /// Starts the child and watches it to the end; or, if it cannot be started, says why as a
    /// shell would and returns an attempt that never ran.
    private func runAttempt(identity: RecordIdentity) -> FinishedAttempt {
        let exports = exports(identity: identity)
        let name = command[0]
        let startWall = wallClockMicroseconds()
        var attempt = FinishedAttempt(number: number, command: command, identity: identity, startedWall: startWall, endedWall: startWall)
        func startRecord(pid: Int32?, executable: String?) {
            var start = AttemptStart()
            start.attempt = Int64(number)
            start.pid = pid.map(Int64.init)
            start.executable = executable
            start.command = command
            context.sink.write(Record(.attemptStart(start), level: .info, message: "attempt \(number) started" + (pid.map { " (pid \($0))" } ?? ""),
                                      identity: identity, timestampMicroseconds: startWall))
        }
        func notStarted(_ executable: String?, code: Int32, status: String, reason: String) -> FinishedAttempt {
            context.console.error(reason)
            startRecord(pid: nil, executable: executable)
            attempt.notStarted = (status, code, reason)
            attempt.endedWall = wallClockMicroseconds()
            return attempt
        }

        let executable: String
        switch resolveExecutable(name, path: context.environment["PATH"]) {
        case .found(let path): executable = path
        case .notFound:
            return notStarted(nil, code: ExitCode.notFound, status: "not_found", reason: "\(name): command not found")
        case .notExecutable(let path, let err):
            return notStarted(path, code: ExitCode.notExecutable, status: "not_executable", reason: "\(path): \(err)")
        }

        var plan = AttemptPlan(executable: executable, arguments: command, environment: context.environment.exporting(exports),
                               tty: context.options.tty, captureBytes: context.settings.captureBytes,
                               timeout: context.settings.timeout, killAfter: context.settings.killAfter)
        if context.settings.profile.childLogs == .json {
            let sink = context.sink, number = Int64(number)
            plan.childLogs = ChildLogFeed { log, message in
                var log = log
                log.attempt = number
                sink.write(Record(.childLog(log), level: ChildLog.recordLevel(log.childLevel), message: message,
                                  identity: identity, timestampMicroseconds: wallClockMicroseconds()))
            }
        }
        let captureDescriptors = openCaptureFiles(&plan, &attempt)
        defer { for fd in captureDescriptors { fd.close() } }

        let result: AttemptResult
        do {
            let supervisor = try Supervisor(console: context.console, inherited: context.inherited)
            result = try supervisor.run(plan, started: { pid in startRecord(pid: pid, executable: executable) },
                                        sampler: { pid, start in makeSampler(pid: pid, start: start, identity: identity) })
        } catch {
            let (code, status): (Int32, String) = switch error.errno {
            case .notFound: (ExitCode.notFound, "not_found")
            case .permissionDenied, .execFormat, .isDirectory, .argumentListTooLong, Errno(1), Errno(26), Errno(40):
                (ExitCode.notExecutable, "not_executable")
            default: (ExitCode.airunFailure, "airun_error")
            }
            var reason = error.operation == "spawn" ? "\(name): \(error.errno)" : "cannot start \(name): \(error)"
            if error.errno == .argumentListTooLong {
                // Say whose bytes tipped it over: ours may be what made a long command line too long.
                let addedBytes = exports.reduce(0) { $0 + $1.0.utf8.count + $1.1.utf8.count + 2 }
                reason += " (the arguments and environment exceed the kernel's limit; airun's trace variables add \(addedBytes) bytes)"
            }
            return notStarted(executable, code: code, status: status, reason: reason)
        }

        attempt.pid = result.pid
        attempt.termination = result.usage.status
        attempt.timedOut = result.timedOut
        attempt.receivedSignal = result.receivedSignal
        attempt.endedWall = wallClockMicroseconds()
        attempt.durationMs = Double(result.endedMonotonic - result.startedMonotonic) / 1e6
        attempt.firstOutputMs = result.firstOutputMonotonic.map { Double($0 - result.startedMonotonic) / 1e6 }
        attempt.userCPUMs = Double(result.usage.userCPUMicroseconds) / 1000
        attempt.systemCPUMs = Double(result.usage.systemCPUMicroseconds) / 1000
        attempt.maxRSSMB = Double(result.usage.maxRSSKilobytes) / 1024
        attempt.tty = result.usedTTY
        attempt.stdout = result.stdout
        attempt.stderr = result.stderr
        attempt.resources = result.resources
        attempt.outputLost = result.outputLost
        attempt.outputMerged = result.outputMerged
        return attempt
    }

    /// With `--capture-dir`, full copies of stdout and stderr (redacted unless `--capture-raw`).
    /// Returns the descriptors to close after the attempt; a directory that cannot be written
    /// skips capture with one warning.
    private func openCaptureFiles(_ plan: inout AttemptPlan, _ attempt: inout FinishedAttempt) -> [FileDescriptor] {
        guard let dir = context.options.captureDirectory else { return [] }
        do {
            try makeDirectories(dir, mode: 0o700)
            let names = ("\(dir)/\(attempt.identity.requestID).stdout", "\(dir)/\(attempt.identity.requestID).stderr")
            let files = (try FileDescriptor.create(names.0), try FileDescriptor.create(names.1))
            let redactor = context.options.captureRaw ? nil : context.redaction.redactor
            plan.captureStdout = CaptureFile(file: files.0, redactor: redactor)
            plan.captureStderr = CaptureFile(file: files.1, redactor: redactor)
            attempt.captureFiles = names
            return [files.0, files.1]
        } catch {
            context.console.lost("cannot write capture files in \(dir) (\(error)); capture skipped", once: "capture")
            return []
        }
    }

    /// The sampler for this attempt: /proc always, the GPU through NVML or nvidia-smi unless --no-gpu.
    private func makeSampler(pid: Int32, start: Int64, identity: RecordIdentity) -> ResourceSampler? {
        let interval = context.settings.sampleInterval
        let (environment, console, options) = (context.environment, context.console, context.options)
        let gpu: (() -> (any GPUSampler)?)? = options.noGPU ? nil : {
            makeGPUSampler(path: environment["PATH"], console: console, interval: interval, backend: options.gpuBackend)
        }
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
        c.systemMemoryAvailableMB = memInfoMegabytes("MemAvailable")
        c.hostname = hostName()
        c.user = userName(context.environment.values)
        c.cwd = currentDirectory()
        return c
    }
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
