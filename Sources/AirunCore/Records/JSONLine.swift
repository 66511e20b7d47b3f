/// Builds one JSON object as UTF-8 bytes, keys in insertion order, ending in a newline.
///
/// Hand-rolled rather than JSONEncoder: it keeps Foundation out of the run path (a measured
/// 0.5–2.3 ms of start-up) and writes straight into one buffer that becomes one write(2).
///
/// - Important: every string value passes through the redactor it was made with; there is no
///   way to build a line without one, so no record can carry an unmasked secret. The only values
///   written without it are those whose type allows no secret: numbers, ids of hex digits,
///   timestamps airun formats, and literals in airun's source (`StaticString`).
public struct JSONLine: Sendable {
    public private(set) var bytes: [UInt8] = [UInt8(ascii: "{")]
    private var empty = true
    public let redactor: Redactor

    public init(redacting redactor: Redactor) {
        self.redactor = redactor
        // Most records fit: one allocation instead of a string of doublings as fields are added.
        bytes.reserveCapacity(768)
    }

    private mutating func key(_ name: String) {
        if !empty { bytes.append(UInt8(ascii: ",")) }
        empty = false
        JSONLine.appendString(name.utf8, to: &bytes)
        bytes.append(UInt8(ascii: ":"))
    }

    public mutating func add(_ name: String, _ value: String?) {
        key(name)
        guard let value else { return appendNull() }
        appendRedacted(value)
    }

    private mutating func appendRedacted(_ text: String, cutAtStart: Bool = false) {
        redactor.withRedactedUTF8(text, cutAtStart: cutAtStart) { JSONLine.appendString(bytes: $0, to: &bytes) }
    }

    /// A string spelled in airun's source (a level, an event's name): nothing to redact.
    public mutating func add(_ name: String, literal: StaticString) {
        key(name)
        JSONLine.appendString(bytes: UnsafeBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount), to: &bytes)
    }

    /// An attempt's or run's status. One of the statuses airun writes (`AttemptStatus.all`) is
    /// spelled in its source and written as it is (a redaction scan per record was a tenth of a
    /// short run's record encoding); any other, as read from a newer writer's file, is redacted.
    public mutating func add(_ name: String, status: AttemptStatus) {
        guard AttemptStatus.all.contains(status) else { return add(name, status.rawValue) }
        key(name)
        JSONLine.appendString(status.rawValue.utf8, to: &bytes)
    }

    /// A trace or span id: hex digits by construction, nothing to redact.
    public mutating func add(_ name: String, identifier: (some HexIdentifier)?) {
        key(name)
        guard let identifier else { return appendNull() }
        JSONLine.appendString(identifier.hex.utf8, to: &bytes)
    }

    /// A time as RFC 3339 UTC with microseconds, formatted here: nothing to redact.
    public mutating func add(_ name: String, timestampMicroseconds: Int64) {
        key(name)
        bytes.append(UInt8(ascii: "\""))
        appendRFC3339(microseconds: timestampMicroseconds, to: &bytes)
        bytes.append(UInt8(ascii: "\""))
    }

    /// Adds raw bytes (e.g. an output tail) as a string; invalid UTF-8 becomes U+FFFD.
    /// `cutAtStart`: the bytes are the end of something longer (a tail that dropped its start).
    public mutating func add(_ name: String, bytes raw: [UInt8], cutAtStart: Bool = false) {
        key(name)
        appendRedacted(String(decoding: raw, as: UTF8.self), cutAtStart: cutAtStart)
    }

    public mutating func add(_ name: String, _ value: Int64?) {
        key(name)
        guard let value else { return appendNull() }
        bytes.append(contentsOf: String(value).utf8)
    }

    /// A 64-bit integer as a decimal string (`"1767225600000000000"`): how OTLP's JSON writes
    /// them. Digits only, so nothing to redact.
    public mutating func add(_ name: String, decimalString value: Int64) {
        key(name)
        bytes.append(UInt8(ascii: "\""))
        bytes.append(contentsOf: String(value).utf8)
        bytes.append(UInt8(ascii: "\""))
    }

    public mutating func add(_ name: String, _ value: Int?) { add(name, value.map(Int64.init)) }
    public mutating func add(_ name: String, _ value: Int32?) { add(name, value.map(Int64.init)) }

    /// A number with at most `decimals` digits after the point (no exponent, no trailing zeros).
    public mutating func add(_ name: String, _ value: Double?, decimals: Int = 3) {
        key(name)
        guard let value, value.isFinite else { return appendNull() }
        bytes.append(contentsOf: JSONLine.format(value, decimals: decimals).utf8)
    }

    public mutating func add(_ name: String, _ value: Bool?) {
        key(name)
        guard let value else { return appendNull() }
        bytes.append(contentsOf: (value ? "true" : "false").utf8)
    }

    public mutating func add(_ name: String, strings: [String]) {
        appendArray(name, strings.map { redactor.redact($0) })
    }

    /// A command line: values of secret-bearing options (`--api-key V`) are masked too.
    public mutating func add(_ name: String, arguments: [String]) {
        appendArray(name, redactor.redact(arguments: arguments))
    }

    private mutating func appendArray(_ name: String, _ strings: [String]) {
        key(name)
        bytes.append(UInt8(ascii: "["))
        for (i, s) in strings.enumerated() {
            if i > 0 { bytes.append(UInt8(ascii: ",")) }
            JSONLine.appendString(s.utf8, to: &bytes)
        }
        bytes.append(UInt8(ascii: "]"))
    }

    /// Adds `name` set to another object.
    public mutating func add(_ name: String, object: JSONLine) {
        key(name)
        bytes.append(contentsOf: object.bytes)
        bytes.append(UInt8(ascii: "}"))
    }

    /// Adds `name` set to an array of objects.
    public mutating func add(_ name: String, array: JSONArrayBuilder) {
        key(name)
        bytes.append(UInt8(ascii: "["))
        for (i, object) in array.objects.enumerated() {
            if i > 0 { bytes.append(UInt8(ascii: ",")) }
            bytes.append(contentsOf: object.bytes)
            bytes.append(UInt8(ascii: "}"))
        }
        bytes.append(UInt8(ascii: "]"))
    }

    /// Adds any JSON value read from outside (a child's log fields), every string and key
    /// through the redactor, and every value under a secret-named key masked whole (the words of
    /// `secretKeyKind`). Depth is bounded by the parser that made the value.
    public mutating func add(_ name: String, value: JSONValue) {
        key(name)
        appendValue(value)
    }

    private mutating func appendValue(_ value: JSONValue) {
        switch value {
        case .null: appendNull()
        case .bool(let b): bytes.append(contentsOf: (b ? "true" : "false").utf8)
        case .integer(let n): bytes.append(contentsOf: String(n).utf8)
        case .number(let d): bytes.append(contentsOf: (d.isFinite ? String(d) : "null").utf8)
        case .string(let s): appendRedacted(s)
        case .array(let items):
            bytes.append(UInt8(ascii: "["))
            for (i, item) in items.enumerated() {
                if i > 0 { bytes.append(UInt8(ascii: ",")) }
                appendValue(item)
            }
            bytes.append(UInt8(ascii: "]"))
        case .object(let o):
            bytes.append(UInt8(ascii: "{"))
            for (i, member) in o.members.enumerated() {
                if i > 0 { bytes.append(UInt8(ascii: ",")) }
                appendRedacted(member.key)
                bytes.append(UInt8(ascii: ":"))
                // A value under a secret-named key is masked whole, whatever it looks like
                // ("password": "Tr0ub4dor-horse-battery" matches no key pattern); null and
                // booleans hold no secret.
                switch member.value {
                case .null, .bool: appendValue(member.value)
                default:
                    if let kind = secretKeyKind(member.key) {
                        JSONLine.appendString(mask(kind).utf8, to: &bytes)
                    } else {
                        appendValue(member.value)
                    }
                }
            }
            bytes.append(UInt8(ascii: "}"))
        }
    }

    private mutating func appendNull() { bytes.append(contentsOf: "null".utf8) }

    /// The finished object and a trailing newline.
    public func line() -> [UInt8] { bytes + [UInt8(ascii: "}"), UInt8(ascii: "\n")] }

    /// `value` rounded to `decimals` places, without exponent or trailing zeros ("2.15", "3").
    public static func format(_ value: Double, decimals: Int) -> String {
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        guard value.isFinite else { return "null" }  // JSON has no NaN or infinity
        // Beyond 2^53 a double has no fraction to round; scaling 1.797e308 would overflow.
        let rounded = abs(value) >= 9_007_199_254_740_992 ? value : (value * scale).rounded() / scale
        if rounded == rounded.rounded(.towardZero), abs(rounded) < 9e15 { return String(Int64(rounded)) }
        var s = String(rounded)
        if s.contains("e") { return s }  // 1e+30, 1e-05: valid JSON, and never a trap
        while s.hasSuffix("0") { s.removeLast() }
        return s
    }

    static func appendString(_ utf8: String.UTF8View, to out: inout [UInt8]) {
        let done: Void? = utf8.withContiguousStorageIfAvailable { appendString(bytes: $0, to: &out) }
        if done == nil { Array(utf8).withUnsafeBufferPointer { appendString(bytes: $0, to: &out) } }
    }

    /// `bytes` as a JSON string: runs of plain bytes are copied whole, and only what must be
    /// escaped is looked at one byte at a time (a record is mostly plain text: its tails, messages).
    ///
    /// U+10FF80...U+10FFFF (F4 8F BE/BF xx) stand for bytes that were not UTF-8 in an argument,
    /// variable or path (AirunSystem's OSBytes): JSON strings are text, so the records show U+FFFD
    /// for each, as docs/records.md says.
    static func appendString(bytes b: UnsafeBufferPointer<UInt8>, to out: inout [UInt8]) {
        // Grown by doubling: `reserveCapacity` alone grows to exactly what is asked, which made
        // every field of a long line copy the line so far.
        let needed = out.count + b.count + 2
        if out.capacity < needed { out.reserveCapacity(max(needed, 2 * out.capacity)) }
        out.append(UInt8(ascii: "\""))
        var start = 0, i = 0
        while i < b.count {
            // Eight bytes at a time to the next byte that may need a look (the lowest reported is exact).
            if let base = b.baseAddress, i + 8 <= b.count {
                let mark = mayNeedEscape(UnsafeRawPointer(base).loadUnaligned(fromByteOffset: i, as: UInt64.self))
                if mark == 0 {
                    i += 8
                    continue
                }
                i += mark.trailingZeroBitCount >> 3
            }
            let c = b[i]
            if c >= 0x20, c != UInt8(ascii: "\""), c != UInt8(ascii: "\\"), c != 0x7F, c != 0xF4 {
                i += 1
                continue
            }
            out.append(contentsOf: UnsafeBufferPointer(rebasing: b[start..<i]))
            if c == 0xF4, i + 3 < b.count, b[i + 1] == 0x8F, b[i + 2] == 0xBE || b[i + 2] == 0xBF {
                out.append(0xEF)
                out.append(0xBF)
                out.append(0xBD)
                i += 4
            } else {
                appendEscaped(c, to: &out)
                i += 1
            }
            start = i
        }
        out.append(contentsOf: UnsafeBufferPointer(rebasing: b[start..<b.count]))
        out.append(UInt8(ascii: "\""))
    }

    /// The high bit set in the bytes of `w` that are a quote, a backslash, below 0x20, 0x7F or
    /// 0xF4: the bytes `appendString` looks at.
    @inline(__always) private static func mayNeedEscape(_ w: UInt64) -> UInt64 {
        let ones: UInt64 = 0x0101_0101_0101_0101, highs: UInt64 = 0x8080_8080_8080_8080
        @inline(__always) func zero(_ x: UInt64) -> UInt64 { (x &- ones) & ~x & highs }
        return JSONParser.special(w) | zero(w ^ (ones &* 0x7F)) | zero(w ^ (ones &* 0xF4))
    }

    /// One byte that may need escaping (an 0xF4 that starts no raw-byte escape is copied).
    private static func appendEscaped(_ b: UInt8, to out: inout [UInt8]) {
        func two(_ c: UInt8) {
            out.append(92)
            out.append(c)
        }
        switch b {
        case UInt8(ascii: "\""): two(34)
        case UInt8(ascii: "\\"): two(92)
        case 0x0A: two(UInt8(ascii: "n"))
        case 0x0D: two(UInt8(ascii: "r"))
        case 0x09: two(UInt8(ascii: "t"))
        case 0..<0x20, 0x7f:
            func hex(_ d: UInt8) -> UInt8 { d < 10 ? 48 + d : 87 + d }
            two(UInt8(ascii: "u"))
            out.append(48)
            out.append(48)
            out.append(hex(b >> 4))
            out.append(hex(b & 0xf))
        default: out.append(b)
        }
    }
}

/// An array of JSON objects for `JSONLine.add(_:array:)`.
public struct JSONArrayBuilder: Sendable {
    public private(set) var objects: [JSONLine] = []
    public init() {}
    public mutating func append(_ object: JSONLine) { objects.append(object) }
}
