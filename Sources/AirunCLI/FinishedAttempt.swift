import AirunCore
import AirunSystem

/// How a run labels its records: the caller's ids and tags, and the caller's name for the model.
struct RunLabels {
    var callerTraceID: String?
    var tags = Tags()
    /// `--model-id`/`AIRUN_MODEL_ID`.
    var callerModelID: String?
    /// The model the command asked for (`-m`), which the caller's name stands for.
    var askedModelPath: String?

    /// The model an attempt's command runs: by the caller's name while it is the model asked
    /// for; a fallback model (or any model without a caller name) by its file name.
    func modelID(for command: [String]) -> String? {
        let model = ModelArgument.find(in: command)
        guard let callerModelID else { return model?.id }
        guard let model, let asked = askedModelPath, asked != model.path else { return callerModelID }
        return model.id
    }
}

/// One finished attempt, from reap to record: what was measured (once), how it is judged (the
/// verdict), and everything derived from both (status, exit code, summary, what the retry
/// planner and the records see), derived here and nowhere else.
struct FinishedAttempt {
    let number: Int
    let command: [String]
    let identity: RecordIdentity
    var pid: Int32?
    /// How the child ended; nil when it never started (`notStarted` says why).
    var termination: TerminationStatus?
    var notStarted: (status: String, code: Int32, reason: String)?
    var timedOut = false
    /// The last INT/TERM/HUP/QUIT airun received and passed on.
    var receivedSignal: Signal?
    var startedWall: Int64
    var endedWall: Int64
    var durationMs: Double = 0
    var firstOutputMs: Double?
    var userCPUMs: Double?
    var systemCPUMs: Double?
    var maxRSSMB: Double?
    var tty = false
    var stdout = Tail(capacity: 0)
    var stderr = Tail(capacity: 0)
    var captureFiles: (stdout: String, stderr: String)?
    var resources: ResourceSummary?
    /// Why the output could not be passed on (`stdout: No space left on device`), if it could not.
    var outputLost: String?
    /// stdout and stderr were one channel; `stderr` is its tail.
    var outputMerged = false
    /// Set by `diagnose`: nil for a success.
    private(set) var verdict: Verdict?
    private(set) var facts = AttemptFacts(exitCode: nil)
    private(set) var performance = LlamaPerformance()

    init(number: Int, command: [String], identity: RecordIdentity, startedWall: Int64, endedWall: Int64) {
        self.number = number
        self.command = command
        self.identity = identity
        self.startedWall = startedWall
        self.endedWall = endedWall
    }

    var returnCode: Int32? {
        if let notStarted { return notStarted.code }
        if case .exited(let c)? = termination { return c }
        return nil
    }

    var signal: Signal? {
        if case .signaled(let s, _)? = termination { return s }
        return nil
    }

    var coreDumped: Bool {
        if case .signaled(_, let core)? = termination { return core }
        return false
    }

    /// How airun ends if this is the last attempt: the timeout's 124, the child's code (1 when
    /// its output was lost, as the command itself would have exited had it met the write error),
    /// or the signal that killed it.
    var disposition: ExitDisposition {
        if let notStarted { return .code(notStarted.code) }
        guard let termination else { return .code(ExitCode.airunFailure) }
        let d = exitDisposition(status: termination, timedOut: timedOut)
        return outputLost != nil && d == .code(0) ? .code(1) : d
    }

    /// airun's exit code for this attempt (128+N for signal N).
    var exitCode: Int32 {
        switch disposition {
        case .code(let c): c
        case .signal(let s): 128 + s.rawValue
        }
    }

    var status: String {
        if let notStarted { return notStarted.status }
        if timedOut { return "timed_out" }
        if case .signal = disposition { return "signaled" }
        return exitCode == 0 ? "succeeded" : "failed"
    }

    var failed: Bool { verdict != nil }

    /// "attempt 2 exited with 3 after 1.20s"
    var message: String {
        if let notStarted { return "attempt \(number) did not start: \(notStarted.reason)" }
        let what: String = if timedOut {
            "timed out" + (signal.map { ", killed by \($0.name)" } ?? "")
        } else if let signal {
            "killed by \(signal.name)" + (coreDumped ? " (core dumped)" : "")
        } else {
            "exited with \(returnCode ?? 0)"
        }
        return "attempt \(number) \(what) after \(seconds(durationMs))"
    }

    /// "exit=3 NONZERO_EXIT", "exit=124 TIMEOUT (timed out)", "exit=0 64 tok 20.1 tok/s".
    var summary: String {
        let code = verdict.map { " \($0.code.rawValue)" } ?? ""
        var text: String = switch disposition {
        case .code(let c) where timedOut: "exit=\(c)\(code) (timed out)"
        case .code(let c): "exit=\(c)\(code)"
        case .signal(let s): "exit=\(128 + s.rawValue) (\(s.name))\(code)"
        }
        // A generation's figures, as llama.cpp printed them: what a person checks first.
        if verdict == nil, let tokens = performance.tokensGenerated {
            text += " \(tokens) tok" + (performance.tokensPerSecond.map { " \(JSONLine.format($0, decimals: 1)) tok/s" } ?? "")
        }
        return text
    }

    /// What the retry planner needs.
    var ending: AttemptEnding {
        AttemptEnding(code: verdict?.code, retryable: verdict?.retryable ?? true, exitCode: returnCode, signal: signal)
    }

    /// Classifies a failure (the model file, the profile's rules, the built-in ones, the prompt
    /// check) and reads llama.cpp's figures. The memory limit is read only for a SIGKILL.
    mutating func diagnose(_ diagnosis: Diagnosis) {
        facts = AttemptFacts(exitCode: returnCode, signal: signal, timedOut: timedOut,
                             receivedSignal: receivedSignal, spawnFailure: notStarted?.status,
                             stdout: String(decoding: stdout.bytes, as: UTF8.self), stderr: String(decoding: stderr.bytes, as: UTF8.self),
                             maxRSSMegabytes: maxRSSMB, memoryLimitMegabytes: signal == .kill ? memoryLimitMegabytes() : nil,
                             outputLost: outputLost)
        verdict = diagnosis.verdict(for: &facts, command: command)
        // One channel for both: llama-cli's rates line (stdout) is in the merged tail too.
        performance = LlamaPerformance.parse(stderr: facts.stderr, stdout: outputMerged ? facts.stderr : facts.stdout)
    }

    /// The attempt.end event. A failed attempt's output tails go in its error record only.
    func endEvent(_ labels: RunLabels) -> AttemptEnd {
        var end = AttemptEnd()
        end.attempt = Int64(number)
        end.pid = pid.map(Int64.init)
        end.status = status
        end.exitCode = Int64(exitCode)
        end.returnCode = returnCode.map(Int64.init)
        end.signal = signal?.name
        end.coreDumped = coreDumped
        end.timedOut = timedOut
        end.receivedSignal = receivedSignal?.name
        end.startedMicroseconds = startedWall
        end.endedMicroseconds = endedWall
        end.durationMs = durationMs
        end.timeToFirstOutputMs = firstOutputMs
        end.userCPUMs = userCPUMs
        end.systemCPUMs = systemCPUMs
        end.maxRSSMB = maxRSSMB
        end.tty = tty
        end.outputMerged = outputMerged
        end.stdoutBytes = stdout.totalBytes
        end.stderrBytes = stderr.totalBytes
        if !failed {
            end.stdoutTail = OutputText(bytes: stdout.bytes, cutAtStart: stdout.truncated)
            end.stderrTail = OutputText(bytes: stderr.bytes, cutAtStart: stderr.truncated)
        }
        end.outputLost = outputLost
        end.stdoutFile = captureFiles?.stdout
        end.stderrFile = captureFiles?.stderr
        end.spawnError = notStarted?.reason
        end.modelID = labels.modelID(for: command)
        end.modelPath = ModelArgument.find(in: command)?.path
        end.performance = performance
        end.resources = resources.map(AttemptResources.init)
        end.callerTraceID = labels.callerTraceID
        end.tags = labels.tags
        return end
    }

    /// The error event of a failed attempt, with where it happened.
    func errorEvent(_ labels: RunLabels, context: FailureContext) -> AttemptError? {
        guard let verdict else { return nil }
        var e = AttemptError(verdict)
        e.attempt = Int64(number)
        e.returnCode = returnCode.map(Int64.init)
        e.signal = signal?.name
        e.modelID = labels.modelID(for: command)
        e.modelPath = ModelArgument.find(in: command)?.path
        e.command = command
        e.stderr = OutputText(bytes: stderr.bytes, cutAtStart: stderr.truncated)
        e.stdout = OutputText(bytes: stdout.bytes, cutAtStart: stdout.truncated)
        e.durationMs = durationMs
        let exception = PythonException.parse(facts.stderr)
        e.exceptionType = exception?.type
        e.stackTrace = exception?.stackTrace
        e.context = context
        e.context.modelFile = facts.modelFile
        e.context.gpuMemoryAvailableMB = resources?.gpuMemoryAvailableMB
        e.callerTraceID = labels.callerTraceID
        e.tags = labels.tags
        return e
    }

    /// "llama-completion with model tiny failed: MODEL_NOT_FOUND (…)"
    func errorMessage(_ labels: RunLabels) -> String {
        let model = labels.modelID(for: command).map { " with model \($0)" } ?? ""
        return "\(command[0])\(model) failed: \(verdict?.code.rawValue ?? "") (\(verdict?.evidence ?? ""))"
    }
}
