/// The keys a reader wants from each line, prepared once: their bytes, and a small table that
/// finds a key's index from its length and first and last bytes, so a member passed over costs
/// one probe rather than a comparison with every wanted key.
public struct JSONProjection: Sendable {
    public let keys: [String]
    private let table: KeyTable
    /// Every key of the lines, in the order their writer writes them (see `init`).
    public let layout: [String]
    private let expectedMembers: MemberLayout
    /// Values passed over are checked as the whole parser reads them (`JSONParser.checkValue`),
    /// not only skipped: for a reader that must take exactly the lines the parser takes, where
    /// another may be laxer about what it does not read (`stats`).
    public let checksSkippedValues: Bool

    /// `layout`: every key of the lines read, wanted or not, in the order their writer writes
    /// them (a record's, `Record.line`). A line that follows it has each key found by one
    /// comparison with the expected `"key":`; from a member that departs from it on, keys are
    /// looked up as without one.
    public init(_ keys: [String], layout: [String] = [], checksSkippedValues: Bool = false) {
        self.keys = keys
        self.checksSkippedValues = checksSkippedValues
        table = KeyTable(keys.map { Array($0.utf8) })
        self.layout = layout
        expectedMembers = MemberLayout(layout.map { key in (Array("\"\(key)\":".utf8), keys.firstIndex(of: key)) })
    }

    /// The index of the key spelled by `key`, or nil.
    @inline(__always) func index(of key: UnsafeBufferPointer<UInt8>) -> Int? { table.index(of: key) }

    /// Whether `bytes` at `at` start with the `next`th member's `"key":` of the layout: then its
    /// length and the key's index among `keys` (nil for a key not wanted).
    @inline(__always) func expected(_ next: Int, in bytes: UnsafeBufferPointer<UInt8>, at: Int) -> (length: Int, index: Int?)? {
        expectedMembers.match(next, bytes, at)
    }

    func index(of key: String) -> Int? {
        var key = key
        return key.withUTF8 { index(of: $0) }
    }
}

/// A layout's `"key":` prefixes end to end, with the wanted index of each (-1: not wanted).
private final class MemberLayout: @unchecked Sendable {  // immutable after init
    private let count: Int
    private let bytes: UnsafeMutablePointer<UInt8>
    private let members: UnsafeMutablePointer<(start: Int, count: Int, index: Int)>

    init(_ prefixes: [([UInt8], Int?)]) {
        count = prefixes.count
        bytes = .allocate(capacity: max(prefixes.reduce(0) { $0 + $1.0.count }, 1))
        members = .allocate(capacity: max(count, 1))
        var at = 0
        for (i, (prefix, index)) in prefixes.enumerated() {
            (bytes + at).initialize(from: prefix, count: prefix.count)
            (members + i).initialize(to: (at, prefix.count, index ?? -1))
            at += prefix.count
        }
    }

    deinit {
        bytes.deallocate()
        members.deallocate()
    }

    @inline(__always) func match(_ next: Int, _ line: UnsafeBufferPointer<UInt8>, _ at: Int) -> (length: Int, index: Int?)? {
        guard next < count, let base = line.baseAddress else { return nil }
        let m = members[next]
        guard at + m.count <= line.count else { return nil }
        guard sameBytes(UnsafeRawPointer(bytes + m.start), UnsafeRawPointer(base + at), count: m.count) else { return nil }
        return (m.count, m.index < 0 ? nil : m.index)
    }
}

/// The keys' bytes end to end and the probe table, allocated once for a projection's life (a
/// reader looks a key up for every member of every line: no array is touched for it).
private final class KeyTable: @unchecked Sendable {  // immutable after init
    private static let slotCount = 256
    private let count: Int
    private let bytes: UnsafeMutablePointer<UInt8>
    /// Each key's start in `bytes` and its length.
    private let spans: UnsafeMutablePointer<(start: Int, count: Int)>
    /// Open addressing: a key's index + 1, 0 for an empty slot. Only the first half of the slot
    /// count of keys go in (a probe must meet an empty slot); more are found by a scan.
    private let slots: UnsafeMutablePointer<UInt16>

    init(_ keys: [[UInt8]]) {
        count = keys.count
        let total = keys.reduce(0) { $0 + $1.count }
        bytes = .allocate(capacity: max(total, 1))
        spans = .allocate(capacity: max(count, 1))
        slots = .allocate(capacity: Self.slotCount)
        slots.initialize(repeating: 0, count: Self.slotCount)
        var at = 0
        for (i, k) in keys.enumerated() {
            (bytes + at).initialize(from: k, count: k.count)
            (spans + i).initialize(to: (at, k.count))
            at += k.count
            guard i < Self.slotCount / 2 else { continue }
            var s = Self.hash(count: k.count, first: k.first ?? 0, last: k.last ?? 0)
            while slots[s] != 0 { s = (s + 1) & (Self.slotCount - 1) }
            slots[s] = UInt16(i + 1)
        }
    }

    deinit {
        bytes.deallocate()
        spans.deallocate()
        slots.deallocate()
    }

    @inline(__always) private static func hash(count: Int, first: UInt8, last: UInt8) -> Int {
        (count &* 31 &+ Int(first) &* 7 &+ Int(last)) & (slotCount - 1)
    }

    @inline(__always) private func matches(_ i: Int, _ key: UnsafeBufferPointer<UInt8>) -> Bool {
        let span = spans[i]
        guard span.count == key.count, let k = key.baseAddress else { return span.count == key.count }
        return sameBytes(UnsafeRawPointer(bytes + span.start), UnsafeRawPointer(k), count: span.count)
    }

    @inline(__always) func index(of key: UnsafeBufferPointer<UInt8>) -> Int? {
        let n = key.count
        var s = Self.hash(count: n, first: n > 0 ? key[0] : 0, last: n > 0 ? key[n - 1] : 0)
        while slots[s] != 0 {
            let i = Int(slots[s]) - 1
            if matches(i, key) { return i }
            s = (s + 1) & (Self.slotCount - 1)
        }
        if count > Self.slotCount / 2 {
            for i in (Self.slotCount / 2)..<count where matches(i, key) { return i }
        }
        return nil
    }
}

/// Runs of a layout's members that a writer repeats byte for byte from line to line (the ids of a
/// trace on every log line of one attempt), each with its bytes as the last line spelled them:
/// `JSONParser.forEachMember(of:in:remembering:…)` passes over a run that is the same again with
/// one comparison instead of reading its members one by one.
public struct RepeatedMembers: Sendable {
    /// Each run, as a range of indices into the projection's layout.
    public let runs: [Range<Int>]
    private var last: [[UInt8]]
    /// The run that starts at each layout index, or -1.
    private let startingAt: [Int]

    public init(runs: [Range<Int>] = []) {
        self.runs = runs
        last = Array(repeating: [], count: runs.count)
        var starts = Array(repeating: -1, count: runs.map(\.lowerBound).max().map { $0 + 1 } ?? 0)
        for (k, run) in runs.enumerated() where !run.isEmpty { starts[run.lowerBound] = k }
        startingAt = starts
    }

    @inline(__always) func run(startingAt index: Int) -> Int? {
        index < startingAt.count && startingAt[index] >= 0 ? startingAt[index] : nil
    }

    /// The length of run `k`'s remembered bytes when `bytes` at `at` spell them, and its last
    /// value ends there too (`"attempt":1` is no run of a line that goes on `2,`).
    func matches(_ k: Int, _ bytes: UnsafeBufferPointer<UInt8>, at: Int) -> Int? {
        last[k].withUnsafeBufferPointer { run in
            guard let a = run.baseAddress, let b = bytes.baseAddress, !run.isEmpty, at + run.count < bytes.count else { return nil }
            let after = bytes[at + run.count]
            guard after == UInt8(ascii: ",") || after == UInt8(ascii: "}") || after == 0x20 || after == 0x09 || after == 0x0A || after == 0x0D
            else { return nil }
            return sameBytes(UnsafeRawPointer(a), UnsafeRawPointer(b + at), count: run.count) ? run.count : nil
        }
    }

    mutating func remember(_ k: Int, _ bytes: UnsafeBufferPointer<UInt8>) {
        last[k].removeAll(keepingCapacity: true)
        last[k].append(contentsOf: bytes)
    }
}

extension JSONParser {
    /// Visits the members of the bytes' top-level object whose keys the projection names, in the
    /// order written: `visit` gets the key's index in the projection and the parser at the value,
    /// reads the value with one `read…` method or leaves it (a value left is skipped), and returns
    /// whether to go on. Other members are checked for shape and skipped without being built. For
    /// readers of many lines that want a few fields each, without a `JSONObject` per line.
    /// - Important: `visit` reads at most one value: the methods it may call are the `read…` ones.
    public static func forEachMember(of bytes: UnsafeBufferPointer<UInt8>, in projection: JSONProjection,
                                     _ visit: (Int, inout JSONParser) throws(JSONSyntaxError) -> Bool) throws(JSONSyntaxError) {
        // No runs: the bookkeeping for them folds away where `members` is inlined (`stats`' reader
        // of every line paid 12 % more when it went through an empty `RepeatedMembers`).
        try members(of: bytes, in: projection, remembering: nil, visit, run: { _, _ in true })
    }

    /// `forEachMember`, passing over each run of `repeated` that the bytes spell exactly as the
    /// last line read with it did. `run` is told of each run: `run(k, true)` where a run was
    /// passed over (the caller uses again what it read from it; it returns whether to go on),
    /// `run(k, false)` where one was read member by member and is remembered (the caller keeps
    /// what it read from it: nothing else has been visited yet that could have changed that).
    public static func forEachMember(of bytes: UnsafeBufferPointer<UInt8>, in projection: JSONProjection, remembering repeated: inout RepeatedMembers,
                                     _ visit: (Int, inout JSONParser) throws(JSONSyntaxError) -> Bool,
                                     run: (Int, _ replayed: Bool) -> Bool) throws(JSONSyntaxError) {
        try withUnsafeMutablePointer(to: &repeated) { r throws(JSONSyntaxError) in try members(of: bytes, in: projection, remembering: r, visit, run: run) }
    }

    /// Both `forEachMember`s: `repeated` is nil for a reader that remembers no runs.
    @inline(__always)
    private static func members(of bytes: UnsafeBufferPointer<UInt8>, in projection: JSONProjection, remembering repeated: UnsafeMutablePointer<RepeatedMembers>?,
                                _ visit: (Int, inout JSONParser) throws(JSONSyntaxError) -> Bool,
                                run: (Int, _ replayed: Bool) -> Bool) throws(JSONSyntaxError) {
        var parser = JSONParser(bytes)
        parser.checksSkippedValues = projection.checksSkippedValues
        parser.skipSpaces()
        guard parser.p < parser.end, parser.bytes[parser.p] == UInt8(ascii: "{") else { throw parser.error("expected an object") }
        parser.p += 1
        parser.skipSpaces()
        if parser.p < parser.end, parser.bytes[parser.p] == UInt8(ascii: "}") {
            parser.p += 1
            return try parser.endOfLine()
        }
        // The layout's member expected next; past its end once a member departs from it.
        var next = 0
        // The run being read member by member, and where its first key began.
        var reading: (run: Int, start: Int)?
        while true {
            parser.skipSpaces()
            guard parser.p < parser.end, parser.bytes[parser.p] == UInt8(ascii: "\"") else { throw parser.error("expected a key") }
            if let repeated, let k = repeated.pointee.run(startingAt: next) {
                if let length = repeated.pointee.matches(k, parser.bytes, at: parser.p) {
                    parser.p += length
                    next = repeated.pointee.runs[k].upperBound
                    guard run(k, true) else { return }
                    guard try parser.anotherMember() else { return try parser.endOfLine() }
                    continue
                }
                reading = (k, parser.p)
            }
            let index: Int?
            if let member = projection.expected(next, in: parser.bytes, at: parser.p) {
                // `"key":` as the writer writes it: no escape, no space, the key it expects.
                parser.p += member.length
                index = member.index
                next += 1
            } else {
                next = .max
                // The key is looked up as bytes (no String made for the keys passed over); one with
                // escapes is decoded first.
                let keyStart = parser.p + 1
                let (keyEnd, escaped) = parser.keyEnd(from: keyStart)
                guard keyEnd < parser.end else { throw JSONSyntaxError(offset: keyEnd, message: "unterminated string") }
                if escaped {
                    index = projection.index(of: try parser.string())
                } else {
                    parser.p = keyEnd + 1
                    index = projection.index(of: UnsafeBufferPointer(rebasing: parser.bytes[keyStart..<keyEnd]))
                }
                parser.skipSpaces()
                guard parser.p < parser.end, parser.bytes[parser.p] == UInt8(ascii: ":") else { throw parser.error("expected ':'") }
                parser.p += 1
            }
            parser.skipSpaces()
            if let index {
                let before = parser.p
                guard try visit(index, &parser) else { return }
                if parser.p == before { try parser.skipValue() }
            } else {
                try parser.skipValue()
            }
            if let r = reading, let repeated, next >= repeated.pointee.runs[r.run].upperBound {
                // Still in the layout's order (`next` is .max once it departs): the run was read whole.
                if next == repeated.pointee.runs[r.run].upperBound {
                    repeated.pointee.remember(r.run, UnsafeBufferPointer(rebasing: parser.bytes[r.start..<parser.p]))
                    _ = run(r.run, false)
                }
                reading = nil
            }
            guard try parser.anotherMember() else { return try parser.endOfLine() }
        }
    }

    /// After the line's object: nothing but spaces, where the parser's checks are kept
    /// (`checksSkippedValues`); a reader that is laxer does not look.
    private mutating func endOfLine() throws(JSONSyntaxError) {
        guard checksSkippedValues else { return }
        skipSpaces()
        guard p == end else { throw error("text after the value") }
    }

    /// Where the key starting at `start` ends (its closing quote, or `end`), and whether it has
    /// an escape or a control character before that (then it is decoded, or the character
    /// reported). A word at a time: the first special byte of a word is exact, and a key's end
    /// is usually in its first or second word.
    @inline(__always) private func keyEnd(from start: Int) -> (Int, escaped: Bool) {
        var i = start
        if let base = bytes.baseAddress {
            let raw = UnsafeRawPointer(base)
            while i + 8 <= end {
                let m = Self.special(raw.loadUnaligned(fromByteOffset: i, as: UInt64.self))
                if m == 0 { i += 8; continue }
                i += m.trailingZeroBitCount >> 3
                if bytes[i] == UInt8(ascii: "\"") { return (i, false) }
                break
            }
        }
        var escaped = false
        while i < end, bytes[i] != UInt8(ascii: "\"") {
            let c = bytes[i]
            if c == UInt8(ascii: "\\") || c < 0x20 { escaped = true }
            i += c == UInt8(ascii: "\\") ? 2 : 1
        }
        return (min(i, end), escaped)
    }

    // The reads of a visited value. Each consumes the whole value; one of another type than asked
    // for is skipped and reads as nil, as `JSONObject`'s typed reads do (a field that changed type
    // in another version degrades to a missing one).

    /// The value, built.
    public mutating func readValue() throws(JSONSyntaxError) -> JSONValue { try value(depth: 1) }

    /// A string value; nil for any other.
    public mutating func readString() throws(JSONSyntaxError) -> String? {
        guard p < end, bytes[p] == UInt8(ascii: "\"") else { try skipValue(); return nil }
        return try string()
    }

    /// A string value's UTF-8 handed to `body` without a copy where it has no escapes; nil for a
    /// value of another type.
    public mutating func readString<R>(_ body: (UnsafeBufferPointer<UInt8>) -> R) throws(JSONSyntaxError) -> R? {
        guard p < end, bytes[p] == UInt8(ascii: "\"") else { try skipValue(); return nil }
        let (afterClose, escaped) = try Self.stringEndAndEscapes(bytes, from: p + 1)
        let close = afterClose - 1
        guard escaped else {
            defer { p = close + 1 }
            return body(UnsafeBufferPointer(rebasing: bytes[(p + 1)..<close]))
        }
        var decoded = try string()
        return decoded.withUTF8(body)
    }

    /// Whether the value is the string `text` (consumed either way).
    public mutating func readString(equalTo text: StaticString) throws(JSONSyntaxError) -> Bool {
        try readString { bytesEqual($0, text) } ?? false
    }

    /// A number as a Double (an integer too); nil for any other value.
    public mutating func readDouble() throws(JSONSyntaxError) -> Double? {
        guard atNumber else { try skipValue(); return nil }
        switch try number() {
        case .integer(let n): return Double(n)
        case .number(let d): return d
        default: return nil
        }
    }

    /// An integer, or a number that is one exactly; nil for any other value.
    public mutating func readInteger() throws(JSONSyntaxError) -> Int64? {
        guard atNumber else { try skipValue(); return nil }
        switch try number() {
        case .integer(let n): return n
        case .number(let d) where d == d.rounded() && abs(d) < 9e15: return Int64(d)
        default: return nil
        }
    }

    private var atNumber: Bool { p < end && (bytes[p] == UInt8(ascii: "-") || (0x30...0x39).contains(bytes[p])) }

    /// A boolean; nil for any other value.
    public mutating func readBool() throws(JSONSyntaxError) -> Bool? {
        guard p < end, bytes[p] == UInt8(ascii: "t") || bytes[p] == UInt8(ascii: "f") else { try skipValue(); return nil }
        if case .bool(let b) = try value(depth: Self.maximumDepth) { return b }
        return nil
    }

    /// An object, built; nil for any other value.
    public mutating func readObject() throws(JSONSyntaxError) -> JSONObject? {
        guard p < end, bytes[p] == UInt8(ascii: "{") else { try skipValue(); return nil }
        if case .object(let o) = try value(depth: 1) { return o }
        return nil
    }

    /// The first string in an array (a command's program in `command_args`), the rest passed
    /// over unbuilt; nil for an array without one, or another value.
    public mutating func readFirstString() throws(JSONSyntaxError) -> String? {
        guard p < end, bytes[p] == UInt8(ascii: "[") else { try skipValue(); return nil }
        p += 1
        var first: String?
        skipSpaces()
        if p < end, bytes[p] == UInt8(ascii: "]") { p += 1; return nil }
        repeat {
            skipSpaces()
            if first == nil, p < end, bytes[p] == UInt8(ascii: "\"") { first = try string() } else { try skipValue(depth: 2) }
        } while try anotherElement()
        return first
    }
}
