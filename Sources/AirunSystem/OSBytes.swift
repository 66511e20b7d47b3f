@preconcurrency import Glibc

/// Arguments, environment and paths are bytes to Linux, not text: `cat $'caf\xe9.txt'` names a
/// real file. airun keeps them as Swift `String`s without losing a byte: a byte that is not part of
/// well-formed UTF-8 is held as the scalar U+10FF00 + byte (private use, plane 16), and turned
/// back into that byte whenever the string goes to the kernel. A well-formed sequence for a scalar
/// in that range is held byte by byte the same way, so every byte string comes back unchanged.
///
/// - Important: Swift's implicit `String` to C string conversion would write those scalars as
///   four UTF-8 bytes each. Every call that hands a string to the kernel goes through
///   `withOSBytes` (or `osStrdup`) instead. The records decode them as U+FFFD (JSONLine).
public enum OSBytes {
    /// The escape scalars' range: U+10FF80 (byte 0x80) to U+10FFFF (byte 0xFF).
    public static let escapes: ClosedRange<UInt32> = 0x10FF80...0x10FFFF

    /// Bytes from the kernel as a string, losing nothing.
    public static func decode<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
        let b = Array(bytes)
        // The common case, well-formed and without 0xF4 (which every escape-range scalar would
        // start with): the standard decoder. Runs for every variable at every start-up.
        if !b.contains(0xF4), let s = String(validating: b, as: UTF8.self) { return s }
        var scalars = String.UnicodeScalarView()
        var i = 0
        while i < b.count {
            if let (scalar, length) = decodeOne(b, at: i), !escapes.contains(scalar.value) {
                scalars.append(scalar)
                i += length
            } else {
                scalars.append(Unicode.Scalar(0x10FF00 | UInt32(b[i]))!)
                i += 1
            }
        }
        return String(scalars)
    }

    /// A NUL-terminated C string's bytes as a string.
    public static func decode(cString: UnsafePointer<CChar>) -> String {
        let count = strlen(cString)
        // Every variable at every start-up comes through here: the standard decoder when it can.
        if memchr(cString, 0xF4, count) == nil, let s = String(validatingCString: cString) { return s }
        return decode(UnsafeBufferPointer(start: UnsafeRawPointer(cString).assumingMemoryBound(to: UInt8.self), count: count))
    }

    /// The bytes `decode` was given.
    public static func encode(_ s: String) -> [UInt8] {
        // The common case, no escape scalar (their UTF-8 starts with 0xF4): the bytes as they are.
        var s = s
        if let plain = s.withUTF8({ $0.firstIndex(of: 0xF4) == nil ? Array($0) : nil }) { return plain }
        var out: [UInt8] = []
        out.reserveCapacity(s.utf8.count)
        for scalar in s.unicodeScalars {
            if escapes.contains(scalar.value) {
                out.append(UInt8(truncatingIfNeeded: scalar.value))
            } else {
                UTF8.encode(scalar) { out.append($0) }
            }
        }
        return out
    }

    /// One well-formed UTF-8 sequence at `i`: its scalar and length.
    private static func decodeOne(_ b: [UInt8], at i: Int) -> (Unicode.Scalar, Int)? {
        let c = b[i]
        if c < 0x80 { return (Unicode.Scalar(c), 1) }
        let length = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 0
        guard length > 0, i + length <= b.count else { return nil }
        guard let s = String(validating: b[i..<(i + length)], as: UTF8.self), s.unicodeScalars.count == 1 else { return nil }
        return (s.unicodeScalars.first!, length)
    }
}

/// Calls `body` with `s` as the NUL-terminated bytes it stands for (see `OSBytes`).
public func withOSBytes<R>(_ s: String, _ body: (UnsafePointer<CChar>) throws -> R) rethrows -> R {
    // The common case, no escape scalar: the string's own bytes, lent without a copy (every
    // argument and variable of every child passes here).
    var s = s
    if s.withUTF8({ $0.firstIndex(of: 0xF4) == nil }) { return try s.withCString(body) }
    var bytes = OSBytes.encode(s)
    bytes.append(0)
    return try bytes.withUnsafeBufferPointer { buffer in
        try buffer.withMemoryRebound(to: CChar.self) { try body($0.baseAddress!) }
    }
}

/// `s`'s bytes as a newly allocated C string (free it with `free`).
func osStrdup(_ s: String) -> UnsafeMutablePointer<CChar>? { withOSBytes(s) { strdup($0) } }

/// airun's arguments (without argv[0]) as the kernel passed them, bytes kept (see `OSBytes`).
public func commandLineArguments() -> [String] {
    (1..<Int(CommandLine.argc)).compactMap { k in CommandLine.unsafeArgv[k].map { OSBytes.decode(cString: $0) } }
}
