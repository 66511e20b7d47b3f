/// The version of the record format; bumped when a field changes meaning or is removed.
public let recordSchemaVersion: Int64 = 1

public enum RecordLevel: String, Sendable {
    case info = "INFO", warning = "WARN", error = "ERROR"
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

    /// The `event` field.
    public var name: String {
        switch self {
        case .runStart: "run.start"
        case .attemptStart: "attempt.start"
        case .sample: "sample"
        case .attemptEnd: "attempt.end"
        case .error: "error"
        case .retry: "retry"
        case .runEnd: "run.end"
        case .childLog: "child.log"
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
        r.add("timestamp", rfc3339(microseconds: timestampMicroseconds))
        r.add("level", level.rawValue)
        r.add("logger", "airun")
        r.add("event", event.name)
        r.add("message", message)
        r.add("trace_id", identity.traceID.hex)
        r.add("span_id", identity.spanID.hex)
        r.add("parent_span_id", identity.parentSpanID?.hex)
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
        }
        return r.line()
    }

    /// Decodes one line. Unknown fields are ignored, and a newer `schema` is read for the fields
    /// this version knows; what is not an airun record of a known event throws.
    public init(line: ArraySlice<UInt8>) throws(RecordDecodingError) {
        let value: JSONValue
        do { value = try JSONParser.parse(line) } catch { throw .notJSON(error) }
        guard case .object(let o) = value else { throw .notARecord("not a JSON object") }
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
}

/// Sends each record to every sink in turn; each fails open by itself (swift-log's multiplexer).
public final class RecordFanOut: RecordSink {
    public private(set) var sinks: [any RecordSink]
    public init(_ sinks: [any RecordSink]) { self.sinks = sinks }
    public func add(_ sink: any RecordSink) { sinks.append(sink) }
    public func write(_ record: Record) { for sink in sinks { sink.write(record) } }
}

/// Unix microseconds of an RFC 3339 UTC time as airun writes it (`2026-11-26T11:40:23.123456Z`;
/// fewer fraction digits are accepted), or nil.
public func parseRFC3339(_ text: String) -> Int64? {
    let b = Array(text.utf8)
    guard b.count >= 20, b.last == UInt8(ascii: "Z"), b[4] == 0x2D, b[7] == 0x2D, b[10] == UInt8(ascii: "T"),
          b[13] == 0x3A, b[16] == 0x3A else { return nil }
    func number(_ r: Range<Int>) -> Int64? {
        var n: Int64 = 0
        for i in r {
            guard (0x30...0x39).contains(b[i]) else { return nil }
            n = n * 10 + Int64(b[i] - 0x30)
        }
        return n
    }
    guard let y = number(0..<4), let mo = number(5..<7), let d = number(8..<10), let h = number(11..<13),
          let mi = number(14..<16), var s = number(17..<19), (1...12).contains(mo), h < 24, mi < 60, s < 61
    else { return nil }
    // A real calendar day: 1970-02-31 is no date (it would read as March 3rd).
    let leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)
    let monthDays: [Int64] = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
    guard d >= 1, d <= monthDays[Int(mo) - 1] else { return nil }
    var micros: Int64 = 0
    if b.count > 20 {
        guard b[19] == UInt8(ascii: "."), b.count - 21 <= 9, b.count - 21 >= 1, let f = number(20..<(b.count - 1)) else { return nil }
        var scaled = f
        var digits = b.count - 21
        while digits < 6 { scaled *= 10; digits += 1 }
        while digits > 6 { scaled /= 10; digits -= 1 }
        micros = scaled
    } else if b[19] != UInt8(ascii: "Z") {
        return nil
    }
    // A leap second (:60) is the minute's last microsecond: 9999-12-31T23:59:60.999999Z must not
    // roll over into a year 10000 that no four-digit time can show.
    if s == 60 {
        s = 59
        micros = 999_999
    }
    // Days from civil (Howard Hinnant), the inverse of civilDate.
    let yy = mo <= 2 ? y - 1 : y
    let era = (yy >= 0 ? yy : yy - 399) / 400
    let yoe = yy - era * 400
    let doy = (153 * (mo > 2 ? mo - 3 : mo + 9) + 2) / 5 + d - 1
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
    let days = era * 146_097 + doe - 719_468
    return ((days * 86400 + h * 3600 + mi * 60 + s) * 1_000_000) + micros
}
