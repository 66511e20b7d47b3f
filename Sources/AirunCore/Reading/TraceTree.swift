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
        public var logs = ChildLogList()
        /// Runs whose parent span is this attempt's.
        public var runs: [Run] = []
        /// A server's start: when it became ready, and its heartbeats.
        public var ready: Ready?
        public var heartbeats = 0
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
        /// When the line was written: its own `timestamp` when it has a usable one, else when airun read it.
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

    /// Builds the tree from the trace's records (others are ignored): the records gathered by
    /// span, the attempts put in their runs, then the nested runs under the attempts that started them.
    public init(traceID: TraceID, records: [Record]) {
        var builder = Builder(traceID: traceID)
        for record in records { builder.add(record) }
        self = builder.build()
    }

    private init(traceID: TraceID, roots: [Run], recordCount: Int) {
        self.traceID = traceID
        self.roots = roots
        self.recordCount = recordCount
    }

    /// The tree built as the records are read, so that a reader keeps the trace it shows, not
    /// the records it read (a long router session has hundreds of thousands of log lines).
    public struct Builder: Sendable {
        public let traceID: TraceID
        var pieces = Pieces()
        var count = 0
        /// The trace id's bytes, and the span ids last read from a line: what `addChildLog(line:)`
        /// compares each line's ids with before making any.
        let traceHex: [UInt8]
        var recentSpans = RecentSpans()
        /// The runs of members an attempt's log lines repeat, as last read, and what was read
        /// from them (`addChildLog(line:)`).
        var repeatedMembers = RepeatedMembers(runs: Builder.childLogRuns)
        var keptRuns = ChildLogRunFields()

        public init(traceID: TraceID) {
            self.traceID = traceID
            traceHex = Array(traceID.hex.utf8)
        }

        /// Adds a record of the trace; records of other traces are ignored.
        public mutating func add(_ record: Record) {
            guard record.identity.traceID == traceID else { return }
            count += 1
            pieces.add(record)
        }

        public var isEmpty: Bool { count == 0 }

        public consuming func build() -> TraceTree {
            pieces.placeAttempts()
            return TraceTree(traceID: traceID, roots: pieces.nestRuns(), recordCount: count)
        }
    }

    /// The runs and attempts of a trace while its tree is built, by span.
    struct Pieces: Sendable {
        var runs: [SpanID: Run] = [:]
        /// Runs in the order first seen.
        var order: [SpanID] = []
        /// Attempts in the order first seen, and where each is by span.
        var attempts: [(run: SpanID, attempt: Attempt)] = []
        var attemptIndex: [SpanID: Int] = [:]
        /// The attempt changed last: a long session's log lines are all one attempt's, one after
        /// another, and are added without hashing its span for each.
        var lastAttempt: (span: SpanID, index: Int)?

        /// Changes a run where it is stored.
        /// - Important: in place: a copy out and back would copy an attempt's log lines for each
        ///   one added, quadratic in a long session (300,000 lines ran for minutes).
        mutating func updateRun(_ span: SpanID, _ change: (inout Run) -> Void) {
            if runs[span] == nil { order.append(span) }
            change(&runs[span, default: Run(spanID: span)])
        }

        /// An attempt's records all carry its span; its parent is the run's. In place, as above.
        mutating func updateAttempt(_ id: RecordIdentity, _ number: Int64, _ change: (inout Attempt) -> Void) {
            updateAttempt(span: id.spanID, parent: id.parentSpanID, number, change)
        }

        mutating func updateAttempt(span: SpanID, parent: SpanID?, _ number: Int64, _ change: (inout Attempt) -> Void) {
            guard let i = attemptSlot(span: span, parent: parent, number) else { return }
            change(&attempts[i].attempt)
        }

        /// Where the attempt of `span` is in `attempts`, made if it is new; nil without a parent.
        private mutating func attemptSlot(span: SpanID, parent: SpanID?, _ number: Int64) -> Int? {
            guard let parent else { return nil }
            let i: Int
            if let last = lastAttempt, last.span == span {
                i = last.index
            } else if let known = attemptIndex[span] {
                i = known
            } else {
                i = attempts.count
                attempts.append((parent, Attempt(number: number, spanID: span)))
                attemptIndex[span] = i
            }
            lastAttempt = (span, i)
            attempts[i].run = parent
            return i
        }

        /// A command's log line. When it happened: the line's own timestamp, if it has one that
        /// fits (not after airun read it, nor an hour before); airun reads a busy child's lines late.
        mutating func addChildLog(span: SpanID, parent: SpanID?, time: Int64, level: RecordLevel, message: String, log: ChildLog) {
            addChildLog(span: span, parent: parent, time: time, level: level, attempt: log.attempt, message: .string(message),
                        childLevel: log.childLevel.map(ChildLogList.Text.string), childLogger: log.childLogger.map(ChildLogList.Text.string),
                        childTimestamp: log.childTimestamp.map(ChildLogList.Text.string), fields: log.fields)
        }

        /// The same from a line's texts (`addChildLog(line:)` reads them without Strings),
        /// appended in place, not through a closure: a long session has hundreds of thousands,
        /// and a captured one is copied.
        mutating func addChildLog(span: SpanID, parent: SpanID?, time: Int64, level: RecordLevel, attempt: Int64, message: ChildLogList.Text,
                                  childLevel: ChildLogList.Text?, childLogger: ChildLogList.Text?, childTimestamp: ChildLogList.Text?,
                                  fields: JSONObject = JSONObject()) {
            guard let i = attemptSlot(span: span, parent: parent, attempt) else { return }
            let own: Int64?
            switch childTimestamp {
            case nil: own = nil
            case .string(let s): own = parseRFC3339(s)
            case .bytes(let b): own = parseRFC3339(bytes: b)
            }
            let written = own.flatMap { $0 <= time && time - $0 < 3_600_000_000 ? $0 : nil } ?? time
            attempts[i].attempt.logs.append(time: written, level: level, attempt: attempt, message: message, childLevel: childLevel,
                                            childLogger: childLogger, childTimestamp: childTimestamp, fields: fields)
        }

        mutating func add(_ record: Record) {
            let id = record.identity, time = record.timestampMicroseconds
            switch record.event {
            case .runStart(let e):
                updateRun(id.spanID) {
                    $0.start = e
                    $0.startTime = time
                    $0.parentSpanID = id.parentSpanID
                }
            case .runEnd(let e): updateRun(id.spanID) { $0.end = e; $0.endTime = time }
            case .retry(let e): updateRun(id.spanID) { $0.retries.append((time, e)) }
            case .attemptStart(let e): updateAttempt(id, e.attempt) { $0.start = time; $0.command = e.command }
            case .attemptEnd(let e): updateAttempt(id, e.attempt) { $0.end = e; $0.endTime = time }
            case .error(let e): updateAttempt(id, e.attempt) { $0.error = e }
            case .childLog(let e):
                addChildLog(span: id.spanID, parent: id.parentSpanID, time: time, level: record.level, message: record.message, log: e)
            case .ready(let e): updateAttempt(id, e.attempt) { $0.ready = e }
            case .heartbeat(let e): updateAttempt(id, e.attempt) { $0.heartbeats += 1 }
            case .sample: break
            }
        }

        /// Each attempt into its run, in attempt order.
        mutating func placeAttempts() {
            for (runSpan, attempt) in attempts { updateRun(runSpan) { $0.attempts.append(attempt) } }
            for span in runs.keys { runs[span]!.attempts.sort { $0.number < $1.number } }
        }

        /// Nested runs into the attempts that started them, deepest first, so a run carries its
        /// own nested runs when it is placed. Returns the roots, in start order.
        mutating func nestRuns() -> [Run] {
            let attemptOwner = Dictionary(attempts.map { ($0.attempt.spanID, $0.run) }, uniquingKeysWith: { a, _ in a })
            let (depth, anchor) = placement(attemptOwner)
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
            return order.compactMap { runs[$0] }.sorted { ($0.startTime ?? 0) < ($1.startTime ?? 0) }
        }

        /// Each run's depth and the attempt it is shown under, in one pass up each chain (a record
        /// file is outside input: a chain of 5,000 nested runs once took 41 s here, and 3,000
        /// overflowed the stack). Runs deeper than `maximumDepth` are shown under the attempt that
        /// holds their ancestor at that depth, so every walk of the tree stays shallow.
        func placement(_ attemptOwner: [SpanID: SpanID]) -> (depth: [SpanID: Int], anchor: [SpanID: SpanID]) {
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
                    anchor[span] = d > maximumDepth ? anchor[owner] ?? parent : parent
                }
            }
            return (depth, anchor)
        }
    }

    /// The earliest time in the trace: offsets are shown from it.
    public var startTime: Int64? {
        func earliest(_ r: Run) -> Int64? {
            ([r.startTime] + r.attempts.map(\.start) + r.attempts.flatMap { $0.runs.map(earliest) }).compactMap { $0 }.min()
        }
        return roots.compactMap(earliest).min()
    }
}
