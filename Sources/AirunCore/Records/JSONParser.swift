/// A byte-level JSON parser for one record line: no Foundation, bounded nesting (a hostile line
/// cannot exhaust the stack), precise errors. Strings are decoded from UTF-8 with escapes; invalid
/// UTF-8 becomes U+FFFD, as the writer would have written it.
public struct JSONParser {
    /// The bytes, borrowed for the parse: values made from them are copies.
    let bytes: UnsafeBufferPointer<UInt8>
    var p: Int
    let end: Int
    /// Values passed over are read as `value(depth:)` reads them, refusing all it refuses (not
    /// only their brackets and strings): for a reader that must take exactly the lines the
    /// whole parser takes (`JSONProjection.checksSkippedValues`).
    var checksSkippedValues = false
    public static let maximumDepth = 64

    init(_ bytes: UnsafeBufferPointer<UInt8>) {
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

    /// Skips one value (at `depth`, as `value(depth:)` counts it): a string by scanning for its
    /// closing quote, an object or array by counting brackets outside strings (nesting bounded as
    /// in `value`), a literal or number by its characters. Or, `checksSkippedValues`, `checkValue`.
    mutating func skipValue(depth: Int = 1) throws(JSONSyntaxError) {
        if checksSkippedValues { return try checkValue(depth: depth) }
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
        if first == UInt8(ascii: "-") || (0x30...0x39).contains(first) { try skipNumber(); return }
        // A literal: checked, not built.
        switch first {
        case UInt8(ascii: "t"): _ = try literal("true", .null)
        case UInt8(ascii: "f"): _ = try literal("false", .null)
        case UInt8(ascii: "n"): _ = try literal("null", .null)
        default: throw error("unexpected character")
        }
    }

    /// Passes over a number, checking its shape (`-`, digits, a fraction, an exponent) without
    /// converting it: most members a reader skips are numbers.
    private mutating func skipNumber() throws(JSONSyntaxError) {
        let start = p
        func digits(_ p: inout Int) -> Int {
            let from = p
            while p < end, (0x30...0x39).contains(bytes[p]) { p += 1 }
            return p - from
        }
        if bytes[p] == UInt8(ascii: "-") { p += 1 }
        guard digits(&p) > 0 else { throw error("not a number") }
        if p < end, bytes[p] == UInt8(ascii: ".") {
            p += 1
            _ = digits(&p)
        }
        if p < end, bytes[p] == UInt8(ascii: "e") || bytes[p] == UInt8(ascii: "E") {
            p += 1
            if p < end, bytes[p] == UInt8(ascii: "+") || bytes[p] == UInt8(ascii: "-") { p += 1 }
            guard digits(&p) > 0 else { throw error("not a number") }
        }
        guard p - start <= 64 else { throw error("number too long") }
    }

    /// The index after the closing quote of a string whose content starts at `from`. Sixteen
    /// bytes at a time while none is a quote, a backslash or a control character (output tails of
    /// 64 KiB are most of a record file's bytes, and readers pass over them); in the word that has
    /// one, straight to it (the lowest special byte a word reports is exact), so a short string
    /// costs a word or two, not a word per byte. (SIMD16 comparisons were measured 40 times slower
    /// here: they do not lower to vector instructions.)
    @inline(__always) static func stringEnd(_ b: UnsafeBufferPointer<UInt8>, from start: Int) throws(JSONSyntaxError) -> Int {
        try stringEndAndEscapes(b, from: start).end
    }

    /// The same, and whether the string has an escape (a reader then decodes it; without one its
    /// bytes are its text).
    static func stringEndAndEscapes(_ b: UnsafeBufferPointer<UInt8>, from start: Int) throws(JSONSyntaxError) -> (end: Int, escaped: Bool) {
        var i = start, escaped = false
        let count = b.count
        while true {
            if let base = b.baseAddress, i + 8 <= count {
                let raw = UnsafeRawPointer(base)
                let first = special(raw.loadUnaligned(fromByteOffset: i, as: UInt64.self))
                if first != 0 {
                    i += first.trailingZeroBitCount >> 3
                } else if i + 16 <= count {
                    let second = special(raw.loadUnaligned(fromByteOffset: i + 8, as: UInt64.self))
                    i += second == 0 ? 16 : 8 + second.trailingZeroBitCount >> 3
                    if second == 0 { continue }
                } else {
                    i += 8
                    continue
                }
            }
            // At a special byte, or in the last seven bytes.
            guard i < count else { throw JSONSyntaxError(offset: count, message: "unterminated string") }
            let c = b[i]
            if c == UInt8(ascii: "\"") { return (i + 1, escaped) }
            if c == UInt8(ascii: "\\") {
                escaped = true
                i += 2
                continue
            }
            if c < 0x20 { throw JSONSyntaxError(offset: i, message: "control character in a string") }
            i += 1
        }
    }

    /// Whether a byte of `w` is a quote (0x22), a backslash (0x5C) or below 0x20: the SWAR tests
    /// "has a zero byte" on `w` xor the byte, and "has a byte less than n".
    @inline(__always) private static func isSpecial(_ a: UInt64, _ b: UInt64) -> Bool {
        (special(a) | special(b)) != 0
    }

    /// The high bit set in the bytes of `w` that may be special (exact as to whether any is).
    @inline(__always) static func special(_ w: UInt64) -> UInt64 {
        let ones: UInt64 = 0x0101_0101_0101_0101, highs: UInt64 = 0x8080_8080_8080_8080
        let quote = w ^ (ones &* 0x22), backslash = w ^ (ones &* 0x5C)
        return ((quote &- ones) & ~quote | (backslash &- ones) & ~backslash | (w &- ones &* 0x20) & ~w) & highs
    }

    func error(_ message: String) -> JSONSyntaxError { JSONSyntaxError(offset: p, message: message) }

    /// Records have no spaces between tokens: one test where there are none.
    @inline(__always) mutating func skipSpaces() {
        while p < end, bytes[p] <= 0x20, bytes[p] == 0x20 || bytes[p] == 0x09 || bytes[p] == 0x0A || bytes[p] == 0x0D { p += 1 }
    }

    private mutating func literal(_ word: StaticString, _ value: JSONValue) throws(JSONSyntaxError) -> JSONValue {
        let n = word.utf8CodeUnitCount
        guard end - p >= n else { throw error("unknown literal") }
        let w = word.utf8Start
        for i in 0..<n where bytes[p + i] != w[i] { throw error("unknown literal") }
        p += n
        return value
    }

    mutating func value(depth: Int) throws(JSONSyntaxError) -> JSONValue {
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

    /// Passes over one value as `value(depth:)` reads it, refusing exactly what it refuses, but
    /// building nothing: strings are decoded only where they have escapes, numbers read in place.
    mutating func checkValue(depth: Int) throws(JSONSyntaxError) {
        skipSpaces()
        guard p < end else { throw error("unexpected end") }
        switch bytes[p] {
        case UInt8(ascii: "{"):
            guard depth < Self.maximumDepth else { throw error("nested deeper than \(Self.maximumDepth)") }
            p += 1
            skipSpaces()
            if p < end, bytes[p] == UInt8(ascii: "}") { p += 1; return }
            repeat {
                skipSpaces()
                guard p < end, bytes[p] == UInt8(ascii: "\"") else { throw error("expected a key") }
                try checkString()
                skipSpaces()
                guard p < end, bytes[p] == UInt8(ascii: ":") else { throw error("expected ':'") }
                p += 1
                try checkValue(depth: depth + 1)
            } while try anotherMember()
        case UInt8(ascii: "["):
            guard depth < Self.maximumDepth else { throw error("nested deeper than \(Self.maximumDepth)") }
            p += 1
            skipSpaces()
            if p < end, bytes[p] == UInt8(ascii: "]") { p += 1; return }
            repeat { try checkValue(depth: depth + 1) } while try anotherElement()
        case UInt8(ascii: "\""): try checkString()
        case UInt8(ascii: "t"): _ = try literal("true", .null)
        case UInt8(ascii: "f"): _ = try literal("false", .null)
        case UInt8(ascii: "n"): _ = try literal("null", .null)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): _ = try number()
        default: throw error("unexpected character")
        }
    }

    /// A string as `string()` reads it, decoded only where it has an escape to check.
    private mutating func checkString() throws(JSONSyntaxError) {
        let (afterClose, escaped) = try Self.stringEndAndEscapes(bytes, from: p + 1)
        if escaped { _ = try string() } else { p = afterClose }
    }

    mutating func object(depth: Int) throws(JSONSyntaxError) -> JSONObject {
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
            guard try anotherMember() else { return object }
        }
    }

    private mutating func array(depth: Int) throws(JSONSyntaxError) -> [JSONValue] {
        p += 1
        var items: [JSONValue] = []
        skipSpaces()
        if p < end, bytes[p] == UInt8(ascii: "]") { p += 1; return items }
        repeat { items.append(try value(depth: depth)) } while try anotherElement()
        return items
    }

    /// After an object's member: true past a comma (another member follows), false past the
    /// closing brace.
    mutating func anotherMember() throws(JSONSyntaxError) -> Bool {
        skipSpaces()
        guard p < end else { throw error("unexpected end in an object") }
        if bytes[p] == UInt8(ascii: ",") { p += 1; return true }
        guard bytes[p] == UInt8(ascii: "}") else { throw error("expected ',' or '}'") }
        p += 1
        return false
    }

    /// After an array's element: true past a comma, false past the closing bracket.
    mutating func anotherElement() throws(JSONSyntaxError) -> Bool {
        skipSpaces()
        guard p < end else { throw error("unexpected end in an array") }
        if bytes[p] == UInt8(ascii: ",") { p += 1; return true }
        guard bytes[p] == UInt8(ascii: "]") else { throw error("expected ',' or ']'") }
        p += 1
        return false
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

    mutating func string() throws(JSONSyntaxError) -> String {
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

    /// `-DIGITS.DIGITS` with at most 15 digits in all (a duration, a size, a rate as airun writes
    /// them) read in place: the digits as an integer below 2^53 divided by a power of ten up to
    /// 10^15, both exact, so the one rounding of the division gives the double nearest the
    /// decimal, as `Double(String)` does (Clinger's fast path). Nil for any other shape.
    private func shortDecimal(_ start: Int, _ stop: Int) -> Double? {
        var i = start
        let negative = bytes[i] == UInt8(ascii: "-")
        if negative { i += 1 }
        var mantissa: Int64 = 0, digits = 0, fraction = -1
        while i < stop {
            let b = bytes[i]
            if b == UInt8(ascii: ".") {
                guard fraction < 0, digits > 0 else { return nil }
                fraction = 0
            } else {
                let d = b &- 0x30
                guard d <= 9 else { return nil }  // an exponent or a sign: the general path
                mantissa = mantissa &* 10 &+ Int64(d)
                digits += 1
                if fraction >= 0 { fraction += 1 }
            }
            i += 1
        }
        guard fraction > 0, digits <= 15 else { return nil }
        let value = Double(mantissa) / Self.powersOfTen[fraction]
        return negative ? -value : value
    }

    private static let powersOfTen: [Double] = [1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15]

    mutating func number() throws(JSONSyntaxError) -> JSONValue {
        let start = p
        // The grammar the member readers apply (`skipNumber`): a digit before any `.` and in any
        // exponent. Checked here too, so the two never differ: `Double("-.5")` would have read
        // what they refuse (the fuzz target `records` found it).
        try skipNumber()
        let integral = !bytes[start..<p].contains { $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "e") || $0 == UInt8(ascii: "E") }
        // Integers of up to 18 digits (every id, count and time a record holds) are read in place.
        let negative = bytes[start] == UInt8(ascii: "-"), digits = p - start - (negative ? 1 : 0)
        if integral, digits >= 1, digits <= 18 {
            var n: Int64 = 0
            for i in (p - digits)..<p { n = n &* 10 &+ Int64(bytes[i] &- 0x30) }
            return .integer(negative ? -n : n)
        }
        if !integral, let d = shortDecimal(start, p) { return .number(d) }
        let text = String(decoding: bytes[start..<p], as: UTF8.self)
        if integral, let n = Int64(text) { return .integer(n) }
        guard let d = Double(text), d.isFinite else { throw error("not a number") }
        return .number(d)
    }
}
