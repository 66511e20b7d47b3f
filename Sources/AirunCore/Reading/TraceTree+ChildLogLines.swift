extension TraceTree.Builder {
    /// The members of a `child.log` line that the text tree shows, and those the whole decoder
    /// requires of every record (so that a line read here is one it would read the same way);
    /// the members passed over are checked as the decoder's parser checks them, so that no line
    /// it refuses (one with a torn `fields` object) is shown.
    static let childLogProjection = JSONProjection([
        "logger", "event", "timestamp", "level", "message", "trace_id", "span_id", "parent_span_id", "request_id",
        "attempt", "child_level", "child_logger", "child_timestamp",
    ], layout: ["schema", "timestamp", "level", "logger", "event", "message", "trace_id", "span_id", "parent_span_id", "request_id",
                "attempt", "stream", "child_level", "child_logger", "child_timestamp", "fields"], checksSkippedValues: true)
    /// The runs of `childLogProjection`'s layout that an attempt's lines repeat: `"level"` to
    /// `"event"`, and `"trace_id"` to `"stream"` (`ChildLogRunFields`).
    static let childLogRuns = [2..<5, 6..<12]

    /// Adds a `child.log` line of the trace as its text tree shows it (without its `fields`),
    /// read from the line's bytes without decoding a record: a long router session is hundreds of
    /// thousands of these. Returns false for a line this does not read (another event, or a
    /// member only the whole decoder can judge); the caller then decodes it whole, so a line is
    /// never dropped here that the decoder would have read.
    ///
    /// An attempt's lines repeat two runs of members byte for byte (`childLogRuns`): those are
    /// read once, and then passed over with one comparison while they stay the same.
    public mutating func addChildLog(line: UnsafeBufferPointer<UInt8>) -> Bool {
        var f = ChildLogFields()
        do {
            try JSONParser.forEachMember(of: line, in: Self.childLogProjection, remembering: &repeatedMembers) { i, p throws(JSONSyntaxError) in
                switch i {
                case 0: f.runs.airun = try p.readString(equalTo: "airun")
                case 1:
                    f.runs.childLog = try p.readString(equalTo: "child.log")
                    return f.runs.childLog
                case 2: f.time = try p.readString { parseRFC3339(bytes: $0) } ?? nil
                case 3: f.runs.level = try p.readString { RecordLevel(bytes: $0) } ?? nil
                case 4: f.message = try p.readText()
                case 5: f.runs.trace = try p.readString { b in bytesEqual(b, traceHex) ? .this : TraceID(String(decoding: b, as: UTF8.self)).map { $0 == traceID ? .this : .other } ?? .invalid }
                case 6: f.runs.span = try p.readString { recentSpans.span($0) } ?? nil
                case 7: f.runs.parent = try p.readString { recentSpans.span($0) } ?? nil
                case 8: f.runs.hasRequest = try p.readString { _ in true } ?? false
                case 9: f.runs.attempt = try p.readInteger()
                case 10: f.childLevel = try p.readText()
                case 11: f.childLogger = try p.readText()
                case 12: f.childTimestamp = try p.readText()
                default: break
                }
                return true
            } run: { k, replayed in
                if replayed { f.runs.take(k, from: keptRuns) } else { keptRuns.take(k, from: f.runs) }
                return k != 0 || f.runs.childLog
            }
        } catch {
            return false
        }
        guard f.runs.airun, f.runs.childLog, let time = f.time, let level = f.runs.level, f.runs.hasRequest, let span = f.runs.span else { return false }
        switch f.runs.trace {
        case .this: break
        case .other: return true  // read, and not this trace's: as `add` ignores it
        case .invalid, nil: return false
        }
        count += 1
        pieces.addChildLog(span: span, parent: f.runs.parent, time: time, level: level, attempt: f.runs.attempt ?? 1, message: f.message ?? .string(""),
                           childLevel: f.childLevel, childLogger: f.childLogger, childTimestamp: f.childTimestamp)
        return true
    }
}

/// What `addChildLog(line:)` takes from a line (the last of a repeated key wins).
private struct ChildLogFields {
    var runs = ChildLogRunFields()
    var time: Int64?
    /// Texts as the line holds them (valid while it is read), or decoded where they have escapes.
    var message, childLevel, childLogger, childTimestamp: TraceTree.ChildLogList.Text?
}

/// What `addChildLog(line:)` takes from the runs of members an attempt's lines repeat
/// (`childLogRuns`), kept for the lines that repeat them.
struct ChildLogRunFields: Sendable {
    enum Trace { case this, other, invalid }
    var airun = false, childLog = false, hasRequest = false
    var level: RecordLevel?
    var trace: Trace?
    var span, parent: SpanID?
    var attempt: Int64?

    /// The fields of run `k` as `other` has them.
    mutating func take(_ k: Int, from other: ChildLogRunFields) {
        if k == 0 {
            (level, airun, childLog) = (other.level, other.airun, other.childLog)
        } else {
            (trace, span, parent, hasRequest, attempt) = (other.trace, other.span, other.parent, other.hasRequest, other.attempt)
        }
    }
}

private extension JSONParser {
    /// A string value to keep: its bytes in the line where it has no escape, else decoded; nil
    /// for a value of another type (as `readString()`).
    mutating func readText() throws(JSONSyntaxError) -> TraceTree.ChildLogList.Text? {
        guard p < end, bytes[p] == UInt8(ascii: "\"") else { try skipValue(); return nil }
        let (afterClose, escaped) = try Self.stringEndAndEscapes(bytes, from: p + 1)
        if escaped { return .string(try string()) }
        defer { p = afterClose }
        return .bytes(UnsafeBufferPointer(rebasing: bytes[(p + 1)..<(afterClose - 1)]))
    }
}

/// The last two span ids read, by their bytes: a session's log lines repeat one attempt's span
/// and its run's, so each line's ids are compared, not made (16 hex digits are a String on the heap).
struct RecentSpans: Sendable {
    private var first: (words: (UInt64, UInt64), id: SpanID)?
    private var second: (words: (UInt64, UInt64), id: SpanID)?

    /// The span id the bytes spell, or nil when they spell none.
    mutating func span(_ b: UnsafeBufferPointer<UInt8>) -> SpanID? {
        guard b.count == 16, let base = b.baseAddress else { return nil }
        let raw = UnsafeRawPointer(base)
        let words = (raw.loadUnaligned(as: UInt64.self), raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
        if let e = first, e.words == words { return e.id }
        if let e = second, e.words == words { return e.id }
        guard let id = SpanID(String(decoding: b, as: UTF8.self)) else { return nil }
        // Only ids spelled as stored (lowercase) are kept: another spelling of one is made again.
        if id.hex.utf8.elementsEqual(b) {
            second = first
            first = (words, id)
        }
        return id
    }
}

extension RecordLevel {
    /// The level a record line spells, without a String.
    init?(bytes b: UnsafeBufferPointer<UInt8>) {
        // Told apart by length and first byte, then compared: every record line has a level.
        switch (b.count, b.first) {
        case (4, UInt8(ascii: "I")) where bytesEqual(b, "INFO"): self = .info
        case (4, UInt8(ascii: "W")) where bytesEqual(b, "WARN"): self = .warning
        case (5, UInt8(ascii: "E")) where bytesEqual(b, "ERROR"): self = .error
        default: return nil
        }
    }
}
