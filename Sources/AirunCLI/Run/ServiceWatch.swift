import AirunCore
import AirunSystem

/// What the supervisor does for a long-running command besides relaying its output: watch for
/// readiness (a URL that answers 200, or a line), write heartbeats, read llama-server's own
/// metrics, and say when the start must be stopped (not ready in time, over its memory limit).
/// Driven by the poll loop like the sampler: no threads.
///
/// - Important: the URL checks are short blocking requests inside the poll loop (at most
///   `probeTimeout`, to a server on this machine as a rule): the child's output waits in its
///   pipe for that long at most, and is never lost.
final class ServiceWatch {
    struct Settings {
        var readyURL: HTTPEndpoint?
        var readyLine: LinearRegex?
        var readyTimeout = TimeSpan.seconds(600)
        var readyInterval = TimeSpan.seconds(0.5)
        var heartbeat: TimeSpan?
        var maxMemoryBytes: Int64?
        var metricsURL: HTTPEndpoint?
    }

    /// A heartbeat's figures, for its record.
    struct Beat {
        var uptime: TimeSpan
        var ready: Bool?
        var resources: ResourceSummary
        var server: ServerMetrics
    }

    let settings: Settings
    private let onReady: (_ after: TimeSpan, _ via: String, _ evidence: String) -> Void
    private let onHeartbeat: (Beat) -> Void
    private var started: Int64 = 0
    private(set) var readyAt: Int64?
    private var nextProbe: Int64 = 0
    private var nextBeat: Int64 = .max
    /// The unfinished last line of the output, for `readyLine` (at most `maxLine` bytes kept).
    private var partial: [UInt8] = []
    private static let maxLine = 4096
    static let probeTimeout: Int64 = 500_000_000

    init(_ settings: Settings, onReady: @escaping (TimeSpan, String, String) -> Void, onHeartbeat: @escaping (Beat) -> Void) {
        self.settings = settings
        self.onReady = onReady
        self.onHeartbeat = onHeartbeat
    }

    var checksReadiness: Bool { settings.readyURL != nil || settings.readyLine != nil }
    var waitingForReady: Bool { checksReadiness && readyAt == nil }

    func spawned(at now: Int64) {
        started = now
        // The first check soon after the start; a server answers nothing before it listens.
        nextProbe = now + min(settings.readyInterval.nanoseconds, 100_000_000)
        nextBeat = settings.heartbeat.map { now.addingSaturated($0.nanoseconds) } ?? .max
    }

    /// When the loop must wake next for this watch.
    var nextDeadline: Int64 {
        var d = nextBeat
        if waitingForReady {
            d = min(d, started.addingSaturated(settings.readyTimeout.nanoseconds))
            if settings.readyURL != nil { d = min(d, nextProbe) }
        }
        return d
    }

    /// The child's output, for `readyLine`: each whole line is matched until one does.
    func output(_ chunk: UnsafeRawBufferPointer, now: Int64) {
        guard waitingForReady, let regex = settings.readyLine else { return }
        for byte in chunk {
            if byte == 0x0A {
                var line = partial
                if line.last == 0x0D { line.removeLast() }
                partial.removeAll(keepingCapacity: true)
                let text = String(decoding: line, as: UTF8.self)
                if regex.matches(text) {
                    becameReady(at: now, via: "line", evidence: text)
                    return
                }
            } else if partial.count < Self.maxLine {
                partial.append(byte)
            }
        }
    }

    /// The reason to stop the start when `sample` is over `--max-memory`.
    func overMemory(_ sample: ResourceSample) -> SupervisorStop? {
        guard let limit = settings.maxMemoryBytes, sample.treeRSSMB * 1_048_576 > Double(limit) else { return nil }
        return .memoryLimit(limitBytes: limit, rssMB: sample.treeRSSMB)
    }

    /// What is due at `now`: a readiness check, a heartbeat; returns a reason to stop the start
    /// (not ready in time), if there is one.
    func due(now: Int64, sampler: ResourceSampler?) -> SupervisorStop? {
        if waitingForReady, let url = settings.readyURL, now >= nextProbe {
            if performHTTP([.get(url)], timeoutNanoseconds: Self.probeTimeout)[0] == .status(200) {
                becameReady(at: monotonicNanoseconds(), via: "url", evidence: url.description)
            }
            nextProbe = monotonicNanoseconds() + settings.readyInterval.nanoseconds
        }
        if waitingForReady, now - started >= settings.readyTimeout.nanoseconds {
            return .readyTimeout(settings.readyTimeout)
        }
        if now >= nextBeat, let interval = settings.heartbeat {
            nextBeat = now.addingSaturated(interval.nanoseconds)
            beat(now: now, sampler: sampler)
        }
        return nil
    }

    private func becameReady(at now: Int64, via: String, evidence: String) {
        readyAt = now
        partial = []
        onReady(TimeSpan(nanoseconds: now - started), via, evidence)
    }

    private func beat(now: Int64, sampler: ResourceSampler?) {
        var server = ServerMetrics()
        // A server still loading has no figures yet: read them once it is ready.
        if let url = settings.metricsURL, !waitingForReady {
            let (outcome, body) = fetchHTTP(.get(url), timeoutNanoseconds: Self.probeTimeout)
            if outcome == .status(200) { server = ServerMetrics(exposition: body) }
        }
        onHeartbeat(Beat(uptime: TimeSpan(nanoseconds: now - started), ready: checksReadiness ? readyAt != nil : nil,
                         resources: sampler?.takeWindow() ?? ResourceSummary(), server: server))
    }
}
