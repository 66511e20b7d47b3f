/// Turns the bytes of a log file, fed in chunks of any size, back into records, in constant memory
/// (one line at a time). Torn lines (a full disk cut a write short), foreign lines and events of a
/// newer airun are skipped and counted, never fatal: readers report them and go on.
public struct RecordStream {
    /// Lines that are not JSON or not an airun record.
    public private(set) var skippedLines = 0
    /// Records of events this airun does not know (a newer writer's).
    public private(set) var unknownEvents = 0
    /// The longest line kept: longer ones (no record is: tails are at most 16 MiB each) are skipped.
    public static let maximumLineBytes = 64 << 20

    private var pending: [UInt8] = []
    private var discarding = false

    public init() {}

    /// Feeds the next bytes; calls `record` for each complete line that decodes.
    public mutating func feed(_ chunk: some Collection<UInt8>, _ record: (Record) -> Void) {
        var start = chunk.startIndex
        while let newline = chunk[start...].firstIndex(of: 0x0A) {
            append(chunk[start..<newline])
            finishLine(record)
            start = chunk.index(after: newline)
        }
        append(chunk[start...])
    }

    /// The end of the input: a last line without its newline is still read (a writer may be
    /// appending it right now; if it is torn, it is skipped like any other).
    public mutating func finish(_ record: (Record) -> Void) {
        if !pending.isEmpty || discarding { finishLine(record) }
    }

    private mutating func append(_ bytes: some Collection<UInt8>) {
        guard !discarding else { return }
        if pending.count + bytes.count > Self.maximumLineBytes {
            discarding = true
            pending = []
        } else {
            pending.append(contentsOf: bytes)
        }
    }

    private mutating func finishLine(_ record: (Record) -> Void) {
        defer { pending.removeAll(keepingCapacity: pending.count < 1 << 20) }
        if discarding {
            discarding = false
            skippedLines += 1
            return
        }
        if pending.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { return }  // blank: the newline after a torn line
        do {
            record(try Record(line: pending[...]))
        } catch .unknownEvent {
            unknownEvents += 1
        } catch {
            skippedLines += 1
        }
    }
}
