/// TOML's four string forms and their escapes.
extension TOMLParser {
    mutating func basicString() throws(TOMLError) -> String {
        let start = i
        i += 1
        var out: [UInt8] = []
        while true {
            guard let c = peek(), c != 0x0A else { throw fail("unterminated string", hint: "close it with '\"' on the same line", at: start) }
            i += 1
            if c == UInt8(ascii: "\"") { return String(decoding: out, as: UTF8.self) }
            if c == UInt8(ascii: "\\") { out += try escape() } else if isControl(c) && c != 0x09 {
                throw fail("control character in a string", hint: "escape it, e.g. \\t or \\u0001", at: i - 1)
            } else { out.append(c) }
        }
    }

    mutating func multilineBasicString() throws(TOMLError) -> String {
        let start = i
        i += 3
        if peek() == 0x0A { i += 1 } else if peek() == 0x0D, peek(1) == 0x0A { i += 2 }
        var out: [UInt8] = []
        while true {
            guard let c = peek() else { throw fail("unterminated multi-line string", hint: "close it with '\"\"\"'", at: start) }
            if c == UInt8(ascii: "\""), peek(1) == c, peek(2) == c {
                // Up to two more quotes may belong to the content: """a""""" is a"".
                var extra = 0
                while extra < 2, peek(3 + extra) == c { extra += 1 }
                out += [UInt8](repeating: c, count: extra)
                i += 3 + extra
                return String(decoding: out, as: UTF8.self)
            }
            i += 1
            if c == UInt8(ascii: "\\") {
                // A backslash at the end of a line trims the newline and the whitespace after it.
                var k = i
                while k < b.count, b[k] == 0x20 || b[k] == 0x09 { k += 1 }
                if k < b.count, b[k] == 0x0A || (b[k] == 0x0D && k + 1 < b.count && b[k + 1] == 0x0A) {
                    i = k
                    while let d = peek(), d == 0x20 || d == 0x09 || d == 0x0A || d == 0x0D { i += 1 }
                    continue
                }
                out += try escape()
            } else if c == 0x0D, peek() == 0x0A {
                out.append(c)
            } else if isControl(c) && c != 0x09 && c != 0x0A {
                throw fail("control character in a string", at: i - 1)
            } else {
                out.append(c)
            }
        }
    }

    mutating func literalString() throws(TOMLError) -> String {
        let start = i
        i += 1
        let from = i
        while true {
            guard let c = peek(), c != 0x0A else { throw fail("unterminated string", hint: "close it with \"'\" on the same line", at: start) }
            if c == UInt8(ascii: "'") {
                i += 1
                return String(decoding: b[from..<(i - 1)], as: UTF8.self)
            }
            if isControl(c) && c != 0x09 { throw fail("control character in a string") }
            i += 1
        }
    }

    mutating func multilineLiteralString() throws(TOMLError) -> String {
        let start = i
        i += 3
        if peek() == 0x0A { i += 1 } else if peek() == 0x0D, peek(1) == 0x0A { i += 2 }
        let from = i
        while true {
            guard let c = peek() else { throw fail("unterminated multi-line string", hint: "close it with \"'''\"", at: start) }
            if c == UInt8(ascii: "'"), peek(1) == c, peek(2) == c {
                var extra = 0
                while extra < 2, peek(3 + extra) == c { extra += 1 }
                let end = i + extra
                i += 3 + extra
                return String(decoding: b[from..<end], as: UTF8.self)
            }
            if isControl(c) && c != 0x09 && c != 0x0A && !(c == 0x0D && peek(1) == 0x0A) {
                throw fail("control character in a string")
            }
            i += 1
        }
    }

    mutating func escape() throws(TOMLError) -> [UInt8] {
        guard let c = peek() else { throw fail("unterminated escape") }
        i += 1
        switch c {
        case UInt8(ascii: "b"): return [0x08]
        case UInt8(ascii: "t"): return [0x09]
        case UInt8(ascii: "n"): return [0x0A]
        case UInt8(ascii: "f"): return [0x0C]
        case UInt8(ascii: "r"): return [0x0D]
        case UInt8(ascii: "\""): return [0x22]
        case UInt8(ascii: "\\"): return [0x5C]
        case UInt8(ascii: "u"), UInt8(ascii: "U"):
            let count = c == UInt8(ascii: "u") ? 4 : 8
            guard i + count <= b.count, let v = UInt32(String(decoding: b[i..<(i + count)], as: UTF8.self), radix: 16),
                  b[i..<(i + count)].allSatisfy(isHexDigit), let scalar = Unicode.Scalar(v) else {
                throw fail("invalid \\\(Character(UnicodeScalar(c))) escape", hint: "use \\uXXXX or \\UXXXXXXXX with a valid code point", at: i - 2)
            }
            i += count
            return Array(String(Character(scalar)).utf8)
        default:
            throw fail("invalid escape '\\\(printable(c))'", hint: "valid escapes: \\b \\t \\n \\f \\r \\\" \\\\ \\uXXXX \\UXXXXXXXX", at: i - 2)
        }
    }

}
