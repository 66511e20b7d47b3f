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
        AttemptFacts(exitCode: returnCode, signal: signal?.name, timedOut: timedOut, receivedSignal: receivedSignal?.name,
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
            var r = recordHeader(event: "attempt.start", level: .info,
                                 message: "attempt \(number) started" + (pid.map { " (pid \($0))" } ?? ""),
                                 identity: identity, timestampMicroseconds: startWall, redactor: run.redactor)
            r.add("attempt", number)
            r.add("pid", pid)
            r.add("executable", executable)
            r.add("command_args", arguments: command)
            sink.write(line: r.line(), timestampMicroseconds: startWall)
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
        var r = recordHeader(event: "attempt.end", level: report.exitCode == 0 ? .info : .warning, message: report.message,
                             identity: identity, timestampMicroseconds: report.endedWall, redactor: run.redactor)
        r.add("attempt", number)
        r.add("pid", report.pid)
        r.add("status", report.status)
        r.add("exit_code", report.exitCode)
        r.add("return_code", report.returnCode)
        r.add("signal", report.signal?.name)
        r.add("core_dumped", report.coreDumped)
        r.add("timed_out", report.timedOut)
        r.add("received_signal", report.receivedSignal?.name)
        r.add("started_at", rfc3339(microseconds: report.startedWall))
        r.add("ended_at", rfc3339(microseconds: report.endedWall))
        r.add("duration_ms", report.durationMs)
        r.add("time_to_first_output_ms", report.firstOutputMs)
        r.add("user_cpu_ms", report.userCPUMs)
        r.add("system_cpu_ms", report.systemCPUMs)
        r.add("max_rss_mb", report.maxRSSMegabytes, decimals: 1)
        r.add("tty", report.tty)
        r.add("stdout_bytes", report.stdout.totalBytes)
        r.add("stderr_bytes", report.stderr.totalBytes)
        if !failed {
            r.add("stdout_tail", bytes: report.stdout.bytes, cutAtStart: report.stdout.truncated)
            r.add("stderr_tail", bytes: report.stderr.bytes, cutAtStart: report.stderr.truncated)
        }
        r.add("output_lost", report.outputLost)
        r.add("stdout_file", report.captureFiles?.0)
        r.add("stderr_file", report.captureFiles?.1)
        if let spawnError = report.spawnError { r.add("spawn_error", spawnError) }
        r.add("model_id", run.modelID(for: command))
        r.add("model_path", ModelArgument.find(in: command)?.path)
        if !perf.isEmpty { addPerformance(perf, to: &r) }
        if let res = report.resources { addResources(res, perf: perf, to: &r) }
        run.addRunContext(to: &r)
        sink.write(line: r.line(), timestampMicroseconds: report.endedWall)
    }

    /// The sampler for this attempt: /proc always, the GPU through nvidia-smi unless --no-gpu.
    private func makeSampler(pid: Int32, start: Int64, identity: RecordIdentity) -> ResourceSampler? {
        let interval = run.settings.sampleInterval
        let gpu: (() -> (any GPUSampler)?)? = run.options.noGPU ? nil : { [run] in
            makeGPUSampler(path: run.environmentValues["PATH"], console: run.console, interval: interval, backend: run.options.gpuBackend)
        }
        let onSample: ((ResourceSample) -> Void)? = run.options.samples ? { sample in
            let now = wallClockMicroseconds()
            var r = recordHeader(event: "sample", level: .info, message: "sample at \(JSONLine.format(sample.elapsed, decimals: 1))s",
                                 identity: identity, timestampMicroseconds: now, redactor: run.redactor)
            r.add("attempt", number)
            r.add("elapsed_s", sample.elapsed)
            r.add("rss_mb", sample.treeRSSMB, decimals: 1)
            r.add("cpu_percent", sample.cpuPercent, decimals: 1)
            r.add("threads", sample.threads)
            r.add("processes", sample.processes)
            r.add("system_memory_available_mb", sample.system.availableMB, decimals: 0)
            r.add("swap_used_mb", sample.system.swapUsedMB, decimals: 0)
            r.add("load_1m", sample.load1, decimals: 2)
            r.add("gpu_utilization_percent", sample.gpus.isEmpty ? nil : sample.gpus.compactMap(\.utilizationPercent).reduce(0, +) / Double(sample.gpus.count))
            r.add("gpu_memory_used_mb", sample.gpus.isEmpty ? nil : sample.gpus.compactMap(\.memoryUsedMB).reduce(0, +))
            r.add("gpu_power_w", sample.gpus.isEmpty ? nil : sample.gpus.compactMap(\.powerW).reduce(0, +))
            r.add("child_gpu_memory_mb", sample.treeGPUMemoryMB)
            sink.write(line: r.line(), timestampMicroseconds: now)
        } : nil
        return ResourceSampler(root: pid, started: start, interval: interval, gpu: gpu, onSample: onSample)
    }

    /// The error record of a failed attempt: `.warning` when another attempt follows, `.error`
    /// when this failure ends the run.
    func writeError(_ outcome: AttemptOutcome, level: RecordLevel) {
        guard let verdict = outcome.verdict else { return }
        let (report, facts) = (outcome.report, outcome.facts)
        let model = ModelArgument.find(in: command)
        let modelID = run.modelID(for: command)
        let modelText = modelID.map { " with model \($0)" } ?? ""
        let message = "\(command[0])\(modelText) failed: \(verdict.code.rawValue) (\(verdict.evidence))"
        let now = wallClockMicroseconds()
        var r = recordHeader(event: "error", level: level, message: message, identity: outcome.identity,
                             timestampMicroseconds: now, redactor: run.redactor)
        r.add("error_code", verdict.code.rawValue)
        r.add("error_category", verdict.category.rawValue)
        r.add("retryable", verdict.retryable)
        r.add("evidence", verdict.evidence)
        r.add("classified_by", verdict.rule)
        r.add("evidence_lost", verdict.evidenceLost)
        r.add("attempt", number)
        r.add("return_code", report.returnCode)
        r.add("signal", report.signal?.name)
        r.add("model_id", modelID)
        r.add("model_path", model?.path)
        r.add("command_args", arguments: command)
        r.add("stderr", bytes: report.stderr.bytes, cutAtStart: report.stderr.truncated)
        r.add("stdout", bytes: report.stdout.bytes, cutAtStart: report.stdout.truncated)
        r.add("duration_ms", report.durationMs)
        r.add("retry_count", number - 1)
        let exception = PythonException.parse(facts.stderr)
        r.add("exception_type", exception?.type)
        r.add("stack_trace", exception?.stackTrace)
        r.add("context", object: failureContext(modelFile: facts.modelFile, gpuMemoryAvailableMB: report.resources?.gpuMemoryAvailableMB))
        run.addRunContext(to: &r)
        sink.write(line: r.line(), timestampMicroseconds: now)
    }

    /// Where the failure happened: the machine, its free memory, and the model file's header.
    private func failureContext(modelFile: GGUFCheck?, gpuMemoryAvailableMB: Double?) -> JSONLine {
        var c = JSONLine(redacting: run.redactor)
        c.add("platform", platformName())
        c.add("wsl_available", wslInteropAvailable())
        c.add("system_memory_available_mb", memInfoMegabytes("MemAvailable"), decimals: 0)
        c.add("gpu_memory_available_mb", gpuMemoryAvailableMB, decimals: 0)
        c.add("hostname", hostName())
        c.add("user", userName())
        c.add("cwd", currentDirectory())
        c.add("airun_version", airunVersion)
        if let check = modelFile {
            var m = JSONLine(redacting: run.redactor)
            m.add("exists", check.exists)
            m.add("size_bytes", check.sizeBytes)
            m.add("magic", check.magic)
            m.add("gguf_version", check.version.map { Int64($0) })
            m.add("tensor_count", check.tensorCount)
            m.add("architecture", check.architecture)
            m.add("problem", check.problem)
            c.add("model_file", object: m)
        }
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

func addPerformance(_ perf: LlamaPerformance, to r: inout JSONLine) {
    r.add("load_time_ms", perf.loadTimeMs)
    r.add("prompt_tokens", perf.promptTokens)
    r.add("prompt_tokens_per_second", perf.promptTokensPerSecond)
    r.add("tokens_generated", perf.tokensGenerated)
    r.add("tokens_per_second", perf.tokensPerSecond)
}

/// The sampled figures of docs/records.md ("Resources") in attempt.end.
func addResources(_ res: ResourceSummary, perf: LlamaPerformance, to r: inout JSONLine) {
    r.add("sample_count", res.sampleCount)
    r.add("peak_rss_mb", res.peakRSSMB, decimals: 1)
    r.add("mean_cpu_percent", res.meanCPUPercent, decimals: 1)
    r.add("peak_threads", res.peakThreads)
    r.add("min_system_memory_available_mb", res.minMemoryAvailableMB, decimals: 0)
    r.add("peak_gpu_memory_used_mb", res.peakGPUMemoryUsedMB, decimals: 0)
    r.add("peak_child_gpu_memory_mb", res.peakChildGPUMemoryMB, decimals: 0)
    r.add("mean_gpu_utilization_percent", res.meanGPUUtilizationPercent, decimals: 1)
    r.add("peak_gpu_power_w", res.peakGPUPowerW, decimals: 1)
    r.add("gpu_energy_joules", res.gpuEnergyJoules, decimals: 1)
    // Tokens per joule: what a person choosing a model for a GPU wants to compare.
    if let tokens = perf.tokensGenerated, let joules = res.gpuEnergyJoules, joules > 0 {
        r.add("tokens_per_joule", Double(tokens) / joules, decimals: 4)
    }
}
