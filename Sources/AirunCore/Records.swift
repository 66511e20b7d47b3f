/// The version of the record format; bumped when a field changes meaning or is removed.
public let recordSchemaVersion: Int64 = 1

public enum RecordLevel: String, Sendable {
    case info = "INFO", warning = "WARN", error = "ERROR"
}

/// The identity every record carries: which trace, which span (run or attempt), its parent, and
/// the request id a user greps for.
public struct RecordIdentity: Sendable {
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

/// Starts a record with the fields every event has (docs/records.md, "Common fields"); callers
/// add the event's own fields and take `line()`.
public func recordHeader(event: String, level: RecordLevel, message: String, identity: RecordIdentity,
                         timestampMicroseconds: Int64, redactor: Redactor) -> JSONLine {
    var r = JSONLine(redacting: redactor)
    r.add("schema", recordSchemaVersion)
    r.add("timestamp", rfc3339(microseconds: timestampMicroseconds))
    r.add("level", level.rawValue)
    r.add("logger", "airun")
    r.add("event", event)
    r.add("message", message)
    r.add("trace_id", identity.traceID.hex)
    r.add("span_id", identity.spanID.hex)
    r.add("parent_span_id", identity.parentSpanID?.hex)
    r.add("request_id", identity.requestID)
    return r
}

/// Where finished record lines go. The log file in production; an array in tests.
public protocol RecordSink: AnyObject {
    /// Writes one complete line. Must never fail the run: a sink that cannot write degrades.
    func write(line: [UInt8], timestampMicroseconds: Int64)
}
