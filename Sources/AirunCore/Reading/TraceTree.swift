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
    /// How deep nested runs are shown: deeper ones appear under the attempt that holds their
    /// ancestor at this depth (their `parentSpanID` still names their own parent).
    public static let maximumDepth = 32
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
        // Each run's depth and the attempt it is shown under, in one pass up each chain (a record
        // file is outside input: a chain of 5,000 nested runs once took 41 s here, and 3,000
        // overflowed the stack). Runs deeper than `maximumDepth` are shown under the attempt that
        // holds their ancestor at that depth, so every walk of the tree stays shallow.
        var depth: [SpanID: Int] = [:]
        var anchor: [SpanID: SpanID] = [:]
        for start in runs.keys where depth[start] == nil {
            var chain: [SpanID] = []
            var current = start
            var seen: Set<SpanID> = []
            while depth[current] == nil, seen.insert(current).inserted, let parent = runs[current]?.parentSpanID,
                  let owner = attemptOwner[parent], owner != current, runs[owner] != nil {
                chain.append(current)
                current = owner
            }
            if depth[current] == nil { depth[current] = 0 }  // a root, or where a cycle was cut
            for span in chain.reversed() {
                let parent = runs[span]!.parentSpanID!
                let owner = attemptOwner[parent]!
                let d = depth[owner]! + 1
                depth[span] = d
                anchor[span] = d > Self.maximumDepth ? anchor[owner] ?? parent : parent
            }
        }
        func sortedNested(_ r: inout Run) {
            for i in r.attempts.indices { r.attempts[i].runs.sort { ($0.startTime ?? 0) < ($1.startTime ?? 0) } }
        }
        let nestedFirst = order.filter { runs[$0] != nil }.sorted { depth[$0] ?? 0 > depth[$1] ?? 0 }
        for span in nestedFirst {
            guard var r = runs[span], let place = anchor[span], let owner = attemptOwner[place], owner != span,
                  let index = runs[owner]?.attempts.firstIndex(where: { $0.spanID == place }) else { continue }
            sortedNested(&r)
            runs[span] = nil
            runs[owner]!.attempts[index].runs.append(r)
        }
        for span in runs.keys { sortedNested(&runs[span]!) }
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
