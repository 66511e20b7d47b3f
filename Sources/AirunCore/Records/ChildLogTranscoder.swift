/// A command's JSON log line made into its child.log record line straight from its bytes: the
/// bytes `Record.line` writes for the record `ChildLog.parse` reads from the line, without a
/// `JSONObject`, a `String` per value or a `Record` per line (a chatty router logs a million lines).
///
/// The line is read once; the envelope every record of the attempt shares is encoded once. A line
/// of a shape it does not read (a nested field, a number Swift would print otherwise, an escaped
/// key, a promoted member that is no string) goes the ordinary way, `ChildLog.parse` and
/// `Record.line`: so there is one format and one set of rules, and this is only a faster road to
/// it. ChildLogTranscoderTests and the `records` fuzz target hold the two roads to the same bytes.
public struct ChildLogTranscoder {
    public let redactor: Redactor
    public let identity: RecordIdentity
    public let attempt: Int64
    /// `,"trace_id":…,"request_id":…,"attempt":N,"stream":"stderr","child_level":`, once.
    private let middle: [UInt8]
    /// `","level":"INFO","logger":"airun","event":"child.log","message":`, for each level: what
    /// follows the time, in one piece.
    private let levelParts: (info: [UInt8], warning: [UInt8], error: [UInt8])
    /// `{"schema":1,"timestamp":"`.
    private let head = Array(#"{"schema":\#(recordSchemaVersion),"timestamp":""#.utf8)
    /// `head` and the time of `stampMicroseconds`, as the line begins: a
    /// batch's lines share one time.
    private var stampMicroseconds = Int64.min
    private var stamp: [UInt8] = []
    /// The line's fields, encoded while it is read (its promoted members may come after them).
    private var fields: [UInt8] = []
    /// The last value of each promoted key (`ChildLog.promotedKeys`' order), as its content's range.
    private var promoted = [PromotedString?](repeating: nil, count: 8)
    /// Field keys, levels and logger names as written, remembered across lines.
    private let names: KnownNames

    struct PromotedString {
        var content: Range<Int>
        var escaped: Bool
    }

    private enum Outcome { case written, notALog, otherShape }

    public init(redactor: Redactor, identity: RecordIdentity, attempt: Int64) {
        self.redactor = redactor
        self.identity = identity
        self.attempt = attempt
        names = KnownNames(redactor: redactor)
        func part(_ level: RecordLevel) -> [UInt8] {
            Array(#"","level":""#.utf8) + Array(level.rawValue.utf8) + Array(#"","logger":"airun","event":"child.log","message":"#.utf8)
        }
        levelParts = (part(.info), part(.warning), part(.error))
        var m = JSONLine(redacting: redactor)
        m.add("trace_id", identifier: identity.traceID)
        m.add("span_id", identifier: identity.spanID)
        m.add("parent_span_id", identifier: identity.parentSpanID)
        m.add("request_id", identity.requestID)
        m.add("attempt", attempt)
        m.add("stream", literal: "stderr")
        middle = [UInt8(ascii: ",")] + m.bytes.dropFirst() + Array(#","child_level":"#.utf8)
        fields.reserveCapacity(256)
    }

    /// Appends the record line (with its newline) of `line` (without one) to `out`, stamped
    /// `arrived`; false, and nothing appended, when the line is no log line.
    public mutating func append(line: UnsafeBufferPointer<UInt8>, arrived: Int64, to out: inout [UInt8]) -> Bool {
        // As `ChildLog.parse`: a line whose first byte after spaces and tabs is no brace is text.
        guard let first = line.first(where: { $0 != 0x20 && $0 != 0x09 }), first == UInt8(ascii: "{") else { return false }
        let mark = out.count
        let outcome = (try? transcode(line, arrived, &out)) ?? .notALog
        if outcome == .written { return true }
        out.removeSubrange(mark...)
        guard outcome == .otherShape, let record = ChildLog.record(line: line, attempt: attempt, identity: identity, arrived: arrived) else { return false }
        out += record.line(redactor: redactor)
        return true
    }

    /// Whether `line` is read here rather than by the ordinary road (for the tests: that this
    /// road is taken at all for the shapes it is for).
    mutating func readDirectly(_ line: UnsafeBufferPointer<UInt8>) -> Bool {
        var scratch: [UInt8] = []
        return (try? transcode(line, 0, &scratch)) == .written
    }

    private mutating func transcode(_ line: UnsafeBufferPointer<UInt8>, _ arrived: Int64, _ out: inout [UInt8]) throws(JSONSyntaxError) -> Outcome {
        var parser = JSONParser(line)
        parser.skipSpaces()
        guard parser.p < parser.end, line[parser.p] == UInt8(ascii: "{") else { return .notALog }
        parser.p += 1
        parser.skipSpaces()
        for k in promoted.indices { promoted[k] = nil }
        // The fields are written into a local buffer (the kept one, lent): written into `self`
        // while `self`'s methods run, the whole transcoder would be copied for each call.
        var fields: [UInt8] = []
        swap(&fields, &self.fields)
        fields.removeAll(keepingCapacity: true)
        defer { swap(&fields, &self.fields) }
        if parser.p < parser.end, line[parser.p] == UInt8(ascii: "}") {
            parser.p += 1
        } else {
            repeat {
                parser.skipSpaces()
                guard parser.p < parser.end, line[parser.p] == UInt8(ascii: "\"") else { return .notALog }
                let keyStart = parser.p + 1
                let (afterKey, keyEscaped) = try JSONParser.stringEndAndEscapes(line, from: keyStart)
                guard !keyEscaped else { return .otherShape }
                let key = UnsafeBufferPointer(rebasing: line[keyStart..<(afterKey - 1)])
                parser.p = afterKey
                parser.skipSpaces()
                guard parser.p < parser.end, line[parser.p] == UInt8(ascii: ":") else { return .notALog }
                parser.p += 1
                parser.skipSpaces()
                guard parser.p < parser.end else { return .notALog }
                if let k = ChildLog.promotedKeys.index(of: key) {
                    // A promoted member that is no string reads as missing; rare enough to leave
                    // to the ordinary road, which also checks its value whole.
                    guard line[parser.p] == UInt8(ascii: "\"") else { return .otherShape }
                    let (afterValue, escaped) = try JSONParser.stringEndAndEscapes(line, from: parser.p + 1)
                    let string = PromotedString(content: (parser.p + 1)..<(afterValue - 1), escaped: escaped)
                    // Its escapes are checked now, as the parser checks every string, used or not.
                    if escaped { _ = try Self.decoded(string.content, line) }
                    promoted[k] = string
                    parser.p = afterValue
                } else {
                    guard try Self.appendField(key, &parser, &fields, names) else { return .otherShape }
                }
            } while try parser.anotherMember()
        }
        parser.skipSpaces()
        guard parser.p == parser.end else { return .notALog }
        guard let message = promoted[0] else { return .notALog }
        let level = promoted[1] ?? promoted[2] ?? promoted[3]
        var recordLevel = RecordLevel.info
        if let level {
            if let known = names.slot(level, line) { recordLevel = names.level(known) } else { recordLevel = ChildLog.recordLevel(try Self.text(level, line)) }
        }

        if arrived != stampMicroseconds {
            stamp.removeAll(keepingCapacity: true)
            stamp.append(contentsOf: head)
            appendRFC3339(microseconds: arrived, to: &stamp)
            stampMicroseconds = arrived
        }
        // In as few appends as the record's pieces allow: each costs some hundred instructions.
        out.append(contentsOf: stamp)
        switch recordLevel {
        case .info: out.append(contentsOf: levelParts.info)
        case .warning: out.append(contentsOf: levelParts.warning)
        case .error: out.append(contentsOf: levelParts.error)
        }
        try Self.appendString(message, line, &out, names)
        out.append(contentsOf: middle)
        try Self.appendString(level, line, &out, names, name: true)
        appendLiteral(#","child_logger":"#, to: &out)
        try Self.appendString(promoted[4] ?? promoted[5], line, &out, names, name: true)
        appendLiteral(#","child_timestamp":"#, to: &out)
        try Self.appendString(promoted[6] ?? promoted[7], line, &out, names)
        if !fields.isEmpty {
            appendLiteral(#","fields":{"#, to: &out)
            out.append(contentsOf: fields)
            out.append(UInt8(ascii: "}"))
        }
        out.append(UInt8(ascii: "}"))
        out.append(UInt8(ascii: "\n"))
        return .written
    }

    /// One member of the line's fields, its key and value as `JSONLine.add(_:value:)` writes
    /// them; false for a value this road does not read (an object, an array, a number written
    /// other than Swift prints it).
    private static func appendField(_ key: UnsafeBufferPointer<UInt8>, _ parser: inout JSONParser, _ fields: inout [UInt8],
                                    _ names: KnownNames) throws(JSONSyntaxError) -> Bool {
        let line = parser.bytes
        let first = line[parser.p]
        if first == UInt8(ascii: "{") || first == UInt8(ascii: "[") { return false }
        if !fields.isEmpty { fields.append(UInt8(ascii: ",")) }
        let known = names.slot(key)
        if let known { names.appendWritten(known, to: &fields) } else { try appendRedacted(key, escaped: false, &fields, names.redactor) }
        fields.append(UInt8(ascii: ":"))
        let secretKind = known.map(names.secretKind) ?? Self.secretKind(key)
        let start = parser.p
        switch first {
        case UInt8(ascii: "t"), UInt8(ascii: "f"), UInt8(ascii: "n"):
            // null and booleans hold no secret, under any key.
            try parser.skipValue()
            fields.append(contentsOf: line[start..<parser.p])
            return true
        case UInt8(ascii: "\""):
            let (afterValue, escaped) = try JSONParser.stringEndAndEscapes(line, from: start + 1)
            parser.p = afterValue
            if let kind = secretKind {
                if escaped { _ = try Self.decoded((start + 1)..<(afterValue - 1), line) }
                JSONLine.appendString(mask(kind).utf8, to: &fields)
            } else {
                try appendRedacted(UnsafeBufferPointer(rebasing: line[(start + 1)..<(afterValue - 1)]), escaped: escaped, &fields, names.redactor)
            }
            return true
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            while parser.p < parser.end, Self.isNumberByte(line[parser.p]) { parser.p += 1 }
            let token = UnsafeBufferPointer(rebasing: line[start..<parser.p])
            guard Self.printsAsWritten(token) else { return false }
            if let kind = secretKind {
                JSONLine.appendString(mask(kind).utf8, to: &fields)
            } else {
                fields.append(contentsOf: token)
            }
            return true
        default:
            return false
        }
    }

    /// A promoted string as `JSONLine.add(_:_: String?)` writes it, or `null`. A `name` (a level,
    /// a logger) is looked up among those known.
    private static func appendString(_ s: PromotedString?, _ line: UnsafeBufferPointer<UInt8>, _ out: inout [UInt8], _ names: KnownNames,
                                     name: Bool = false) throws(JSONSyntaxError) {
        guard let s else { return appendLiteral("null", to: &out) }
        if name, let known = names.slot(s, line) { return names.appendWritten(known, to: &out) }
        try appendRedacted(UnsafeBufferPointer(rebasing: line[s.content]), escaped: s.escaped, &out, names.redactor)
    }

    /// A string's content from the line, redacted and written as a JSON string: what the
    /// ordinary road writes for the `String` the parser would make of it.
    private static func appendRedacted(_ content: UnsafeBufferPointer<UInt8>, escaped: Bool, _ out: inout [UInt8],
                                       _ redactor: Redactor) throws(JSONSyntaxError) {
        if !escaped, allASCII(content) {
            redactor.withRedacted(bytes: content) { JSONLine.appendString(bytes: $0, to: &out) }
            return
        }
        // Escapes, or bytes that may not be UTF-8: the parser's own decoding, as on the other road.
        let text = escaped ? try Self.decoded(content) : String(decoding: content, as: UTF8.self)
        redactor.withRedactedUTF8(text) { JSONLine.appendString(bytes: $0, to: &out) }
    }

    /// The text of a promoted string, as the parser makes it.
    private static func text(_ s: PromotedString, _ line: UnsafeBufferPointer<UInt8>) throws(JSONSyntaxError) -> String {
        let content = UnsafeBufferPointer(rebasing: line[s.content])
        return s.escaped ? try decoded(content) : String(decoding: content, as: UTF8.self)
    }

    private static func decoded(_ content: Range<Int>, _ line: UnsafeBufferPointer<UInt8>) throws(JSONSyntaxError) -> String {
        try decoded(UnsafeBufferPointer(rebasing: line[content]))
    }

    /// A string with escapes decoded by the parser, which reads it from its opening quote: the
    /// byte before `content`, as the closing one is the byte after it.
    private static func decoded(_ content: UnsafeBufferPointer<UInt8>) throws(JSONSyntaxError) -> String {
        guard let base = content.baseAddress else { return "" }
        var parser = JSONParser(UnsafeBufferPointer(start: base - 1, count: content.count + 2))
        return try parser.string()
    }

    /// `secretKeyKind` of the key the parser would make of these bytes.
    private static func secretKind(_ key: UnsafeBufferPointer<UInt8>) -> String? {
        allASCII(key) ? secretKeyKind(utf8: key) : secretKeyKind(String(decoding: key, as: UTF8.self))
    }

    /// The bytes `JSONParser.number` reads as one number.
    @inline(__always) private static func isNumberByte(_ b: UInt8) -> Bool {
        (b >= 0x30 && b <= 0x39) || b == UInt8(ascii: ".") || b == UInt8(ascii: "e") || b == UInt8(ascii: "E")
            || b == UInt8(ascii: "+") || b == UInt8(ascii: "-")
    }

    /// Whether the number `token` is written as `JSONLine` prints the value the parser reads from
    /// it: an integer of up to 18 digits without leading zeros (not `-0`), or a decimal of up to
    /// 15 significant digits, at least 0.1 in size, without exponent or trailing zeros, or a whole
    /// number of up to 15 digits written with `.0`, as a latency of 45.0 ms is (a
    /// decimal of at most 15 digits is the shortest that reads back as its double, and Swift
    /// prints such a value without an exponent).
    static func printsAsWritten(_ token: UnsafeBufferPointer<UInt8>) -> Bool {
        var i = 0
        if i < token.count, token[i] == UInt8(ascii: "-") { i += 1 }
        let digitsStart = i
        while i < token.count, token[i] >= 0x30, token[i] <= 0x39 { i += 1 }
        let integerDigits = i - digitsStart
        guard integerDigits >= 1, token[digitsStart] != 0x30 || integerDigits == 1 else { return false }
        if i == token.count {
            // An integer: `-0` reads as 0.
            return integerDigits <= 18 && !(token[digitsStart] == 0x30 && digitsStart == 1)
        }
        guard token[i] == UInt8(ascii: "."), integerDigits <= 15 else { return false }
        i += 1
        let fractionStart = i
        while i < token.count, token[i] >= 0x30, token[i] <= 0x39 { i += 1 }
        let fractionDigits = i - fractionStart
        guard i == token.count, fractionDigits >= 1 else { return false }
        // `N.0`: Swift prints a whole number as a decimal so (`2.0`, `100.0`); not `-0.0`.
        if fractionDigits == 1, token[fractionStart] == 0x30 { return integerDigits <= 15 && !(digitsStart == 1 && token[digitsStart] == 0x30) }
        guard token[i - 1] != 0x30 else { return false }
        if token[digitsStart] == 0x30 {
            // 0.x: at least 0.1, and up to 15 significant digits.
            return token[fractionStart] != 0x30 && fractionDigits <= 15
        }
        return integerDigits + fractionDigits <= 15
    }
}

/// What the names in a command's log lines (field keys, levels, logger names) are written as,
/// remembered: a chatty command repeats the same few on every line, and each would otherwise be
/// redacted, escaped and judged again. Redaction is a function of the bytes and the redactor,
/// which is the transcoder's for its life. Values (messages, times, ids) are not kept: they differ
/// from line to line.
private final class KnownNames {
    struct Entry {
        var bytes: [UInt8]
        /// As a JSON string, redacted.
        var written: [UInt8]
        /// `secretKeyKind` of the name, as a field key.
        var secretKind: String?
        /// `ChildLog.recordLevel` of the name, as a level.
        var level: RecordLevel
    }

    static let maximumLength = 48
    let redactor: Redactor
    /// Allocated once and read in place: an array property of a class is checked for exclusive
    /// access at every read, several times a line.
    private let slots: UnsafeMutablePointer<Entry?>
    private static let slotCount = 256

    init(redactor: Redactor) {
        self.redactor = redactor
        slots = .allocate(capacity: Self.slotCount)
        slots.initialize(repeating: nil, count: Self.slotCount)
    }

    deinit {
        slots.deinitialize(count: Self.slotCount)
        slots.deallocate()
    }

    func slot(_ s: ChildLogTranscoder.PromotedString, _ line: UnsafeBufferPointer<UInt8>) -> Int? {
        s.escaped ? nil : slot(UnsafeBufferPointer(rebasing: line[s.content]))
    }

    /// The slot that holds `name`, its entry made if it is new; nil for a name too long or not
    /// plain ASCII.
    func slot(_ name: UnsafeBufferPointer<UInt8>) -> Int? {
        guard name.count <= Self.maximumLength, let slot = Self.slot(name) else { return nil }
        let known = slots[slot].map { bytesEqual(name, $0.bytes) } ?? false
        if known { return slot }
        guard allASCII(name) else { return nil }
        var written: [UInt8] = []
        redactor.withRedacted(bytes: name) { JSONLine.appendString(bytes: $0, to: &written) }
        slots[slot] = Entry(bytes: Array(name), written: written, secretKind: secretKeyKind(utf8: name),
                            level: ChildLog.recordLevel(String(decoding: name, as: UTF8.self)))
        return slot
    }

    func appendWritten(_ slot: Int, to out: inout [UInt8]) {
        slots[slot]?.written.withUnsafeBufferPointer { out.append(contentsOf: $0) }
    }
    func secretKind(_ slot: Int) -> String? { slots[slot]?.secretKind }
    func level(_ slot: Int) -> RecordLevel { slots[slot]?.level ?? .info }

    /// A slot from the name's length and its first and last two bytes.
    private static func slot(_ name: UnsafeBufferPointer<UInt8>) -> Int? {
        guard let first = name.first, let last = name.last else { return nil }
        let second = name.count > 1 ? name[1] : 0, beforeLast = name.count > 1 ? name[name.count - 2] : 0
        let h = UInt32(name.count) &* 0x9E37_79B1 ^ UInt32(first) &* 0x85EB_CA6B ^ UInt32(second) &* 0xC2B2_AE35
            ^ UInt32(last) &* 0x27D4_EB2F ^ UInt32(beforeLast) &* 0x1656_67B1
        return Int((h ^ h >> 15) & 0xFF)
    }
}

/// Appends a literal of the record format.
@inline(__always) private func appendLiteral(_ literal: StaticString, to out: inout [UInt8]) {
    out.append(contentsOf: UnsafeBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount))
}
