/// The version of the record format; bumped when a field changes meaning or is removed.
public let recordSchemaVersion: Int64 = 1

public enum RecordLevel: String, CaseIterable, Sendable {
    case info = "INFO", warning = "WARN", error = "ERROR"

    /// The raw value as spelled in the source: written into a line without the redactor.
    var literal: StaticString {
        switch self {
        case .info: "INFO"
        case .warning: "WARN"
        case .error: "ERROR"
        }
    }
}

/// The identity every record carries: which trace, which span (run or attempt), its parent, and
/// the request id a user greps for.
public struct RecordIdentity: Equatable, Sendable {
    public var traceID: TraceID
    public var spanID: SpanID
    public var parentSpanID: SpanID?
    public var requestID: String

    public init(traceID: TraceID, spanID: SpanID, parentSpanID: SpanID?, requestID: String) {
        self.traceID = traceID
        self.spanID = spanID
        self.parentSpanID = parentSpanID
        self.requestID = requestID
    }
}

/// What happened, as one of the record kinds of docs/records.md.
public enum Event: Equatable, Sendable {
    case runStart(RunStart)
    case attemptStart(AttemptStart)
    case sample(Sample)
    case attemptEnd(AttemptEnd)
    case error(AttemptError)
    case retry(Retry)
    case runEnd(RunEnd)
    case childLog(ChildLog)
    case ready(Ready)
    case heartbeat(Heartbeat)

    /// The `event` field.
    public var name: String { literalName.description }

    /// The `event` field as spelled in the source: written into a line without the redactor.
    public var literalName: StaticString {
        switch self {
        case .runStart: "run.start"
        case .attemptStart: "attempt.start"
        case .sample: "sample"
        case .attemptEnd: "attempt.end"
        case .error: "error"
        case .retry: "retry"
        case .runEnd: "run.end"
        case .childLog: "child.log"
        case .ready: "ready"
        case .heartbeat: "heartbeat"
        }
    }
}

/// One record: the fields every record has (docs/records.md, "Common fields") and its event.
/// The one encoder (`line`) and the one decoder (`init(line:)`) of the log format.
public struct Record: Equatable, Sendable {
    public var timestampMicroseconds: Int64
    public var level: RecordLevel
    public var message: String
    public var identity: RecordIdentity
    public var event: Event
    /// The format version the record was written with (`recordSchemaVersion` for new ones).
    public var schema: Int64 = recordSchemaVersion

    public init(_ event: Event, level: RecordLevel, message: String, identity: RecordIdentity, timestampMicroseconds: Int64) {
        self.event = event
        self.level = level
        self.message = message
        self.identity = identity
        self.timestampMicroseconds = timestampMicroseconds
    }

    /// The JSON line, every string through `redactor`.
    public func line(redactor: Redactor) -> [UInt8] {
        var r = JSONLine(redacting: redactor)
        r.add("schema", schema)
        r.add("timestamp", timestampMicroseconds: timestampMicroseconds)
        r.add("level", literal: level.literal)
        r.add("logger", literal: "airun")
        r.add("event", literal: event.literalName)
        r.add("message", message)
        r.add("trace_id", identifier: identity.traceID)
        r.add("span_id", identifier: identity.spanID)
        r.add("parent_span_id", identifier: identity.parentSpanID)
        r.add("request_id", identity.requestID)
        switch event {
        case .runStart(let e): e.encode(into: &r)
        case .attemptStart(let e): e.encode(into: &r)
        case .sample(let e): e.encode(into: &r)
        case .attemptEnd(let e): e.encode(into: &r)
        case .error(let e): e.encode(into: &r)
        case .retry(let e): e.encode(into: &r)
        case .runEnd(let e): e.encode(into: &r)
        case .childLog(let e): e.encode(into: &r)
        case .ready(let e): e.encode(into: &r)
        case .heartbeat(let e): e.encode(into: &r)
        }
        return r.line()
    }

    /// Decodes one line. Unknown fields are ignored, and a newer `schema` is read for the fields
    /// this version knows; what is not an airun record of a known event throws.
    public init(line: ArraySlice<UInt8>) throws(RecordDecodingError) {
        let value: JSONValue
        do { value = try JSONParser.parse(line) } catch { throw .notJSON(error) }
        guard case .object(let o) = value else { throw .notARecord("not a JSON object") }
        try self.init(object: o)
    }

    private init(object o: JSONObject) throws(RecordDecodingError) {
        guard o.string("logger") == "airun", let name = o.string("event") else { throw .notARecord("no airun event") }
        guard let stamp = o.string("timestamp"), let micros = parseRFC3339(stamp) else { throw .notARecord("bad timestamp") }
        guard let level = o.string("level").flatMap(RecordLevel.init(rawValue:)) else { throw .notARecord("bad level") }
        guard let trace = o.string("trace_id").flatMap({ TraceID($0) }), let span = o.string("span_id").flatMap({ SpanID($0) }),
              let request = o.string("request_id") else { throw .notARecord("bad identity") }
        let event: Event
        switch name {
        case "run.start": event = .runStart(RunStart(o))
        case "attempt.start": event = .attemptStart(AttemptStart(o))
        case "sample": event = .sample(Sample(o))
        case "attempt.end": event = .attemptEnd(AttemptEnd(o))
        case "error": event = .error(AttemptError(o))
        case "retry": event = .retry(Retry(o))
        case "run.end": event = .runEnd(RunEnd(o))
        case "child.log": event = .childLog(ChildLog(o))
        case "ready": event = .ready(Ready(o))
        case "heartbeat": event = .heartbeat(Heartbeat(o))
        default: throw .unknownEvent(name)
        }
        self.init(event, level: level, message: o.string("message") ?? "",
                  identity: RecordIdentity(traceID: trace, spanID: span, parentSpanID: o.string("parent_span_id").flatMap { SpanID($0) },
                                           requestID: request),
                  timestampMicroseconds: micros)
        schema = o.int("schema") ?? recordSchemaVersion
    }
}

/// Why a line is not a record this airun can read.
public enum RecordDecodingError: Error, Equatable, Sendable {
    case notJSON(JSONSyntaxError)
    case notARecord(String)
    /// An event of a newer airun: skipped, not an error.
    case unknownEvent(String)
}

/// Where finished records go: the log file, later exporters. `write` must never fail the run: a
/// sink that cannot write degrades on its own.
public protocol RecordSink: AnyObject {
    func write(_ record: Record)
    /// Several records at once (a chunk's worth of a command's log lines): a sink that can, writes
    /// them in one go.
    func write(batch: [Record])
    /// A chunk's worth of a command's log lines, as they came: a sink reads what it needs of them
    /// (by default, their records).
    func write(childLogs: ChildLogBatch)
    /// `make`'s record, to go with the next record written: a sink that can, holds it back and
    /// writes the two in one go (by default it is made and written now).
    func writeBeforeNext(_ make: @escaping () -> Record)
}

extension RecordSink {
    public func write(batch: [Record]) { for record in batch { write(record) } }
    public func write(childLogs: ChildLogBatch) {
        let records = childLogs.records()
        if !records.isEmpty { write(batch: records) }
    }
    public func writeBeforeNext(_ make: @escaping () -> Record) { write(make()) }
}

/// Sends each record to every sink in turn; each fails open by itself (swift-log's multiplexer).
public final class RecordFanOut: RecordSink {
    public private(set) var sinks: [any RecordSink]
    /// The records `writeBeforeNext` holds back, in order.
    private var beforeNext: [() -> Record] = []

    public init(_ sinks: [any RecordSink]) { self.sinks = sinks }
    public func add(_ sink: any RecordSink) { sinks.append(sink) }

    /// `make`'s record is made and written with the next record, in one batch (one append to the
    /// record file, where a record alone is one: a lock, a look at the file's end, a write), or at
    /// `flush()`. The run's start waits for its first attempt's, written once the command is
    /// started, so making it overlaps the command's own start (issue 25: the records were ~160 µs
    /// of a run of `/bin/true`); an attempt's end waits for the run's end, or the error and retry
    /// records that follow it.
    ///
    /// - Important: the next record must come from this thread, or from a thread handed its work
    ///   through a lock after that (the worker's log lines follow their attempt's start); and
    ///   what waits (a backoff, a server's restart) writes or flushes first, or the held record
    ///   waits with it.
    public func writeBeforeNext(_ make: @escaping () -> Record) { beforeNext.append(make) }

    /// Writes what `writeBeforeNext` holds, if anything.
    public func flush() {
        guard !beforeNext.isEmpty else { return }
        let held = takeHeld()
        for sink in sinks { sink.write(batch: held) }
    }

    private func takeHeld() -> [Record] {
        let held = beforeNext.map { $0() }
        beforeNext.removeAll()
        return held
    }

    public func write(_ record: Record) {
        guard !beforeNext.isEmpty else {
            for sink in sinks { sink.write(record) }
            return
        }
        let batch = takeHeld() + [record]
        for sink in sinks { sink.write(batch: batch) }
    }

    public func write(batch: [Record]) {
        let batch = beforeNext.isEmpty ? batch : takeHeld() + batch
        for sink in sinks { sink.write(batch: batch) }
    }

    public func write(childLogs: ChildLogBatch) {
        flush()
        for sink in sinks { sink.write(childLogs: childLogs) }
    }
}
