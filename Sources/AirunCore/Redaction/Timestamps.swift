/// A time as logs write it, recognised so the scanner can pass it at one look: a command's log
/// line carries one on every line (`child_timestamp`), and read word by word it cost a quarter of
/// a line's redaction (bench/childlogs.sh). Nothing the scanner masks fits in one: a token needs
/// letters, a key a name, an address `@`, a phone number a first group of three digits or a `+`
/// with eight. Only a secret value could: one made of a time's own bytes, or one whose first or
/// last eight bytes are (the scanner masks a value's half at a text's start or end); a redactor
/// holding such a value reads times the long way (`Redactor.timestampsHoldNoSecret`).
///
/// The shape: `YYYY-MM-DD`, `T`, `t` or a space, `hh:mm`, then optionally `:ss` and a fraction
/// (`.` or `,`, one to nine digits), then optionally `Z`, `z` or an offset (`+hh:mm`, `-hhmm`,
/// `+hh`). RFC 3339's own, and Python logging's `2026-12-02 10:00:00,123`.
enum Timestamp {
    static func isTimestamp(_ s: UnsafeBufferPointer<UInt8>) -> Bool {
        guard s.count >= 16, s.count <= 35, isDigit(s[0]) else { return false }
        var i = 0
        func digits(_ n: Int) -> Bool {
            guard i + n <= s.count else { return false }
            for k in i..<(i + n) where !isDigit(s[k]) { return false }
            i += n
            return true
        }
        func byte(_ b: UInt8) -> Bool {
            guard i < s.count, s[i] == b else { return false }
            i += 1
            return true
        }
        guard digits(4), byte(0x2D), digits(2), byte(0x2D), digits(2) else { return false }
        guard i < s.count, s[i] == UInt8(ascii: "T") || s[i] == UInt8(ascii: "t") || s[i] == 0x20 else { return false }
        i += 1
        guard digits(2), byte(0x3A), digits(2) else { return false }
        if byte(0x3A) {
            guard digits(2) else { return false }
            if i < s.count, s[i] == UInt8(ascii: ".") || s[i] == UInt8(ascii: ",") {
                i += 1
                let start = i
                while i < s.count, isDigit(s[i]) { i += 1 }
                guard i > start, i - start <= 9 else { return false }
            }
        }
        if i == s.count { return true }
        if s[i] == UInt8(ascii: "Z") || s[i] == UInt8(ascii: "z") { return i + 1 == s.count }
        guard byte(0x2B) || byte(0x2D), digits(2) else { return false }
        if i == s.count { return true }
        _ = byte(0x3A)
        return digits(2) && i == s.count
    }

    /// Whether `byte` can be part of a time of that shape.
    static func mayHold(_ byte: UInt8) -> Bool {
        switch byte {
        case 0x30...0x39, 0x2D, 0x3A, 0x2E, 0x2C, 0x2B, 0x20, UInt8(ascii: "T"), UInt8(ascii: "t"), UInt8(ascii: "Z"), UInt8(ascii: "z"): return true
        default: return false
        }
    }
}
