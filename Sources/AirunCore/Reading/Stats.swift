/// What `airun stats` shows: attempts grouped by model, by command or by a tag, with their
/// success, durations and resources, and the errors by code, category and model. Built by feeding
/// records in file order (`add`), so it streams over any number of files.
///
/// Definitions (docs/reading.md), which the Python oracle of the tests follows too:
/// - an execution is an attempt: an `attempt.end` record, counted in the window by its timestamp;
/// - it succeeded when its `status` is `succeeded`;
/// - durations are `duration_ms`; percentiles are exact, nearest rank (the value at index
///   ⌈p/100 × n⌉ − 1 of the sorted durations), memory 8 bytes per attempt;
/// - tokens/s is the mean of `tokens_per_second` over the attempts that have it;
/// - peak RSS is the largest `peak_rss_mb` (else `max_rss_mb`), GPU memory the largest
///   `peak_gpu_memory_used_mb`;
/// - errors are `error` records in the window: by `error_code`, `error_category` and `model_id`;
/// - an attempt was interrupted by a person when its error's category is `user` (Ctrl-C,
///   INTERRUPTED): counted apart, as neither a success nor a failure;
/// - the error rate is failed attempts over attempts, both without the interrupted ones.
public struct StatsAggregator {
    /// How attempts are grouped.
    public enum Grouping: Equatable, Sendable {
        case model, command
        case tag(String)

        public init?(_ text: String) {
            switch text {
            case "model": self = .model
            case "command": self = .command
            default:
                guard text.hasPrefix("tag:"), text.count > 4 else { return nil }
                self = .tag(String(text.dropFirst(4)))
            }
        }

        public var label: String {
            switch self {
            case .model: "model"
            case .command: "command"
            case .tag(let key): "tag:\(key)"
            }
        }
    }

    public let groupings: [Grouping]
    public let since: Int64?
    public let until: Int64?
    private var groups: [[String: GroupAccumulator]]
    private var commands: [String: String] = [:]  // attempt request id → command name, until its end
    private var errorsByCode: [String: Int64] = [:]
    private var errorsByCategory: [String: Int64] = [:]
    private var errorsByModel: [String: Int64] = [:]
    private var attempts: Int64 = 0
    private var failures: Int64 = 0
    /// The time range the attempts covered.
    private var first: Int64?
    private var last: Int64?

    public init(groupings: [Grouping], since: Int64? = nil, until: Int64? = nil) {
        self.groupings = groupings
        self.since = since
        self.until = until
        groups = groupings.map { _ in [:] }
    }

    private func inWindow(_ t: Int64) -> Bool { (since.map { t >= $0 } ?? true) && (until.map { t < $0 } ?? true) }

    /// One record, decoded whole.
    public mutating func add(_ record: Record) {
        let t = record.timestampMicroseconds
        switch record.event {
        case .attemptStart(let start):
            apply(.attemptStart(requestID: record.identity.requestID, program: start.command.first ?? ""))
        case .attemptEnd(let e):
            apply(.attemptEnd(requestID: record.identity.requestID, time: t, status: e.status, durationMs: e.durationMs,
                              modelID: e.modelID, tokensPerSecond: e.performance.tokensPerSecond,
                              rssMB: e.resources?.peakRSSMB ?? e.maxRSSMB, gpuMB: e.resources?.peakGPUMemoryUsedMB, tags: e.tags))
        case .error(let e):
            apply(.error(time: t, code: e.errorCode, category: e.errorCategory, modelID: e.modelID))
        case .retry(let r) where r.restart:
            apply(.restart(time: t, modelID: r.modelID, program: r.command.first ?? ""))
        case .ready(let r):
            apply(.ready(requestID: record.identity.requestID, time: t, modelID: r.modelID, readyMs: r.readyMs))
        default:
            break
        }
    }

    /// The fields stats reads, by name: a line is parsed for these only.
    public static let projection = JSONProjection(fields)
    public static let fields: [String] = [
        "logger", "event", "timestamp", "request_id", "command_args", "status", "duration_ms", "model_id", "tokens_per_second",
        "peak_rss_mb", "max_rss_mb", "peak_gpu_memory_used_mb", "tags", "error_code", "error_category", "restart", "ready_ms",
    ]

    /// One line of a record file, read for `fields` only: what `airun stats` does, several
    /// times faster than decoding whole records (their output tails are passed over, and no
    /// value is built that stats does not keep).
    public mutating func add(line: UnsafeBufferPointer<UInt8>) -> RecordStream.LineOutcome {
        var f = LineFields()
        do {
            try JSONParser.forEachMember(of: line, in: Self.projection) { i, p throws(JSONSyntaxError) in
                switch i {
                case 0: f.airun = try p.readString(equalTo: "airun")
                case 1:
                    // Lines of other events stop at their `event` member (the fifth of every record).
                    f.event = try p.readString { LineEvent($0) }
                    return f.event.map { $0 != .other && $0 != .unknown } ?? true
                case 2: f.time = try p.readString { parseRFC3339(bytes: $0) } ?? nil
                case 3: f.request = try p.readString()
                case 4: f.program = try p.readFirstString()
                case 5: f.status = try p.readString()
                case 6: f.durationMs = try p.readDouble()
                case 7: f.modelID = try p.readString()
                case 8: f.tokensPerSecond = try p.readDouble()
                case 9: f.peakRSSMB = try p.readDouble()
                case 10: f.maxRSSMB = try p.readDouble()
                case 11: f.gpuMB = try p.readDouble()
                case 12: f.tags = try p.readObject()
                case 13: f.errorCode = try p.readString()
                case 14: f.errorCategory = try p.readString()
                case 15: f.restart = try p.readBool()
                case 16: f.readyMs = try p.readDouble()
                default: break
                }
                return true
            }
        } catch {
            return .skipped
        }
        guard f.airun, let event = f.event, let t = f.time else { return .skipped }
        let request = f.request ?? ""
        switch event {
        case .attemptStart:
            apply(.attemptStart(requestID: request, program: f.program ?? ""))
        case .attemptEnd:
            apply(.attemptEnd(requestID: request, time: t, status: AttemptStatus(rawValue: f.status ?? ""), durationMs: f.durationMs ?? 0,
                              modelID: f.modelID, tokensPerSecond: f.tokensPerSecond, rssMB: f.peakRSSMB ?? f.maxRSSMB, gpuMB: f.gpuMB,
                              tags: Tags(f.tags)))
        case .error:
            apply(.error(time: t, code: f.errorCode ?? "", category: f.errorCategory ?? "", modelID: f.modelID))
        case .retry:
            if f.restart == true { apply(.restart(time: t, modelID: f.modelID, program: f.program ?? "")) }
        case .ready:
            apply(.ready(requestID: request, time: t, modelID: f.modelID, readyMs: f.readyMs ?? 0))
        case .other:
            break
        case .unknown:
            return .unknownEvent
        }
        return .read
    }

    /// The events of a line as stats sees them.
    private enum LineEvent {
        case attemptStart, attemptEnd, error, retry, ready
        /// Events stats has no use for.
        case other
        /// An event of a newer airun.
        case unknown

        init(_ b: UnsafeBufferPointer<UInt8>) {
            self = if bytesEqual(b, "attempt.end") { .attemptEnd }
                else if bytesEqual(b, "attempt.start") { .attemptStart }
                else if bytesEqual(b, "error") { .error }
                else if bytesEqual(b, "retry") { .retry }
                else if bytesEqual(b, "ready") { .ready }
                else if bytesEqual(b, "run.start") || bytesEqual(b, "run.end") || bytesEqual(b, "sample")
                    || bytesEqual(b, "heartbeat") || bytesEqual(b, "child.log") { .other }
                else { .unknown }
        }
    }

    /// The members of one line that stats reads (the last of a repeated key wins).
    private struct LineFields {
        var airun = false
        var event: LineEvent?
        var time: Int64?
        var request, program, status, modelID, errorCode, errorCategory: String?
        var durationMs, tokensPerSecond, peakRSSMB, maxRSSMB, gpuMB, readyMs: Double?
        var tags: JSONObject?
        var restart: Bool?
    }

    /// What stats takes from a record, however it was read.
    private enum Input {
        case attemptStart(requestID: String, program: String)
        case attemptEnd(requestID: String, time: Int64, status: AttemptStatus, durationMs: Double, modelID: String?, tokensPerSecond: Double?,
                        rssMB: Double?, gpuMB: Double?, tags: Tags)
        case error(time: Int64, code: String, category: String, modelID: String?)
        /// A server's restart (a `retry` record with `restart`), and a start that became ready.
        case restart(time: Int64, modelID: String?, program: String)
        case ready(requestID: String, time: Int64, modelID: String?, readyMs: Double)
    }

    /// The group keys a server's record counts under: by model and command (a tag is not on these records).
    private func serverKeys(modelID: String?, command: String?) -> [(Int, String)] {
        groupings.enumerated().compactMap { i, grouping in
            switch grouping {
            case .model: (i, modelID ?? "(none)")
            case .command: command.map { (i, $0) }
            case .tag: nil
            }
        }
    }

    private mutating func apply(_ input: Input) {
        switch input {
        case .attemptStart(let request, let program):
            // The command of an attempt is on its start record; attempt.end is matched by request id.
            commands[request] = fileName(program)
        case .attemptEnd(let request, let t, let status, let durationMs, let modelID, let tps, let rss, let gpu, let tags):
            let command = commands.removeValue(forKey: request) ?? "(unknown)"
            guard inWindow(t) else { return }
            first = min(first ?? t, t)
            last = max(last ?? t, t)
            attempts += 1
            let succeeded = status == .succeeded
            if !succeeded { failures += 1 }
            for (i, grouping) in groupings.enumerated() {
                let key: String = switch grouping {
                case .model: modelID ?? "(none)"
                case .command: command
                case .tag(let k): tags.values[k] ?? "(none)"
                }
                groups[i][key, default: GroupAccumulator()].add(durationMs: durationMs, succeeded: succeeded, tokensPerSecond: tps, rssMB: rss, gpuMB: gpu)
            }
        case .restart(let t, let modelID, let program):
            guard inWindow(t) else { return }
            for (i, key) in serverKeys(modelID: modelID, command: fileName(program)) { groups[i][key, default: GroupAccumulator()].restarts += 1 }
        case .ready(let request, let t, let modelID, let readyMs):
            guard inWindow(t), readyMs.isFinite, readyMs >= 0 else { return }
            for (i, key) in serverKeys(modelID: modelID, command: commands[request]) { groups[i][key, default: GroupAccumulator()].addReady(readyMs) }
        case .error(let t, let code, let category, let modelID):
            guard inWindow(t) else { return }
            errorsByCode[code, default: 0] += 1
            errorsByCategory[category, default: 0] += 1
            errorsByModel[modelID ?? "(none)", default: 0] += 1
        }
    }

    /// The figures, groups sorted by attempts (most first), then name.
    public func result() -> Stats {
        let tables = groupings.enumerated().map { i, grouping in
            StatsTable(grouping: grouping.label, rows: groups[i].map { $0.value.row($0.key) }.sorted {
                ($0.attempts, $1.key) > ($1.attempts, $0.key)
            })
        }
        func counts(_ d: [String: Int64]) -> [(key: String, count: Int64)] {
            d.map { ($0.key, $0.value) }.sorted { ($0.count, $1.key) > ($1.count, $0.key) }
        }
        // Interrupted attempts are failed ones whose error is the user's doing.
        let interrupted = min(errorsByCategory[ErrorCategory.user.rawValue] ?? 0, failures)
        return Stats(attempts: attempts, failures: failures - interrupted, interrupted: interrupted, tables: tables, errorsByCode: counts(errorsByCode),
                     errorsByCategory: counts(errorsByCategory), errorsByModel: counts(errorsByModel), first: first, last: last)
    }
}

/// One group's running figures.
private struct GroupAccumulator {
    var attempts: Int64 = 0
    var succeeded: Int64 = 0
    var durations: [Double] = []
    var tokensPerSecondSum = 0.0
    var tokensPerSecondCount: Int64 = 0
    var peakRSSMB: Double?
    var peakGPUMemoryMB: Double?
    var restarts: Int64 = 0
    var readySum = 0.0
    var readyCount: Int64 = 0

    mutating func addReady(_ ms: Double) {
        readySum += ms
        readyCount += 1
    }

    mutating func add(durationMs: Double, succeeded ok: Bool, tokensPerSecond: Double?, rssMB: Double?, gpuMB: Double?) {
        attempts += 1
        if ok { succeeded += 1 }
        durations.append(durationMs)
        if let t = tokensPerSecond {
            tokensPerSecondSum += t
            tokensPerSecondCount += 1
        }
        if let rss = rssMB { peakRSSMB = max(peakRSSMB ?? rss, rss) }
        if let gpu = gpuMB { peakGPUMemoryMB = max(peakGPUMemoryMB ?? gpu, gpu) }
    }

    func row(_ key: String) -> StatsRow {
        let sorted = durations.sorted()
        func percentile(_ p: Double) -> Double? {
            guard !sorted.isEmpty else { return nil }
            let rank = Int((p / 100 * Double(sorted.count)).rounded(.up))
            return sorted[max(0, min(sorted.count - 1, rank - 1))]
        }
        return StatsRow(key: key, attempts: attempts, succeeded: succeeded,
                        p50DurationMs: percentile(50), p95DurationMs: percentile(95), maxDurationMs: sorted.last,
                        meanTokensPerSecond: tokensPerSecondCount == 0 ? nil : tokensPerSecondSum / Double(tokensPerSecondCount),
                        peakRSSMB: peakRSSMB, peakGPUMemoryMB: peakGPUMemoryMB, restarts: restarts,
                        meanReadyMs: readyCount == 0 ? nil : readySum / Double(readyCount))
    }
}

public struct StatsRow: Equatable, Sendable {
    public var key: String
    public var attempts: Int64
    public var succeeded: Int64
    public var p50DurationMs: Double?
    public var p95DurationMs: Double?
    public var maxDurationMs: Double?
    public var meanTokensPerSecond: Double?
    public var peakRSSMB: Double?
    public var peakGPUMemoryMB: Double?
    /// A server's restarts, and its mean time from start to ready (the model's load time).
    public var restarts: Int64 = 0
    public var meanReadyMs: Double?
    public var successPercent: Double { attempts == 0 ? 0 : Double(succeeded) * 100 / Double(attempts) }
}

public struct StatsTable: Equatable, Sendable {
    public var grouping: String
    public var rows: [StatsRow]
}

public struct Stats: Sendable {
    public var attempts: Int64
    /// Failed attempts, not counting those a person interrupted.
    public var failures: Int64
    /// Attempts a person stopped (Ctrl-C, a termination signal to airun: category `user`).
    public var interrupted: Int64
    public var tables: [StatsTable]
    public var errorsByCode: [(key: String, count: Int64)]
    public var errorsByCategory: [(key: String, count: Int64)]
    public var errorsByModel: [(key: String, count: Int64)]
    public var first: Int64?
    public var last: Int64?
    public var errorRate: Double { attempts - interrupted <= 0 ? 0 : Double(failures) / Double(attempts - interrupted) }

    /// The figures as one JSON object (docs/reading.md). The strings were masked when the records
    /// were written; passing them through a redactor again changes nothing.
    public func json() -> [UInt8] {
        var j = JSONLine(redacting: Redactor())
        j.add("attempts", attempts)
        j.add("failures", failures)
        j.add("interrupted", interrupted)
        j.add("error_rate", errorRate, decimals: 6)
        j.add("from", first.map(rfc3339))
        j.add("to", last.map(rfc3339))
        for table in tables {
            var rows = JSONLine(redacting: Redactor())
            for row in table.rows {
                var r = JSONLine(redacting: Redactor())
                r.add("attempts", row.attempts)
                r.add("succeeded", row.succeeded)
                r.add("success_percent", row.successPercent, decimals: 3)
                r.add("p50_duration_ms", row.p50DurationMs)
                r.add("p95_duration_ms", row.p95DurationMs)
                r.add("max_duration_ms", row.maxDurationMs)
                r.add("mean_tokens_per_second", row.meanTokensPerSecond, decimals: 3)
                r.add("peak_rss_mb", row.peakRSSMB, decimals: 1)
                r.add("peak_gpu_memory_mb", row.peakGPUMemoryMB, decimals: 0)
                if row.restarts > 0 || row.meanReadyMs != nil {
                    r.add("restarts", row.restarts)
                    r.add("mean_ready_ms", row.meanReadyMs, decimals: 1)
                }
                rows.add(row.key, object: r)
            }
            j.add("by_" + table.grouping, object: rows)
        }
        for (name, counts) in [("errors_by_code", errorsByCode), ("errors_by_category", errorsByCategory), ("errors_by_model", errorsByModel)] {
            var o = JSONLine(redacting: Redactor())
            for (key, count) in counts { o.add(key, count) }
            j.add(name, object: o)
        }
        return j.line()
    }
}
