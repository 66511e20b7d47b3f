/// A trace rebuilt from its records: runs, their attempts, retries and errors, and runs nested in
/// attempts (an airun that ran airun). Records may come from several files and days, in any order
/// within them; what is missing (a run still going, a killed airun) stays missing, not invented.
public struct TraceTree: Sendable {
    public struct Attempt: Sendable {
        public var number: Int64
        public var spanID: SpanID
        public var start: Int64?
        public var command: [String] = []
        public var end: AttemptEnd?
        public var endTime: Int64?
        public var error: AttemptError?
        /// The command's own log lines (`child.log`), in the order written.
        public var logs: [ChildLogEntry] = []
        /// Runs whose parent span is this attempt's.
        public var runs: [Run] = []
    }

    public struct Run: Sendable {
        public var spanID: SpanID
        public var parentSpanID: SpanID?
        public var start: RunStart?
        public var startTime: Int64?
        public var end: RunEnd?
        public var endTime: Int64?
        public var attempts: [Attempt] = []
        public var retries: [(time: Int64, retry: Retry)] = []
    }

    /// One `child.log` record.
    public struct ChildLogEntry: Sendable {
        public var time: Int64
        public var level: RecordLevel
        public var message: String
        public var log: ChildLog
    }

    public let traceID: TraceID
    /// Runs whose parent is not an attempt of this trace (started by a person, a script, a router).
    public private(set) var roots: [Run] = []
    public private(set) var recordCount = 0

    /// Builds the tree from the trace's records (others are ignored).
    public init(traceID: TraceID, records: [Record]) {
        self.traceID = traceID
        var runs: [SpanID: Run] = [:]
        var order: [SpanID] = []
        var attempts: [SpanID: (run: SpanID, attempt: Attempt)] = [:]
        func run(_ span: SpanID) -> Run {
            if let r = runs[span] { return r }
            order.append(span)
            return Run(spanID: span)
        }
        /// An attempt's records all carry its span; its parent is the run's.
        func updateAttempt(_ id: RecordIdentity, _ number: Int64, _ change: (inout Attempt) -> Void) {
            guard let parent = id.parentSpanID else { return }
            var a = attempts[id.spanID]?.attempt ?? Attempt(number: number, spanID: id.spanID)
            change(&a)
            attempts[id.spanID] = (parent, a)
        }
        for record in records where record.identity.traceID == traceID {
            recordCount += 1
            let id = record.identity
            switch record.event {
            case .runStart(let e):
                var r = run(id.spanID)
                r.start = e
                r.startTime = record.timestampMicroseconds
                r.parentSpanID = id.parentSpanID
                runs[id.spanID] = r
            case .runEnd(let e):
                var r = run(id.spanID)
                r.end = e
                r.endTime = record.timestampMicroseconds
                runs[id.spanID] = r
            case .retry(let e):
                var r = run(id.spanID)
                r.retries.append((record.timestampMicroseconds, e))
                runs[id.spanID] = r
            case .attemptStart(let e):
                updateAttempt(id, e.attempt) {
                    $0.start = record.timestampMicroseconds
                    $0.command = e.command
                }
            case .attemptEnd(let e):
                updateAttempt(id, e.attempt) {
                    $0.end = e
                    $0.endTime = record.timestampMicroseconds
                }
            case .error(let e):
                updateAttempt(id, e.attempt) { $0.error = e }
            case .childLog(let e):
                updateAttempt(id, e.attempt) {
                    $0.logs.append(ChildLogEntry(time: record.timestampMicroseconds, level: record.level, message: record.message, log: e))
                }
            case .sample:
                break
            }
        }
        // Attempts into their runs; then nested runs into the attempts that started them,
        // deepest first, so a run carries its own nested runs when it is placed.
        for (_, (runSpan, attempt)) in attempts {
            var r = run(runSpan)
            r.attempts.append(attempt)
            runs[runSpan] = r
        }
        for span in runs.keys { runs[span]!.attempts.sort { $0.number < $1.number } }
        let attemptOwner = Dictionary(attempts.map { ($0.key, $0.value.run) }, uniquingKeysWith: { a, _ in a })
        func depth(_ span: SpanID) -> Int {
            var d = 0
            var current = runs[span]?.parentSpanID
            var seen: Set<SpanID> = [span]
            while let attempt = current, let owner = attemptOwner[attempt], seen.insert(owner).inserted {
                d += 1
                current = runs[owner]?.parentSpanID
            }
            return d
        }
        let nestedFirst = order.filter { runs[$0] != nil }.sorted { depth($0) > depth($1) }
        for span in nestedFirst {
            guard let r = runs[span], let parent = r.parentSpanID, let owner = attemptOwner[parent], owner != span,
                  let index = runs[owner]?.attempts.firstIndex(where: { $0.spanID == parent }) else { continue }
            runs[owner]!.attempts[index].runs.append(r)
            runs[owner]!.attempts[index].runs.sort { ($0.startTime ?? 0) < ($1.startTime ?? 0) }
            runs[span] = nil
        }
        roots = order.compactMap { runs[$0] }.sorted { ($0.startTime ?? 0) < ($1.startTime ?? 0) }
    }

    /// The earliest time in the trace: offsets are shown from it.
    public var startTime: Int64? {
        func earliest(_ r: Run) -> Int64? {
            ([r.startTime] + r.attempts.map(\.start) + r.attempts.flatMap { $0.runs.map(earliest) }).compactMap { $0 }.min()
        }
        return roots.compactMap(earliest).min()
    }
}
