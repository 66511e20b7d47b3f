import AirunCore
import AirunSystem

/// How an attempt ended, as the run and the console need it.
struct AttemptOutcome {
    var disposition: ExitDisposition
    /// airun's exit code for this attempt (128+N for a signal).
    var exitCode: Int32
    /// `succeeded`, `failed`, `signaled`, `timed_out`, `not_found` or `not_executable`.
    var status: String
    /// "exit=3", "exit=143 (SIGTERM)", "exit=124 (timed out)".
    var summary: String
}

/// One attempt: its span, its environment, its records, and the supervisor that runs it.
struct AttemptRunner {
    let run: Run
    let sink: any RecordSink
    let trace: TraceResolution
    let runSpan: SpanID
    let number: Int
    let maxAttempts: Int

    func execute() -> AttemptOutcome {
        var rng = run.rng
        let span = SpanID.random(using: &rng)
        run.rng = rng
        let identity = RecordIdentity(traceID: trace.traceID, spanID: span, parentSpanID: runSpan,
                                      requestID: "\(runSpan.hex)-\(number)")
        let options = run.options
        let traceparent = TraceParent(traceID: trace.traceID, parentID: span, flags: trace.flags)
        let environment = run.childEnvironment([
            ("TRACE_ID", trace.traceID.hex),
            ("TRACEPARENT", traceparent.header),
            ("AIRUN_TRACE_ID", trace.traceID.hex),
            ("AIRUN_SPAN_ID", span.hex),
            ("AIRUN_REQUEST_ID", identity.requestID),
            ("AIRUN_ATTEMPT", String(number)),
            ("AIRUN_MAX_ATTEMPTS", String(maxAttempts)),
        ])
        let name = options.command[0]
        let lookup = resolveExecutable(name, path: run.environmentValues["PATH"])

        let startWall = wallClockMicroseconds()
        func startRecord(pid: Int32?, executable: String?) {
            var r = recordHeader(event: "attempt.start", level: .info,
                                 message: "attempt \(number) started" + (pid.map { " (pid \($0))" } ?? ""),
                                 identity: identity, timestampMicroseconds: startWall)
            r.add("attempt", number)
            r.add("pid", pid)
            r.add("executable", executable)
            r.add("command_args", strings: options.command)
            sink.write(line: r.line(), timestampMicroseconds: startWall)
        }

        let executable: String
        switch lookup {
        case .found(let path): executable = path
        case .notFound:
            return failedToStart(identity: identity, startRecord: { startRecord(pid: nil, executable: nil) },
                                 code: ExitCode.notFound, status: "not_found", reason: "\(name): command not found")
        case .notExecutable(let path, let err):
            return failedToStart(identity: identity, startRecord: { startRecord(pid: nil, executable: path) },
                                 code: ExitCode.notExecutable, status: "not_executable", reason: "\(path): \(err)")
        }

        var captureNames: (String, String)?
        var plan = AttemptPlan(executable: executable, arguments: options.command, environment: environment,
                               tty: options.tty, captureBytes: options.captureBytes, timeout: options.timeout,
                               killAfter: options.killAfter)
        if let dir = options.captureDirectory {
            do {
                try makeDirectories(dir, mode: 0o700)
                let names = ("\(dir)/\(identity.requestID).stdout", "\(dir)/\(identity.requestID).stderr")
                plan.captureStdout = try FileDescriptor.create(names.0)
                plan.captureStderr = try FileDescriptor.create(names.1)
                captureNames = names
            } catch {
                run.console.warn("cannot write capture files in \(dir) (\(error)); capture skipped", once: "capture")
            }
        }
        defer { plan.captureStdout?.close(); plan.captureStderr?.close() }

        let result: AttemptResult
        do {
            let supervisor = try Supervisor(console: run.console)
            result = try supervisor.run(plan) { pid in startRecord(pid: pid, executable: executable) }
        } catch {
            let code: Int32
            let status: String
            switch error.errno {
            case .notFound: (code, status) = (ExitCode.notFound, "not_found")
            case .permissionDenied, .execFormat, .isDirectory, Errno(1), Errno(26), Errno(40):
                (code, status) = (ExitCode.notExecutable, "not_executable")
            default: (code, status) = (ExitCode.airunFailure, "airun_error")
            }
            let reason = error.operation == "spawn" ? "\(name): \(error.errno)" : "cannot start \(name): \(error)"
            return failedToStart(identity: identity, startRecord: { startRecord(pid: nil, executable: executable) },
                                 code: code, status: status, reason: reason)
        }

        let disposition = exitDisposition(status: result.usage.status, timedOut: result.timedOut)
        let durationMs = Double(result.endedMonotonic - result.startedMonotonic) / 1e6
        var returnCode: Int32?
        var signal: Signal?
        var coreDumped = false
        switch result.usage.status {
        case .exited(let c): returnCode = c
        case .signaled(let s, let core): signal = s; coreDumped = core
        }
        let exitCode: Int32
        let status: String
        let summary: String
        switch disposition {
        case .code(let c) where result.timedOut:
            (exitCode, status, summary) = (c, "timed_out", "exit=\(c) (timed out)")
        case .code(let c):
            (exitCode, status, summary) = (c, c == 0 ? "succeeded" : "failed", "exit=\(c)")
        case .signal(let s):
            (exitCode, status, summary) = (128 + s.rawValue, "signaled", "exit=\(128 + s.rawValue) (\(s.name))")
        }
        let what: String = if result.timedOut {
            "timed out" + (signal.map { ", killed by \($0.name)" } ?? "")
        } else if let signal {
            "killed by \(signal.name)" + (coreDumped ? " (core dumped)" : "")
        } else {
            "exited with \(returnCode ?? 0)"
        }

        let endWall = wallClockMicroseconds()
        var r = recordHeader(event: "attempt.end", level: exitCode == 0 ? .info : .warning,
                             message: "attempt \(number) \(what) after \(seconds(durationMs))",
                             identity: identity, timestampMicroseconds: endWall)
        r.add("attempt", number)
        r.add("pid", result.pid)
        r.add("status", status)
        r.add("exit_code", exitCode)
        r.add("return_code", returnCode)
        r.add("signal", signal?.name)
        r.add("core_dumped", coreDumped)
        r.add("timed_out", result.timedOut)
        r.add("received_signal", result.receivedSignal?.name)
        r.add("started_at", rfc3339(microseconds: startWall))
        r.add("ended_at", rfc3339(microseconds: endWall))
        r.add("duration_ms", durationMs)
        r.add("time_to_first_output_ms", result.firstOutputMonotonic.map { Double($0 - result.startedMonotonic) / 1e6 })
        r.add("user_cpu_ms", Double(result.usage.userCPUMicroseconds) / 1000)
        r.add("system_cpu_ms", Double(result.usage.systemCPUMicroseconds) / 1000)
        r.add("max_rss_mb", Double(result.usage.maxRSSKilobytes) / 1024, decimals: 1)
        r.add("tty", result.usedTTY)
        r.add("stdout_bytes", result.stdout.totalBytes)
        r.add("stderr_bytes", result.stderr.totalBytes)
        r.add("stdout_tail", bytes: result.stdout.bytes)
        r.add("stderr_tail", bytes: result.stderr.bytes)
        r.add("stdout_file", captureNames?.0)
        r.add("stderr_file", captureNames?.1)
        sink.write(line: r.line(), timestampMicroseconds: endWall)
        return AttemptOutcome(disposition: disposition, exitCode: exitCode, status: status, summary: summary)
    }

    /// The command could not be started (127, 126, or airun's own 125): say so in one line, as a
    /// shell would, and record an attempt that never ran.
    private func failedToStart(identity: RecordIdentity, startRecord: () -> Void, code: Int32, status: String,
                               reason: String) -> AttemptOutcome {
        run.console.error(reason)
        startRecord()
        let now = wallClockMicroseconds()
        var r = recordHeader(event: "attempt.end", level: .warning, message: "attempt \(number) did not start: \(reason)",
                             identity: identity, timestampMicroseconds: now)
        r.add("attempt", number)
        r.add("pid", nil as Int32?)
        r.add("status", status)
        r.add("exit_code", code)
        r.add("return_code", code)
        r.add("signal", nil as String?)
        r.add("core_dumped", false)
        r.add("timed_out", false)
        r.add("spawn_error", reason)
        r.add("duration_ms", 0.0)
        sink.write(line: r.line(), timestampMicroseconds: now)
        return AttemptOutcome(disposition: .code(code), exitCode: code, status: status, summary: "exit=\(code)")
    }
}
