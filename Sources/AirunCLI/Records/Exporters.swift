import AirunCore
import AirunSystem

/// The run's exporters (docs/metrics.md): a record sink that keeps this run's records and, once
/// the run has ended, updates the Prometheus textfile, pushes to a Pushgateway and sends OTLP.
/// Each fails open on its own: a warning, never a changed exit status or lost output.
final class RunExporter: RecordSink {
    let settings: ExportSettings
    let logDirectory: String
    private let console: Console
    private let redaction: SharedRedactor
    private var records: [Record] = []
    private var metrics: MetricsAccumulator

    /// What a collector that is down or slow may add to the end of a run: 180 ms of network time,
    /// leaving room under the documented 200 ms for spooling what it did not take.
    static let budgetNanoseconds: Int64 = 180_000_000

    /// The run's environment, for what the OTLP payloads read of it (`LLAMA_ARG_*`, `TRACESTATE`).
    private let environment: [String: String]

    init(settings: ExportSettings, logDirectory: String, console: Console, redaction: SharedRedactor, environment: [String: String] = [:]) {
        self.settings = settings
        self.environment = environment
        self.logDirectory = logDirectory
        self.console = console
        self.redaction = redaction
        metrics = MetricsAccumulator(redactor: redaction.redactor)
    }

    /// A chatty command's log lines are all in the records, but a run's OTLP payload keeps the
    /// first `maxChildLogs` of them, so its size stays bounded.
    static let maxChildLogs = 1000
    private var childLogs = 0

    /// `write` runs on the attempt's worker too (a command's log records): the rest of the
    /// exporter's work comes after the worker has finished.
    private let lock = Lock()

    func write(_ record: Record) {
        lock.withLock { keep(record) }
    }

    /// A command's log lines are read into records only while the payload still keeps them.
    func write(childLogs batch: ChildLogBatch) {
        guard lock.withLock({ childLogs < Self.maxChildLogs }) else { return }
        for record in batch.records() { write(record) }
    }

    private func keep(_ record: Record) {
        switch record.event {
        case .sample: return
        case .childLog:
            childLogs += 1
            if childLogs > Self.maxChildLogs { return }
        default: break
        }
        if settings.textfileDirectory != nil {
            metrics.add(record)
            // A server runs for days: its textfile follows it (up, restarts, its own figures).
            switch record.event {
            case .ready, .heartbeat: updateTextfile()
            case .retry(let r) where r.restart: updateTextfile()
            default: break
            }
        }
        // The textfile counts as records arrive; only the Pushgateway and OTLP need them kept.
        if settings.pushgateway != nil || settings.otlpEnabled { records.append(record) }
    }

    /// Adds what was counted since the last update to the textfile.
    private func updateTextfile() {
        guard let directory = settings.textfileDirectory else { return }
        do {
            try MetricsStore(logDirectory: logDirectory).add(metrics.takeState(), textfileDirectory: directory)
        } catch {
            console.lost("cannot update \(directory)/airun.prom (\(error)); metrics of this run are not counted", once: "textfile")
        }
    }

    /// Exports the finished run, within `budgetNanoseconds` of network time.
    func finish() {
        let deadline = monotonicNanoseconds() + Self.budgetNanoseconds
        updateTextfile()
        let redactor = redaction.redactor
        var requests: [(signal: String, request: HTTPRequest)] = []
        if let base = settings.pushgateway, let state = Metrics.lastRun(records, redactor: redactor) {
            requests.append(("push", HTTPRequest(method: "PUT", endpoint: pushgatewayGroup(base), contentType: "text/plain; version=0.0.4",
                                                 body: Array(state.exposition(Metrics.lastRunFamilies).utf8))))
        }
        let otlp = OTLPPayloads(settings: settings, redactor: redactor, environment: environment)
        // Spans and logs of what was not sent at a server's restart; metrics of the whole run.
        let unsent = unsentRecords
        for (signal, body) in [("traces", settings.traces.flatMap { _ in otlp.traces(unsent) }), ("logs", settings.logs.flatMap { _ in otlp.logs(unsent) }),
                               ("metrics", settings.metrics.flatMap { _ in otlp.metrics(records) })] {
            guard let body, let request = otlpRequest(signal: signal, body: body, settings: settings) else { continue }
            requests.append((signal, request))
        }
        guard !requests.isEmpty || settings.otlpEnabled else { return }
        let delivered = deliver(requests, deadline: deadline)
        if delivered, settings.otlpEnabled, monotonicNanoseconds() < deadline - 5_000_000 {
            // The collector answers: resend what earlier runs could not, in what is left of the budget.
            _ = flushSpool(Spool(logDirectory: logDirectory, maxBytes: settings.spoolMaxBytes), settings: settings,
                           timeoutNanoseconds: deadline - monotonicNanoseconds(), limit: 16)
        }
    }

    /// Records before this index were sent as spans and logs at a server's restart.
    private var sentUpTo = 0

    /// What the next span and log payloads are built from: the records not yet sent, with the
    /// run's start and retries before them (the attempt spans' attributes and the run span's events).
    private var unsentRecords: [Record] {
        guard sentUpTo > 0 else { return records }
        let context = records[..<sentUpTo].filter {
            switch $0.event {
            case .runStart, .retry: true
            default: false
            }
        }
        return context + records[sentUpTo...]
    }

    /// A server's starts that ended, sent at its restart: a span per start reaches the collector
    /// while the server lives, not when it ends days later.
    func sendFinishedStarts() {
        guard settings.otlpEnabled else { return }
        let otlp = OTLPPayloads(settings: settings, redactor: redaction.redactor, environment: environment)
        let unsent = unsentRecords
        var requests: [(signal: String, request: HTTPRequest)] = []
        for (signal, body) in [("traces", settings.traces.flatMap { _ in otlp.traces(unsent) }), ("logs", settings.logs.flatMap { _ in otlp.logs(unsent) })] {
            guard let body, let request = otlpRequest(signal: signal, body: body, settings: settings) else { continue }
            requests.append((signal, request))
        }
        sentUpTo = records.count
        _ = deliver(requests, deadline: monotonicNanoseconds() + Self.budgetNanoseconds)
    }

    /// Sends `requests` until `deadline`; what a collector could not take is spooled, and each
    /// kind of failure is said once. Returns whether nothing was left undelivered.
    private func deliver(_ requests: [(signal: String, request: HTTPRequest)], deadline: Int64) -> Bool {
        guard !requests.isEmpty else { return true }
        let outcomes = performHTTP(requests.map(\.request), timeoutNanoseconds: deadline - monotonicNanoseconds())
        let spool = Spool(logDirectory: logDirectory, maxBytes: settings.spoolMaxBytes)
        var spooled = 0
        var failure: String?
        for (i, outcome) in outcomes.enumerated() where !outcome.delivered {
            let (signal, request) = requests[i]
            let what = signal == "push" ? "the Pushgateway at \(request.endpoint)" : "the OTLP collector at \(request.endpoint)"
            let reason = describe(outcome)
            if signal == "push" {
                console.warn("could not push to \(what): \(reason); the next run's push replaces it", once: "push")
            } else if outcome.retryable {
                do { try spool.add(signal: signal, body: request.body); spooled += 1 } catch {
                    console.lost("could not spool the \(signal) for \(what) (\(error)); they are lost", once: "spool")
                }
                failure = "\(what): \(reason)"
            } else {
                console.lost("\(what) refused the \(signal) (\(reason)); they are dropped", once: "otlp-refused")
            }
        }
        if let failure, spooled > 0 {
            console.warn("could not send to \(failure); \(spooled) payload\(spooled == 1 ? "" : "s") spooled in \(spool.directory) (airun export --flush sends them)", once: "otlp")
        }
        return failure == nil
    }

    /// The group this run replaces (the settings checked the URL's shape when they read it).
    private func pushgatewayGroup(_ base: HTTPEndpoint) -> HTTPEndpoint {
        (try? base.pushgatewayGroup(instance: hostName()).get()) ?? base
    }
}

func otlpRequest(signal: String, body: [UInt8], settings: ExportSettings) -> HTTPRequest? {
    guard let endpoint = settings.endpoint(signal: signal) else { return nil }
    return HTTPRequest(method: "POST", endpoint: endpoint, contentType: "application/json", headers: settings.headers, body: body)
}

func describe(_ outcome: HTTPOutcome) -> String {
    switch outcome {
    case .status(let s): "HTTP \(s)"
    case .failed(let reason): reason
    }
}

/// What a flush did: payloads delivered, left in the spool, refused (dropped by the collector's
/// answer), and dropped earlier to keep the spool bounded.
struct FlushResult: Equatable {
    var sent = 0
    var remaining = 0
    var refused = 0
    var lastProblem: String?
}

/// Sends up to `limit` spooled payloads to the endpoints of `settings`, each delivered once.
func flushSpool(_ spool: Spool, settings: ExportSettings, timeoutNanoseconds: Int64, limit: Int) -> FlushResult {
    var result = FlushResult()
    let claimed = spool.claim(limit: limit)
    var sending: [(Spool.Entry, HTTPRequest)] = []
    for entry in claimed {
        guard let body = spool.body(of: entry), let request = otlpRequest(signal: entry.signal, body: body, settings: settings) else {
            spool.release(entry)
            result.remaining += 1
            continue
        }
        sending.append((entry, request))
    }
    let outcomes = performHTTP(sending.map(\.1), timeoutNanoseconds: timeoutNanoseconds)
    for ((entry, _), outcome) in zip(sending, outcomes) {
        if outcome.delivered {
            spool.delivered(entry)
            result.sent += 1
        } else if outcome.retryable {
            spool.release(entry)
            result.remaining += 1
            result.lastProblem = describe(outcome)
        } else {
            spool.delivered(entry)
            result.refused += 1
            result.lastProblem = describe(outcome)
        }
    }
    return result
}

/// The cumulative metrics kept beside the records: a state file, replaced whole under a lock
/// so concurrent runs never lose an increment, and `airun.prom` rewritten from it.
struct MetricsStore {
    let logDirectory: String
    var statePath: String { logDirectory + "/airun-metrics.state" }
    var lockPath: String { logDirectory + "/.airun-metrics.lock" }

    func add(_ run: MetricsState, textfileDirectory: String) throws(SystemError) {
        try makeDirectories(logDirectory, mode: 0o700)
        try makeDirectories(textfileDirectory, mode: 0o755)
        try withLockFile(lockPath) { () throws(SystemError) in
            var state = load() ?? MetricsState()
            state.merge(run)
            try writeFileAtomically(statePath, state.encoded())
            // node_exporter usually runs as another user: the file is readable by all.
            try writeFileAtomically(textfileDirectory + "/airun.prom", Array(state.exposition().utf8), mode: 0o644)
        }
    }

    func load() -> MetricsState? {
        readSmallFile(statePath, limit: 64 << 20).map { MetricsState(decoding: $0) }
    }
}
