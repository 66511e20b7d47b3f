extension TraceTree {
    /// An attempt's log lines (`child.log`), in the order written, their texts kept as bytes back
    /// to back: a long router session is hundreds of thousands of lines, and an entry of four
    /// Strings each (one on the heap, its ~100 bytes, their counts) was most of `trace`'s memory,
    /// a fifth of its time and a page fault every forty lines.
    ///
    /// Read as a collection of `ChildLogEntry`, made on access; the text tree reads the bytes.
    public struct ChildLogList: RandomAccessCollection, Sendable {
        /// One line: its texts start at `start` in `text`, message first, then the child's
        /// level, logger and timestamp; a length of -1 is a text the line did not have.
        struct Stored: Sendable {
            var time: Int64
            var attempt: Int64
            var start: Int
            var lengths: (message: Int32, level: Int32, logger: Int32, timestamp: Int32)
            var level: RecordLevel
        }

        /// A text to keep: a String, or UTF-8 read from a record line (valid or not).
        enum Text {
            case string(String)
            case bytes(UnsafeBufferPointer<UInt8>)
        }

        private var stored: [Stored] = []
        private var text: [UInt8] = []
        /// The `fields` of the lines that have any, by index (only the whole decoder reads them).
        private var fields: [Int: JSONObject] = [:]

        public init() {}

        public var startIndex: Int { 0 }
        public var endIndex: Int { stored.count }

        public subscript(i: Int) -> ChildLogEntry {
            let s = stored[i]
            let r = ranges(s)
            var log = ChildLog()
            log.attempt = s.attempt
            log.childLevel = r.level.map(string)
            log.childLogger = r.logger.map(string)
            log.childTimestamp = r.timestamp.map(string)
            log.fields = fields[i] ?? JSONObject()
            return ChildLogEntry(time: s.time, level: s.level, message: string(r.message), log: log)
        }

        /// When line `i` was written (what the tree orders it by).
        public func time(at i: Int) -> Int64 { stored[i].time }

        /// What the text tree shows of line `i`: the level (the child's own, else airun's) and
        /// the message, as bytes of valid UTF-8, without a String.
        /// (Not generic: called across modules for each line, a generic one is not specialised.)
        public func withShownText(at i: Int, _ body: (_ level: UnsafeBufferPointer<UInt8>, _ message: UnsafeBufferPointer<UInt8>) -> Void) {
            let s = stored[i]
            let r = ranges(s)
            return text.withUnsafeBufferPointer { all in
                let message = UnsafeBufferPointer(rebasing: all[r.message])
                if let level = r.level { return body(UnsafeBufferPointer(rebasing: all[level]), message) }
                let literal = s.level.literal
                return body(UnsafeBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount), message)
            }
        }

        /// Where a line's texts are in `text`.
        private func ranges(_ s: Stored) -> (message: Range<Int>, level: Range<Int>?, logger: Range<Int>?, timestamp: Range<Int>?) {
            var at = s.start
            func next(_ length: Int32) -> Range<Int>? {
                guard length >= 0 else { return nil }
                defer { at += Int(length) }
                return at..<(at + Int(length))
            }
            let message = next(s.lengths.message) ?? at..<at
            let level = next(s.lengths.level), logger = next(s.lengths.logger)
            return (message, level, logger, next(s.lengths.timestamp))
        }

        mutating func append(time: Int64, level: RecordLevel, attempt: Int64, message: Text, childLevel: Text?, childLogger: Text?,
                             childTimestamp: Text?, fields: JSONObject = JSONObject()) {
            if !fields.members.isEmpty { self.fields[stored.count] = fields }
            let start = text.count
            let lengths = (put(message), put(childLevel), put(childLogger), put(childTimestamp))
            stored.append(Stored(time: time, attempt: attempt, start: start, lengths: lengths, level: level))
        }

        /// Appends a text's UTF-8 and says how long it is (-1 for none). Bytes that are not
        /// UTF-8 are kept as the String the decoder makes of them would hold them (repaired).
        private mutating func put(_ t: Text?) -> Int32 {
            let before = text.count
            switch t {
            case nil: return -1
            case .string(var s): s.withUTF8 { text.append(contentsOf: $0) }
            case .bytes(let b):
                if allASCII(b) { text.append(contentsOf: b) } else { text.append(contentsOf: String(decoding: b, as: UTF8.self).utf8) }
            }
            // A record line is at most 64 MiB, so a text (repaired, at most three times that) fits.
            return Int32(clamping: text.count - before)
        }

        private func string(_ range: Range<Int>) -> String { String(decoding: text[range], as: UTF8.self) }
    }
}
