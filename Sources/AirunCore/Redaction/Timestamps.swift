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
        // Read with plain indexes, no nested functions: every string a record holds asks.
        let n = s.count
        guard n >= 16, n <= 35, isDigit(s[0]) else { return false }
        guard digits(s, 0, 4), s[4] == 0x2D, digits(s, 5, 2), s[7] == 0x2D, digits(s, 8, 2),
              s[10] == UInt8(ascii: "T") || s[10] == UInt8(ascii: "t") || s[10] == 0x20,
              digits(s, 11, 2), s[13] == 0x3A, digits(s, 14, 2) else { return false }
        var i = 16
        if i < n, s[i] == 0x3A {
            guard digits(s, i + 1, 2) else { return false }
            i += 3
            if i < n, s[i] == UInt8(ascii: ".") || s[i] == UInt8(ascii: ",") {
                i += 1
                let start = i
                while i < n, isDigit(s[i]) { i += 1 }
                guard i > start, i - start <= 9 else { return false }
            }
        }
        if i == n { return true }
        if s[i] == UInt8(ascii: "Z") || s[i] == UInt8(ascii: "z") { return i + 1 == n }
        // An offset: +hh, +hhmm or +hh:mm (or -).
        guard s[i] == 0x2B || s[i] == 0x2D, digits(s, i + 1, 2) else { return false }
        i += 3
        if i == n { return true }
        if s[i] == 0x3A { i += 1 }
        return i + 2 == n && digits(s, i, 2)
    }

    /// Whether `count` digits stand at `at`.
    @inline(__always) private static func digits(_ s: UnsafeBufferPointer<UInt8>, _ at: Int, _ count: Int) -> Bool {
        guard at + count <= s.count else { return false }
        for k in at..<(at + count) where !isDigit(s[k]) { return false }
        return true
    }

    /// Whether `byte` can be part of a time of that shape.
    static func mayHold(_ byte: UInt8) -> Bool {
        switch byte {
        case 0x30...0x39, 0x2D, 0x3A, 0x2E, 0x2C, 0x2B, 0x20, UInt8(ascii: "T"), UInt8(ascii: "t"), UInt8(ascii: "Z"), UInt8(ascii: "z"): return true
        default: return false
        }
    }
}
