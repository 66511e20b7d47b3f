import AirunCore
import AirunSystem

/// The record files of a log directory, oldest first (by day, then rotation index), read as one
/// stream of records in constant memory.
struct RecordFiles {
    let directory: String

    /// The record files, oldest first. A FIFO, device or directory named like one is skipped, with
    /// a warning when `warn` (a reader that opened it would wait forever).
    func files(warn: Bool = false) -> [LogFileName] {
        directoryEntries(directory).compactMap(LogFileName.init).filter { file in
            let path = "\(directory)/\(file.name)"
            if isRegularFile(path) { return true }
            if warn { printError("airun: warning: skipping \(path): not a regular file") }
            return false
        }.sorted()
    }

    /// Calls `body` with every record of every file, in order; returns the reader's counts of
    /// lines it skipped (torn, foreign) and events it did not know.
    @discardableResult
    func forEachRecord(onlyLinesWith needles: [String] = [], _ body: (Record) -> Void) -> (skipped: Int, unknown: Int) {
        forEachLine(onlyLinesWith: needles) { RecordStream.decode($0, body) }
    }

    /// Like `forEachRecord`, with each record's line as written (for `logs --json`, which prints
    /// it whole: fields this version does not know included).
    @discardableResult
    func forEachRecordLine(_ body: (Record, UnsafeBufferPointer<UInt8>) -> Void) -> (skipped: Int, unknown: Int) {
        forEachLine { line in RecordStream.decode(line) { body($0, line) } }
    }
}

extension RecordFiles {
    /// Reads what is appended from now on, across rotation and new days: polls every 200 ms,
    /// reading the current file from where it stopped; when a later file exists, the current one
    /// is read to its end and the next in order (not the newest: two rotations may have happened
    /// in between) becomes current. Calls `idle` after each poll. Runs until the process ends.
    func follow(onlyLinesWith needles: [String] = [], _ body: (Record, UnsafeBufferPointer<UInt8>) -> Void, idle: () -> Void = {}) -> Never {
        let bytes = needles.map { Array($0.utf8) }
        func newStream() -> RecordStream { RecordStream(lineFilter: bytes.isEmpty ? nil : { lineContains($0, anyOf: bytes) }) }
        var current = files(warn: true).last
        var offset = current.map { fileSize("\(directory)/\($0.name)") } ?? 0
        var stream = newStream()
        func decode(_ line: UnsafeBufferPointer<UInt8>) -> RecordStream.LineOutcome { RecordStream.decode(line) { body($0, line) } }
        func readCurrent() {
            guard let file = current else { return }
            Self.readAppended(to: "\(directory)/\(file.name)", from: &offset) { stream.feedLines($0, decode) }
        }
        while true {
            readCurrent()
            let list = files()
            if let next = current.map({ c in list.first { $0 > c } }) ?? list.first {
                readCurrent()
                stream.finishLines(decode)
                stream = newStream()
                current = next
                offset = 0
                continue
            }
            idle()
            sleepNanoseconds(200_000_000)
        }
    }
}

extension RecordFiles {
    /// What was appended to `path` since `offset`, to its end, with `offset` moved past each
    /// chunk read. By the bytes read, not by a size taken before reading: a writer that appends
    /// while they are read would have had its lines read again next time (`logs --follow`
    /// printed a record twice, 21 of 20, under load).
    static func readAppended(to path: String, from offset: inout Int64, _ body: (UnsafeRawBufferPointer) -> Void) {
        guard fileSize(path) > offset else { return }
        var at = offset
        forEachChunk(ofFile: path, from: at) { chunk in
            at += Int64(chunk.count)
            body(chunk)
        }
        offset = at
    }

    /// Like `forEachRecord`, for a reader that parses lines itself (for the fields it needs).
    @discardableResult
    func forEachLine(onlyLinesWith needles: [String] = [], _ line: (UnsafeBufferPointer<UInt8>) -> RecordStream.LineOutcome) -> (skipped: Int, unknown: Int) {
        var skipped = 0, unknown = 0
        let bytes = needles.map { Array($0.utf8) }
        for file in files(warn: true) {
            var stream = RecordStream(lineFilter: bytes.isEmpty ? nil : { lineContains($0, anyOf: bytes) })
            forEachChunk(ofFile: "\(directory)/\(file.name)") { stream.feedLines($0, line) }
            stream.finishLines(line)
            skipped += stream.skippedLines
            unknown += stream.unknownEvents
        }
        return (skipped, unknown)
    }
}

/// `--since`/`--until`: a time like `2026-11-01`, `2026-11-01T12:00:00Z`, or a duration back from
/// now (`1h`, `30m`, `7d`). Unix microseconds.
func parseTimeBound(_ text: String, now: Int64) -> Int64? {
    if let d = TimeSpan(parsing: text) { return now - d.nanoseconds / 1000 }
    if text.count == 10 { return parseRFC3339(text + "T00:00:00Z") }
    return parseRFC3339(text)
}

/// Which trace an id names: 32 hex digits are the W3C id itself; a request id (`<run span>` or
/// `<run span>-N`) is matched as such; anything else is a caller's id (`session-abc`, a UUID),
/// whose trace is derived from it the same way a run derives it.
enum TraceSelector: Sendable {
    case trace(TraceID)
    case request(String)

    init?(_ text: String) {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        if let id = TraceID(text) {
            self = .trace(id)
        } else if SpanID(parts[0]) != nil, parts.count == 1 || (parts.count == 2 && Int(parts[1]) != nil) {
            self = .request(text)
        } else if let id = TraceID(callerID: text) {
            self = .trace(id)
        } else {
            return nil
        }
    }

    func matches(_ record: Record) -> Bool {
        switch self {
        case .trace(let id): record.identity.traceID == id
        case .request(let r): record.identity.requestID == r || record.identity.requestID.hasPrefix(r + "-")
        }
    }
}
