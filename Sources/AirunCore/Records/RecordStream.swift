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

    /// Lines a `lineFilter` passed over without parsing them.
    public private(set) var filteredLines = 0
    /// A cheap look at a line's bytes before it is parsed: a reader that needs only some events
    /// or one trace skips the rest at the cost of a byte search (`lineContains`).
    public var lineFilter: ((UnsafeBufferPointer<UInt8>) -> Bool)?

    private var pending: [UInt8] = []
    private var discarding = false

    public init(lineFilter: ((UnsafeBufferPointer<UInt8>) -> Bool)? = nil) {
        self.lineFilter = lineFilter
    }

    /// Feeds the next bytes; calls `record` for each complete line that decodes.
    public mutating func feed(_ chunk: UnsafeRawBufferPointer, _ record: (Record) -> Void) {
        feedLines(chunk) { line in Self.decode(line, record) }
    }

    public mutating func feed(_ chunk: [UInt8], _ record: (Record) -> Void) {
        chunk.withUnsafeBytes { feed($0, record) }
    }

    public mutating func feed(_ chunk: ArraySlice<UInt8>, _ record: (Record) -> Void) {
        chunk.withUnsafeBytes { feed($0, record) }
    }

    /// The end of the input: a last line without its newline is still read (a writer may be
    /// appending it right now; if it is torn, it is skipped like any other).
    public mutating func finish(_ record: (Record) -> Void) {
        finishLines { line in Self.decode(line, record) }
    }

    /// What a line reader says of a line: read, an event it does not know, or not a record.
    public enum LineOutcome { case read, unknownEvent, skipped }

    /// Feeds the next bytes to a reader of whole lines (no newline), for readers that decode only
    /// the fields they need (`JSONParser.forEachMember(of:in:)`); the same splitting, limits,
    /// filter and counts as `feed`.
    public mutating func feedLines(_ chunk: UnsafeRawBufferPointer, _ line: (UnsafeBufferPointer<UInt8>) -> LineOutcome) {
        // Concrete bytes, not a generic collection: the generic version ran at 8 MB/s.
        let bytes = chunk.bindMemory(to: UInt8.self)
        var start = 0
        while start < bytes.count {
            guard let newline = Self.newline(in: bytes, from: start) else { break }
            let piece = UnsafeBufferPointer(rebasing: bytes[start..<newline])
            if pending.isEmpty && !discarding {
                // The whole line is in this chunk: read in place, not copied.
                if piece.count <= Self.maximumLineBytes { handle(piece, line) } else { skippedLines += 1 }
            } else {
                append(piece)
                finishLine(line)
            }
            start = newline + 1
        }
        if start < bytes.count { append(UnsafeBufferPointer(rebasing: bytes[start...])) }
    }

    /// The next newline at or after `start`, eight bytes at a time (SWAR).
    private static func newline(in b: UnsafeBufferPointer<UInt8>, from start: Int) -> Int? {
        var i = start
        if let base = b.baseAddress {
            let raw = UnsafeRawPointer(base)
            @inline(__always) func hasNewline(_ w: UInt64) -> UInt64 {
                let x = w ^ 0x0A0A_0A0A_0A0A_0A0A
                return (x &- 0x0101_0101_0101_0101) & ~x & 0x8080_8080_8080_8080
            }
            while i + 16 <= b.count,
                  hasNewline(raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)) | hasNewline(raw.loadUnaligned(fromByteOffset: i + 8, as: UInt64.self)) == 0 {
                i += 16
            }
        }
        while i < b.count {
            if b[i] == 0x0A { return i }
            i += 1
        }
        return nil
    }

    public mutating func finishLines(_ line: (UnsafeBufferPointer<UInt8>) -> LineOutcome) {
        if !pending.isEmpty || discarding { finishLine(line) }
    }

    /// Decodes one line as a whole record for `record`: the line reader of `feed`.
    public static func decode(_ line: UnsafeBufferPointer<UInt8>, _ record: (Record) -> Void) -> LineOutcome {
        do {
            record(try Record(line: ArraySlice(line)))
            return .read
        } catch .unknownEvent {
            return .unknownEvent
        } catch {
            return .skipped
        }
    }

    private mutating func append(_ bytes: UnsafeBufferPointer<UInt8>) {
        guard !discarding else { return }
        if pending.count + bytes.count > Self.maximumLineBytes {
            discarding = true
            pending = []
        } else {
            pending.append(contentsOf: bytes)
        }
    }

    private mutating func finishLine(_ line: (UnsafeBufferPointer<UInt8>) -> LineOutcome) {
        defer { pending.removeAll(keepingCapacity: pending.count < 1 << 20) }
        if discarding {
            discarding = false
            skippedLines += 1
            return
        }
        pending.withUnsafeBufferPointer { handle($0, line) }
    }

    /// One complete line: blank ones are the newline after a torn line; the filter, then the reader.
    private mutating func handle(_ bytes: UnsafeBufferPointer<UInt8>, _ line: (UnsafeBufferPointer<UInt8>) -> LineOutcome) {
        if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { return }
        if let lineFilter, !lineFilter(bytes) {
            filteredLines += 1
            return
        }
        switch line(bytes) {
        case .read: break
        case .unknownEvent: unknownEvents += 1
        case .skipped: skippedLines += 1
        }
    }
}

/// Whether `line` contains any of `needles` (byte strings): the cheap test of a `lineFilter`, such
/// as `"event":"error"` or a trace id, before a line is parsed.
public func lineContains(_ line: UnsafeBufferPointer<UInt8>, anyOf needles: [[UInt8]]) -> Bool {
    guard !line.isEmpty else { return false }
    for needle in needles where !needle.isEmpty {
        if needle.withUnsafeBufferPointer({ firstOffset(of: $0, in: line, from: 0) }) != nil { return true }
    }
    return false
}
