/// Turns records into metrics: the live exporter feeds it one run's records, `airun metrics`
/// without a state file feeds it the records read back. One mechanism for both.
public struct MetricsAccumulator: Sendable {
    public private(set) var state = MetricsState()
    /// Per run span: the command's name, the model of its latest attempt, and a failed attempt
    /// waiting for its error record (which names the code) before it is counted.
    private var runs: [SpanID: RunInProgress] = [:]
    private struct RunInProgress {
        var command: String
        var model: String
        var uncounted: (labels: [String], status: String)?
        /// A server's run (it had a ready, heartbeat or restart record): it has an `up` series.
        var service = false
        var serverCounters = ServerCounterDeltas()
    }

    /// Masks label values of live records (records read back are masked already).
    private let redactor: Redactor?

    public init(redactor: Redactor? = nil) { self.redactor = redactor }

    private func label(_ s: String) -> String { redactor?.redact(s) ?? s }

    /// The counts since the previous call, for a server's textfile updated while it runs (the
    /// runs in progress are kept: their later records still count).
    public mutating func takeState() -> MetricsState {
        defer { state = MetricsState() }
        return state
    }

    public mutating func add(_ record: Record) {
        let id = record.identity
        switch record.event {
        case .runStart(let start):
            runs[id.spanID] = RunInProgress(command: label(fileName(start.command.first ?? "")), model: label(start.modelID ?? ""))
        case .attemptEnd(let end):
            guard let parent = id.parentSpanID, var run = runs[parent] else { return }
            countUncounted(&run)
            let model = label(end.modelID ?? "")
            run.model = model
            let labels = [run.command, model]
            if run.service { state.set(Metrics.up, labels, to: 0) }
            if end.status == .succeeded {
                state.increment(Metrics.attempts, labels + [end.status.rawValue, ""])
            } else {
                run.uncounted = (labels, end.status.rawValue)
            }
            runs[parent] = run
            if end.cooldown { state.increment(Metrics.cooldownSkips, labels) }
            state.observe(Metrics.duration, labels, end.durationMs / 1000)
            if let tps = end.performance.tokensPerSecond { state.observe(Metrics.tokensPerSecond, labels, tps) }
            if let n = end.performance.tokensGenerated { state.increment(Metrics.tokens, labels, by: Double(n)) }
            if let rss = end.resources?.peakRSSMB ?? end.maxRSSMB { state.set(Metrics.peakRSS, labels, to: Metrics.bytes(megabytes: rss)) }
            if let gpu = end.resources?.peakGPUMemoryUsedMB { state.set(Metrics.peakGPUMemory, labels, to: Metrics.bytes(megabytes: gpu)) }
            if let joules = end.resources?.gpuEnergyJoules { state.increment(Metrics.gpuEnergy, labels, by: joules) }
        case .error(let error):
            guard let parent = id.parentSpanID, var run = runs[parent], let (labels, status) = run.uncounted else { return }
            state.increment(Metrics.attempts, labels + [status, error.errorCode])
            run.uncounted = nil
            runs[parent] = run
        case .retry(let retry):
            guard var run = runs[id.spanID] else { return }
            if retry.restart {
                state.increment(Metrics.restarts, [run.command, run.model, retry.errorCode ?? ""])
                run.service = true
                runs[id.spanID] = run
            } else {
                state.increment(Metrics.retries, [run.command, retry.errorCode ?? "NONZERO_EXIT"])
            }
        case .runEnd(let end):
            guard var run = runs.removeValue(forKey: id.spanID) else { return }
            countUncounted(&run)
            let labels = [run.command, run.model]
            if run.service { state.set(Metrics.up, labels, to: 0) }
            state.increment(Metrics.runs, labels + [end.status.rawValue, end.errorCode ?? ""])
            let seconds = Double(record.timestampMicroseconds) / 1e6
            state.set(Metrics.lastRun, labels, to: seconds)
            if end.exitCode == 0 { state.set(Metrics.lastSuccess, labels, to: seconds) }
        case .ready(let ready):
            guard let parent = id.parentSpanID, var run = runs[parent] else { return }
            run.service = true
            if let m = ready.modelID { run.model = label(m) }
            runs[parent] = run
            state.set(Metrics.up, [run.command, run.model], to: 1)
            state.set(Metrics.readySeconds, [run.command, run.model], to: ready.readyMs / 1000)
        case .heartbeat(let beat):
            guard let parent = id.parentSpanID, var run = runs[parent] else { return }
            run.service = true
            if let m = beat.modelID { run.model = label(m) }
            let labels = [run.command, run.model]
            state.set(Metrics.up, labels, to: beat.ready == false ? 0 : 1)
            if !beat.server.isEmpty {
                let d = run.serverCounters.increments(beat.server)
                for (family, value) in [(Metrics.serverPromptTokens, d.promptTokens), (Metrics.serverPromptSeconds, d.promptSeconds),
                                        (Metrics.serverPredictedTokens, d.predictedTokens), (Metrics.serverPredictedSeconds, d.predictedSeconds)] {
                    if let value, value.isFinite, value >= 0 { state.increment(family, labels, by: value) }
                }
                if let v = d.requestsProcessing { state.set(Metrics.serverRequestsProcessing, labels, to: v) }
                if let v = d.requestsDeferred { state.set(Metrics.serverRequestsDeferred, labels, to: v) }
            }
            runs[parent] = run
        case .attemptStart:
            // A server's new start counts its figures from zero again.
            if let parent = id.parentSpanID { runs[parent]?.serverCounters.restarted() }
        case .sample, .childLog:
            break
        }
    }

    /// A failed attempt whose error record never came (a cut-off log): counted without a code.
    private mutating func countUncounted(_ run: inout RunInProgress) {
        guard let (labels, status) = run.uncounted else { return }
        state.increment(Metrics.attempts, labels + [status, ""])
        run.uncounted = nil
    }
}
