/// A JSON value as the record reader sees it. Numbers keep whether they were written as integers,
/// so an `Int64` field round-trips exactly.
public enum JSONValue: Equatable, Sendable {
    case null
    case bool(Bool)
    case integer(Int64)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object(JSONObject)
}

/// A JSON object: its members in order, looked up by key (the last of a repeated key wins).
public struct JSONObject: Equatable, Sendable {
    public struct Member: Equatable, Sendable {
        public var key: String
        public var value: JSONValue
    }
    public private(set) var members: [Member] = []
    /// Built once an object has more members than a scan is cheaper for (a projection keeps a few).
    private var index: [String: Int]?

    public init() {}

    public mutating func append(_ key: String, _ value: JSONValue) {
        if index == nil && members.count == 16 {
            index = Dictionary(members.enumerated().map { ($0.element.key, $0.offset) }, uniquingKeysWith: { _, later in later })
        }
        index?[key] = members.count
        members.append(Member(key: key, value: value))
    }

    public subscript(key: String) -> JSONValue? {
        if let index { return index[key].map { members[$0].value } }
        // The last of a repeated key wins, as with the index.
        return members.last { $0.key == key }?.value
    }
    public var keys: [String] { members.map(\.key) }

    public static func == (a: JSONObject, b: JSONObject) -> Bool { a.members == b.members }

    // Typed reads: a missing key, `null` or a value of another type all read as nil, so a record
    // from another version (a field that changed type) degrades to a missing field.
    public func string(_ key: String) -> String? {
        if case .string(let s)? = self[key] { return s }
        return nil
    }

    public func int(_ key: String) -> Int64? {
        switch self[key] {
        case .integer(let n)?: return n
        case .number(let d)? where d == d.rounded() && abs(d) < 9e15: return Int64(d)
        default: return nil
        }
    }

    public func double(_ key: String) -> Double? {
        switch self[key] {
        case .integer(let n)?: return Double(n)
        case .number(let d)?: return d
        default: return nil
        }
    }

    public func bool(_ key: String) -> Bool? {
        if case .bool(let b)? = self[key] { return b }
        return nil
    }

    public func strings(_ key: String) -> [String]? {
        guard case .array(let items)? = self[key] else { return nil }
        return items.compactMap { if case .string(let s) = $0 { return s } else { return nil } }
    }

    public func object(_ key: String) -> JSONObject? {
        if case .object(let o)? = self[key] { return o }
        return nil
    }
}

/// The keys a projection keeps, with their bytes, prepared once.
public struct JSONProjection: Sendable {
    public let keys: [String]
    let keyBytes: [[UInt8]]
    public init(_ keys: [String]) {
        self.keys = keys
        keyBytes = keys.map { Array($0.utf8) }
    }
}

/// Why a line is not JSON, with the byte offset where the reader gave up.
public struct JSONSyntaxError: Error, Equatable, Sendable {
    public var offset: Int
    public var message: String
}

/// A byte-level JSON parser for one record line: no Foundation, bounded nesting (a hostile line
/// cannot exhaust the stack), precise errors. Strings are decoded from UTF-8 with escapes; invalid
/// UTF-8 becomes U+FFFD, as the writer would have written it.
public struct JSONParser {
    /// The bytes, borrowed for the parse: values made from them are copies.
    private let bytes: UnsafeBufferPointer<UInt8>
    private var p: Int
    private let end: Int
    public static let maximumDepth = 64

    private init(_ bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
        p = 0
        end = bytes.count
    }

    /// The one value the bytes hold (surrounding spaces allowed).
    public static func parse(_ bytes: ArraySlice<UInt8>) throws(JSONSyntaxError) -> JSONValue {
        try bytes.withUnsafeBufferPointer { b throws(JSONSyntaxError) in
            var parser = JSONParser(b)
            let value = try parser.value(depth: 0)
            parser.skipSpaces()
            guard parser.p == parser.end else { throw parser.error("text after the value") }
            return value
        }
    }

    public static func parseObject(_ bytes: ArraySlice<UInt8>, keeping keys: [String]) throws(JSONSyntaxError) -> JSONObject {
        try bytes.withUnsafeBufferPointer { b throws(JSONSyntaxError) in try parseObject(b, keeping: keys) }
    }

    /// Whether a projection goes on after a kept member: a reader that learns from `event` that
    /// it does not want the line stops there, without looking at the rest.
    public typealias Continuation = (String, JSONValue) -> Bool

    /// The top-level object of the bytes with only the members named in `keys`; the other values
    /// are checked for shape and skipped without being built (a 64 KiB output tail is passed over
    /// by a byte scan). For readers that need a few fields of many records.
    public static func parseObject(_ bytes: UnsafeBufferPointer<UInt8>, keeping keys: [String],
                                   continuing: Continuation? = nil) throws(JSONSyntaxError) -> JSONObject {
        try parseObject(bytes, keeping: JSONProjection(keys), continuing: continuing)
    }

    /// The same with the keys prepared once (`JSONProjection`), for a reader of many lines.
    public static func parseObject(_ bytes: UnsafeBufferPointer<UInt8>, keeping projection: JSONProjection,
                                   continuing: Continuation? = nil) throws(JSONSyntaxError) -> JSONObject {
        var parser = JSONParser(bytes)
        let keys = projection.keys, keyBytes = projection.keyBytes
        parser.skipSpaces()
        guard parser.p < parser.end, parser.bytes[parser.p] == UInt8(ascii: "{") else { throw parser.error("expected an object") }
        parser.p += 1
        var object = JSONObject()
        parser.skipSpaces()
        if parser.p < parser.end, parser.bytes[parser.p] == UInt8(ascii: "}") { return object }
        while true {
            parser.skipSpaces()
            guard parser.p < parser.end, parser.bytes[parser.p] == UInt8(ascii: "\"") else { throw parser.error("expected a key") }
            // The key is compared as bytes (no String made for the keys passed over); one with
            // escapes is decoded first.
            let keyStart = parser.p + 1
            let keyEnd = try Self.stringEnd(parser.bytes, from: keyStart) - 1
            var kept: String?
            if parser.bytes[keyStart..<keyEnd].contains(UInt8(ascii: "\\")) {
                let key = try parser.string()
                kept = keys.contains(key) ? key : nil
            } else {
                parser.p = keyEnd + 1
                kept = { (b: UnsafeBufferPointer<UInt8>) -> String? in
                    let n = keyEnd - keyStart
                    for (i, k) in keyBytes.enumerated() where k.count == n && k[0] == b[keyStart] {
                        var j = 1
                        while j < n && k[j] == b[keyStart + j] { j += 1 }
                        if j == n { return keys[i] }
                    }
                    return nil
                }(parser.bytes)
            }
            parser.skipSpaces()
            guard parser.p < parser.end, parser.bytes[parser.p] == UInt8(ascii: ":") else { throw parser.error("expected ':'") }
            parser.p += 1
            if let key = kept {
                let value = try parser.value(depth: 1)
                object.append(key, value)
                if let continuing, !continuing(key, value) { return object }
            } else {
                try parser.skipValue()
            }
            parser.skipSpaces()
            guard parser.p < parser.end else { throw parser.error("unexpected end in an object") }
            if parser.bytes[parser.p] == UInt8(ascii: ",") { parser.p += 1; continue }
            guard parser.bytes[parser.p] == UInt8(ascii: "}") else { throw parser.error("expected ',' or '}'") }
            return object
        }
    }

    /// Skips one value: a string by scanning for its closing quote, an object or array by
    /// counting brackets outside strings (nesting bounded as in `value`), a literal or number by
    /// its characters.
    private mutating func skipValue() throws(JSONSyntaxError) {
        skipSpaces()
        guard p < end else { throw error("unexpected end") }
        let first = bytes[p]
        if first == UInt8(ascii: "\"") { p = try Self.stringEnd(bytes, from: p + 1); return }
        if first == UInt8(ascii: "{") || first == UInt8(ascii: "[") {
            p = try { (b: UnsafeBufferPointer<UInt8>) throws(JSONSyntaxError) -> Int in
                var depth = 0
                var i = p
                while i < b.count {
                    switch b[i] {
                    case UInt8(ascii: "\""): i = try Self.stringEnd(b, from: i + 1); continue
                    case UInt8(ascii: "{"), UInt8(ascii: "["):
                        depth += 1
                        guard depth <= Self.maximumDepth else { throw JSONSyntaxError(offset: i, message: "nested deeper than \(Self.maximumDepth)") }
                    case UInt8(ascii: "}"), UInt8(ascii: "]"):
                        depth -= 1
                        if depth == 0 { return i + 1 }
                    default: break
                    }
                    i += 1
                }
                throw JSONSyntaxError(offset: i, message: "unexpected end in a value")
            }(bytes)
            return
        }
        _ = try value(depth: Self.maximumDepth)  // a literal or a number: short, parsed
    }

    /// The index after the closing quote of a string whose content starts at `from`. Eight bytes
    /// at a time while none is a quote, a backslash or a control character: output tails of 64 KiB
    /// are most of a record file's bytes, and readers pass over them. (SIMD16 comparisons were
    /// measured 40 times slower here: they do not lower to vector instructions.)
    private static func stringEnd(_ b: UnsafeBufferPointer<UInt8>, from start: Int) throws(JSONSyntaxError) -> Int {
        var i = start
        if let base = b.baseAddress {
            let raw = UnsafeRawPointer(base)
            // A byte is special if it is a quote, a backslash, or below 0x20: sixteen at once, in
            // two words and one branch, then eight.
            while i + 16 <= b.count,
                  !isSpecial(raw.loadUnaligned(fromByteOffset: i, as: UInt64.self) , raw.loadUnaligned(fromByteOffset: i + 8, as: UInt64.self)) {
                i += 16
            }
            while i + 8 <= b.count, !isSpecial(raw.loadUnaligned(fromByteOffset: i, as: UInt64.self), 0x2020_2020_2020_2020) { i += 8 }
        }
        while i < b.count {
            let c = b[i]
            if c == UInt8(ascii: "\"") { return i + 1 }
            if c == UInt8(ascii: "\\") { i += 2; continue }
            if c < 0x20 { throw JSONSyntaxError(offset: i, message: "control character in a string") }
            i += 1
            // Past an escape or a stop, back to words when the bytes allow.
            if let base = b.baseAddress {
                let raw = UnsafeRawPointer(base)
                while i + 16 <= b.count,
                      !isSpecial(raw.loadUnaligned(fromByteOffset: i, as: UInt64.self), raw.loadUnaligned(fromByteOffset: i + 8, as: UInt64.self)) {
                    i += 16
                }
            }
        }
        throw JSONSyntaxError(offset: i, message: "unterminated string")
    }

    /// Whether a byte of `w` is a quote (0x22), a backslash (0x5C) or below 0x20: the SWAR tests
    /// "has a zero byte" on `w` xor the byte, and "has a byte less than n".
    @inline(__always) private static func isSpecial(_ a: UInt64, _ b: UInt64) -> Bool {
        (special(a) | special(b)) != 0
    }

    /// The high bit set in the bytes of `w` that may be special (exact as to whether any is).
    @inline(__always) private static func special(_ w: UInt64) -> UInt64 {
        let ones: UInt64 = 0x0101_0101_0101_0101, highs: UInt64 = 0x8080_8080_8080_8080
        let quote = w ^ (ones &* 0x22), backslash = w ^ (ones &* 0x5C)
        return ((quote &- ones) & ~quote | (backslash &- ones) & ~backslash | (w &- ones &* 0x20) & ~w) & highs
    }

    private func error(_ message: String) -> JSONSyntaxError { JSONSyntaxError(offset: p, message: message) }

    private mutating func skipSpaces() {
        while p < end, bytes[p] == 0x20 || bytes[p] == 0x09 || bytes[p] == 0x0A || bytes[p] == 0x0D { p += 1 }
    }

    private mutating func literal(_ word: String, _ value: JSONValue) throws(JSONSyntaxError) -> JSONValue {
        let w = word.utf8
        guard end - p >= w.count, bytes[p..<(p + w.count)].elementsEqual(w) else { throw error("unknown literal") }
        p += w.count
        return value
    }

    private mutating func value(depth: Int) throws(JSONSyntaxError) -> JSONValue {
        skipSpaces()
        guard p < end else { throw error("unexpected end") }
        switch bytes[p] {
        case UInt8(ascii: "{"):
            guard depth < Self.maximumDepth else { throw error("nested deeper than \(Self.maximumDepth)") }
            return .object(try object(depth: depth + 1))
        case UInt8(ascii: "["):
            guard depth < Self.maximumDepth else { throw error("nested deeper than \(Self.maximumDepth)") }
            return .array(try array(depth: depth + 1))
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): return try literal("true", .bool(true))
        case UInt8(ascii: "f"): return try literal("false", .bool(false))
        case UInt8(ascii: "n"): return try literal("null", .null)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try number()
        default: throw error("unexpected character")
        }
    }

    private mutating func object(depth: Int) throws(JSONSyntaxError) -> JSONObject {
        p += 1
        var object = JSONObject()
        skipSpaces()
        if p < end, bytes[p] == UInt8(ascii: "}") { p += 1; return object }
        while true {
            skipSpaces()
            guard p < end, bytes[p] == UInt8(ascii: "\"") else { throw error("expected a key") }
            let key = try string()
            skipSpaces()
            guard p < end, bytes[p] == UInt8(ascii: ":") else { throw error("expected ':'") }
            p += 1
            object.append(key, try value(depth: depth))
            skipSpaces()
            guard p < end else { throw error("unexpected end in an object") }
            if bytes[p] == UInt8(ascii: ",") { p += 1; continue }
            guard bytes[p] == UInt8(ascii: "}") else { throw error("expected ',' or '}'") }
            p += 1
            return object
        }
    }

    private mutating func array(depth: Int) throws(JSONSyntaxError) -> [JSONValue] {
        p += 1
        var items: [JSONValue] = []
        skipSpaces()
        if p < end, bytes[p] == UInt8(ascii: "]") { p += 1; return items }
        while true {
            items.append(try value(depth: depth))
            skipSpaces()
            guard p < end else { throw error("unexpected end in an array") }
            if bytes[p] == UInt8(ascii: ",") { p += 1; continue }
            guard bytes[p] == UInt8(ascii: "]") else { throw error("expected ',' or ']'") }
            p += 1
            return items
        }
    }

    private mutating func hex4() throws(JSONSyntaxError) -> UInt32 {
        guard end - p >= 4 else { throw error("short \\u escape") }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let b = bytes[p]
            let d: UInt32 = switch b {
            case 0x30...0x39: UInt32(b - 0x30)
            case 0x41...0x46: UInt32(b - 0x41 + 10)
            case 0x61...0x66: UInt32(b - 0x61 + 10)
            default: throw error("bad \\u escape")
            }
            v = v << 4 | d
            p += 1
        }
        return v
    }

    private mutating func string() throws(JSONSyntaxError) -> String {
        p += 1
        // Most strings have no escapes: made straight from the bytes.
        var q = p
        while q < end, bytes[q] != UInt8(ascii: "\""), bytes[q] != UInt8(ascii: "\\"), bytes[q] >= 0x20 { q += 1 }
        if q < end, bytes[q] == UInt8(ascii: "\"") {
            defer { p = q + 1 }
            return String(decoding: bytes[p..<q], as: UTF8.self)
        }
        var out: [UInt8] = []
        while true {
            guard p < end else { throw error("unterminated string") }
            let b = bytes[p]
            if b == UInt8(ascii: "\"") { p += 1; break }
            if b < 0x20 { throw error("control character in a string") }
            guard b == UInt8(ascii: "\\") else { out.append(b); p += 1; continue }
            p += 1
            guard p < end else { throw error("unterminated escape") }
            let e = bytes[p]
            p += 1
            switch e {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "u"):
                var scalar = try hex4()
                if (0xD800..<0xDC00).contains(scalar), end - p >= 6, bytes[p] == UInt8(ascii: "\\"), bytes[p + 1] == UInt8(ascii: "u") {
                    let save = p
                    p += 2
                    let low = try hex4()
                    if (0xDC00..<0xE000).contains(low) {
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    } else {
                        p = save
                    }
                }
                out += Array(String(Unicode.Scalar(scalar).map(Character.init) ?? "\u{FFFD}").utf8)
            default: throw error("unknown escape")
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    private mutating func number() throws(JSONSyntaxError) -> JSONValue {
        let start = p
        if bytes[p] == UInt8(ascii: "-") { p += 1 }
        var integral = true
        while p < end {
            let b = bytes[p]
            if (0x30...0x39).contains(b) { p += 1; continue }
            if b == UInt8(ascii: ".") || b == UInt8(ascii: "e") || b == UInt8(ascii: "E") || b == UInt8(ascii: "+")
                || (b == UInt8(ascii: "-") && p > start) {
                integral = false
                p += 1
                continue
            }
            break
        }
        let text = String(decoding: bytes[start..<p], as: UTF8.self)
        guard p - start <= 64 else { throw error("number too long") }
        if integral, let n = Int64(text) { return .integer(n) }
        guard let d = Double(text), d.isFinite else { throw error("not a number") }
        return .number(d)
    }
}
