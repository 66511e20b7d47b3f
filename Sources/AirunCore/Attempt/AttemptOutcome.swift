/// Why an attempt's command never ran, as a shell would say it, and the exit code that implies.
public struct StartFailure: Equatable, Sendable {
    public enum Kind: Equatable, Sendable {
        /// Not on PATH (127).
        case notFound
        /// Found but not executable, or too long to exec (126).
        case notExecutable
        /// Something of airun's own failed: a pipe, a terminal (125).
        case airunError
        /// The pre-flight check found what the attempt would fail on (a model file that cannot
        /// load, a prompt longer than the context), so it was not started: 1, as the command's own.
        case preflight
        /// The model is cooling down (`[cooldown]`) and a fallback model is left: 1.
        case cooldown
    }

    public var kind: Kind
    /// "llama-cli: command not found".
    public var reason: String

    public init(_ kind: Kind, reason: String) {
        self.kind = kind
        self.reason = reason
    }

    public var exitCode: Int32 {
        switch kind {
        case .notFound: ExitCode.notFound
        case .notExecutable: ExitCode.notExecutable
        case .airunError: ExitCode.airunFailure
        case .preflight, .cooldown: 1
        }
    }

    public var status: AttemptStatus {
        switch kind {
        case .notFound: .notFound
        case .notExecutable: .notExecutable
        case .airunError: .airunError
        case .preflight, .cooldown: .failed
        }
    }
}

/// Why airun itself stopped a server's start (the timeout has its own flag, `timedOut`).
public enum SupervisorStop: Equatable, Sendable {
    /// Not ready within the readiness timeout.
    case readyTimeout(TimeSpan)
    /// The process tree's resident memory passed `--max-memory` (bytes), at `rssMB`.
    case memoryLimit(limitBytes: Int64, rssMB: Double)
}

/// What the supervisor saw of a child from spawn to reap. Produced once, by the supervisor.
public struct ProcessRun: Sendable {
    public var pid: ProcessID
    public var status: TerminationStatus
    /// airun's `--timeout` expired and began the teardown.
    public var timedOut = false
    /// The last INT/TERM/HUP/QUIT airun received and passed on.
    public var receivedSignal: Signal?
    public var durationNanoseconds: Int64 = 0
    /// From spawn to the first byte on stdout.
    public var firstOutputNanoseconds: Int64?
    public var userCPUMicroseconds: Int64 = 0
    public var systemCPUMicroseconds: Int64 = 0
    public var maxRSSKilobytes: Int64 = 0
    public var usedTTY = false
    public var stdout = Tail(capacity: 0)
    /// The tail of stderr, or of both streams when they were one channel (`outputMerged`).
    public var stderr = Tail(capacity: 0)
    /// Peaks and means of the resource samples taken while it ran.
    public var resources: ResourceSummary?
    /// `stdout: No space left on device` when airun could not pass the output on.
    public var outputLost: String?
    /// stdout and stderr were one channel (airun's were one destination, as under `2>&1`).
    public var outputMerged = false
    /// airun stopped the child for a reason of its own (a server's readiness or memory limit).
    public var stoppedBy: SupervisorStop?
    /// airun received SIGHUP and stopped the child to start it again (a server's reload).
    public var reloadRequested = false
    /// From spawn to ready (`--ready-url`, `--ready-line`), when it became ready.
    public var readyNanoseconds: Int64?

    public init(pid: ProcessID, status: TerminationStatus) {
        self.pid = pid
        self.status = status
    }
}

/// One attempt as measured: its identity and times, and what became of its process.
public struct AttemptMeasurement: Sendable {
    public enum Process: Sendable {
        case ran(ProcessRun)
        case notStarted(StartFailure)

        /// The child's own exit code (or the shell's code for a command that never started); nil
        /// when a signal ended it.
        public var returnCode: Int32? {
            switch self {
            case .notStarted(let f): return f.exitCode
            case .ran(let r):
                if case .exited(let c) = r.status { return c }
                return nil
            }
        }

        public var signal: Signal? {
            if case .ran(let r) = self, case .signaled(let s, _) = r.status { return s }
            return nil
        }
    }

    public var number: Int
    public var command: [String]
    public var identity: RecordIdentity
    public var startedWall: Int64
    public var endedWall: Int64
    public var process: Process
    /// With `--capture-dir`: the files holding the full output.
    public var captureFiles: (stdout: String, stderr: String)?
    /// `--simulate`: the attempt did not run; its end is the code's typical one.
    public var simulated = false

    public init(number: Int, command: [String], identity: RecordIdentity, startedWall: Int64, endedWall: Int64, process: Process) {
        self.number = number
        self.command = command
        self.identity = identity
        self.startedWall = startedWall
        self.endedWall = endedWall
        self.process = process
    }

    public var run: ProcessRun? {
        if case .ran(let r) = process { return r }
        return nil
    }

    public var startFailure: StartFailure? {
        if case .notStarted(let f) = process { return f }
        return nil
    }

    /// The child's own exit code (or the shell's code for a command that never started); nil
    /// when a signal ended it.
    public var returnCode: Int32? { process.returnCode }

    public var signal: Signal? { process.signal }

    public var coreDumped: Bool {
        if case .signaled(_, let core)? = run?.status { return core }
        return false
    }

    public var timedOut: Bool { run?.timedOut ?? false }
    public var durationMs: Double { Double(run?.durationNanoseconds ?? 0) / 1e6 }

    /// How airun ends if this is the last attempt: the timeout's 124, the child's code (1 when
    /// its output was lost, as the command itself would have exited had it met the write error),
    /// or the signal that killed it.
    public var disposition: ExitDisposition {
        switch process {
        case .notStarted(let f): return .code(f.exitCode)
        case .ran(let r):
            // A readiness timeout is a timeout (124); a signal airun sent for its own reason (the
            // memory limit) is a status, not a signal for airun to raise against itself.
            if case .readyTimeout? = r.stoppedBy { return .code(ExitCode.timedOut) }
            let d = ExitDisposition(status: r.status, timedOut: r.timedOut)
            if r.stoppedBy != nil, case .signal(let s) = d { return .code(ExitCode.signaled(s)) }
            // A simulated signal is a number: airun does not kill itself (SIGABRT would dump its core).
            if simulated, case .signal(let s) = d { return .code(ExitCode.signaled(s)) }
            return r.outputLost != nil && d == .code(0) ? .code(1) : d
        }
    }

    /// airun's exit code for this attempt (128+N for signal N).
    public var exitCode: Int32 { disposition.exitCode }

    public var status: AttemptStatus {
        if let f = startFailure { return f.status }
        if timedOut { return .timedOut }
        if signal != nil { return .signaled }
        return exitCode == 0 ? .succeeded : .failed
    }

    /// "attempt 2 exited with 3 after 1.20s"
    public var message: String {
        if let f = startFailure { return "attempt \(number) did not start: \(f.reason)" }
        let what: String = if timedOut {
            "timed out" + (signal.map { ", killed by \($0.name)" } ?? "")
        } else if let signal {
            "killed by \(signal.name)" + (coreDumped ? " (core dumped)" : "")
        } else {
            "exited with \(returnCode ?? 0)"
        }
        return "attempt \(number) \(what) after \(formatSeconds(milliseconds: durationMs))"
    }

    /// What the classifier reads. `memoryLimitMegabytes` only matters for a SIGKILL (the OOM
    /// killer's or someone else's), so the caller reads it only then.
    public func facts(memoryLimitMegabytes: Double? = nil) -> AttemptFacts {
        var facts = AttemptFacts(exitCode: returnCode, signal: signal, timedOut: timedOut, receivedSignal: run?.receivedSignal,
                                 spawnFailure: startFailure?.status,
                                 stdout: String(decoding: run?.stdout.bytes ?? [], as: UTF8.self),
                                 stderr: String(decoding: run?.stderr.bytes ?? [], as: UTF8.self),
                                 maxRSSMegabytes: run.map { Double($0.maxRSSKilobytes) / 1024 },
                                 memoryLimitMegabytes: memoryLimitMegabytes, outputLost: run?.outputLost)
        facts.program = command.first ?? ""
        facts.stoppedBy = run?.stoppedBy
        return facts
    }
}

/// What the diagnosis concluded about a measured attempt. Produced once, from the measurement.
public struct AttemptFindings: Sendable {
    /// nil for a success.
    public var verdict: Verdict?
    /// What a look at the `-m` model file found (only for a failure).
    public var modelFile: GGUFCheck?
    /// llama.cpp's figures, when it printed them.
    public var performance = LlamaPerformance()
    /// The Python exception in stderr, when there is one (only for a failure).
    public var exception: PythonException?

    public init(verdict: Verdict? = nil, modelFile: GGUFCheck? = nil, performance: LlamaPerformance = LlamaPerformance(),
                exception: PythonException? = nil) {
        self.verdict = verdict
        self.modelFile = modelFile
        self.performance = performance
        self.exception = exception
    }
}

/// One finished attempt: what was measured and what was concluded, and everything derived from
/// both (summary, what the retry planner sees, the records), derived here and nowhere else.
public struct AttemptOutcome: Sendable {
    public let measurement: AttemptMeasurement
    public let findings: AttemptFindings

    public init(_ measurement: AttemptMeasurement, _ findings: AttemptFindings) {
        self.measurement = measurement
        self.findings = findings
    }

    public var number: Int { measurement.number }
    public var command: [String] { measurement.command }
    public var identity: RecordIdentity { measurement.identity }
    public var verdict: Verdict? { findings.verdict }
    public var failed: Bool { findings.verdict != nil }
    public var disposition: ExitDisposition { measurement.disposition }
    public var exitCode: Int32 { measurement.exitCode }
    public var status: AttemptStatus { measurement.status }

    /// "exit=3 NONZERO_EXIT", "exit=124 TIMEOUT (timed out)", "exit=0 64 tok 20.1 tok/s".
    public var summary: String {
        let code = verdict.map { " \($0.code.rawValue)" } ?? ""
        var text: String = switch disposition {
        case .code(let c) where measurement.timedOut: "exit=\(c)\(code) (timed out)"
        case .code(let c): "exit=\(c)\(code)"
        case .signal(let s): "exit=\(ExitCode.signaled(s)) (\(s.name))\(code)"
        }
        // A generation's figures, as llama.cpp printed them: what a person checks first.
        if verdict == nil, let tokens = findings.performance.tokensGenerated {
            text += " \(tokens) tok" + (findings.performance.tokensPerSecond.map { " \(JSONLine.format($0, decimals: 1)) tok/s" } ?? "")
        }
        return text
    }

    /// What the retry planner needs.
    public var ending: AttemptEnding {
        AttemptEnding(code: verdict?.code, retryable: verdict?.retryable ?? true, exitCode: measurement.returnCode, signal: measurement.signal)
    }

    /// "llama-completion with model tiny failed: MODEL_NOT_FOUND (…)"
    public func errorMessage(_ labels: RunLabels) -> String {
        let model = labels.modelID(for: command).map { " with model \($0)" } ?? ""
        return "\(command.first ?? "")\(model) failed: \(verdict?.code.rawValue ?? "") (\(verdict?.evidence ?? ""))"
    }
}

/// How an attempt that failed with a code typically ends: the exit status, signal or start
/// failure that goes with it. `--simulate` ends an attempt this way without running it, and
/// `--dry-run` plans each code's next attempt from it, so the two agree.
public struct SimulatedFailure: Equatable, Sendable {
    public let code: ErrorCode
    /// The attempt it ends (1-based).
    public let attempt: Int

    public init(code: ErrorCode, attempt: Int) {
        self.code = code
        self.attempt = attempt
    }

    /// Parses `GPU_OOM` (attempt 1) or `GPU_OOM@2`; nil for anything else.
    public init?(_ text: String) {
        let parts = text.split(separator: "@", maxSplits: 1, omittingEmptySubsequences: false)
        guard let code = ErrorCode(rawValue: String(parts[0]).uppercased()) else { return nil }
        var attempt = 1
        if parts.count == 2 {
            guard let n = Int(parts[1]), (1...100).contains(n) else { return nil }
            attempt = n
        }
        self.init(code: code, attempt: attempt)
    }

    /// The process end the code goes with: a signal for the codes a signal decides, a start
    /// failure for those a start decides, otherwise exit status 1.
    public var process: AttemptMeasurement.Process {
        var run = ProcessRun(pid: 0, status: .exited(1))
        switch code {
        case .oomKilled, .killedBySignal: run.status = .signaled(.kill, coreDumped: false)
        case .aborted: run.status = .signaled(.abort, coreDumped: false)
        case .interrupted:
            run.status = .signaled(.interrupt, coreDumped: false)
            run.receivedSignal = .interrupt
        case .timeout:
            run.status = .signaled(.terminate, coreDumped: false)
            run.timedOut = true
        case .readyTimeout:
            run.status = .signaled(.terminate, coreDumped: false)
            run.stoppedBy = .readyTimeout(.seconds(600))
        case .memoryLimit:
            run.status = .signaled(.terminate, coreDumped: false)
            run.stoppedBy = .memoryLimit(limitBytes: 1 << 30, rssMB: 1025)
        case .outputLost:
            run.status = .exited(0)
            run.outputLost = "stdout: simulated"
        case .commandNotFound: return .notStarted(StartFailure(.notFound, reason: "simulated: command not found"))
        case .permissionDenied: return .notStarted(StartFailure(.notExecutable, reason: "simulated: permission denied"))
        default: break
        }
        return .ran(run)
    }

    /// The verdict, as the classifier would give it for that failure.
    public var verdict: Verdict {
        Verdict(code: code, retryable: code.retryableByDefault, evidence: "simulated by --simulate \(code.rawValue)@\(attempt)",
                rule: "simulate")
    }

    /// What the retry planner sees.
    public var ending: AttemptEnding {
        AttemptEnding(code: code, retryable: verdict.retryable, exitCode: process.returnCode, signal: process.signal)
    }
}
