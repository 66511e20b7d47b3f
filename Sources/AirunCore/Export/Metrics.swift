/// One Prometheus metric family airun exports: its name, type, help and label names, and for a
/// histogram its bucket bounds. docs/metrics.md lists each.
public struct MetricFamily: Sendable, Equatable {
    public enum Kind: String, Sendable { case counter, gauge, histogram }
    public var name: String
    public var kind: Kind
    public var help: String
    public var labels: [String]
    public var buckets: [Double] = []
}

/// The families of the textfile exporter and `airun metrics`. Labels are bounded: command and
/// model names (file names, never paths), status and error code; never trace ids.
public enum Metrics {
    static let commandModel = ["command", "model"]
    public static let runs = MetricFamily(name: "airun_runs_total", kind: .counter,
        help: "Runs of wrapped commands, by how the run ended (its last attempt).", labels: ["command", "model", "status", "error_code"])
    public static let attempts = MetricFamily(name: "airun_attempts_total", kind: .counter,
        help: "Attempts (first tries, retries and fallbacks), by how each ended.", labels: ["command", "model", "status", "error_code"])
    public static let retries = MetricFamily(name: "airun_retries_total", kind: .counter,
        help: "Retries and fallbacks started, by the error code of the attempt before.", labels: ["command", "reason"])
    public static let duration = MetricFamily(name: "airun_attempt_duration_seconds", kind: .histogram,
        help: "Wall-clock duration of attempts.", labels: commandModel,
        buckets: [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600])
    public static let tokensPerSecond = MetricFamily(name: "airun_generation_tokens_per_second", kind: .histogram,
        help: "Generation speed llama.cpp reported, per attempt that reported one.", labels: commandModel,
        buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000])
    public static let tokens = MetricFamily(name: "airun_generated_tokens_total", kind: .counter,
        help: "Tokens generated, as llama.cpp reported them.", labels: commandModel)
    public static let peakRSS = MetricFamily(name: "airun_attempt_peak_rss_bytes", kind: .gauge,
        help: "Peak resident memory of the latest attempt's process tree.", labels: commandModel)
    public static let peakGPUMemory = MetricFamily(name: "airun_attempt_peak_gpu_memory_bytes", kind: .gauge,
        help: "Peak GPU memory in use during the latest sampled attempt.", labels: commandModel)
    public static let gpuEnergy = MetricFamily(name: "airun_gpu_energy_joules_total", kind: .counter,
        help: "GPU energy used while attempts ran (sampled power over time).", labels: commandModel)
    public static let lastSuccess = MetricFamily(name: "airun_last_success_timestamp_seconds", kind: .gauge,
        help: "Unix time the latest successful run ended.", labels: commandModel)
    public static let lastRun = MetricFamily(name: "airun_last_run_timestamp_seconds", kind: .gauge,
        help: "Unix time the latest run ended, successful or not.", labels: commandModel)

    public static let cooldownSkips = MetricFamily(name: "airun_cooldown_skips_total", kind: .counter,
        help: "Attempts not started because their model was cooling down after repeated failures.", labels: commandModel)

    /// Long-running commands (docs/servers.md): whether one is up, its restarts and load time,
    /// and llama-server's own figures labelled with the model.
    public static let up = MetricFamily(name: "airun_up", kind: .gauge,
        help: "1 while a server started with --restart, --ready-url or --ready-line runs (and is ready, when readiness is checked), else 0.",
        labels: commandModel)
    public static let restarts = MetricFamily(name: "airun_restarts_total", kind: .counter,
        help: "Restarts of servers (--restart), by the error code of the start before.", labels: ["command", "model", "reason"])
    public static let readySeconds = MetricFamily(name: "airun_ready_seconds", kind: .gauge,
        help: "Time from the latest start to ready (llama-server: the model's load time).", labels: commandModel)
    public static let serverPromptTokens = MetricFamily(name: "airun_server_prompt_tokens_total", kind: .counter,
        help: "Prompt tokens llama-server processed (its /metrics), across restarts.", labels: commandModel)
    public static let serverPromptSeconds = MetricFamily(name: "airun_server_prompt_seconds_total", kind: .counter,
        help: "Time llama-server spent on prompts (its /metrics), across restarts.", labels: commandModel)
    public static let serverPredictedTokens = MetricFamily(name: "airun_server_predicted_tokens_total", kind: .counter,
        help: "Tokens llama-server generated (its /metrics), across restarts.", labels: commandModel)
    public static let serverPredictedSeconds = MetricFamily(name: "airun_server_predicted_seconds_total", kind: .counter,
        help: "Time llama-server spent generating (its /metrics), across restarts.", labels: commandModel)
    public static let serverRequestsProcessing = MetricFamily(name: "airun_server_requests_processing", kind: .gauge,
        help: "Requests llama-server was processing at the latest heartbeat.", labels: commandModel)
    public static let serverRequestsDeferred = MetricFamily(name: "airun_server_requests_deferred", kind: .gauge,
        help: "Requests llama-server had deferred at the latest heartbeat.", labels: commandModel)

    public static let families = [runs, attempts, retries, duration, tokensPerSecond, tokens, peakRSS, peakGPUMemory,
                                  gpuEnergy, lastSuccess, lastRun, cooldownSkips, up, restarts, readySeconds,
                                  serverPromptTokens, serverPromptSeconds, serverPredictedTokens, serverPredictedSeconds,
                                  serverRequestsProcessing, serverRequestsDeferred]

    /// What each run pushes to a Pushgateway (the batch-job pattern: gauges of the last run).
    public static let lastRunDuration = MetricFamily(name: "airun_last_run_duration_seconds", kind: .gauge,
        help: "Wall-clock duration of the latest run, all attempts and waits included.", labels: commandModel)
    public static let lastRunSuccess = MetricFamily(name: "airun_last_run_success", kind: .gauge,
        help: "1 if the latest run exited 0, else 0.", labels: commandModel)
    public static let lastRunExitCode = MetricFamily(name: "airun_last_run_exit_code", kind: .gauge,
        help: "The exit status of the latest run (128+N after signal N).", labels: commandModel)
    public static let lastRunAttempts = MetricFamily(name: "airun_last_run_attempts", kind: .gauge,
        help: "Attempts the latest run took.", labels: commandModel)
    public static let lastRunTokensPerSecond = MetricFamily(name: "airun_last_run_tokens_per_second", kind: .gauge,
        help: "Generation speed of the latest run's last attempt, when llama.cpp reported one.", labels: commandModel)
    public static let lastRunPeakRSS = MetricFamily(name: "airun_last_run_peak_rss_bytes", kind: .gauge,
        help: "Peak resident memory of the latest run's last attempt.", labels: commandModel)
    public static let lastRunPeakGPUMemory = MetricFamily(name: "airun_last_run_peak_gpu_memory_bytes", kind: .gauge,
        help: "Peak GPU memory in use during the latest run's last attempt, when sampled.", labels: commandModel)

    public static let lastRunFamilies = [lastRunDuration, lastRunSuccess, lastRunExitCode, lastRunAttempts, lastRun,
                                         lastRunTokensPerSecond, lastRunPeakRSS, lastRunPeakGPUMemory]

    /// The Pushgateway body of one run's records: its last-run gauges, labelled by command and model.
    public static func lastRun(_ records: [Record], redactor: Redactor? = nil) -> MetricsState? {
        var command = "", model = "", lastEnd: AttemptEnd?
        var state = MetricsState()
        for record in records {
            switch record.event {
            case .runStart(let s):
                command = fileName(s.command.first ?? "")
                model = s.modelID ?? ""
            case .attemptEnd(let e):
                lastEnd = e
                model = e.modelID ?? model
            case .runEnd(let end):
                let labels = [command, model].map { redactor?.redact($0) ?? $0 }
                state.set(lastRunDuration, labels, to: end.durationMs / 1000)
                state.set(lastRunSuccess, labels, to: end.exitCode == 0 ? 1 : 0)
                state.set(lastRunExitCode, labels, to: Double(end.exitCode))
                state.set(lastRunAttempts, labels, to: Double(end.attempts))
                state.set(lastRun, labels, to: Double(record.timestampMicroseconds) / 1e6)
                if let tps = lastEnd?.performance.tokensPerSecond { state.set(lastRunTokensPerSecond, labels, to: tps) }
                if let rss = lastEnd?.resources?.peakRSSMB ?? lastEnd?.maxRSSMB { state.set(lastRunPeakRSS, labels, to: bytes(megabytes: rss)) }
                if let gpu = lastEnd?.resources?.peakGPUMemoryUsedMB { state.set(lastRunPeakGPUMemory, labels, to: bytes(megabytes: gpu)) }
                return state
            default: continue
            }
        }
        return nil
    }

    /// A label value made bounded: at most 128 characters, no newlines; empty stays empty.
    static func labelValue(_ s: String) -> String {
        var out = ""
        for c in s.unicodeScalars.prefix(128) { out.unicodeScalars.append(c.value < 0x20 ? "_" : c) }
        return out
    }

    /// A memory figure of the records (MiB) in bytes, the base unit of metrics.
    static func bytes(megabytes: Double) -> Double { (megabytes * 1_048_576).rounded() }
}

/// One series' values: a counter or gauge's value, or a histogram's per-bucket counts (not
/// cumulative; the last entry is +Inf), sum and count.
public struct SeriesValue: Equatable, Sendable {
    public var value: Double = 0
    public var buckets: [Int64] = []
    public var sum: Double = 0
    public var count: Int64 = 0
}

/// Cumulative metrics: what the textfile holds, kept between runs in a state file.
///
/// Series per family are capped (`maxSeriesPerFamily`); past it, new label sets are counted
/// under `_other` so a stream of odd command names cannot grow the file without bound.
public struct MetricsState: Equatable, Sendable {
    public struct Key: Hashable, Sendable, Comparable {
        public var family: String
        public var labels: [String]
        public static func < (a: Key, b: Key) -> Bool {
            a.family != b.family ? a.family < b.family : a.labels.lexicographicallyPrecedes(b.labels)
        }
    }
    public private(set) var series: [Key: SeriesValue] = [:]
    private var seriesCount: [String: Int] = [:]
    /// Lines of a state file that could not be read (`init(decoding:)`).
    public internal(set) var rejectedLines = 0
    public static let maxSeriesPerFamily = 1000

    public init() {}

    private mutating func key(_ family: MetricFamily, _ labels: [String]) -> Key {
        let key = Key(family: family.name, labels: labels.map(Metrics.labelValue))
        if series[key] != nil { return key }
        if seriesCount[family.name, default: 0] >= Self.maxSeriesPerFamily {
            return Key(family: family.name, labels: labels.map { _ in "_other" })
        }
        seriesCount[family.name, default: 0] += 1
        return key
    }

    mutating func insert(_ key: Key, _ value: SeriesValue) {
        series[key] = value
        seriesCount[key.family, default: 0] += 1
    }

    public mutating func increment(_ family: MetricFamily, _ labels: [String], by amount: Double = 1) {
        let k = key(family, labels)
        series[k, default: SeriesValue()].value += amount
    }

    public mutating func set(_ family: MetricFamily, _ labels: [String], to value: Double) {
        let k = key(family, labels)
        series[k, default: SeriesValue()].value = value
    }

    public mutating func observe(_ family: MetricFamily, _ labels: [String], _ value: Double) {
        guard value.isFinite else { return }
        let k = key(family, labels)
        var v = series[k] ?? SeriesValue(buckets: Array(repeating: 0, count: family.buckets.count + 1))
        let index = family.buckets.firstIndex { value <= $0 } ?? family.buckets.count
        if v.buckets.count == family.buckets.count + 1 { v.buckets[index] = v.buckets[index].addingSaturated(1) }
        v.sum += value
        v.count = v.count.addingSaturated(1)
        series[k] = v
    }

    /// Adds every series of `other` (the counts of one run) to this state: counters and
    /// histograms add, gauges take `other`'s value.
    public mutating func merge(_ other: MetricsState) {
        for (k, v) in other.series {
            guard let family = Metrics.families.first(where: { $0.name == k.family }) else { continue }
            let key = key(family, k.labels)
            var mine = series[key] ?? SeriesValue(buckets: Array(repeating: 0, count: v.buckets.count))
            switch family.kind {
            case .gauge: mine.value = v.value
            case .counter: mine.value += v.value
            case .histogram:
                guard mine.buckets.count == v.buckets.count else { continue }
                // Saturating: a state file is outside input, and counts must never trap.
                for i in v.buckets.indices { mine.buckets[i] = mine.buckets[i].addingSaturated(v.buckets[i]) }
                mine.sum += v.sum
                mine.count = mine.count.addingSaturated(v.count)
            }
            series[key] = mine
        }
    }

    /// The Prometheus text exposition (format 0.0.4): HELP and TYPE for each family with series,
    /// cumulative histogram buckets ending in `+Inf`, no timestamps, a final newline.
    public func exposition(_ families: [MetricFamily] = Metrics.families) -> String {
        var out = ""
        let sorted = series.keys.sorted()
        for family in families {
            let keys = sorted.filter { $0.family == family.name }
            guard !keys.isEmpty else { continue }
            out += "# HELP \(family.name) \(family.help)\n# TYPE \(family.name) \(family.kind.rawValue)\n"
            for key in keys {
                guard let v = series[key] else { continue }
                let labels = zip(family.labels, key.labels).map { "\($0)=\"\(escapeLabel($1))\"" }
                if family.kind != .histogram {
                    out += "\(family.name){\(labels.joined(separator: ","))} \(formatSample(v.value))\n"
                    continue
                }
                let base = family.name
                var cumulative: Int64 = 0
                for (i, bound) in (family.buckets.map(formatSample) + ["+Inf"]).enumerated() where i < v.buckets.count {
                    cumulative = cumulative.addingSaturated(v.buckets[i])
                    out += "\(base)_bucket{\((labels + ["le=\"\(bound)\""]).joined(separator: ","))} \(cumulative)\n"
                }
                out += "\(base)_sum{\(labels.joined(separator: ","))} \(formatSample(v.sum))\n"
                out += "\(base)_count{\(labels.joined(separator: ","))} \(v.count)\n"
            }
        }
        return out
    }
}

/// A label value escaped for the exposition: backslash, double quote and newline.
func escapeLabel(_ s: String) -> String {
    var out = ""
    for c in s.unicodeScalars {
        switch c {
        case "\\": out += "\\\\"
        case "\"": out += "\\\""
        case "\n": out += "\\n"
        default: out.unicodeScalars.append(c)
        }
    }
    return out
}

/// A sample value as Prometheus reads it: integers without a point, others rounded to a
/// millionth (sums of durations in seconds add binary noise: 0.019629999999999998 is 0.01963) in
/// Swift's shortest round-trip form (which Go's ParseFloat accepts, exponent included).
func formatSample(_ v: Double) -> String {
    guard v.isFinite else { return v.isNaN ? "NaN" : (v > 0 ? "+Inf" : "-Inf") }
    if v == v.rounded(.towardZero), abs(v) < 9e15 { return String(Int64(v)) }
    // A millionth of the value's unit is below anything airun measures; tiny values keep their digits.
    if abs(v) >= 1e-3, abs(v) < 1e9 {
        let rounded = (v * 1e6).rounded() / 1e6
        if rounded == rounded.rounded(.towardZero) { return String(Int64(rounded)) }
        return String(rounded)
    }
    return String(v)
}

