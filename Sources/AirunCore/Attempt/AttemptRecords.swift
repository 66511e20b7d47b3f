/// The records of an attempt, made from its outcome: one encoding of the outcome each.
extension AttemptEnd {
    /// The attempt.end event. A failed attempt's output tails go in its error record only.
    public init(_ outcome: AttemptOutcome, labels: RunLabels) {
        self.init()
        let m = outcome.measurement
        attempt = Int64(m.number)
        status = m.status
        exitCode = Int64(m.exitCode)
        returnCode = m.returnCode.map(Int64.init)
        signal = m.signal?.name
        coreDumped = m.coreDumped
        timedOut = m.timedOut
        startedMicroseconds = m.startedWall
        endedMicroseconds = m.endedWall
        durationMs = m.durationMs
        simulated = m.simulated
        preflight = m.startFailure?.kind == .preflight
        cooldown = m.startFailure?.kind == .cooldown
        if let run = m.run {
            pid = m.simulated ? nil : Int64(run.pid)
            receivedSignal = run.receivedSignal?.name
            timeToFirstOutputMs = run.firstOutputNanoseconds.map { Double($0) / 1e6 }
            userCPUMs = Double(run.userCPUMicroseconds) / 1000
            systemCPUMs = Double(run.systemCPUMicroseconds) / 1000
            maxRSSMB = Double(run.maxRSSKilobytes) / 1024
            tty = run.usedTTY
            outputMerged = run.outputMerged
            stdoutBytes = run.stdout.totalBytes
            stderrBytes = run.stderr.totalBytes
            if !outcome.failed {
                stdoutTail = OutputText(bytes: run.stdout.bytes, cutAtStart: run.stdout.truncated)
                stderrTail = OutputText(bytes: run.stderr.bytes, cutAtStart: run.stderr.truncated)
            }
            outputLost = run.outputLost
            resources = run.resources.map(AttemptResources.init)
        }
        stdoutFile = m.captureFiles?.stdout
        stderrFile = m.captureFiles?.stderr
        spawnError = m.startFailure?.reason
        modelID = labels.modelID(for: m.command)
        modelPath = ModelArgument.find(in: m.command)?.path
        performance = outcome.findings.performance
        callerTraceID = labels.callerTraceID
        tags = labels.tags
    }
}

extension AttemptError {
    /// The error event of a failed attempt (nil for a success), with where it happened.
    public init?(_ outcome: AttemptOutcome, labels: RunLabels, context: FailureContext) {
        guard let verdict = outcome.verdict else { return nil }
        self.init(verdict)
        let m = outcome.measurement
        attempt = Int64(m.number)
        returnCode = m.returnCode.map(Int64.init)
        signal = m.signal?.name
        modelID = labels.modelID(for: m.command)
        modelPath = ModelArgument.find(in: m.command)?.path
        command = m.command
        if let run = m.run {
            stderr = OutputText(bytes: run.stderr.bytes, cutAtStart: run.stderr.truncated)
            stdout = OutputText(bytes: run.stdout.bytes, cutAtStart: run.stdout.truncated)
        }
        durationMs = m.durationMs
        exceptionType = outcome.findings.exception?.type
        stackTrace = outcome.findings.exception?.stackTrace
        self.context = context
        self.context.modelFile = outcome.findings.modelFile
        self.context.gpuMemoryAvailableMB = m.run?.resources?.gpuMemoryAvailableMB
        callerTraceID = labels.callerTraceID
        tags = labels.tags
    }
}
