import AirunCore
import AirunSystem

/// How an attempt ended, as the run and the console need it.
struct AttemptOutcome {
    var disposition: ExitDisposition
    /// airun's exit code for this attempt (128+N for a signal).
    var exitCode: Int32
    /// `succeeded`, `failed`, `signaled`, `timed_out`, `not_found`, `not_executable` or `airun_error`.
    var status: String
    /// "exit=3", "exit=143 (SIGTERM)", "exit=124 (timed out)".
    var summary: String
    var verdict: Verdict?
    var returnCode: Int32?
    var signal: Signal?
    /// What the error record is written from, once the run knows whether another attempt follows.
    var report: AttemptReport
    var facts: AttemptFacts
    var identity: RecordIdentity
}

/// Everything recorded about one finished attempt: the attempt.end record and, on failure, the
/// error record are both written from this.
struct AttemptReport {
    var pid: Int32?
    var status: String
    var disposition: ExitDisposition
    var exitCode: Int32
    var returnCode: Int32?
    var signal: Signal?
    var coreDumped = false
    var timedOut = false
    var receivedSignal: Signal?
    var startedWall: Int64
    var endedWall: Int64
    var durationMs: Double
    var firstOutputMs: Double?
    var userCPUMs: Double?
    var systemCPUMs: Double?
    var maxRSSMegabytes: Double?
    var tty = false
    var stdout = Tail(capacity: 0)
    var stderr = Tail(capacity: 0)
    var captureFiles: (String, String)?
    var spawnError: String?
    var message: String
    var resources: ResourceSummary?
    /// Why the output could not be passed on, if it could not (`stdout: No space left on device`).
    var outputLost: String?

    /// What the classifier and the records need: the tails decoded once, the memory limit read
    /// only for a SIGKILL.
    func facts() -> AttemptFacts {
        AttemptFacts(exitCode: returnCode, signal: signal, timedOut: timedOut, receivedSignal: receivedSignal,
                     spawnFailure: spawnError == nil ? nil : status,
                     stdout: String(decoding: stdout.bytes, as: UTF8.self), stderr: String(decoding: stderr.bytes, as: UTF8.self),
                     maxRSSMegabytes: maxRSSMegabytes,
                     memoryLimitMegabytes: signal == .kill ? memoryLimitMegabytes() : nil, outputLost: outputLost)
    }
}

/// One attempt: its span, its environment, its records, and the supervisor that runs it.
struct AttemptRunner {
    let run: Run
    let sink: any RecordSink
    let trace: TraceResolution
    let runSpan: SpanID
    /// This attempt's command line (a fallback may have changed it).
    let command: [String]
    let number: Int
    let maxAttempts: Int

    func execute() -> AttemptOutcome {
        var rng = run.rng
        let span = SpanID.random(using: &rng)
        run.rng = rng
        let identity = RecordIdentity(traceID: trace.traceID, spanID: span, parentSpanID: runSpan,
                                      requestID: "\(runSpan.hex)-\(number)")
        let report = runAttempt(identity: identity, span: span)
        var facts = report.facts()
        let verdict = Diagnosis(rules: run.settings.profile.rules, environment: run.environmentValues)
            .verdict(for: &facts, command: command)
        let perf = LlamaPerformance.parse(stderr: facts.stderr, stdout: facts.stdout)
        writeEnd(report, facts: facts, perf: perf, failed: verdict != nil, identity: identity)
        let code = verdict.map { " \($0.code.rawValue)" } ?? ""
        var summary: String = switch report.disposition {
        case .code(let c) where report.timedOut: "exit=\(c)\(code) (timed out)"
        case .code(let c): "exit=\(c)\(code)"
        case .signal(let s): "exit=\(128 + s.rawValue) (\(s.name))\(code)"
        }
        // A generation's figures, as llama.cpp printed them: what a person checks first.
        if verdict == nil, let tokens = perf.tokensGenerated {
            summary += " \(tokens) tok" + (perf.tokensPerSecond.map { " \(JSONLine.format($0, decimals: 1)) tok/s" } ?? "")
        }
        return AttemptOutcome(disposition: report.disposition, exitCode: report.exitCode, status: report.status,
                              summary: summary, verdict: verdict, returnCode: report.returnCode, signal: report.signal,
                              report: report, facts: facts, identity: identity)
    }

    /// Starts the child and watches it to the end; or, if it cannot be started, says why as a
    /// shell would and reports an attempt that never ran.
    private func runAttempt(identity: RecordIdentity, span: SpanID) -> AttemptReport {
        let options = run.options
        let traceparent = TraceParent(traceID: trace.traceID, parentID: span, flags: trace.flags)
        let exports = [
            // The caller's own id stays as the caller wrote it; the W3C id is in the others.
            ("TRACE_ID", trace.exportedTraceID),
            ("TRACEPARENT", traceparent.header),
            ("AIRUN_TRACE_ID", trace.traceID.hex),
            ("AIRUN_SPAN_ID", span.hex),
            ("AIRUN_REQUEST_ID", identity.requestID),
            ("AIRUN_ATTEMPT", String(number)),
            ("AIRUN_MAX_ATTEMPTS", String(maxAttempts)),
            ("AIRUN_PROFILE", run.settings.profile.name),
            // Marks AIRUN_PROFILE as airun's export, not a choice for a nested airun.
            ("AIRUN_PROFILE_EXPORTED", run.settings.profile.name),
        ]
        let environment = run.childEnvironment(exports)
        let name = command[0]
        let startWall = wallClockMicroseconds()
        func startRecord(pid: Int32?, executable: String?) {
            var start = AttemptStart()
            start.attempt = Int64(number)
            start.pid = pid.map(Int64.init)
            start.executable = executable
            start.command = command
            sink.write(Record(.attemptStart(start), level: .info, message: "attempt \(number) started" + (pid.map { " (pid \($0))" } ?? ""),
                              identity: identity, timestampMicroseconds: startWall))
        }
        func notStarted(_ executable: String?, code: Int32, status: String, reason: String) -> AttemptReport {
            run.console.error(reason)
            startRecord(pid: nil, executable: executable)
            return AttemptReport(status: status, disposition: .code(code), exitCode: code, returnCode: code,
                                 startedWall: startWall, endedWall: wallClockMicroseconds(), durationMs: 0,
                                 spawnError: reason, message: "attempt \(number) did not start: \(reason)")
        }

        let executable: String
        switch resolveExecutable(name, path: run.environmentValues["PATH"]) {
        case .found(let path): executable = path
        case .notFound:
            return notStarted(nil, code: ExitCode.notFound, status: "not_found", reason: "\(name): command not found")
        case .notExecutable(let path, let err):
            return notStarted(path, code: ExitCode.notExecutable, status: "not_executable", reason: "\(path): \(err)")
        }

        var plan = AttemptPlan(executable: executable, arguments: command, environment: environment,
                               tty: options.tty, captureBytes: run.settings.captureBytes, timeout: run.settings.timeout,
                               killAfter: run.settings.killAfter)
        var captureFiles: (String, String)?
        var captureDescriptors: [FileDescriptor] = []
        if let dir = options.captureDirectory {
            do {
                try makeDirectories(dir, mode: 0o700)
                let names = ("\(dir)/\(identity.requestID).stdout", "\(dir)/\(identity.requestID).stderr")
                let files = (try FileDescriptor.create(names.0), try FileDescriptor.create(names.1))
                captureDescriptors = [files.0, files.1]
                let redactor = options.captureRaw ? nil : run.redactor
                plan.captureStdout = CaptureFile(file: files.0, redactor: redactor)
                plan.captureStderr = CaptureFile(file: files.1, redactor: redactor)
                captureFiles = names
            } catch {
                run.console.warn("cannot write capture files in \(dir) (\(error)); capture skipped", once: "capture")
            }
        }
        defer { for fd in captureDescriptors { fd.close() } }

        let result: AttemptResult
        do {
            let supervisor = try Supervisor(console: run.console, inherited: run.inherited)
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

        var report = AttemptReport(
            pid: result.pid, status: "", disposition: exitDisposition(status: result.usage.status, timedOut: result.timedOut),
            exitCode: 0, timedOut: result.timedOut, receivedSignal: result.receivedSignal, startedWall: startWall,
            endedWall: wallClockMicroseconds(), durationMs: Double(result.endedMonotonic - result.startedMonotonic) / 1e6,
            firstOutputMs: result.firstOutputMonotonic.map { Double($0 - result.startedMonotonic) / 1e6 },
            userCPUMs: Double(result.usage.userCPUMicroseconds) / 1000,
            systemCPUMs: Double(result.usage.systemCPUMicroseconds) / 1000,
            maxRSSMegabytes: Double(result.usage.maxRSSKilobytes) / 1024, tty: result.usedTTY,
            stdout: result.stdout, stderr: result.stderr, captureFiles: captureFiles, message: "", resources: result.resources,
            outputLost: result.outputLost)
        // Output that never arrived is no success: exit 1, as the command itself would have
        // exited had it met the write error.
        if result.outputLost != nil, report.disposition == .code(0) { report.disposition = .code(1) }
        switch result.usage.status {
        case .exited(let c): report.returnCode = c
        case .signaled(let s, let core): report.signal = s; report.coreDumped = core
        }
        switch report.disposition {
        case .code(let c) where result.timedOut: (report.exitCode, report.status) = (c, "timed_out")
        case .code(let c): (report.exitCode, report.status) = (c, c == 0 ? "succeeded" : "failed")
        case .signal(let s): (report.exitCode, report.status) = (128 + s.rawValue, "signaled")
        }
        let what: String = if result.timedOut {
            "timed out" + (report.signal.map { ", killed by \($0.name)" } ?? "")
        } else if let signal = report.signal {
            "killed by \(signal.name)" + (report.coreDumped ? " (core dumped)" : "")
        } else {
            "exited with \(report.returnCode ?? 0)"
        }
        report.message = "attempt \(number) \(what) after \(seconds(report.durationMs))"
        return report
    }

    /// The attempt.end record. A failed attempt's output tails go in its error record only.
    private func writeEnd(_ report: AttemptReport, facts: AttemptFacts, perf: LlamaPerformance, failed: Bool, identity: RecordIdentity) {
        var end = AttemptEnd()
        end.attempt = Int64(number)
        end.pid = report.pid.map(Int64.init)
        end.status = report.status
        end.exitCode = Int64(report.exitCode)
        end.returnCode = report.returnCode.map(Int64.init)
        end.signal = report.signal?.name
        end.coreDumped = report.coreDumped
        end.timedOut = report.timedOut
        end.receivedSignal = report.receivedSignal?.name
        end.startedMicroseconds = report.startedWall
        end.endedMicroseconds = report.endedWall
        end.durationMs = report.durationMs
        end.timeToFirstOutputMs = report.firstOutputMs
        end.userCPUMs = report.userCPUMs
        end.systemCPUMs = report.systemCPUMs
        end.maxRSSMB = report.maxRSSMegabytes
        end.tty = report.tty
        end.stdoutBytes = report.stdout.totalBytes
        end.stderrBytes = report.stderr.totalBytes
        if !failed {
            end.stdoutTail = OutputText(bytes: report.stdout.bytes, cutAtStart: report.stdout.truncated)
            end.stderrTail = OutputText(bytes: report.stderr.bytes, cutAtStart: report.stderr.truncated)
        }
        end.outputLost = report.outputLost
        end.stdoutFile = report.captureFiles?.0
        end.stderrFile = report.captureFiles?.1
        end.spawnError = report.spawnError
        end.modelID = run.modelID(for: command)
        end.modelPath = ModelArgument.find(in: command)?.path
        end.performance = perf
        end.resources = report.resources.map(AttemptResources.init)
        end.callerTraceID = run.callerTraceID
        end.tags = run.tags
        sink.write(Record(.attemptEnd(end), level: report.exitCode == 0 ? .info : .warning, message: report.message,
                          identity: identity, timestampMicroseconds: report.endedWall))
    }

    /// The sampler for this attempt: /proc always, the GPU through nvidia-smi unless --no-gpu.
    private func makeSampler(pid: Int32, start: Int64, identity: RecordIdentity) -> ResourceSampler? {
        let interval = run.settings.sampleInterval
        let gpu: (() -> (any GPUSampler)?)? = run.options.noGPU ? nil : { [run] in
            makeGPUSampler(path: run.environmentValues["PATH"], console: run.console, interval: interval, backend: run.options.gpuBackend)
        }
        let onSample: ((ResourceSample) -> Void)? = run.options.samples ? { sample in
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
            sink.write(Record(.sample(e), level: .info, message: "sample at \(JSONLine.format(sample.elapsed, decimals: 1))s",
                              identity: identity, timestampMicroseconds: now))
        } : nil
        return ResourceSampler(root: pid, started: start, interval: interval, gpu: gpu, onSample: onSample)
    }

    /// The error record of a failed attempt: `.warning` when another attempt follows, `.error`
    /// when this failure ends the run.
    func writeError(_ outcome: AttemptOutcome, level: RecordLevel) {
        guard let verdict = outcome.verdict else { return }
        let (report, facts) = (outcome.report, outcome.facts)
        var e = AttemptError(verdict)
        e.attempt = Int64(number)
        e.returnCode = report.returnCode.map(Int64.init)
        e.signal = report.signal?.name
        e.modelID = run.modelID(for: command)
        e.modelPath = ModelArgument.find(in: command)?.path
        e.command = command
        e.stderr = OutputText(bytes: report.stderr.bytes, cutAtStart: report.stderr.truncated)
        e.stdout = OutputText(bytes: report.stdout.bytes, cutAtStart: report.stdout.truncated)
        e.durationMs = report.durationMs
        let exception = PythonException.parse(facts.stderr)
        e.exceptionType = exception?.type
        e.stackTrace = exception?.stackTrace
        e.context = failureContext(modelFile: facts.modelFile, gpuMemoryAvailableMB: report.resources?.gpuMemoryAvailableMB)
        e.callerTraceID = run.callerTraceID
        e.tags = run.tags
        let modelText = e.modelID.map { " with model \($0)" } ?? ""
        sink.write(Record(.error(e), level: level, message: "\(command[0])\(modelText) failed: \(verdict.code.rawValue) (\(verdict.evidence))",
                          identity: outcome.identity, timestampMicroseconds: wallClockMicroseconds()))
    }

    /// Where the failure happened: the machine, its free memory, and the model file's header.
    private func failureContext(modelFile: GGUFCheck?, gpuMemoryAvailableMB: Double?) -> FailureContext {
        var c = FailureContext()
        c.platform = platformName()
        c.wslAvailable = wslInteropAvailable()
        c.systemMemoryAvailableMB = memInfoMegabytes("MemAvailable")
        c.gpuMemoryAvailableMB = gpuMemoryAvailableMB
        c.hostname = hostName()
        c.user = userName(run.environmentValues)
        c.cwd = currentDirectory()
        c.modelFile = modelFile
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
