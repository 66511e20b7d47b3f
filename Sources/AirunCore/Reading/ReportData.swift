/// What `airun report --html` draws, gathered in one pass over the records in bounded memory:
/// the stats, a thinned series of attempt durations over time per model, and the latest failures.
public struct ReportData {
    public struct Point: Sendable {
        public var time: Int64
        public var model: String
        public var durationMs: Double
        public var succeeded: Bool
    }

    public struct Failure: Sendable {
        public var time: Int64
        public var model: String
        public var command: String
        public var code: String
        public var evidence: String
        public var traceID: String
    }

    public private(set) var stats: StatsAggregator
    /// At most `maximumPoints`: when full, every other point is dropped and only every second
    /// one kept from then on, so the series stays spread over the whole time range.
    public private(set) var points: [Point] = []
    public private(set) var failures: [Failure] = []
    public static let maximumPoints = 4000
    public static let failuresShown = 50
    private var stride = 1
    private var seen = 0

    public init(since: Int64? = nil, until: Int64? = nil) {
        stats = StatsAggregator(groupings: [.model, .command], since: since, until: until)
    }

    public mutating func add(_ record: Record) {
        stats.add(record)
        guard (stats.since.map { record.timestampMicroseconds >= $0 } ?? true),
              (stats.until.map { record.timestampMicroseconds < $0 } ?? true) else { return }
        switch record.event {
        case .attemptEnd(let e):
            seen += 1
            guard seen % stride == 0 else { return }
            points.append(Point(time: record.timestampMicroseconds, model: e.modelID ?? "(none)", durationMs: e.durationMs,
                                succeeded: e.status == .succeeded))
            if points.count >= Self.maximumPoints {
                points = points.enumerated().filter { $0.offset % 2 == 1 }.map(\.element)
                stride *= 2
            }
        case .error(let e):
            failures.append(Failure(time: record.timestampMicroseconds, model: e.modelID ?? "(none)",
                                    // The error record has the attempt's command line itself.
                                    command: e.command.first.map(fileName) ?? "",
                                    code: e.errorCode, evidence: e.evidence, traceID: record.identity.traceID.hex))
            if failures.count > Self.failuresShown * 2 { failures.removeFirst(failures.count - Self.failuresShown) }
        default:
            break
        }
    }

    /// The latest failures, newest first.
    public var latestFailures: [Failure] { Array(failures.suffix(Self.failuresShown).reversed()) }
}
