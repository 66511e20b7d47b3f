/// A chunk's worth of a command's JSON log lines (`[child_logs] format = "json"`), not yet read:
/// each sink makes of them what it needs. The record file transcodes them to record lines
/// (`ChildLogTranscoder`); a sink that wants `Record`s reads them the ordinary way (`records`).
public struct ChildLogBatch: Sendable {
    /// The lines, each ending in a newline (a carriage return before it already taken off).
    public private(set) var lines: [UInt8] = []
    /// Where each line ends (its newline's offset).
    private var ends: [Int] = []
    /// When the chunk they came in arrived: every record of the batch carries it.
    public let arrived: Int64
    public let attempt: Int64
    public let identity: RecordIdentity

    public init(arrived: Int64, attempt: Int64, identity: RecordIdentity) {
        self.arrived = arrived
        self.attempt = attempt
        self.identity = identity
    }

    public var isEmpty: Bool { lines.isEmpty }

    public mutating func append(line: UnsafeBufferPointer<UInt8>) {
        lines.append(contentsOf: line)
        ends.append(lines.count)
        lines.append(UInt8(ascii: "\n"))
    }

    /// Calls `body` with each line, without its newline.
    public func forEachLine(_ body: (UnsafeBufferPointer<UInt8>) -> Void) {
        lines.withUnsafeBufferPointer { all in
            var start = 0
            for end in ends {
                body(UnsafeBufferPointer(rebasing: all[start..<end]))
                start = end + 1
            }
        }
    }

    /// The child.log records of the lines that are log lines.
    public func records() -> [Record] {
        var records: [Record] = []
        forEachLine { line in
            if let r = ChildLog.record(line: line, attempt: attempt, identity: identity, arrived: arrived) { records.append(r) }
        }
        return records
    }
}
