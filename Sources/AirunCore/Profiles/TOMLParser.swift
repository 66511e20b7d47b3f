/// Parses TOML 1.0 documents without dates and times: tables, arrays of tables, dotted and quoted
/// keys, basic/literal/multi-line strings, integers (decimal, hex, octal, binary), floats, booleans,
/// arrays and inline tables, comments. Table-definition rules follow Python's `tomllib`, which the
/// test suite checks it against document by document.
public func parseTOML(_ text: String) throws(TOMLError) -> TOMLTable {
    var parser = TOMLParser(Array(text.utf8))
    return try parser.parseDocument()
}

/// A table while the document is being read: reference semantics, so headers can reopen it.
final class TOMLNode {
    enum Entry {
        case value(TOMLValue, SourcePosition)
        case table(TOMLNode, SourcePosition)
        case tables(TableList, SourcePosition)
    }
    /// An array of tables, by reference: `[[x]]` appends in place. (As an array inside the enum,
    /// every append copied it: 8,000 `[[classify]]` tables took seconds.)
    final class TableList {
        var nodes: [TOMLNode]
        init(_ nodes: [TOMLNode]) { self.nodes = nodes }
    }
    var order: [String] = []
    var entries: [String: Entry] = [:]

    func set(_ key: String, _ entry: Entry) {
        if entries[key] == nil { order.append(key) }
        entries[key] = entry
    }

    var value: TOMLTable {
        var t = TOMLTable()
        for key in order {
            switch entries[key]! {
            case .value(let v, let p): t.set(key, v, at: p)
            case .table(let n, let p): t.set(key, .table(n.value), at: p)
            case .tables(let list, let p): t.set(key, .array(list.nodes.map { .table($0.value) }), at: p)
            }
        }
        return t
    }
}

/// Line and column of byte offsets, in time proportional to the distance from the last offset
/// asked about: the parser asks in increasing order, so a whole document costs linear time
/// (counting from the top of the file each time made 20,000 keys take seconds).
final class LineIndex {
    private let b: [UInt8]
    private let lineStarts: [Int]
    private var last = (offset: 0, line: 0, column: 1)

    init(_ bytes: [UInt8]) {
        b = bytes
        var starts = [0]
        for (k, c) in bytes.enumerated() where c == 0x0A { starts.append(k + 1) }
        lineStarts = starts
    }

    func position(_ offset: Int) -> SourcePosition {
        let k = min(max(0, offset), b.count)
        var lo = 0, hi = lineStarts.count - 1
        while lo < hi {
            let mid = (lo + hi + 1) / 2
            if lineStarts[mid] <= k { lo = mid } else { hi = mid - 1 }
        }
        var (from, column) = last.line == lo && last.offset <= k ? (last.offset, last.column) : (lineStarts[lo], 1)
        while from < k {
            if b[from] & 0xC0 != 0x80 { column += 1 }
            from += 1
        }
        last = (k, lo, column)
        return SourcePosition(line: lo + 1, column: column)
    }
}

/// How deep arrays and inline tables may nest, and how many parts a dotted key may have: far
/// beyond any profile, and far below what would exhaust the stack (30,000 nested `[` did).
let tomlMaximumNesting = 64
let tomlMaximumKeyParts = 32

struct TOMLParser {
    let b: [UInt8]
    var i = 0
    let lines: LineIndex
    /// Arrays and inline tables open at `i`.
    var nesting = 0
    let root = TOMLNode()
    /// Tables declared by a header, or by dotted keys in an earlier section: closed to both.
    var declared: Set<ObjectIdentifier> = []
    /// Tables created by dotted keys in the current section; declared at the next header.
    var pendingDotted: [TOMLNode] = []

    init(_ bytes: [UInt8]) {
        b = bytes
        lines = LineIndex(bytes)
    }

    // MARK: errors and positions

    func position(_ at: Int? = nil) -> SourcePosition { lines.position(at ?? i) }

    func fail(_ message: String, hint: String? = nil, at: Int? = nil) -> TOMLError {
        TOMLError(position: position(at), message: message, hint: hint)
    }

    var atEnd: Bool { i >= b.count }
    var current: UInt8 { b[i] }
    func peek(_ offset: Int = 0) -> UInt8? { i + offset < b.count ? b[i + offset] : nil }

    mutating func skipSpaces() { while let c = peek(), c == 0x20 || c == 0x09 { i += 1 } }

    /// Spaces, an optional comment, then a newline or the end of the document.
    mutating func endOfLine() throws(TOMLError) {
        skipSpaces()
        if peek() == UInt8(ascii: "#") { try comment() }
        guard let c = peek() else { return }
        if c == 0x0A { i += 1; return }
        if c == 0x0D, peek(1) == 0x0A { i += 2; return }
        throw fail("expected the end of the line, found '\(printable(c))'", hint: "one key = value or [table] per line")
    }

    mutating func comment() throws(TOMLError) {
        i += 1
        while let c = peek(), c != 0x0A {
            if c == 0x0D, peek(1) == 0x0A { return }
            if isControl(c) { throw fail("control character in a comment") }
            i += 1
        }
    }

    /// Blank lines, comments and newlines between statements (and inside arrays).
    mutating func skipBlank() throws(TOMLError) {
        while let c = peek() {
            if c == 0x20 || c == 0x09 || c == 0x0A { i += 1 }
            else if c == 0x0D, peek(1) == 0x0A { i += 2 }
            else if c == UInt8(ascii: "#") { try comment() }
            else { return }
        }
    }

    // MARK: document

    mutating func parseDocument() throws(TOMLError) -> TOMLTable {
        if b.starts(with: [0xEF, 0xBB, 0xBF]) { i = 3 }
        if String(validating: b, as: UTF8.self) == nil {
            throw fail("the file is not valid UTF-8", at: firstInvalidUTF8())
        }
        var table = root
        while true {
            try skipBlank()
            guard !atEnd else { break }
            if current == UInt8(ascii: "[") {
                declared.formUnion(pendingDotted.map(ObjectIdentifier.init))
                pendingDotted = []
                table = try header()
            } else {
                try keyValue(into: table, pending: true)
            }
            try endOfLine()
        }
        return root.value
    }

    mutating func header() throws(TOMLError) -> TOMLNode {
        let start = i
        let isArray = peek(1) == UInt8(ascii: "[")
        i += isArray ? 2 : 1
        skipSpaces()
        let path = try key()
        skipSpaces()
        guard peek() == UInt8(ascii: "]"), !isArray || peek(1) == UInt8(ascii: "]") else {
            throw fail("expected '\(isArray ? "]]" : "]")' to close the table header")
        }
        i += isArray ? 2 : 1
        let name = path.joined(separator: ".")
        let parent = try nest(path.dropLast(), from: root, throughArrays: true, at: start)
        let last = path.last!
        let p = position(start)
        if isArray {
            switch parent.entries[last] {
            case nil:
                let node = TOMLNode()
                parent.set(last, .tables(TOMLNode.TableList([node]), p))
                return node
            case .tables(let list, _)?:
                let node = TOMLNode()
                list.nodes.append(node)
                return node
            default:
                break
            }
            throw fail("[[\(name)]] cannot be an array of tables: '\(name)' is already defined", at: start)
        }
        switch parent.entries[last] {
        case nil:
            let node = TOMLNode()
            parent.set(last, .table(node, p))
            declared.insert(ObjectIdentifier(node))
            return node
        case .table(let node, _)? where !declared.contains(ObjectIdentifier(node)):
            declared.insert(ObjectIdentifier(node))
            return node
        default:
            throw fail("table [\(name)] is defined twice", hint: "merge the two sections", at: start)
        }
    }

    /// Walks (creating) the tables along `path`. Arrays of tables lead to their last table when
    /// `throughArrays` (headers); a plain value in the way is an error.
    func nest(_ path: ArraySlice<String>, from start: TOMLNode, throughArrays: Bool, at: Int) throws(TOMLError) -> TOMLNode {
        var node = start
        for part in path {
            switch node.entries[part] {
            case nil:
                let child = TOMLNode()
                node.set(part, .table(child, position(at)))
                node = child
            case .table(let child, _)?:
                node = child
            case .tables(let list, _)? where throughArrays:
                node = list.nodes.last!
            default:
                throw fail("'\(part)' is already a value and cannot hold keys", at: at)
            }
        }
        return node
    }

    /// `key = value` into `table`. Dotted keys create tables on the way (`pending`: in a document
    /// section, closed at the next header; inside an inline table they close with it).
    mutating func keyValue(into table: TOMLNode, pending: Bool) throws(TOMLError) {
        let start = i
        let path = try key()
        skipSpaces()
        guard peek() == UInt8(ascii: "=") else {
            throw fail("expected '=' after the key '\(path.joined(separator: "."))'", hint: "write key = value")
        }
        i += 1
        skipSpaces()
        var node = table
        for part in path.dropLast() {
            switch node.entries[part] {
            case nil:
                let child = TOMLNode()
                node.set(part, .table(child, position(start)))
                if pending { pendingDotted.append(child) }
                node = child
            case .table(let child, _)? where !declared.contains(ObjectIdentifier(child)):
                node = child
            default:
                throw fail("cannot add '\(path.joined(separator: "."))': '\(part)' is already defined", at: start)
            }
        }
        let last = path.last!
        if node.entries[last] != nil {
            throw fail("duplicate key '\(path.joined(separator: "."))'", hint: "each key may be set once", at: start)
        }
        let value = try self.value()
        node.set(last, .value(value, position(start)))
    }

    // MARK: keys

    mutating func key() throws(TOMLError) -> [String] {
        var parts: [String] = []
        while true {
            skipSpaces()
            guard let c = peek() else { throw fail("expected a key") }
            if c == UInt8(ascii: "\"") {
                if peek(1) == c, peek(2) == c { throw fail("a key cannot be a multi-line string") }
                parts.append(try basicString())
            } else if c == UInt8(ascii: "'") {
                if peek(1) == c, peek(2) == c { throw fail("a key cannot be a multi-line string") }
                parts.append(try literalString())
            } else {
                let start = i
                while let d = peek(), isBareKey(d) { i += 1 }
                guard i > start else {
                    throw fail("expected a key, found '\(printable(c))'", hint: "bare keys use A-Z a-z 0-9 _ -; quote others")
                }
                parts.append(String(decoding: b[start..<i], as: UTF8.self))
            }
            skipSpaces()
            guard peek() == UInt8(ascii: ".") else { return parts }
            guard parts.count < tomlMaximumKeyParts else {
                throw fail("a dotted key of more than \(tomlMaximumKeyParts) parts", hint: "profiles nest a few levels deep")
            }
            i += 1
        }
    }

    // MARK: values

    mutating func value() throws(TOMLError) -> TOMLValue {
        guard let c = peek() else { throw fail("expected a value after '='") }
        switch c {
        case UInt8(ascii: "\""):
            if peek(1) == c, peek(2) == c { return .string(try multilineBasicString()) }
            return .string(try basicString())
        case UInt8(ascii: "'"):
            if peek(1) == c, peek(2) == c { return .string(try multilineLiteralString()) }
            return .string(try literalString())
        case UInt8(ascii: "["): return try array()
        case UInt8(ascii: "{"): return try inlineTable()
        default: return try scalar()
        }
    }

    /// Enters an array or inline table, refusing to nest deeper than any profile needs.
    mutating func enter() throws(TOMLError) {
        guard nesting < tomlMaximumNesting else {
            throw fail("arrays and inline tables nested more than \(tomlMaximumNesting) deep", hint: "profiles nest a few levels deep")
        }
        nesting += 1
    }

    mutating func array() throws(TOMLError) -> TOMLValue {
        try enter()
        defer { nesting -= 1 }
        i += 1
        var items: [TOMLValue] = []
        while true {
            try skipBlank()
            guard let c = peek() else { throw fail("unterminated array", hint: "close it with ']'") }
            if c == UInt8(ascii: "]") { i += 1; return .array(items) }
            items.append(try value())
            try skipBlank()
            guard let d = peek() else { throw fail("unterminated array", hint: "close it with ']'") }
            if d == UInt8(ascii: ",") { i += 1; continue }
            if d == UInt8(ascii: "]") { i += 1; return .array(items) }
            throw fail("expected ',' or ']' in an array, found '\(printable(d))'")
        }
    }

    mutating func inlineTable() throws(TOMLError) -> TOMLValue {
        try enter()
        defer { nesting -= 1 }
        i += 1
        let node = TOMLNode()
        skipSpaces()
        if peek() == UInt8(ascii: "}") { i += 1; return .table(node.value) }
        while true {
            skipSpaces()
            try keyValue(into: node, pending: false)
            skipSpaces()
            guard let c = peek() else { throw fail("unterminated inline table", hint: "close it with '}' on the same line") }
            if c == UInt8(ascii: ",") { i += 1; continue }
            if c == UInt8(ascii: "}") { i += 1; return .table(node.value) }
            throw fail("expected ',' or '}' in an inline table, found '\(printable(c))'",
                       hint: "inline tables are one line, without a trailing comma")
        }
    }

    mutating func scalar() throws(TOMLError) -> TOMLValue {
        let start = i
        while let c = peek(), !isDelimiter(c) { i += 1 }
        let token = String(decoding: b[start..<i], as: UTF8.self)
        if token == "true" { return .boolean(true) }
        if token == "false" { return .boolean(false) }
        if let v = integer(token) { return .integer(v) }
        if let v = float(token) { return .float(v) }
        if token.count >= 5, token.utf8.dropFirst(4).first == UInt8(ascii: "-") || token.utf8.dropFirst(2).first == UInt8(ascii: ":"),
           token.first?.isNumber == true {
            throw fail("dates and times are not supported in airun profiles", hint: "write durations as strings, e.g. \"90s\"", at: start)
        }
        if token.isEmpty { throw fail("expected a value", at: start) }
        throw fail("'\(token)' is not a valid value", hint: "strings need quotes", at: start)
    }

    func integer(_ t: String) -> Int64? {
        let u = Array(t.utf8)
        guard !u.isEmpty else { return nil }
        if u.count > 2, u[0] == UInt8(ascii: "0"), let radix = [UInt8(ascii: "x"): 16, UInt8(ascii: "o"): 8, UInt8(ascii: "b"): 2][u[1]] {
            let digits = Array(u[2...])
            guard underscoresOK(digits), let v = Int64(String(decoding: digits.filter { $0 != UInt8(ascii: "_") }, as: UTF8.self), radix: radix)
            else { return nil }
            return v
        }
        var body = u[...]
        if body.first == UInt8(ascii: "+") || body.first == UInt8(ascii: "-") { body = body.dropFirst() }
        guard !body.isEmpty, body.allSatisfy({ isDigit($0) || $0 == UInt8(ascii: "_") }), underscoresOK(Array(body)) else { return nil }
        if body.count > 1, body.first == UInt8(ascii: "0") { return nil }
        return Int64(String(decoding: u.filter { $0 != UInt8(ascii: "_") }, as: UTF8.self))
    }

    func float(_ t: String) -> Double? {
        var s = Substring(t)
        var sign = 1.0
        if s.first == "+" { s = s.dropFirst() } else if s.first == "-" { s = s.dropFirst(); sign = -1 }
        if s == "inf" { return sign * .infinity }
        if s == "nan" { return .nan }
        // int part, then .frac and/or exponent, each digit run with single underscores between digits
        let u = Array(s.utf8)
        var k = 0
        func digits() -> Bool {
            let from = k
            while k < u.count, isDigit(u[k]) || u[k] == UInt8(ascii: "_") { k += 1 }
            return k > from && underscoresOK(Array(u[from..<k]))
        }
        let intStart = k
        guard digits() else { return nil }
        if k - intStart > 1, u[intStart] == UInt8(ascii: "0") { return nil }
        var hasFraction = false, hasExponent = false
        if k < u.count, u[k] == UInt8(ascii: ".") {
            k += 1
            guard digits() else { return nil }
            hasFraction = true
        }
        if k < u.count, u[k] | 0x20 == UInt8(ascii: "e") {
            k += 1
            if k < u.count, u[k] == UInt8(ascii: "+") || u[k] == UInt8(ascii: "-") { k += 1 }
            guard digits() else { return nil }
            hasExponent = true
        }
        guard k == u.count, hasFraction || hasExponent else { return nil }
        return Double(t.filter { $0 != "_" })
    }

    /// The offset of the first byte that is not well-formed UTF-8, in one pass.
    func firstInvalidUTF8() -> Int {
        var k = 0
        func continuation(_ at: Int, _ range: ClosedRange<UInt8> = 0x80...0xBF) -> Bool { at < b.count && range.contains(b[at]) }
        while k < b.count {
            let c = b[k]
            let length: Int
            switch c {
            case 0x00...0x7F: length = 1
            case 0xC2...0xDF: length = continuation(k + 1) ? 2 : 0
            case 0xE0: length = continuation(k + 1, 0xA0...0xBF) && continuation(k + 2) ? 3 : 0
            case 0xED: length = continuation(k + 1, 0x80...0x9F) && continuation(k + 2) ? 3 : 0
            case 0xE1...0xEF: length = continuation(k + 1) && continuation(k + 2) ? 3 : 0
            case 0xF0: length = continuation(k + 1, 0x90...0xBF) && continuation(k + 2) && continuation(k + 3) ? 4 : 0
            case 0xF1...0xF3: length = continuation(k + 1) && continuation(k + 2) && continuation(k + 3) ? 4 : 0
            case 0xF4: length = continuation(k + 1, 0x80...0x8F) && continuation(k + 2) && continuation(k + 3) ? 4 : 0
            default: length = 0
            }
            if length == 0 { return k }
            k += length
        }
        return 0
    }
}

func isHexDigit(_ c: UInt8) -> Bool { isDigit(c) || (c | 0x20 >= 0x61 && c | 0x20 <= 0x66) }
func isControl(_ c: UInt8) -> Bool { c < 0x20 || c == 0x7F }
private func isBareKey(_ c: UInt8) -> Bool {
    isDigit(c) || (c | 0x20 >= 0x61 && c | 0x20 <= 0x7A) || c == UInt8(ascii: "_") || c == UInt8(ascii: "-")
}
private func isDelimiter(_ c: UInt8) -> Bool {
    c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D || c == UInt8(ascii: ",") || c == UInt8(ascii: "]")
        || c == UInt8(ascii: "}") || c == UInt8(ascii: "#")
}
/// Underscores only between two digits (hex digits for prefixed integers).
private func underscoresOK(_ u: [UInt8]) -> Bool {
    for (k, c) in u.enumerated() where c == UInt8(ascii: "_") {
        guard k > 0, k + 1 < u.count, u[k - 1] != UInt8(ascii: "_"), u[k + 1] != UInt8(ascii: "_") else { return false }
    }
    return true
}
func printable(_ c: UInt8) -> String {
    c >= 0x20 && c < 0x7F ? String(Character(UnicodeScalar(c))) : "\\u{\(String(c, radix: 16))}"
}
