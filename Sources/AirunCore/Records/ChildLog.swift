/// `child.log`: one structured log line the command wrote on stderr (a profile's
/// `[child_logs] format = "json"`), recorded in its attempt's span. The record's `message` is the
/// line's `message` and its `level` the line's level mapped to INFO, WARN or ERROR; the line's own
/// `level`, `logger` and `timestamp` are kept as written, and every other field in `fields`.
public struct ChildLog: Equatable, Sendable {
    public var attempt: Int64 = 1
    public var childLevel: String?
    public var childLogger: String?
    public var childTimestamp: String?
    public var fields = JSONObject()

    public init() {}

    func encode(into r: inout JSONLine) {
        r.add("attempt", attempt)
        r.add("stream", literal: "stderr")
        r.add("child_level", childLevel)
        r.add("child_logger", childLogger)
        r.add("child_timestamp", childTimestamp)
        if !fields.members.isEmpty { r.add("fields", value: .object(fields)) }
    }

    init(_ o: JSONObject) {
        attempt = o.int("attempt") ?? 1
        childLevel = o.string("child_level")
        childLogger = o.string("child_logger")
        childTimestamp = o.string("child_timestamp")
        fields = o.object("fields") ?? JSONObject()
    }

    /// The record level of a child's level name (Python's, Go's, Rust's, syslog's).
    public static func recordLevel(_ level: String?) -> RecordLevel {
        switch level?.uppercased() {
        case "WARN", "WARNING": .warning
        case "ERROR", "ERR", "CRITICAL", "CRIT", "FATAL", "ALERT", "EMERG", "EMERGENCY", "PANIC", "EXCEPTION": .error
        default: .info
        }
    }

    /// A line that is a JSON object with a string `message`: the log and its message; nil for
    /// any other line (plain text, a JSON value of another shape), which stays output only.
    public static func parse(line: ArraySlice<UInt8>) -> (log: ChildLog, message: String)? {
        guard let first = line.first(where: { $0 != 0x20 && $0 != 0x09 }), first == UInt8(ascii: "{") else { return nil }
        guard case .object(let o)? = try? JSONParser.parse(line), let message = o.string("message") else { return nil }
        var log = ChildLog()
        log.childLevel = o.string("level") ?? o.string("levelname") ?? o.string("severity")
        log.childLogger = o.string("logger") ?? o.string("name")
        log.childTimestamp = o.string("timestamp") ?? o.string("time")
        for member in o.members where promotedKeys.index(of: member.key) == nil { log.fields.append(member.key, member.value) }
        return (log, message)
    }

    /// The members a log line's record reads into its own fields rather than `fields`, in the
    /// order `ChildLogTranscoder` keeps them: message, the level's three names, the logger's two,
    /// the timestamp's two.
    static let promotedKeys = JSONProjection(["message", "level", "levelname", "severity", "logger", "name", "timestamp", "time"])

    /// The child.log record of a line of attempt `attempt`, or nil for a line that is no log line.
    public static func record(line: UnsafeBufferPointer<UInt8>, attempt: Int64, identity: RecordIdentity, arrived: Int64) -> Record? {
        guard let (parsed, message) = parse(line: ArraySlice(line)) else { return nil }
        var log = parsed
        log.attempt = attempt
        return Record(.childLog(log), level: recordLevel(log.childLevel), message: message, identity: identity, timestampMicroseconds: arrived)
    }
}

/// Splits a stream into lines (for `ChildLog.parse` or `ChildLogTranscoder`), across chunk
/// boundaries, in bounded memory: a line longer than `maximumLine` is not a log line and is
/// skipped whole. A line is handed on without its newline, and without the carriage return a
/// terminal's line discipline may have added.
public struct ChildLogLines: Sendable {
    public static let maximumLine = 64 * 1024
    private var partial: [UInt8] = []
    private var overlong = false

    public init() {}

    public mutating func feed(_ chunk: UnsafeRawBufferPointer, _ emit: (UnsafeBufferPointer<UInt8>) -> Void) {
        let chunk = chunk.assumingMemoryBound(to: UInt8.self)
        let newline: StaticString = "\n"
        var start = 0
        while let i = firstOffset(of: UnsafeBufferPointer(start: newline.utf8Start, count: 1), in: chunk, from: start) {
            take(chunk, start, i, emit)
            start = i + 1
        }
        guard start < chunk.count, !overlong else { return }
        if partial.count + chunk.count - start > Self.maximumLine {
            overlong = true
            partial = []
        } else {
            partial.append(contentsOf: chunk[start..<chunk.count])
        }
    }

    /// Bytes were lost before the next chunk (airun fell behind): the unfinished line is not
    /// whole, and neither is the next chunk's first line; both are skipped.
    public mutating func dropUnfinishedLine() {
        partial = []
        overlong = true
    }

    /// The last line, when the stream ended without a newline.
    public mutating func finish(_ emit: (UnsafeBufferPointer<UInt8>) -> Void) {
        if !overlong, !partial.isEmpty { partial.withUnsafeBufferPointer { Self.line($0, emit) } }
        partial = []
        overlong = false
    }

    private mutating func take(_ chunk: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int, _ emit: (UnsafeBufferPointer<UInt8>) -> Void) {
        defer { overlong = false }
        if overlong || partial.count + end - start > Self.maximumLine { return partial = [] }
        // A line within the chunk is handed on where it lies; only one begun in an earlier chunk is copied.
        guard !partial.isEmpty else { return Self.line(UnsafeBufferPointer(rebasing: chunk[start..<end]), emit) }
        partial.append(contentsOf: chunk[start..<end])
        partial.withUnsafeBufferPointer { Self.line($0, emit) }
        partial.removeAll(keepingCapacity: true)
    }

    private static func line(_ bytes: UnsafeBufferPointer<UInt8>, _ emit: (UnsafeBufferPointer<UInt8>) -> Void) {
        emit(bytes.last == 0x0D ? UnsafeBufferPointer(rebasing: bytes.dropLast()) : bytes)
    }
}
