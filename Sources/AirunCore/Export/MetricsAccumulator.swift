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
    }

    /// Masks label values of live records (records read back are masked already).
    private let redactor: Redactor?

    public init(redactor: Redactor? = nil) { self.redactor = redactor }

    private func label(_ s: String) -> String { redactor?.redact(s) ?? s }

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
            guard let run = runs[id.spanID] else { return }
            state.increment(Metrics.retries, [run.command, retry.errorCode ?? "NONZERO_EXIT"])
        case .runEnd(let end):
            guard var run = runs.removeValue(forKey: id.spanID) else { return }
            countUncounted(&run)
            let labels = [run.command, run.model]
            state.increment(Metrics.runs, labels + [end.status.rawValue, end.errorCode ?? ""])
            let seconds = Double(record.timestampMicroseconds) / 1e6
            state.set(Metrics.lastRun, labels, to: seconds)
            if end.exitCode == 0 { state.set(Metrics.lastSuccess, labels, to: seconds) }
        case .attemptStart, .sample, .childLog:
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
