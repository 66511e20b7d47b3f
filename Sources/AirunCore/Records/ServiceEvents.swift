/// `ready`: a start of a server became ready (`--ready-url` answered 200, or `--ready-line`
/// matched); `ready_ms` is the time from its start, the model's load time for llama-server.
public struct Ready: Equatable, Sendable {
    public var attempt: Int64 = 1
    public var readyMs: Double = 0
    /// `url` or `line`.
    public var via = "url"
    /// The URL that answered, or the line that matched.
    public var evidence: String?
    public var modelID: String?

    public init() {}

    func encode(into r: inout JSONLine) {
        r.add("attempt", attempt)
        r.add("ready_ms", readyMs, decimals: 1)
        r.add("via", via)
        r.add("evidence", evidence)
        r.add("model_id", modelID)
    }

    init(_ o: JSONObject) {
        attempt = o.int("attempt") ?? 1
        readyMs = o.double("ready_ms") ?? 0
        via = o.string("via") ?? "url"
        evidence = o.string("evidence")
        modelID = o.string("model_id")
    }
}

/// `heartbeat`: a long-running start is alive; the resources since the previous heartbeat and,
/// when llama-server serves `/metrics`, its own figures.
public struct Heartbeat: Equatable, Sendable {
    public var attempt: Int64 = 1
    public var uptimeSeconds: Double = 0
    public var ready: Bool?
    public var modelID: String?
    public var samples: Int64 = 0
    public var peakRSSMB: Double?
    public var meanRSSMB: Double?
    public var meanCPUPercent: Double?
    public var peakGPUMemoryUsedMB: Double?
    public var meanGPUUtilizationPercent: Double?
    /// The server's counters since its start, and its gauges now.
    public var server = ServerMetrics()

    public init() {}

    func encode(into r: inout JSONLine) {
        r.add("attempt", attempt)
        r.add("uptime_s", uptimeSeconds, decimals: 1)
        r.add("ready", ready)
        r.add("model_id", modelID)
        r.add("samples", samples)
        r.add("peak_rss_mb", peakRSSMB, decimals: 1)
        r.add("mean_rss_mb", meanRSSMB, decimals: 1)
        r.add("mean_cpu_percent", meanCPUPercent, decimals: 1)
        r.add("peak_gpu_memory_used_mb", peakGPUMemoryUsedMB)
        r.add("mean_gpu_utilization_percent", meanGPUUtilizationPercent, decimals: 1)
        for field in ServerMetrics.fields { r.add(field.record, server[keyPath: field.key]) }
    }

    init(_ o: JSONObject) {
        attempt = o.int("attempt") ?? 1
        uptimeSeconds = o.double("uptime_s") ?? 0
        ready = o.bool("ready")
        modelID = o.string("model_id")
        samples = o.int("samples") ?? 0
        peakRSSMB = o.double("peak_rss_mb")
        meanRSSMB = o.double("mean_rss_mb")
        meanCPUPercent = o.double("mean_cpu_percent")
        peakGPUMemoryUsedMB = o.double("peak_gpu_memory_used_mb")
        meanGPUUtilizationPercent = o.double("mean_gpu_utilization_percent")
        for field in ServerMetrics.fields { server[keyPath: field.key] = o.double(field.record) }
    }
}
